"""Stored matches and the analysed text they are computed from."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.models_base import utcnow


class MatchProfile(db.Model):
    """A listing's analysed title and description, kept so that matching never re-analyses candidates."""

    __tablename__ = "match_profile"

    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True)
    title_terms: Mapped[str] = mapped_column(sa.Text, nullable=False)
    body_terms: Mapped[str] = mapped_column(sa.Text, nullable=False)
    source_updated_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)


class Match(db.Model):
    """An offer and a need that can be put in touch, with the score and the reasons why."""

    __tablename__ = "match"
    __table_args__ = (sa.UniqueConstraint("offer_id", "need_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False, index=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False, index=True)
    score: Mapped[float] = mapped_column(sa.Float, nullable=False)
    reasons: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow, nullable=False)

    offer: Mapped[Listing] = relationship(foreign_keys=[offer_id])
    need: Mapped[Listing] = relationship(foreign_keys=[need_id])

    def other(self, listing: Listing) -> Listing:
        return self.need if listing.id == self.offer_id else self.offer
