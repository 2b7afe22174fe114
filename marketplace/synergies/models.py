"""A synergy: an exchange between companies (born from a match, an auction award, or entered by hand),
its append-only history, its benefits (declared, then verified) and the emission factors CO2e uses."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, Territory, User
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.models_base import Timestamped, append_only, utcnow
from marketplace.synergies import rules

# PNSI stages, in order, then the two ways a synergy stops.
STAGES = rules.STAGES
KINDS = rules.KINDS  # matières-énergies, territoire-hommes
ORIGINS = ("match", "auction", "manual")
BENEFIT_STATUSES = ("declared", "verified")


class Synergy(Timestamped, db.Model):
    __tablename__ = "synergy"
    __table_args__ = (
        # A match becomes a synergy once: the offer and the need of the pair, never twice.
        sa.UniqueConstraint("listing_id", "need_listing_id", name="uq_synergy_listing_need"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territory.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    stage: Mapped[str] = mapped_column(sa.String(16), default="idea", nullable=False, index=True)
    kind: Mapped[str] = mapped_column(sa.String(2), default="ME", nullable=False)
    sub_type: Mapped[str | None] = mapped_column(sa.String(24))
    is_continuous: Mapped[bool] = mapped_column(default=False, server_default=sa.false(), nullable=False)
    origin: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    giver_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("company.id", ondelete="SET NULL"),
                                                         index=True)
    taker_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("company.id", ondelete="SET NULL"),
                                                         index=True)
    # The offer exchanged (auction lot, match, or chosen by hand) and, for a match, the need it met.
    listing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("listing.id", ondelete="SET NULL"), index=True)
    need_listing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("listing.id", ondelete="SET NULL"),
                                                        index=True)
    award_id: Mapped[int | None] = mapped_column(sa.ForeignKey("auction_award.id", ondelete="SET NULL"),
                                                 unique=True)
    quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    unit: Mapped[str | None] = mapped_column(sa.String(8))
    # Signed like a bid: positive, the taker pays the giver; negative, the giver pays the taker.
    unit_price_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    stage_changed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    # Why it is blocked or abandoned (rules.STOP_REASONS), and the stage it stopped at (to reopen).
    stop_reason: Mapped[str | None] = mapped_column(sa.String(16))
    stop_note: Mapped[str | None] = mapped_column(sa.Text)
    previous_stage: Mapped[str | None] = mapped_column(sa.String(16))
    next_action: Mapped[str | None] = mapped_column(sa.String(255))
    next_action_due: Mapped[date | None] = mapped_column(sa.Date, index=True)
    # The practitioner who follows it; none: every practitioner of the territory is reminded.
    followed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="", nullable=False)

    territory: Mapped[Territory | None] = relationship()
    giver: Mapped[Company | None] = relationship(foreign_keys=[giver_company_id])
    taker: Mapped[Company | None] = relationship(foreign_keys=[taker_company_id])
    listing: Mapped[Listing | None] = relationship(foreign_keys=[listing_id])
    need_listing: Mapped[Listing | None] = relationship(foreign_keys=[need_listing_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    followed_by: Mapped[User | None] = relationship(foreign_keys=[followed_by_id])
    benefits: Mapped[list[SynergyBenefit]] = relationship(back_populates="synergy", order_by="SynergyBenefit.id")

    @property
    def reporting_group(self) -> str:
        return rules.reporting_group(self.stage)

    @property
    def is_open(self) -> bool:
        return rules.is_open(self.stage)

    def is_overdue(self, today: date) -> bool:
        """A next action whose due date has passed, on a synergy still in play."""
        return (self.next_action_due is not None and self.next_action_due < today
                and not rules.is_final(self.stage))

    def benefit(self, status: str) -> SynergyBenefit | None:
        return next((b for b in self.benefits if b.status == status), None)

    def involves(self, user) -> bool:
        return bool(user and user.is_authenticated and user.company_id
                    and user.company_id in (self.giver_company_id, self.taker_company_id))

    def can_view(self, user) -> bool:
        """The two companies, the practitioners of its territory, administrators."""
        if not (user and user.is_authenticated):
            return False
        if self.involves(user) or user.is_admin:
            return True
        return self.territory_id is not None and self.territory_id in user.territory_ids

    def can_manage(self, user) -> bool:
        """Moves, next actions, edits, verification: practitioners of its territory and administrators."""
        if not (user and user.is_authenticated):
            return False
        return user.is_admin or (self.territory_id is not None and self.territory_id in user.territory_ids)

    def can_declare(self, user) -> bool:
        """Declared benefits: the companies involved, and whoever manages the synergy."""
        return self.involves(user) or self.can_manage(user)

    def can_verify(self, user) -> bool:
        return self.can_manage(user)


class SynergyEvent(db.Model):
    """Append-only history of a synergy: creation, stage moves, edits, next actions, benefits."""

    __tablename__ = "synergy_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    synergy_id: Mapped[int] = mapped_column(sa.ForeignKey("synergy.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    from_stage: Mapped[str | None] = mapped_column(sa.String(16))
    to_stage: Mapped[str | None] = mapped_column(sa.String(16))
    detail: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    actor: Mapped[User | None] = relationship()


append_only(SynergyEvent, "the history of a synergy")


class SynergyBenefit(db.Model):
    """What a synergy brings, as declared (by a company or the practitioner) or as verified (by the
    practitioner): one row per synergy and status. Figures are per year for a continuous synergy
    (`is_annual`), in total for a one-off one; empty means unknown, not zero. When CO2e was computed,
    the factor used is copied here (key, label, value, unit, source) so that the figure can be
    re-derived and audited even after the factor table changes."""

    __tablename__ = "synergy_benefit"
    __table_args__ = (sa.UniqueConstraint("synergy_id", "status", name="uq_synergy_benefit_synergy_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    synergy_id: Mapped[int] = mapped_column(sa.ForeignKey("synergy.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    is_annual: Mapped[bool] = mapped_column(default=False, nullable=False)
    tonnes_reused: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    tonnes_diverted: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    tonnes_virgin_substituted: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    co2e_tonnes: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    mwh_saved: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    mwh_produced: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    eur_saved: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    eur_additional_sales: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    jobs: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 1))
    m2_shared: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 1))
    private_investment_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    public_investment_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    # "computed" (factor × basis figure), "entered" (typed as is) or None (no CO2e figure).
    co2e_method: Mapped[str | None] = mapped_column(sa.String(10))
    co2e_basis: Mapped[str | None] = mapped_column(sa.String(30))
    emission_factor_key: Mapped[str | None] = mapped_column(sa.String(60))
    emission_factor_label: Mapped[str | None] = mapped_column(sa.String(200))
    emission_factor_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 3))
    emission_factor_unit: Mapped[str | None] = mapped_column(sa.String(4))
    emission_factor_source: Mapped[str | None] = mapped_column(sa.Text)
    note: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    synergy: Mapped[Synergy] = relationship(back_populates="benefits")
    recorded_by: Mapped[User | None] = relationship()


class EmissionFactor(db.Model):
    """kg CO2e avoided per tonne (or per MWh) for one kind of exchange, with its source. Defaults ship
    in data/emission_factors_fr.csv; administrators edit them (a benefit keeps a copy of the factor)."""

    __tablename__ = "emission_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(60), unique=True, nullable=False)
    label: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    kg_co2e_per_unit: Mapped[Decimal] = mapped_column(sa.Numeric(12, 3), nullable=False)
    unit: Mapped[str] = mapped_column(sa.String(4), default="t", nullable=False)
    source: Mapped[str] = mapped_column(sa.Text, nullable=False)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship()
