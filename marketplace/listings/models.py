"""Listings (annonces): offers and needs with the fields of the domain guide."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, Site, User
from marketplace.extensions import db
from marketplace.models_base import Timestamped, utcnow

KINDS = ("offer", "need")
CATEGORIES = ("materials", "energy", "water", "equipment", "space", "logistics", "services", "skills", "staff")
UNITS = ("t", "kg", "m3", "L", "unit", "m2", "MWh", "h", "day")
FREQUENCIES = ("once", "daily", "weekly", "monthly", "yearly")
PRICE_MODES = ("free", "priced", "negotiable")
STATUSES = ("draft", "pending", "published", "reserved", "closed", "withdrawn", "expired")
# Visible to everyone who browses.
PUBLIC_STATUSES = ("published", "reserved")


class Listing(Timestamped, db.Model):
    __tablename__ = "listing"
    __table_args__ = (
        sa.Index("ix_listing_browse", "status", "kind", "category", "published_at"),
        sa.Index("ix_listing_published_order", "published_at", "id"),  # the listing index page's order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="draft", nullable=False, index=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False, index=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="RESTRICT"), nullable=False, index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    title: Mapped[str] = mapped_column(sa.String(160), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    category: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    waste_code: Mapped[str | None] = mapped_column(sa.String(8))
    is_hazardous: Mapped[bool] = mapped_column(default=False, nullable=False)
    quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    unit: Mapped[str | None] = mapped_column(sa.String(8))
    frequency: Mapped[str] = mapped_column(sa.String(10), default="once", nullable=False)
    price_mode: Mapped[str] = mapped_column(sa.String(12), default="negotiable", nullable=False)
    # Signed: positive, the taker pays; negative, the giver pays the taker (normal for waste).
    unit_price_eur: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    available_from: Mapped[date | None] = mapped_column(sa.Date)
    available_until: Mapped[date | None] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)

    submitted_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_activity_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    view_count: Mapped[int] = mapped_column(default=0, nullable=False)
    # Last view by someone other than the owner or a moderator: interest, for the dormant-ad rule.
    last_viewed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    moderated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)

    company: Mapped[Company] = relationship()
    site: Mapped[Site] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    moderated_by: Mapped[User | None] = relationship(foreign_keys=[moderated_by_id])
    photos: Mapped[list[ListingPhoto]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="ListingPhoto.position"
    )

    @property
    def is_offer(self) -> bool:
        return self.kind == "offer"

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    def is_owned_by(self, user) -> bool:
        return bool(user and user.is_authenticated and user.company_id == self.company_id)

    def can_view(self, user) -> bool:
        """Public once published; drafts only for the owner; pending also for its moderators."""
        if self.is_public:
            return True
        if not (user and user.is_authenticated):
            return False
        if self.is_owned_by(user):
            return True
        if self.status == "draft":
            return False
        return user.moderates_site(self.site)

    def can_edit(self, user) -> bool:
        return self.is_owned_by(user) and self.status not in ("closed", "withdrawn")

    def can_moderate(self, user) -> bool:
        return bool(user and user.is_authenticated and self.status == "pending" and user.moderates_site(self.site))

    def can_respond(self, user) -> bool:
        return bool(
            user
            and user.is_authenticated
            and user.is_confirmed
            and user.company_id
            and not user.company.is_rejected
            and not self.is_owned_by(user)
            and self.status == "published"
        )


class ListingPhoto(db.Model):
    __tablename__ = "listing_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(sa.String(80), nullable=False, unique=True)
    width: Mapped[int] = mapped_column(nullable=False)
    height: Mapped[int] = mapped_column(nullable=False)
    position: Mapped[int] = mapped_column(default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    listing: Mapped[Listing] = relationship(back_populates="photos")


class ListingEvent(db.Model):
    """Append-only history of a listing's status changes and moderation decisions."""

    __tablename__ = "listing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str | None] = mapped_column(sa.String(12))
    note: Mapped[str | None] = mapped_column(sa.Text)
    # What an edit changed: {"changes": {field: {"before": …, "after": …}}} (values as plain JSON).
    detail: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    actor: Mapped[User | None] = relationship()


RELAUNCH_ANSWERS = ("renewed", "withdrawn", "second_round")


class ListingRelaunch(db.Model):
    """One dormant listing relaunched in one batch (relance): who was mailed, and the owner's answer,
    given once through a signed link (answered_at is set by a conditional UPDATE, never twice)."""

    __tablename__ = "listing_relaunch"
    __table_args__ = (sa.Index("ix_listing_relaunch_listing_sent", "listing_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False)
    batch_id: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    sent_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    # The practitioner who ran the batch; None for the scheduled command.
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # The listing's author when still a member, else None (every active member of the company was mailed).
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    recipient_emails: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    answer: Mapped[str | None] = mapped_column(sa.String(20))
    answered_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    listing: Mapped[Listing] = relationship()
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None
