"""Which synergies a person sees, filtered for the list and the board; who can be chosen in forms."""
from __future__ import annotations

import sqlalchemy as sa

from marketplace.accounts.models import Company, Site, Territory, site_territory
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.synergies.models import ORIGINS, Synergy
from marketplace.synergies.rules import KINDS


def visible(user, query=None):
    """`query` (default: every synergy) narrowed to what `user` may see: their company's synergies and
    those of the territories they run; everything for an administrator. None: nothing to see."""
    query = query if query is not None else sa.select(Synergy)
    if user.is_admin:
        return query
    mine = [Synergy.territory_id.in_(user.territory_ids)] if user.territory_ids else []
    if user.company_id:
        mine += [Synergy.giver_company_id == user.company_id, Synergy.taker_company_id == user.company_id]
    if not mine:
        return None
    return query.where(sa.or_(*mine))


def filtered(user, territory_id=None, kind=None, origin=None, followed_by_id=None):
    """Visible synergies with the board's filters (values outside their lists are ignored)."""
    query = visible(user, sa.select(Synergy).order_by(Synergy.next_action_due.is_(None), Synergy.next_action_due,
                                                       Synergy.updated_at.desc(), Synergy.id.desc()))
    if query is None:
        return []
    if territory_id:
        query = query.where(Synergy.territory_id == territory_id)
    if kind in KINDS:
        query = query.where(Synergy.kind == kind)
    if origin in ORIGINS:
        query = query.where(Synergy.origin == origin)
    if followed_by_id:
        query = query.where(Synergy.followed_by_id == followed_by_id)
    return db.session.scalars(query.limit(2000)).all()


def territories_run_by(user) -> list[Territory]:
    query = sa.select(Territory).order_by(Territory.name)
    if not user.is_admin:
        query = query.where(Territory.id.in_(user.territory_ids or {0}))
    return db.session.scalars(query).all()


def territories_seen_by(user) -> list[Territory]:
    """Territories offered as a board filter: those one runs, and those of one's company's synergies."""
    if user.is_admin:
        return territories_run_by(user)
    ids = set(user.territory_ids)
    if user.company_id:
        ids |= set(db.session.scalars(sa.select(Synergy.territory_id).where(
            Synergy.territory_id.is_not(None),
            sa.or_(Synergy.giver_company_id == user.company_id, Synergy.taker_company_id == user.company_id))))
    return db.session.scalars(sa.select(Territory).where(Territory.id.in_(ids or {0})).order_by(Territory.name)).all()


def companies_for(territories: list[Territory]) -> list[Company]:
    """Companies with a site in one of these territories (the choices of a new synergy)."""
    ids = [t.id for t in territories] or [0]
    return db.session.scalars(
        sa.select(Company).where(Company.id.in_(
            sa.select(Site.company_id).join(site_territory, site_territory.c.site_id == Site.id)
            .where(site_territory.c.territory_id.in_(ids))))
        .order_by(Company.name)).all()


def listing_for_new(user, listing_id) -> Listing | None:
    """A listing a new synergy may start from: one the person moderates (its site in their territory)."""
    listing_id = str(listing_id or "")
    if not (listing_id.isascii() and listing_id.isdigit() and len(listing_id) < 10):
        return None
    listing = db.session.get(Listing, int(listing_id))
    if listing is None or listing.status == "draft" or not user.moderates_site(listing.site):
        return None
    return listing


def synergies_by_pair(matches) -> dict[int, Synergy]:
    """For each match (by id), the synergy already made of its pair, if any."""
    if not matches:
        return {}
    pairs = {(m.offer_id, m.need_id): m.id for m in matches}
    rows = db.session.scalars(sa.select(Synergy).where(
        Synergy.need_listing_id.is_not(None),
        Synergy.listing_id.in_({o for o, _ in pairs}), Synergy.need_listing_id.in_({n for _, n in pairs}))).all()
    return {pairs[(s.listing_id, s.need_listing_id)]: s for s in rows if (s.listing_id, s.need_listing_id) in pairs}
