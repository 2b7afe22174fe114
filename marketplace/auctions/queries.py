"""Read-side helpers of the auction pages and the API: what a person sees, the room's state."""
from __future__ import annotations

import sqlalchemy as sa

from marketplace.accounts.models import Company, Site, site_territory
from marketplace.auctions.models import AuctionSession, Lot, Participant, Round
from marketplace.auctions.services import follow_up_access
from marketplace.extensions import db
from marketplace.listings.models import Listing


def sessions_for(user) -> list[AuctionSession]:
    """Sessions run by this practitioner, or where the company is invited or puts up a lot."""
    query = sa.select(AuctionSession).order_by(AuctionSession.starts_at.desc())
    if user.is_admin:
        return db.session.scalars(query).all()
    conditions = []
    if user.territory_ids:
        conditions.append(AuctionSession.territory_id.in_(user.territory_ids))
    if user.company_id:
        invited = sa.select(Participant.session_id).where(Participant.company_id == user.company_id)
        giving = (sa.select(Round.session_id).join(Lot, Lot.round_id == Round.id)
                  .join(Listing, Listing.id == Lot.listing_id).where(Listing.company_id == user.company_id))
        conditions.append(sa.and_(AuctionSession.status != "draft", AuctionSession.id.in_(invited)))
        conditions.append(AuctionSession.id.in_(giving))
    if not conditions:
        return []
    return db.session.scalars(query.where(sa.or_(*conditions))).all()


def open_follow_up_lots_for(user) -> list[Lot]:
    """Follow-up lots now taking sealed bids that this person's company may bid on."""
    if not user.company_id:
        return []
    lots = db.session.scalars(
        sa.select(Lot).join(Round).where(Round.kind == "follow_up", Round.status == "open", Lot.status == "open")
        .order_by(Round.closes_at, Lot.id)).all()
    return [lot for lot in lots if follow_up_access(lot, user.company) is not None]


def follow_up_rounds_for(user) -> list[Round]:
    """Rounds visible to the caller: those they run, or with a lot they may bid on or give."""
    rounds = db.session.scalars(sa.select(Round).where(Round.kind == "follow_up")
                                .order_by(Round.created_at.desc())).all()
    visible = []
    for round_ in rounds:
        if round_.session.is_run_by(user):
            visible.append(round_)
        elif user.company_id and any(lot.listing.company_id == user.company_id
                                     or (round_.status == "open" and follow_up_access(lot, user.company))
                                     for lot in round_.lots):
            visible.append(round_)
    return visible


def offers_to_put_up(session: AuctionSession, user) -> list[Listing]:
    """Published offers of the session's territory: the person's own, or all of them for its practitioners."""
    query = (sa.select(Listing).join(Site, Site.id == Listing.site_id)
             .join(site_territory, site_territory.c.site_id == Site.id)
             .where(site_territory.c.territory_id == session.territory_id, Listing.kind == "offer",
                    Listing.status == "published").order_by(Listing.title).limit(500))
    if not session.is_run_by(user):
        query = query.where(Listing.company_id == user.company_id)
    taken = {lot.listing_id for lot in session.main_round.lots if lot.status not in ("refused", "withdrawn")}
    return [x for x in db.session.scalars(query).unique().all() if x.id not in taken]


def companies_to_invite(session: AuctionSession) -> list[Company]:
    """Companies with a site in the session's territory, not yet invited."""
    invited = {p.company_id for p in session.participants}
    companies = db.session.scalars(
        sa.select(Company).join(Site, Site.company_id == Company.id)
        .join(site_territory, site_territory.c.site_id == Site.id)
        .where(site_territory.c.territory_id == session.territory_id).order_by(Company.name)).unique().all()
    return [c for c in companies if c.id not in invited]


def current_lot(session: AuctionSession) -> Lot | None:
    return db.session.get(Lot, session.current_lot_id) if session.current_lot_id else None


def room_version(session: AuctionSession) -> str:
    """Changes when anything the room's screens show changes (session, current lot, its bids)."""
    lot = current_lot(session)
    return f"{session.version}.{lot.version if lot else 0}"


def sessions_taking_lots(listing: Listing) -> list[AuctionSession]:
    """Sessions of the listing's territories that still take lots (in preparation or running)."""
    territory_ids = [t.id for t in listing.site.territories]
    if not territory_ids:
        return []
    return db.session.scalars(sa.select(AuctionSession).where(
        AuctionSession.territory_id.in_(territory_ids), AuctionSession.status.in_(("draft", "open")))
        .order_by(AuctionSession.starts_at)).all()
