"""A synergy: an exchange between companies (born from a match, an auction award, or entered by hand)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, Territory, User
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.models_base import Timestamped, utcnow

# PNSI stages, in order, then the two ways a synergy stops.
STAGES = ("idea", "discussion", "negotiation", "implementation", "finalising", "completed", "blocked", "abandoned")
KINDS = ("ME", "TH")  # matières-énergies, territoire-hommes
ORIGINS = ("match", "auction", "manual")


class Synergy(Timestamped, db.Model):
    __tablename__ = "synergy"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territory.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    stage: Mapped[str] = mapped_column(sa.String(16), default="idea", nullable=False, index=True)
    kind: Mapped[str] = mapped_column(sa.String(2), default="ME", nullable=False)
    origin: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    giver_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("company.id", ondelete="SET NULL"),
                                                         index=True)
    taker_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("company.id", ondelete="SET NULL"),
                                                         index=True)
    listing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("listing.id", ondelete="SET NULL"), index=True)
    award_id: Mapped[int | None] = mapped_column(sa.ForeignKey("auction_award.id", ondelete="SET NULL"),
                                                 unique=True)
    quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    unit: Mapped[str | None] = mapped_column(sa.String(8))
    # Signed like a bid: positive, the taker pays the giver; negative, the giver pays the taker.
    unit_price_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    stage_changed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    territory: Mapped[Territory | None] = relationship()
    giver: Mapped[Company | None] = relationship(foreign_keys=[giver_company_id])
    taker: Mapped[Company | None] = relationship(foreign_keys=[taker_company_id])
    listing: Mapped[Listing | None] = relationship()
    created_by: Mapped[User | None] = relationship()

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
