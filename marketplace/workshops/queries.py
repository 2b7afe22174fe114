"""Reads for the workshop pages, each scoped to what the person may see: the workshops of the
territories they run, the companies one may invite, the listings entered and their opportunities."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from marketplace.accounts.models import Company, Site, Territory
from marketplace.extensions import db
from marketplace.listings.models import PUBLIC_STATUSES, Listing
from marketplace.matching.models import Match
from marketplace.synergies.queries import companies_for
from marketplace.workshops import rules
from marketplace.workshops.models import Workshop, WorkshopAttendee, WorkshopListing


def visible(user, query=None):
    """`query` (default: every workshop) narrowed to the workshops `user` runs."""
    query = query if query is not None else sa.select(Workshop)
    if user.is_admin:
        return query
    return query.where(Workshop.territory_id.in_(user.territory_ids or {0}))


def get_run_by(user, workshop_id: int) -> Workshop | None:
    """The workshop if `user` runs it, else None (the caller answers 404)."""
    workshop = db.session.get(Workshop, workshop_id)
    return workshop if workshop is not None and workshop.is_run_by(user) else None


@dataclass
class WorkshopRow:
    workshop: Workshop
    companies: int
    listings: int
    opportunities: int


def _count_by_workshop(model, ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(model.workshop_id, sa.func.count()).where(model.workshop_id.in_(ids)).group_by(model.workshop_id)
    ).all())


def rows_for(user) -> list[WorkshopRow]:
    """The workshops `user` runs, latest first, with their figures (a few grouped queries for the lot)."""
    workshops = db.session.scalars(visible(user, sa.select(Workshop).options(selectinload(Workshop.territory))
                                            .order_by(Workshop.held_on.desc(), Workshop.id.desc()))).all()
    ids = [w.id for w in workshops] or [0]
    companies = _count_by_workshop(WorkshopAttendee, ids)
    listings = _count_by_workshop(WorkshopListing, ids)
    found = opportunity_counts(ids)
    return [WorkshopRow(w, companies.get(w.id, 0), listings.get(w.id, 0), found.get(w.id, 0)) for w in workshops]


def opportunity_counts(workshop_ids: list[int]) -> dict[int, int]:
    """Opportunities per workshop: stored matches with a side entered there, both sides public."""
    offer, need = aliased(Listing), aliased(Listing)
    entry = WorkshopListing
    query = (
        sa.select(entry.workshop_id, sa.func.count(sa.distinct(Match.id)))
        .join(Match, sa.or_(Match.offer_id == entry.listing_id, Match.need_id == entry.listing_id))
        .join(offer, offer.id == Match.offer_id).join(need, need.id == Match.need_id)
        .where(entry.workshop_id.in_(workshop_ids or [0]), offer.status.in_(PUBLIC_STATUSES),
               need.status.in_(PUBLIC_STATUSES))
        .group_by(entry.workshop_id)
    )
    return dict(db.session.execute(query).all())


def territory_choices(user) -> list[Territory]:
    """Territories a workshop may be held in: those the person runs (every one for an administrator)."""
    query = sa.select(Territory).order_by(Territory.name)
    if not user.is_admin:
        query = query.where(Territory.id.in_(user.territory_ids or {0}))
    return db.session.scalars(query).all()


def invitable_companies(territory: Territory, keep: list[Company] = ()) -> list[Company]:
    """Companies with a site in the territory that may publish (not refused), plus `keep` (companies
    already attending, whatever happened to them since), by name."""
    companies = {c.id: c for c in companies_for([territory]) if not c.is_rejected}
    for company in keep:
        companies.setdefault(company.id, company)
    return sorted(companies.values(), key=lambda c: (c.name.lower(), c.id))


def attending(workshop: Workshop) -> list[Company]:
    return sorted((a.company for a in workshop.attendances), key=lambda c: (c.name.lower(), c.id))


def site_in(company: Company, territory: Territory) -> Site | None:
    """The company's first site (by creation) in the territory: where its workshop listings are placed."""
    return next((site for site in company.sites if any(t.id == territory.id for t in site.territories)), None)


def entry_attendees(workshop: Workshop) -> list[rules.Attendee]:
    """The companies the entry table offers, each with the site its listings will go to."""
    out = []
    for company in attending(workshop):
        site = site_in(company, workshop.territory)
        out.append(rules.Attendee(company.id, company.name, site.postcode if site else None,
                                  site.city if site else None, company.is_rejected))
    return out


def listings_of(workshop: Workshop) -> list[Listing]:
    """The listings entered at the workshop, by company then offers first."""
    return db.session.scalars(
        sa.select(Listing).join(WorkshopListing, WorkshopListing.listing_id == Listing.id)
        .join(Company, Company.id == Listing.company_id)
        .where(WorkshopListing.workshop_id == workshop.id)
        .options(selectinload(Listing.company), selectinload(Listing.site))
        .order_by(sa.func.lower(Company.name), Company.id, Listing.kind.desc(), Listing.id)
    ).all()


def listing_ids_of(workshop: Workshop) -> set[int]:
    return set(db.session.scalars(
        sa.select(WorkshopListing.listing_id).where(WorkshopListing.workshop_id == workshop.id)))


def opportunities(workshop: Workshop) -> list[rules.Opportunity]:
    """Every stored match with at least one side entered at the workshop, both sides public, best first."""
    ids = listing_ids_of(workshop)
    if not ids:
        return []
    entered = sa.select(WorkshopListing.listing_id).where(WorkshopListing.workshop_id == workshop.id)
    offer, need = aliased(Listing), aliased(Listing)
    matches = db.session.scalars(
        sa.select(Match).join(offer, offer.id == Match.offer_id).join(need, need.id == Match.need_id)
        .where(sa.or_(Match.offer_id.in_(entered), Match.need_id.in_(entered)),
               offer.status.in_(PUBLIC_STATUSES), need.status.in_(PUBLIC_STATUSES))
        .options(*(selectinload(side).selectinload(relation)
                   for side in (Match.offer, Match.need) for relation in (Listing.company, Listing.site)))
        .order_by(Match.score.desc(), Match.id)
    ).all()
    return [rules.Opportunity(m.id, m.offer, m.need, m.score, list(m.reasons or []),
                              m.offer_id in ids, m.need_id in ids) for m in matches]


@dataclass
class Report:
    workshop: Workshop
    companies: list[Company]
    listings: list[Listing]
    opportunities: list[rules.Opportunity]

    @property
    def counts(self) -> rules.Counts:
        return rules.counts([c.id for c in self.companies], self.listings, self.opportunities)

    @property
    def sections(self):
        return rules.by_category(self.opportunities)

    @property
    def per_company(self):
        return rules.opportunities_per_company(self.opportunities)

    @property
    def attendee_ids(self) -> set[int]:
        return {c.id for c in self.companies}

    def entries_for(self, company: Company) -> list[rules.ReportEntry]:
        return rules.company_entries(company.id, self.listings, self.opportunities)

    def listings_of(self, company: Company) -> list[Listing]:
        return [listing for listing in self.listings if listing.company_id == company.id]


def report(workshop: Workshop) -> Report:
    """Everything the workshop's reports show, read once."""
    return Report(workshop, attending(workshop), listings_of(workshop), opportunities(workshop))


def is_attendee(workshop: Workshop, company_id: int) -> bool:
    return db.session.get(WorkshopAttendee, (workshop.id, company_id)) is not None
