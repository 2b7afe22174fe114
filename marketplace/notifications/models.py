"""The e-mail outbox, and the notification centre: what each person was told (in the app and by
e-mail), how they want to be told, what they muted, and their saved searches (alertes)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models_base import utcnow

EMAIL_STATES = ("pending", "sending", "sent", "failed")

# What a person can be told about. Account e-mails (confirmation, reset, invitation) are not
# notifications: they go straight to the outbox and can never be muted.
KINDS = ("match", "alert", "message", "moderation", "pending", "auction", "synergy")
MODES = ("instant", "daily", "off")
DEFAULT_MODES = {"match": "instant", "alert": "daily", "message": "instant", "moderation": "instant",
                 "pending": "instant", "auction": "instant", "synergy": "instant"}
# Listing and category mutes silence news *about listings* (matches, alerts); conversations and
# the moderation workflow only follow the per-kind setting and "everything off".
MUTABLE_KINDS = ("match", "alert")
DELIVERIES = ("instant", "digest", "none")


class OutgoingEmail(db.Model):
    __tablename__ = "outgoing_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    body_text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    body_html: Mapped[str] = mapped_column(sa.Text, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(10), default="pending", nullable=False, index=True)
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # Headers added at delivery, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
    extra_headers: Mapped[dict | None] = mapped_column(sa.JSON)


class Notification(db.Model):
    """One thing a person was told, shown in the app; `delivery` says how it goes out by e-mail."""

    __tablename__ = "notification"
    __table_args__ = (
        # The same person is never told twice about the same thing.
        sa.UniqueConstraint("user_id", "dedup_key", name="uq_notification_user_dedup_key"),
        sa.Index("ix_notification_user_created", "user_id", "created_at"),
        sa.Index("ix_notification_digest", "delivery", "digested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    link: Mapped[str] = mapped_column(sa.String(500), default="", nullable=False)
    listing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("listing.id", ondelete="SET NULL"), index=True)
    dedup_key: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    delivery: Mapped[str] = mapped_column(sa.String(10), default="instant", nullable=False)
    email_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outgoing_email.id", ondelete="SET NULL"))
    digested_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    listing = relationship("Listing")

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def path(self) -> str:
        """The link within this site (e-mail links are absolute; in the app, stay on the current host)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.link or "")
        if not parts.path.startswith("/"):
            return ""
        return parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")

    def can_view(self, user) -> bool:
        return bool(user and user.is_authenticated and user.id == self.user_id)


class NotificationPreference(db.Model):
    """How a person wants to hear about one kind; no row means the kind's default (DEFAULT_MODES)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class NotificationSettings(db.Model):
    """Per-person switches that are not per kind: "tout couper" (nothing at all, in the app or by e-mail)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    everything_off: Mapped[bool] = mapped_column(default=False, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Mute(db.Model):
    """A listing or a category a person no longer wants news about (exactly one of the two is set)."""

    __tablename__ = "mute"
    __table_args__ = (
        # NULLs are distinct in unique constraints: one row per muted listing, one per muted category.
        sa.UniqueConstraint("user_id", "listing_id", name="uq_mute_user_listing"),
        sa.UniqueConstraint("user_id", "category", name="uq_mute_user_category"),
        sa.CheckConstraint("(listing_id IS NULL) <> (category IS NULL)", name="listing_or_category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    listing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"))
    category: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    listing = relationship("Listing")

    def can_edit(self, user) -> bool:
        return bool(user and user.is_authenticated and user.id == self.user_id)


class SavedSearch(db.Model):
    """An alerte: browse filters and words kept by a person, checked against each newly published listing."""

    __tablename__ = "saved_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    query: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    kind: Mapped[str | None] = mapped_column(sa.String(10))
    category: Mapped[str | None] = mapped_column(sa.String(20))
    postcode: Mapped[str | None] = mapped_column(sa.String(5))
    radius_km: Mapped[int | None] = mapped_column()
    territory_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territory.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True, nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    user = relationship("User")
    territory = relationship("Territory")

    def can_edit(self, user) -> bool:
        return bool(user and user.is_authenticated and user.id == self.user_id)

    @property
    def browse_args(self) -> dict:
        """The same filters as query arguments of the listing index."""
        args = {"q": self.query, "kind": self.kind, "category": self.category, "territory": self.territory_id,
                "postcode": self.postcode, "radius_km": self.radius_km if self.postcode else None}
        return {k: v for k, v in args.items() if v}
