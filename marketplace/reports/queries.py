"""What a territory report reads, scoped to who asks: a practitioner gets the synergies, companies and
listings of the territories they run (or of the one chosen among them), an administrator everything.
Each function is one grouped query (or two for the map's lines), whatever the number of synergies:
rules.py turns the plain rows into tables."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from marketplace.accounts.models import Company, Site, Territory, site_territory
from marketplace.extensions import db
from marketplace.listings.models import PUBLIC_STATUSES, Listing
from marketplace.reports import rules
from marketplace.synergies.models import Synergy, SynergyBenefit
from marketplace.synergies.queries import territories_run_by
from marketplace.synergies.rules import FINAL_STAGES

# Titles listed per site in the map's "published resources" layer (the counts cover them all).
TITLES_PER_SITE = 5


@dataclass(frozen=True)
class Scope:
    """Whose data a report covers: `territory_ids` None means every synergy (an administrator without
    a territory filter, synergies without a territory included); `start_utc`/`end_utc` are the
    period's bounds (rules.Period.bounds_utc), end exclusive."""

    territory_ids: tuple[int, ...] | None
    start_utc: datetime | None = None
    end_utc: datetime | None = None


def territories_for(user) -> list[Territory]:
    """The territories a report may cover: those the person runs; every one for an administrator."""
    return territories_run_by(user)


def scope_for(user, territories: list[Territory], territory: Territory | None, period: rules.Period,
              zone: str) -> Scope:
    """The scope of a report: the chosen territory, else all of the person's (`territories`, from
    territories_for), else everything for an administrator."""
    start_utc, end_utc = period.bounds_utc(zone)
    if territory is not None:
        ids = (territory.id,)
    elif user.is_admin:
        ids = None
    else:
        ids = tuple(sorted(t.id for t in territories))
    return Scope(ids, start_utc, end_utc)


def synergy_conditions(scope: Scope) -> list:
    """WHERE clauses on Synergy for a scope: its territories, and the period rule (rules.counts_in_period)."""
    conditions = []
    if scope.territory_ids is not None:
        conditions.append(Synergy.territory_id.in_(scope.territory_ids or (0,)))
    if scope.end_utc is not None:
        conditions.append(Synergy.created_at < scope.end_utc)
    if scope.start_utc is not None:
        conditions.append(sa.not_(sa.and_(Synergy.stage.in_(FINAL_STAGES), Synergy.stage_changed_at < scope.start_utc)))
    return conditions


def _site_conditions(scope: Scope) -> list:
    if scope.territory_ids is None:
        return []
    return [Site.id.in_(sa.select(site_territory.c.site_id)
                        .where(site_territory.c.territory_id.in_(scope.territory_ids or (0,))))]


# --- counts and benefits -----------------------------------------------------------------------


def synergy_counts(scope: Scope) -> list[tuple[str, str, str | None, int]]:
    """(stage, kind, stop_reason, count) of the synergies in scope: rules.synergy_tables' input."""
    query = (sa.select(Synergy.stage, Synergy.kind, Synergy.stop_reason, sa.func.count(Synergy.id))
             .where(*synergy_conditions(scope))
             .group_by(Synergy.stage, Synergy.kind, Synergy.stop_reason))
    return [tuple(row) for row in db.session.execute(query)]


def benefit_rows(scope: Scope) -> list[dict]:
    """Sums of the benefit figures of the synergies in scope, by status and `is_annual`: verified rows,
    and declared rows of synergies that have no verified row yet. rules.benefit_tables' input."""
    benefit = SynergyBenefit
    verified = aliased(SynergyBenefit)
    has_verified = sa.exists().where(verified.synergy_id == benefit.synergy_id, verified.status == "verified")
    query = (sa.select(benefit.status, benefit.is_annual, sa.func.count(benefit.id).label("synergies"),
                       *[sa.func.sum(getattr(benefit, name)).label(name) for name in rules.BENEFIT_FIGURES])
             .join(Synergy, Synergy.id == benefit.synergy_id)
             .where(*synergy_conditions(scope))
             .where(sa.or_(benefit.status == "verified", sa.and_(benefit.status == "declared", ~has_verified)))
             .group_by(benefit.status, benefit.is_annual))
    return [dict(row._mapping) for row in db.session.execute(query)]


# --- one row per synergy (exports) -------------------------------------------------------------


def synergy_rows(scope: Scope) -> list[dict]:
    """Every synergy in scope with its territory, companies and verified figures (and the emission
    factor used), in one query, by id."""
    giver, taker = aliased(Company), aliased(Company)
    verified = aliased(SynergyBenefit)
    declared = aliased(SynergyBenefit)
    has_declared = sa.exists().where(declared.synergy_id == Synergy.id, declared.status == "declared")
    query = (sa.select(
        Synergy.id, Synergy.title, Territory.name.label("territory"), giver.name.label("giver"),
        taker.name.label("taker"), Synergy.kind, Synergy.sub_type, Synergy.stage, Synergy.stop_reason,
        Synergy.is_continuous, Synergy.created_at, Synergy.stage_changed_at,
        verified.id.label("verified_id"), has_declared.label("has_declared"), verified.is_annual,
        *[getattr(verified, name).label(name) for name in rules.BENEFIT_FIGURES],
        verified.co2e_method, verified.co2e_basis, verified.emission_factor_key, verified.emission_factor_label,
        verified.emission_factor_value, verified.emission_factor_unit, verified.emission_factor_source)
        .outerjoin(Territory, Territory.id == Synergy.territory_id)
        .outerjoin(giver, giver.id == Synergy.giver_company_id)
        .outerjoin(taker, taker.id == Synergy.taker_company_id)
        .outerjoin(verified, sa.and_(verified.synergy_id == Synergy.id, verified.status == "verified"))
        .where(*synergy_conditions(scope))
        .order_by(Synergy.id))
    return [dict(row._mapping) for row in db.session.execute(query)]


# --- the map -----------------------------------------------------------------------------------


def map_data(scope: Scope) -> dict:
    """What the report's map draws, as plain JSON-ready data:
    - `sites`: the sites with coordinates of the companies in scope (sites in the report's territories;
      every site for an administrator without a filter): [id, lat, lon, company, site label];
    - `resources`: the published listings at those sites, per site: [site id, offers, needs, [[id, kind,
      title], … up to TITLES_PER_SITE]];
    - `synergies`: one line per synergy in scope whose two ends can be placed: [id, title, kind, group,
      [lat, lon], [lat, lon]] (the listing's site, else the company's site in the territory, else its
      first site with coordinates); `unplaced`: how many synergies could not be drawn."""
    has_coordinates = (Site.latitude.is_not(None), Site.longitude.is_not(None))
    site_rows = db.session.execute(
        sa.select(Site.id, Site.latitude, Site.longitude, Company.name, Site.name, Site.city)
        .join(Company, Company.id == Site.company_id)
        .where(*has_coordinates, *_site_conditions(scope))
        .order_by(Site.id)).all()
    sites = [[r.id, r.latitude, r.longitude, r[3], f"{r[4]} — {r.city}"] for r in site_rows]
    in_scope = {r.id for r in site_rows}

    listing_site = sa.select(Site.id).where(*has_coordinates, *_site_conditions(scope))
    counts = db.session.execute(
        sa.select(Listing.site_id, Listing.kind, sa.func.count(Listing.id))
        .where(Listing.status.in_(PUBLIC_STATUSES), Listing.site_id.in_(listing_site))
        .group_by(Listing.site_id, Listing.kind)).all()
    ranked = (sa.select(Listing.id, Listing.site_id, Listing.kind, Listing.title,
                        sa.func.row_number().over(partition_by=Listing.site_id,
                                                  order_by=(Listing.published_at.desc(), Listing.id.desc()))
                        .label("rank"))
              .where(Listing.status.in_(PUBLIC_STATUSES), Listing.site_id.in_(listing_site))).subquery()
    titles = db.session.execute(sa.select(ranked.c.id, ranked.c.site_id, ranked.c.kind, ranked.c.title)
                                .where(ranked.c.rank <= TITLES_PER_SITE)
                                .order_by(ranked.c.site_id, ranked.c.rank)).all()
    resources: dict[int, list] = {}
    for site_id, kind, count in counts:
        entry = resources.setdefault(site_id, [site_id, 0, 0, []])
        entry[1 if kind == "offer" else 2] += count
    for listing_id, site_id, kind, title in titles:
        resources.setdefault(site_id, [site_id, 0, 0, []])[3].append([listing_id, kind, title])

    offer, need = aliased(Listing), aliased(Listing)
    synergy_rows = db.session.execute(
        sa.select(Synergy.id, Synergy.title, Synergy.kind, Synergy.stage, Synergy.giver_company_id,
                  Synergy.taker_company_id, offer.site_id.label("offer_site"), offer.company_id.label("offer_company"),
                  need.site_id.label("need_site"), need.company_id.label("need_company"))
        .outerjoin(offer, offer.id == Synergy.listing_id)
        .outerjoin(need, need.id == Synergy.need_listing_id)
        .where(*synergy_conditions(scope))
        .order_by(Synergy.id)).all()
    involved = sa.union(
        sa.select(Synergy.giver_company_id.label("company_id")).where(*synergy_conditions(scope)),
        sa.select(Synergy.taker_company_id.label("company_id")).where(*synergy_conditions(scope))).subquery()
    end_rows = db.session.execute(
        sa.select(Site.id, Site.company_id, Site.latitude, Site.longitude)
        .where(*has_coordinates, Site.company_id.in_(sa.select(involved.c.company_id)))
        .order_by(Site.id)).all()
    points = {r.id: (r.latitude, r.longitude) for r in end_rows}
    by_company: dict[int, list[int]] = {}
    for r in end_rows:
        by_company.setdefault(r.company_id, []).append(r.id)

    from marketplace.synergies.rules import reporting_group

    lines, unplaced = [], 0
    for r in synergy_rows:
        # A listing's site stands for a company's end only when the listing is that company's.
        giver_pref = r.offer_site if r.offer_company == r.giver_company_id else None
        taker_pref = r.need_site if r.need_company == r.taker_company_id else None
        ends = [rules.pick_site(pref, company, points, by_company, in_scope)
                for pref, company in ((giver_pref, r.giver_company_id), (taker_pref, r.taker_company_id))]
        if None in ends:
            unplaced += 1
            continue
        lines.append([r.id, r.title, r.kind, reporting_group(r.stage), list(points[ends[0]]), list(points[ends[1]])])
    return {"sites": sites, "resources": list(resources.values()), "synergies": lines, "unplaced": unplaced}
