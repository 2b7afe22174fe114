"""Matching against the database: candidate selection (published, opposite kind, within reach),
features from stored profiles, scoring, and storage of the matches. Candidates are read from the
process's store of published listings (`store.py`), brought up to date before each use."""
from __future__ import annotations

import sys

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.matching import features as feat
from marketplace.matching.models import Match, MatchProfile
from marketplace.matching.scoring import MAX_DISTANCE_KM, Scored, rank
from marketplace.matching.store import bounding_box, candidate_rows, keep_out_of_gc, store_for
from marketplace.search.analysis import analyze
from marketplace.vocabulary import services as vocabulary_service

STORED_PER_LISTING = 20


def profile(listing: Listing) -> MatchProfile:
    """The stored analysis of a listing, refreshed when the listing changed since. Written with an
    upsert: two matching jobs may meet the same new candidate at the same moment."""
    current = db.session.get(MatchProfile, listing.id)
    if current is not None and current.source_updated_at == listing.updated_at:
        return current
    values = {"listing_id": listing.id, "title_terms": " ".join(analyze(listing.title)),
              "body_terms": " ".join(analyze(listing.description)), "source_updated_at": listing.updated_at}
    insert = (postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(MatchProfile)
    db.session.execute(insert.values(**values).on_conflict_do_update(
        index_elements=[MatchProfile.listing_id], set_={k: v for k, v in values.items() if k != "listing_id"}))
    if current is not None:
        db.session.refresh(current)
        return current
    return db.session.get(MatchProfile, listing.id)


def features_of(listing: Listing, vocabulary, stored: MatchProfile | None = None) -> feat.Features:
    stored = stored or profile(listing)
    company = listing.company
    return _features(vocabulary, {
        "id": listing.id, "kind": listing.kind, "category": listing.category, "company_id": listing.company_id,
        "waste_code": listing.waste_code, "is_hazardous": listing.is_hazardous, "quantity": listing.quantity,
        "unit": listing.unit, "frequency": listing.frequency, "available_from": listing.available_from,
        "available_until": listing.available_until, "ref": listing.ref, "updated_at": listing.updated_at,
        "latitude": listing.site.latitude, "longitude": listing.site.longitude,
        "handled_waste_codes": company.handled_waste_codes, "treatment_operations": company.treatment_operations,
        "title_terms": stored.title_terms, "body_terms": stored.body_terms,
    })


def _features(vocabulary, row) -> feat.Features:
    title_tokens = list(map(sys.intern, row["title_terms"].split()))  # one string per term in the process
    body_tokens = list(map(sys.intern, row["body_terms"].split()))
    return feat.Features(
        id=row["id"], kind=row["kind"], category=row["category"], company_id=row["company_id"],
        title_tokens=title_tokens, tokens=title_tokens + body_tokens,
        **feat.describe(vocabulary, row["kind"], title_tokens, body_tokens, row["waste_code"]),
        waste_code=row["waste_code"], is_hazardous=row["is_hazardous"], latitude=row["latitude"],
        longitude=row["longitude"], quantity=float(row["quantity"]) if row["quantity"] is not None else None,
        unit=row["unit"], frequency=row["frequency"], available_from=row["available_from"],
        available_until=row["available_until"],
        handled_waste_codes=frozenset(c.strip() for c in (row["handled_waste_codes"] or "").split(",") if c.strip()),
        treatment_operations=frozenset((row["treatment_operations"] or "").split()), ref=row["ref"],
    )


def reach(subject: feat.Features, vocabulary) -> tuple[set[str], set[str]]:
    """Index terms and waste-code prefixes a candidate must show to possibly match the subject.

    Lossless: every kind of evidence the scoring counts (a shared concept, an outlet named by the need,
    a shared word, the same waste chapter) implies one of these terms or prefixes in the candidate."""
    terms = set(subject.tokens) | vocabulary.concept_tokens(subject.concepts)
    prefixes = {subject.waste_code.replace(" ", "")[:2]} if subject.waste_code else set()
    if subject.kind == "offer":
        terms |= vocabulary.concept_tokens(subject.uses)
    else:
        resources, code_prefixes = vocabulary.resources_for(subject.concepts)
        terms |= vocabulary.concept_tokens(resources)
        prefixes |= code_prefixes
    return terms, prefixes


def _candidate_rows(listing: Listing):
    """Published listings of the other kind, of other companies, within reach of the listing's site,
    read from the database (matching reads the same rows from the store)."""
    from marketplace.accounts.models import Site

    other_kind = "need" if listing.kind == "offer" else "offer"
    query = candidate_rows().where(
        Listing.status == "published", Listing.kind == other_kind, Listing.company_id != listing.company_id)
    lat, lon = listing.site.latitude, listing.site.longitude
    if lat is not None and lon is not None:
        south, north, west, east = bounding_box(lat, lon, MAX_DISTANCE_KM)
        query = query.where(Site.latitude.between(south, north), Site.longitude.between(west, east))
    return db.session.execute(query).mappings()


def _ranked(listing: Listing, limit: int | None) -> list[tuple[feat.Features, Scored]]:
    """Score the candidates within reach that carry a term or waste-code prefix of `reach`."""
    vocabulary = vocabulary_service.current()
    subject = features_of(listing, vocabulary)
    terms, prefixes = reach(subject, vocabulary)
    prefixes = tuple(prefixes)
    store = store_for(db.engine)
    other_kind = "need" if listing.kind == "offer" else "offer"
    site = listing.site
    pool, described = [], 0
    for entry in store.within_reach(db.session, other_kind, listing.company_id, site.latitude, site.longitude,
                                    MAX_DISTANCE_KM, terms, prefixes):
        if entry.terms is None:  # analysis missing or older than the listing: computed and stored now
            stored = profile(db.session.get(Listing, entry.id))
            entry = store.with_row(entry, title_terms=stored.title_terms, body_terms=stored.body_terms,
                                   source_updated_at=stored.source_updated_at)
            if terms.isdisjoint(entry.terms) and not (entry.code and entry.code.startswith(prefixes)):
                continue
        described += entry.described is None or entry.described[0] is not vocabulary
        pool.append(entry.features(vocabulary, _features))
    if described >= 2000:  # a process without warm-up (or a new vocabulary): keep these out of the GC's walks
        keep_out_of_gc()
    idf = feat.idf_table(pool + [subject])
    return rank(subject, pool, vocabulary, idf, limit)


def find_matches(listing: Listing, limit: int | None = None) -> list[tuple[Listing, Scored]]:
    """Rank the candidates for a listing (nothing stored but missing profiles)."""
    ranked = _ranked(listing, limit)
    listings = {item.id: item for item in db.session.scalars(
        sa.select(Listing).where(Listing.id.in_([f.id for f, _ in ranked])))} if ranked else {}
    return [(listings[f.id], scored) for f, scored in ranked]


def refresh_matches(listing: Listing) -> list[Match]:
    """Recompute and store the matches of a published listing; returns the matches that are new."""
    if listing.status != "published":
        return []
    found = _ranked(listing, STORED_PER_LISTING)
    column = Match.offer_id if listing.kind == "offer" else Match.need_id
    existing = {(m.offer_id, m.need_id): m for m in db.session.scalars(sa.select(Match).where(column == listing.id))}
    new = []
    for other, scored in found:
        offer_id, need_id = (listing.id, other.id) if listing.kind == "offer" else (other.id, listing.id)
        match = existing.get((offer_id, need_id))
        if match is None:
            match = Match(offer_id=offer_id, need_id=need_id)
            db.session.add(match)
            new.append(match)
        match.score = scored.score
        match.reasons = [r.as_dict() for r in scored.reasons]
    db.session.flush()  # the new matches in one INSERT
    return new


def warm_up() -> int:
    """Read every published listing into this process's store and describe it (a worker does it as
    it starts, so that its first matching jobs need not); returns how many were described."""
    vocabulary = vocabulary_service.current()
    store = store_for(db.engine)
    with store.lock:
        store.check(db.session)
    entries = [e for e in store.entries() if e.terms is not None]
    for count, entry in enumerate(entries, start=1):
        entry.features(vocabulary, _features)
        if count % 10_000 == 0:
            keep_out_of_gc()
    keep_out_of_gc()
    return len(entries)


def matches_for(listing: Listing, limit: int = 20) -> list[Match]:
    """Stored matches of a listing whose other side is still published, best first."""
    column, other = (Match.offer_id, Match.need_id) if listing.kind == "offer" else (Match.need_id, Match.offer_id)
    return db.session.scalars(
        sa.select(Match).join(Listing, Listing.id == other)
        .where(column == listing.id, Listing.status == "published")
        .order_by(Match.score.desc()).limit(limit)
    ).all()
