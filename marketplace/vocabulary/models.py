"""Administrators' edits of the vocabulary; without a row, the shipped file is used."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.models_base import utcnow

DOCUMENTS = ("thesaurus", "uses")


class VocabularyDocument(db.Model):
    __tablename__ = "vocabulary_document"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    content: Mapped[str] = mapped_column(sa.Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship()
