"""The moderation queue: the listings and companies waiting for the practitioners of a territory, and the
decisions taken on them, one at a time or in bulk (approve; request changes or refuse, with a reason the
owner receives). Every function takes the territories it may touch (None: all, for administrators);
they flush, never commit."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Company, Site, Territory, User, site_territory
from marketplace.companies import services as companies
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import Listing

DECISIONS = ("approve", "request_changes", "reject")
# What each decision does to a listing: refusing for good withdraws it; requesting changes returns it to draft.
_LISTING_DECISIONS = {"approve": listings.approve, "request_changes": listings.request_changes,
                      "reject": listings.refuse}


def scope_of(user: User) -> set[int] | None:
    """The territories a user moderates (None: every one, for administrators)."""
    return None if user.is_admin else set(user.territory_ids)


def territories_of(user: User) -> list[Territory]:
    query = sa.select(Territory).order_by(Territory.name)
    scope = scope_of(user)
    if scope is not None:
        query = query.where(Territory.id.in_(scope))
    return db.session.scalars(query).all()


def _sites_in(territory_ids: set[int]):
    return sa.select(site_territory.c.site_id).where(site_territory.c.territory_id.in_(territory_ids))


def _listings_in(territory_ids: set[int] | None):
    query = sa.select(Listing)
    if territory_ids is not None:
        query = query.where(Listing.site_id.in_(_sites_in(territory_ids)))
    return query


def _companies_in(territory_ids: set[int] | None):
    query = sa.select(Company)
    if territory_ids is not None:
        query = query.where(Company.id.in_(sa.select(Site.company_id).where(Site.id.in_(_sites_in(territory_ids)))))
    return query


def pending_listings(territory_ids: set[int] | None) -> list[Listing]:
    """Listings waiting for approval, the longest waiting first."""
    waiting_since = sa.func.coalesce(Listing.submitted_at, Listing.created_at)
    return db.session.scalars(
        _listings_in(territory_ids).where(Listing.status == "pending").order_by(waiting_since, Listing.id)
        .options(selectinload(Listing.company).selectinload(Company.trusts),
                 selectinload(Listing.site).selectinload(Site.territories))
    ).all()


def pending_companies(territory_ids: set[int] | None) -> list[Company]:
    """Companies created by their members and not yet reviewed (or edited since changes were requested)."""
    return db.session.scalars(
        _companies_in(territory_ids).where(Company.review_status == "pending").order_by(Company.created_at, Company.id)
        .options(selectinload(Company.sites).selectinload(Site.territories), selectinload(Company.members))
    ).all()


def waiting_counts(territory_ids: set[int] | None) -> dict[str, int]:
    """How many listings and companies wait (for the practitioner's home page)."""
    def count(query) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))

    return {
        "listings": count(_listings_in(territory_ids).where(Listing.status == "pending")),
        "companies": count(_companies_in(territory_ids).where(Company.review_status == "pending")),
    }


def listings_in_scope(ids, territory_ids: set[int] | None) -> set[int]:
    """Those of `ids` that are listings of these territories (whatever their status)."""
    ids = set(ids)
    if not ids:
        return set()
    return set(db.session.scalars(_listings_in(territory_ids).where(Listing.id.in_(ids))
                                  .with_only_columns(Listing.id)).all())


def companies_in_scope(ids, territory_ids: set[int] | None) -> set[int]:
    ids = set(ids)
    if not ids:
        return set()
    return set(db.session.scalars(_companies_in(territory_ids).where(Company.id.in_(ids))
                                  .with_only_columns(Company.id)).all())


def _locked(model, ids) -> list:
    """Rows re-read under FOR UPDATE (PostgreSQL; SQLite serialises writers): of two practitioners
    deciding at once, the second sees the first one's decision and does nothing."""
    if not ids:
        return []
    return db.session.scalars(
        sa.select(model).where(model.id.in_(sorted(ids))).order_by(model.id).with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def lock_listing(listing_id: int) -> Listing | None:
    rows = _locked(Listing, [listing_id])
    return rows[0] if rows else None


def lock_company(company_id: int) -> Company | None:
    rows = _locked(Company, [company_id])
    return rows[0] if rows else None


# Outcomes of one decision.
DONE, ALREADY, COMPANY_REFUSED = "done", "already", "company_refused"


def decide_listing(actor: User, listing: Listing, decision: str, reason: str | None = None) -> str:
    """Apply a decision to a pending listing; ALREADY when someone decided first, COMPANY_REFUSED when
    its company was refused (it cannot be published)."""
    if listing.status != "pending":
        return ALREADY
    try:
        if decision == "approve":
            listings.approve(actor, listing)
        else:
            _LISTING_DECISIONS[decision](actor, listing, reason)
    except listings.CompanyRefused:
        return COMPANY_REFUSED
    return DONE


def decide_company(actor: User, company: Company, decision: str, reason: str | None = None) -> str:
    try:
        companies.review(actor, company, decision, reason)
    except companies.ReviewError:
        return ALREADY
    return DONE


@dataclass
class BulkReport:
    listings: list[Listing] = field(default_factory=list)
    companies: list[Company] = field(default_factory=list)
    already: int = 0  # decided by someone else in the meantime
    company_refused: int = 0  # listings of a refused company, left unpublished


def decide_many(actor: User, decision: str, reason: str | None, listing_ids=(), company_ids=()) -> BulkReport:
    """One decision (and one reason) for every checked company and listing. Companies first: refusing a
    company withdraws its listings, which then count as already decided rather than mailed one by one."""
    report = BulkReport()
    for company in _locked(Company, set(company_ids)):
        outcome = decide_company(actor, company, decision, reason)
        if outcome == DONE:
            report.companies.append(company)
        else:
            report.already += 1
    db.session.flush()
    for listing in _locked(Listing, set(listing_ids)):
        outcome = decide_listing(actor, listing, decision, reason)
        if outcome == DONE:
            report.listings.append(listing)
        elif outcome == COMPANY_REFUSED:
            report.company_refused += 1
        else:
            report.already += 1
    return report
