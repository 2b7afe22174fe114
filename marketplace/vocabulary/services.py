"""Reading and editing the vocabulary. The parsed vocabulary is cached per process and reloaded when
an administrator saves a new version (the document's timestamp changes)."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models_base import utcnow
from marketplace.vocabulary.models import DOCUMENTS, VocabularyDocument
from marketplace.vocabulary.rules import Vocabulary, parse

SHIPPED = {
    "thesaurus": Path(__file__).resolve().parent.parent / "data" / "thesaurus_fr.txt",
    "uses": Path(__file__).resolve().parent.parent / "data" / "resource_uses_fr.txt",
}
_cache: dict = {"key": None, "vocabulary": None}


def shipped_text(name: str) -> str:
    return SHIPPED[name].read_text(encoding="utf-8")


def texts() -> dict[str, str]:
    """The current text of each document: the administrators' version if any, else the shipped one."""
    saved = {d.name: d.content for d in db.session.scalars(sa.select(VocabularyDocument))}
    return {name: saved.get(name, shipped_text(name)) for name in DOCUMENTS}


def current() -> Vocabulary:
    stamp = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(VocabularyDocument.updated_at)).select_from(VocabularyDocument)
    ).one()
    key = (tuple(stamp), tuple(p.stat().st_mtime_ns for p in SHIPPED.values()))
    if _cache["key"] != key:
        docs = texts()
        _cache["vocabulary"] = parse(docs["thesaurus"], docs["uses"])
        _cache["key"] = key
    return _cache["vocabulary"]


def save(name: str, content: str, actor) -> None:
    """Store a new version after checking that both documents still parse together."""
    docs = texts()
    docs[name] = content
    parse(docs["thesaurus"], docs["uses"])  # raises VocabularyError with the line to fix
    document = db.session.get(VocabularyDocument, name) or VocabularyDocument(name=name)
    document.content = content
    document.updated_at = utcnow()
    document.updated_by_id = actor.id if actor else None
    db.session.add(document)


def reset(name: str) -> None:
    document = db.session.get(VocabularyDocument, name)
    if document is not None:
        db.session.delete(document)
