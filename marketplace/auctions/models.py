"""Auction sessions (the Concarneau format), their rounds, lots, bids, awards and each lot's audit trail."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, Territory, User
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.models_base import Timestamped, append_only, utcnow

SESSION_STATUSES = ("draft", "open", "closed", "cancelled")
ROUND_KINDS = ("main", "follow_up")
ROUND_STATUSES = ("scheduled", "open", "closed")
LOT_STATUSES = ("awaiting_consent", "refused", "ready", "open", "closed", "settled", "unclaimed", "unsold",
                "withdrawn")
# Lots still in play (bids or decisions to come).
LIVE_LOT_STATUSES = ("ready", "open", "closed")
BID_STATUSES = ("active", "superseded", "retracted")
AWARD_STATUSES = ("proposed", "confirmed", "declined", "undone")


class AuctionSession(Timestamped, db.Model):
    """A session run by a practitioner for a territory: a live room, a timed online round or sealed bids."""

    __tablename__ = "auction_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territory.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
    title: Mapped[str] = mapped_column(sa.String(160), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    mode: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)
    place: Mapped[str] = mapped_column(sa.String(255), default="", nullable=False)
    is_online: Mapped[bool] = mapped_column(default=False, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), default="draft", nullable=False, index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The live room's lot on screen (the projector and the bidders' phones follow it).
    current_lot_id: Mapped[int | None] = mapped_column(sa.Integer)
    # Bumped at every change the room screens show; they refresh only when it moved.
    version: Mapped[int] = mapped_column(default=0, nullable=False)

    territory: Mapped[Territory] = relationship()
    created_by: Mapped[User | None] = relationship()
    participants: Mapped[list[Participant]] = relationship(back_populates="session", cascade="all, delete-orphan")
    rounds: Mapped[list[Round]] = relationship(back_populates="session", cascade="all, delete-orphan",
                                               order_by="Round.number")

    @property
    def main_round(self) -> Round:
        return self.rounds[0]

    @property
    def is_live(self) -> bool:
        return self.mode == "live"

    def participant(self, company_id: int | None) -> Participant | None:
        return next((p for p in self.participants if p.company_id == company_id), None)

    def is_run_by(self, user) -> bool:
        """Practitioners of the session's territory and administrators run it."""
        return bool(user and user.is_authenticated and (user.is_admin or self.territory_id in user.territory_ids))

    def can_view(self, user) -> bool:
        if not (user and user.is_authenticated):
            return False
        if self.is_run_by(user):
            return True
        if self.status == "draft" and not self._gives(user):
            return False
        return self.participant(user.company_id) is not None or self._gives(user)

    def _gives(self, user) -> bool:
        return bool(user.company_id) and any(
            lot.listing.company_id == user.company_id for r in self.rounds for lot in r.lots)


class Participant(db.Model):
    """A company invited to the session; checked in on the day for a live room."""

    __tablename__ = "auction_participant"

    session_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_session.id", ondelete="CASCADE"),
                                            primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), primary_key=True)
    invited_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    checked_in_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    session: Mapped[AuctionSession] = relationship(back_populates="participants")
    company: Mapped[Company] = relationship()


class Round(db.Model):
    """Bidding on a set of lots. The main round is the session itself; follow-up rounds (deuxième
    round) offer what was left to solution providers and companies outside the room, sealed."""

    __tablename__ = "auction_round"
    __table_args__ = (sa.UniqueConstraint("session_id", "number", name="uq_auction_round_session_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_session.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    mode: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), default="scheduled", nullable=False, index=True)
    opens_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    closes_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    radius_km: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    session: Mapped[AuctionSession] = relationship(back_populates="rounds")
    lots: Mapped[list[Lot]] = relationship(back_populates="round", order_by="Lot.position, Lot.id")

    @property
    def is_follow_up(self) -> bool:
        return self.kind == "follow_up"

    @property
    def is_sealed(self) -> bool:
        return self.mode == "sealed"


class Lot(db.Model):
    """A resource put up in a round: a published offer, its terms and a hidden reserve."""

    __tablename__ = "auction_lot"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("quantity_remaining >= 0", name="quantity_remaining_not_negative"),
        sa.CheckConstraint("quantity_remaining <= quantity", name="quantity_remaining_within_lot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_round.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    parent_lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("auction_lot.id", ondelete="SET NULL"),
                                                      index=True)
    position: Mapped[int] = mapped_column(default=0, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, index=True)
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(14, 3), nullable=False)
    # Not yet awarded nor passed on to a follow-up round; never below zero.
    quantity_remaining: Mapped[Decimal] = mapped_column(sa.Numeric(14, 3), nullable=False)
    unit: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    allow_partial: Mapped[bool] = mapped_column(default=False, nullable=False)
    min_take: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    # Hidden from bidders: the lowest price per unit the giver accepts (signed).
    reserve_unit_price_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    pickup_from: Mapped[date | None] = mapped_column(sa.Date)
    pickup_until: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    # End of bidding: the round's end (extended by late bids) or a live room's countdown.
    closes_at: Mapped[datetime | None] = mapped_column(sa.DateTime, index=True)
    scheduled_close: Mapped[datetime | None] = mapped_column(sa.DateTime)
    presented_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    put_up_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    consented_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    consented_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    # Bumped under the row lock by every change: serialises writers and tells screens to refresh.
    version: Mapped[int] = mapped_column(default=0, nullable=False)

    round: Mapped[Round] = relationship(back_populates="lots")
    listing: Mapped[Listing] = relationship()
    parent: Mapped[Lot | None] = relationship(remote_side=[id], foreign_keys=[parent_lot_id])
    put_up_by: Mapped[User | None] = relationship(foreign_keys=[put_up_by_id])
    bids: Mapped[list[Bid]] = relationship(back_populates="lot", order_by="Bid.id")
    awards: Mapped[list[Award]] = relationship(back_populates="lot", order_by="Award.id")

    @property
    def session(self) -> AuctionSession:
        return self.round.session

    @property
    def company_id(self) -> int:
        return self.listing.company_id

    def is_given_by(self, user) -> bool:
        return bool(user and user.is_authenticated and user.company_id == self.listing.company_id)

    @property
    def active_bids(self) -> list[Bid]:
        return [b for b in self.bids if b.status == "active"]

    @property
    def awarded_quantity(self) -> Decimal:
        return sum((a.quantity for a in self.awards if a.status == "confirmed"), Decimal(0))

    @property
    def proposed_quantity(self) -> Decimal:
        return sum((a.quantity for a in self.awards if a.status == "proposed"), Decimal(0))

    @property
    def children(self) -> list[Lot]:
        return db.session.scalars(sa.select(Lot).where(Lot.parent_lot_id == self.id).order_by(Lot.id)).all()


class Bid(db.Model):
    """A price per unit (signed) and a quantity, or an expression of interest without price."""

    __tablename__ = "auction_bid"
    __table_args__ = (
        # A retried request (same key from the same company) never stores a second bid.
        sa.UniqueConstraint("lot_id", "company_id", "client_key", name="uq_auction_bid_client_key"),
        sa.Index("ix_auction_bid_lot_status", "lot_id", "status"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_lot.id", ondelete="CASCADE"), nullable=False)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    unit_price_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(14, 3), nullable=False)
    message: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="active", nullable=False)
    client_key: Mapped[str | None] = mapped_column(sa.String(64))
    placed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    retracted_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    retract_reason: Mapped[str | None] = mapped_column(sa.String(20))
    retract_note: Mapped[str | None] = mapped_column(sa.Text)

    lot: Mapped[Lot] = relationship(back_populates="bids")
    company: Mapped[Company] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def is_interest(self) -> bool:
        return self.unit_price_eur is None


class Award(db.Model):
    """A share of a lot proposed to a bidder when the lot closes; binding once the giver confirms."""

    __tablename__ = "auction_award"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_lot.id", ondelete="CASCADE"), nullable=False,
                                        index=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_bid.id", ondelete="CASCADE"), nullable=False,
                                        index=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(14, 3), nullable=False)
    unit_price_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    status: Mapped[str] = mapped_column(sa.String(10), default="proposed", nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)

    lot: Mapped[Lot] = relationship(back_populates="awards")
    bid: Mapped[Bid] = relationship()
    company: Mapped[Company] = relationship()


class LotEvent(db.Model):
    """Append-only audit trail of a lot: who did what, when, from which state to which."""

    __tablename__ = "auction_lot_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_lot.id", ondelete="CASCADE"), nullable=False,
                                        index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    detail: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    actor: Mapped[User | None] = relationship()


append_only(LotEvent, "the audit trail of a lot")


# --- who sees what (the views and the API ask these) ------------------------------------------------


def lot_can_view(lot: Lot, user) -> bool:
    """Main-round lots: whoever sees the session. Follow-up lots: also the companies allowed to bid."""
    if not (user and user.is_authenticated):
        return False
    session = lot.round.session
    if lot.round.kind == "main" or session.is_run_by(user) or lot.is_given_by(user):
        return session.can_view(user) or lot.is_given_by(user)
    from marketplace.auctions.services import follow_up_access

    return follow_up_access(lot, user.company) is not None or any(b.company_id == user.company_id for b in lot.bids)


def lot_shows_all_bids(lot: Lot, user) -> bool:
    """Who bid what: the practitioners and the giver, and for sealed bids only once the lot is closed."""
    if not (user and user.is_authenticated):
        return False
    if not (lot.round.session.is_run_by(user) or lot.is_given_by(user)):
        return False
    return not (lot.round.is_sealed and lot.status == "open")


def lot_shows_best_price(lot: Lot) -> bool:
    """The best price is public in open rounds; sealed bids stay hidden from everyone until close."""
    return not (lot.round.is_sealed and lot.status == "open")


def lot_shows_reserve(lot: Lot, user) -> bool:
    return bool(user and user.is_authenticated and (lot.round.session.is_run_by(user) or lot.is_given_by(user)))
