"""Pending index work: one row per listing change, written in the same transaction as the change,
so the search index can always be brought up to date from the database (the source of truth)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models_base import utcnow


class IndexTask(db.Model):
    """A listing whose search document must be rewritten, or removed if it is no longer public.

    No foreign key on purpose: when a listing is deleted its task must survive, so that the writer
    removes the document."""

    __tablename__ = "search_index_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
