"""Pending index work: one row per listing change, written in the same transaction as the change,
so the search index can always be brought up to date from the database (the source of truth); and
the tables of the PostgreSQL search backend."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
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


# --- the PostgreSQL backend's index (tables exist on every database; only PostgreSQL fills them) ---

# A tsvector on PostgreSQL; elsewhere a text column left empty, so one schema serves both databases.
DocumentVector = sa.Text().with_variant(TSVECTOR(), "postgresql")


class SearchDocument(db.Model):
    """The searchable copy of a public listing: the filter and sort columns of the search page, the
    texts highlighted, and the weighted French vector (title A, waste-code wording and company B,
    description C) behind a GIN index. Written only by the index writer (indexing.py)."""

    __tablename__ = "search_document"
    __table_args__ = (sa.Index("ix_search_document_document", "document", postgresql_using="gin"),)

    listing_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    category: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    waste_code: Mapped[str | None] = mapped_column(sa.String(8))
    waste_chapter: Mapped[str | None] = mapped_column(sa.String(2))
    is_hazardous: Mapped[bool] = mapped_column(nullable=False)
    latitude: Mapped[float | None] = mapped_column(sa.Float, index=True)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime, index=True)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False)
    document = mapped_column(DocumentVector)


class SearchDocumentTerritory(db.Model):
    """The territories of a document's site (the territory filter and its facet)."""

    __tablename__ = "search_document_territory"

    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("search_document.listing_id", ondelete="CASCADE"), primary_key=True)
    territory_id: Mapped[int] = mapped_column(primary_key=True, index=True)


class SearchWord(db.Model):
    """Words of the listings as written (lower-cased): what spelling suggestions propose. Only grows
    between rebuilds; a suggestion is checked against the current documents before it is offered."""

    __tablename__ = "search_word"

    word: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    initial: Mapped[str] = mapped_column(sa.String(1), nullable=False, index=True)


class SearchIndexState(db.Model):
    """One row per backend whose index lives in the database, written by each full rebuild: no row
    means never built (the writer rebuilds it, searches answer "index unavailable"). Its build time
    and version identify the index's content (cache keys)."""

    __tablename__ = "search_index_state"

    backend: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    built_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)
    documents: Mapped[int] = mapped_column(nullable=False)  # at the rebuild
    version: Mapped[int] = mapped_column(nullable=False, default=0)  # batches written since
