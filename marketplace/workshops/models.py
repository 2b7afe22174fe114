"""A workshop (atelier) of a territory, the companies that attended it, and the listings entered there.

The listings themselves are ordinary listings: `workshop_listing` only records which ones were entered
(typed or imported) at the workshop, so that the reports can find their matches."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, Territory, User
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.models_base import Timestamped, utcnow

LISTING_SOURCES = ("entry", "import")


class Workshop(Timestamped, db.Model):
    __tablename__ = "workshop"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territory.id", ondelete="CASCADE"), nullable=False,
                                              index=True)
    title: Mapped[str] = mapped_column(sa.String(160), nullable=False)
    held_on: Mapped[date] = mapped_column(sa.Date, nullable=False, index=True)
    place: Mapped[str] = mapped_column(sa.String(255), default="", nullable=False)
    notes: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Last time the individual reports were mailed (each attendee's own date is on its attendance).
    reports_sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    territory: Mapped[Territory] = relationship()
    created_by: Mapped[User | None] = relationship()
    attendances: Mapped[list[WorkshopAttendee]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", passive_deletes=True)
    entries: Mapped[list[WorkshopListing]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", passive_deletes=True)

    def is_run_by(self, user) -> bool:
        """Practitioners of the workshop's territory and administrators run it."""
        return bool(user and user.is_authenticated and (user.is_admin or self.territory_id in user.territory_ids))

    @property
    def company_ids(self) -> set[int]:
        return {a.company_id for a in self.attendances}

    def attendance_of(self, company_id: int) -> WorkshopAttendee | None:
        return next((a for a in self.attendances if a.company_id == company_id), None)

    def __repr__(self) -> str:
        return f"<Workshop {self.id} {self.title!r}>"


class WorkshopAttendee(db.Model):
    """A company that attended the workshop, and when its own report was last mailed (and to whom)."""

    __tablename__ = "workshop_attendee"

    workshop_id: Mapped[int] = mapped_column(sa.ForeignKey("workshop.id", ondelete="CASCADE"), primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    added_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    report_sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The addresses the last report went to, one per line.
    report_recipients: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)

    workshop: Mapped[Workshop] = relationship(back_populates="attendances")
    company: Mapped[Company] = relationship()


class WorkshopListing(db.Model):
    """A listing entered at the workshop, typed in the entry table ("entry") or imported ("import")."""

    __tablename__ = "workshop_listing"

    workshop_id: Mapped[int] = mapped_column(sa.ForeignKey("workshop.id", ondelete="CASCADE"), primary_key=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    source: Mapped[str] = mapped_column(sa.String(10), default="entry", nullable=False)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    workshop: Mapped[Workshop] = relationship(back_populates="entries")
    listing: Mapped[Listing] = relationship()
