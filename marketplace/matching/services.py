"""Matching against the database: candidate selection (published, opposite kind, within reach),
features from stored profiles, scoring, and storage of the matches."""
from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.matching import features as feat
from marketplace.matching.models import Match, MatchProfile
from marketplace.matching.scoring import MAX_DISTANCE_KM, Scored, rank
from marketplace.search.analysis import analyze
from marketplace.vocabulary import services as vocabulary_service

STORED_PER_LISTING = 20


def profile(listing: Listing) -> MatchProfile:
    """The stored analysis of a listing, refreshed when the listing changed since."""
    current = db.session.get(MatchProfile, listing.id)
    if current is None or current.source_updated_at != listing.updated_at:
        current = current or MatchProfile(listing_id=listing.id)
        current.title_terms = " ".join(analyze(listing.title))
        current.body_terms = " ".join(analyze(listing.description))
        current.source_updated_at = listing.updated_at
        db.session.add(current)
    return current


def features_of(listing: Listing, vocabulary, stored: MatchProfile | None = None) -> feat.Features:
    stored = stored or profile(listing)
    title_tokens = stored.title_terms.split()
    body_tokens = stored.body_terms.split()
    company = listing.company
    return feat.Features(
        id=listing.id, kind=listing.kind, category=listing.category, company_id=listing.company_id,
        title_tokens=title_tokens, tokens=title_tokens + body_tokens,
        **feat.describe(vocabulary, listing.kind, title_tokens, body_tokens, listing.waste_code),
        waste_code=listing.waste_code, is_hazardous=listing.is_hazardous,
        latitude=listing.site.latitude, longitude=listing.site.longitude,
        quantity=float(listing.quantity) if listing.quantity is not None else None, unit=listing.unit,
        frequency=listing.frequency, available_from=listing.available_from, available_until=listing.available_until,
        handled_waste_codes=frozenset(company.handled_waste_code_list),
        treatment_operations=frozenset(company.treatment_operation_list), ref=listing.ref,
    )


def candidates(listing: Listing) -> list[Listing]:
    """Published listings of the other kind, of other companies, within reach of the listing's site."""
    from marketplace.accounts.models import Site

    other_kind = "need" if listing.kind == "offer" else "offer"
    query = (
        sa.select(Listing).join(Listing.site)
        .where(Listing.status == "published", Listing.kind == other_kind, Listing.company_id != listing.company_id)
        .options(joinedload(Listing.site), joinedload(Listing.company))
    )
    lat, lon = listing.site.latitude, listing.site.longitude
    if lat is not None and lon is not None:
        dlat = MAX_DISTANCE_KM / 110.57
        dlon = MAX_DISTANCE_KM / (111.32 * max(math.cos(math.radians(lat)), 0.1))
        query = query.where(Site.latitude.between(lat - dlat, lat + dlat), Site.longitude.between(lon - dlon, lon + dlon))
    return db.session.scalars(query).unique().all()


def find_matches(listing: Listing, limit: int | None = None) -> list[tuple[Listing, Scored]]:
    """Rank the candidates for a listing (nothing stored)."""
    vocabulary = vocabulary_service.current()
    pool = candidates(listing)
    profiles = {p.listing_id: p for p in db.session.scalars(
        sa.select(MatchProfile).where(MatchProfile.listing_id.in_([c.id for c in pool]))
    )} if pool else {}
    by_id = {c.id: c for c in pool}
    candidate_features = []
    for c in pool:
        stored = profiles.get(c.id)
        if stored is None or stored.source_updated_at != c.updated_at:
            stored = profile(c)
        candidate_features.append(features_of(c, vocabulary, stored))
    subject = features_of(listing, vocabulary)
    idf = feat.idf_table(candidate_features + [subject])
    return [(by_id[f.id], scored) for f, scored in rank(subject, candidate_features, vocabulary, idf, limit)]


def refresh_matches(listing: Listing) -> list[Match]:
    """Recompute and store the matches of a published listing; returns the matches that are new."""
    if listing.status != "published":
        return []
    found = find_matches(listing, limit=STORED_PER_LISTING)
    column = Match.offer_id if listing.kind == "offer" else Match.need_id
    existing = {(m.offer_id, m.need_id): m for m in db.session.scalars(sa.select(Match).where(column == listing.id))}
    new = []
    for other, scored in found:
        offer_id, need_id = (listing.id, other.id) if listing.kind == "offer" else (other.id, listing.id)
        match = existing.get((offer_id, need_id))
        if match is None:
            match = db.session.scalar(sa.select(Match).where(Match.offer_id == offer_id, Match.need_id == need_id))
        if match is None:
            match = Match(offer_id=offer_id, need_id=need_id)
            db.session.add(match)
            new.append(match)
        match.score = scored.score
        match.reasons = [r.as_dict() for r in scored.reasons]
    db.session.flush()
    return new


def matches_for(listing: Listing, limit: int = 20) -> list[Match]:
    """Stored matches of a listing whose other side is still published, best first."""
    column, other = (Match.offer_id, Match.need_id) if listing.kind == "offer" else (Match.need_id, Match.offer_id)
    return db.session.scalars(
        sa.select(Match).join(Listing, Listing.id == other)
        .where(column == listing.id, Listing.status == "published")
        .order_by(Match.score.desc()).limit(limit)
    ).all()
