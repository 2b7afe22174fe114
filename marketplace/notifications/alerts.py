"""Saved searches (alertes): a person keeps browse filters and words; each newly published listing
of another company that satisfies them is notified once per search (kind "alert").

Deciding whether a listing satisfies a search is pure (`satisfies`): kind, category, territory and
distance filters, then the words. Words are analysed like the search index (French stemming, no
accents); each word of the query — or each multi-word thesaurus term it contains, such as
« big bag » — must occur in the listing's title, description or waste-code wording, itself or
through one of its thesaurus synonyms (« GRVS » finds « big bag »)."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace import labels, reference
from marketplace.extensions import db
from marketplace.matching.features import waste_code_words
from marketplace.notifications.models import SavedSearch
from marketplace.notifications.services import external_url, notify
from marketplace.search.analysis import analyze
from marketplace.vocabulary.rules import Vocabulary

DEFAULT_RADIUS_KM = 30


@dataclass(frozen=True)
class ListingFacts:
    """What a saved search looks at in a listing."""

    kind: str
    category: str
    company_id: int | None
    territory_ids: frozenset[int]
    latitude: float | None
    longitude: float | None
    tokens: tuple[str, ...]  # analysed title, description and waste-code wording
    concepts: frozenset[int]  # thesaurus concepts found in those tokens


def facts_of(vocabulary: Vocabulary, *, kind, category, title, description="", waste_code=None, company_id=None,
             territory_ids=(), latitude=None, longitude=None) -> ListingFacts:
    tokens = tuple(analyze(title) + analyze(description) + analyze(waste_code_words(waste_code)))
    return ListingFacts(kind=kind, category=category, company_id=company_id, territory_ids=frozenset(territory_ids),
                        latitude=latitude, longitude=longitude, tokens=tokens,
                        concepts=frozenset(vocabulary.find_concepts(list(tokens))))


def listing_facts(listing, vocabulary: Vocabulary) -> ListingFacts:
    site = listing.site
    return facts_of(vocabulary, kind=listing.kind, category=listing.category, title=listing.title,
                    description=listing.description, waste_code=listing.waste_code, company_id=listing.company_id,
                    territory_ids={t.id for t in site.territories}, latitude=site.latitude, longitude=site.longitude)


def query_units(query: str, vocabulary: Vocabulary) -> list[tuple[str, ...]]:
    """The analysed query cut into units: the longest thesaurus term at each position, else one word."""
    tokens = analyze(query)
    units, i = [], 0
    while i < len(tokens):
        for size in range(min(vocabulary.longest, len(tokens) - i), 0, -1):
            key = tuple(tokens[i:i + size])
            if size == 1 or key in vocabulary.term_concept:
                units.append(key)
                i += size
                break
    return units


def _occurs(phrase: tuple[str, ...], tokens: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tokens[i:i + n] == phrase for i in range(len(tokens) - n + 1))


def unit_found(unit: tuple[str, ...], facts: ListingFacts, vocabulary: Vocabulary) -> bool:
    """The unit itself, or one of its synonyms (a term of the same thesaurus concept: the listing's
    concepts were found with `find_concepts`), is in the listing."""
    if _occurs(unit, facts.tokens):
        return True
    concept = vocabulary.term_concept.get(unit)
    return concept is not None and concept in facts.concepts


def satisfies(search, facts: ListingFacts, vocabulary: Vocabulary, center: tuple[float, float] | None = None) -> bool:
    """Whether a listing satisfies a saved search (pure). `search` has kind, category, territory_id,
    postcode, radius_km and query; `center` is the (latitude, longitude) of its postcode."""
    if search.kind and search.kind != facts.kind:
        return False
    if search.category and search.category != facts.category:
        return False
    if search.territory_id and search.territory_id not in facts.territory_ids:
        return False
    if search.postcode:
        if center is None or facts.latitude is None or facts.longitude is None:
            return False
        radius = search.radius_km or DEFAULT_RADIUS_KM
        if reference.distance_km(center[0], center[1], facts.latitude, facts.longitude) > radius:
            return False
    return all(unit_found(unit, facts, vocabulary) for unit in query_units(search.query or "", vocabulary))


def center_of(search) -> tuple[float, float] | None:
    place = reference.locate(search.postcode) if search.postcode else None
    return (place.latitude, place.longitude) if place else None


# --- storage ------------------------------------------------------------------------------------


def default_name(data: dict) -> str:
    parts = [data.get("query") or ""]
    if data.get("category"):
        parts.append(str(labels.CATEGORIES_SHORT.get(data["category"], data["category"])))
    if data.get("kind"):
        parts.append(str(labels.KINDS_PLURAL.get(data["kind"], data["kind"])))
    if data.get("postcode"):
        parts.append(data["postcode"])
    return " · ".join(p for p in parts if p)[:120] or str(_l("Mon alerte"))


def create_saved_search(user, data: dict) -> SavedSearch:
    """`data`: name, query, kind, category, territory_id, postcode, radius_km (empty values mean "any")."""
    search = SavedSearch(
        user_id=user.id, name=(data.get("name") or "").strip() or default_name(data),
        query=(data.get("query") or "").strip(), kind=data.get("kind") or None, category=data.get("category") or None,
        territory_id=data.get("territory_id") or None, postcode=(data.get("postcode") or "").strip() or None,
    )
    search.radius_km = (data.get("radius_km") or DEFAULT_RADIUS_KM) if search.postcode else None
    db.session.add(search)
    db.session.flush()
    return search


def set_active(search: SavedSearch, active: bool) -> None:
    search.active = active


def delete_saved_search(search: SavedSearch) -> None:
    db.session.delete(search)


def searches_of(user_id: int) -> list[SavedSearch]:
    return db.session.scalars(
        sa.select(SavedSearch).where(SavedSearch.user_id == user_id).order_by(SavedSearch.created_at.desc(),
                                                                              SavedSearch.id.desc())
    ).all()


# --- evaluation after publication ---------------------------------------------------------------


def candidate_searches(listing) -> list[SavedSearch]:
    """Active searches of other companies' people whose cheap filters (kind, category, territory) fit."""
    from marketplace.accounts.models import User

    territory_ids = [t.id for t in listing.site.territories]
    return db.session.scalars(
        sa.select(SavedSearch).join(User, User.id == SavedSearch.user_id)
        .where(SavedSearch.active.is_(True), User.is_active_account.is_(True),
               sa.or_(User.company_id.is_(None), User.company_id != listing.company_id),
               sa.or_(SavedSearch.kind.is_(None), SavedSearch.kind == listing.kind),
               sa.or_(SavedSearch.category.is_(None), SavedSearch.category == listing.category),
               sa.or_(SavedSearch.territory_id.is_(None), SavedSearch.territory_id.in_(territory_ids)))
        .order_by(SavedSearch.user_id, SavedSearch.id)
    ).all()


def notify_saved_searches(listing) -> int:
    """Tell the owners of the saved searches a newly published listing satisfies; returns how many
    were notified. One notification per person and listing, even when several of their searches fit."""
    from marketplace.vocabulary import services as vocabulary_service

    if listing.status != "published":
        return 0
    searches = candidate_searches(listing)
    if not searches:
        return 0
    vocabulary = vocabulary_service.current()
    facts = listing_facts(listing, vocabulary)
    told_users: set[int] = set()
    count = 0
    for search in searches:
        if search.user_id in told_users or not satisfies(search, facts, vocabulary, center_of(search)):
            continue
        told_users.add(search.user_id)
        title = _l("Alerte « %(name)s » : %(title)s", name=search.name, title=listing.title)
        body = _l("%(kind)s de %(company)s à %(city)s.", kind=labels.KINDS[listing.kind],
                  company=listing.company.name, city=listing.site.city)
        if notify(search.user, "alert", title, body, external_url("listings.show", listing_id=listing.id),
                  f"alert:{search.id}:{listing.id}", listing=listing, email_template="alert_new",
                  email_kind="alert.new", search=search,
                  search_link=external_url("listings.browse", **search.browse_args)):
            count += 1
    return count
