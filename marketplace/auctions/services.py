"""Auction state changes. Each function takes the acting user (None for jobs), flushes, never commits.

Concurrency: every change takes row locks before reading the state it decides on, always in the same
order (session, then lot), by bumping a version column with an UPDATE. On PostgreSQL that UPDATE
locks the row until commit; on SQLite it takes the database's write lock as the transaction's first
write, so no transaction decides on a stale snapshot. Bids lock only their lot, so bidding on
different lots runs side by side; placing a bid, closing a lot, resolving a round and deciding an
award are each one transaction, and each is idempotent (a second call finds the work done)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Company, User
from marketplace.auctions import rules
from marketplace.auctions.models import AuctionSession, Award, Bid, Lot, LotEvent, Participant, Round
from marketplace.extensions import db
from marketplace.jobs import enqueue_after_commit
from marketplace.listings.models import Listing, ListingEvent
from marketplace.models_base import utcnow
from marketplace.notifications.services import external_url, notify

MESSAGES = {
    "no_company": _l("Rattachez votre compte à une entreprise pour enchérir."),
    "own_lot": _l("Vous ne pouvez pas enchérir sur un lot de votre entreprise."),
    "not_invited": _l("Votre entreprise n'est pas invitée à cette session."),
    "company_refused": _l("Votre entreprise a été refusée par l'animation du territoire : elle ne peut pas enchérir. "
                          "Contactez l'animateur·rice si c'est une erreur."),
    "not_checked_in": _l("Votre entreprise n'est pas enregistrée dans la salle : signalez-vous à l'animateur·rice."),
    "not_eligible": _l("Ce lot est réservé aux apporteurs de solutions et entreprises autorisés à le prendre."),
    "not_open": _l("Ce lot ne reçoit pas d'enchères en ce moment."),
    "session_not_open": _l("La session n'est pas ouverte."),
    "session_not_draft": _l("La session a déjà commencé : elle ne se modifie plus."),
    "session_closed": _l("La session est close."),
    "other_lot_open": _l("Un autre lot est en cours : clôturez-le d'abord."),
    "lot_not_ready": _l("Ce lot n'est pas prêt à être présenté."),
    "lot_not_open": _l("Ce lot n'est pas en cours."),
    "lot_not_closed": _l("Ce lot n'est pas clos."),
    "lot_has_bids": _l("Ce lot a déjà reçu des enchères : il ne peut plus être retiré."),
    "lot_decided": _l("Une attribution de ce lot a déjà été décidée : la clôture ne peut plus être annulée."),
    "round_resolved": _l("Le round est terminé : la clôture ne peut plus être annulée."),
    "not_awaiting_consent": _l("Ce lot n'attend pas d'accord."),
    "not_unclaimed": _l("Ce lot n'est pas en attente de relance."),
    "listing_not_offer": _l("Seule une offre publiée peut être mise aux enchères."),
    "not_in_territory": _l("Cette entreprise n'a pas de site dans le territoire de la session."),
    "listing_outside_territory": _l("Cette offre n'est pas située dans le territoire de la session."),
    "listing_already_in_session": _l("Cette offre est déjà un lot de cette session."),
    "closes_in_past": _l("La date de clôture est déjà passée : choisissez une date à venir."),
    "award_not_proposed": _l("Cette attribution a déjà été décidée."),
    "bid_not_active": _l("Cette enchère n'est plus active."),
    "bad_reason": _l("Indiquez le motif du retrait : erreur de saisie ou lot modifié."),
    "invalid": _l("Enchère invalide."),
    "quantity_missing": _l("Indiquez une quantité positive."),
    "quantity_above_lot": _l("La quantité dépasse celle du lot."),
    "whole_lot_only": _l("Ce lot ne se divise pas : enchérissez pour la quantité entière."),
    "below_min_take": _l("La quantité est inférieure à la prise minimale du lot."),
    "price_out_of_range": _l("Prix hors limites."),
    "price_precision": _l("Le prix s'exprime au centime près."),
}


class AuctionError(Exception):
    """An action the rules or the current state do not allow; `code` keys MESSAGES, `problems` lists
    the bid's field problems."""

    def __init__(self, code: str, problems: list[str] | None = None):
        super().__init__(code)
        self.code = code
        self.problems = problems or []

    @property
    def message(self) -> str:
        if self.problems:
            return " ".join(str(MESSAGES[p]) for p in self.problems)
        return str(MESSAGES[self.code])


def _setting(name: str):
    return current_app.config[name]


def _json(value):
    return str(value) if isinstance(value, Decimal) else value


def _event(lot: Lot, actor: User | None, action: str, before: str | None, **detail) -> None:
    db.session.add(LotEvent(lot_id=lot.id, actor_id=actor.id if actor else None, action=action, from_status=before,
                            to_status=lot.status, detail={k: _json(v) for k, v in detail.items()} or None))


def _lock_session(session_id: int) -> AuctionSession:
    db.session.execute(sa.update(AuctionSession).where(AuctionSession.id == session_id)
                       .values(version=AuctionSession.version + 1).execution_options(synchronize_session=False))
    return db.session.scalars(sa.select(AuctionSession).where(AuctionSession.id == session_id)
                              .execution_options(populate_existing=True)).one()


def lock_lot(lot_id: int) -> Lot | None:
    """The lot, read after taking its row lock (see the module docstring)."""
    db.session.execute(sa.update(Lot).where(Lot.id == lot_id).values(version=Lot.version + 1)
                       .execution_options(synchronize_session=False))
    return db.session.scalars(sa.select(Lot).where(Lot.id == lot_id)
                              .execution_options(populate_existing=True)).one_or_none()


def _fresh(model, where) -> list:
    return db.session.scalars(sa.select(model).where(where).order_by(model.id)
                              .execution_options(populate_existing=True)).all()


def terms_of(lot: Lot) -> rules.LotTerms:
    return rules.LotTerms(quantity=lot.quantity_remaining, allow_partial=lot.allow_partial, min_take=lot.min_take,
                          reserve_unit_price_eur=lot.reserve_unit_price_eur)


def bid_views(bids: list[Bid]) -> list[rules.BidView]:
    return [rules.BidView(b.id, b.company_id, b.unit_price_eur, b.quantity, b.placed_at) for b in bids]


def active_bids(lot_id: int) -> list[Bid]:
    return _fresh(Bid, (Bid.lot_id == lot_id) & (Bid.status == "active"))


def best_bid(lot: Lot) -> Bid | None:
    bids = active_bids(lot.id)
    best = rules.best_bid(bid_views(bids))
    return next(b for b in bids if b.id == best.id) if best else None


# --- sessions ------------------------------------------------------------------------------------------


def create_session(actor: User, territory, data: dict) -> AuctionSession:
    """A session in preparation with its main round; `data` holds the form's fields."""
    session = AuctionSession(territory_id=territory.id, created_by_id=actor.id, status="draft")
    db.session.add(session)
    session.rounds.append(Round(number=1, kind="main", status="scheduled", mode=data["mode"]))
    update_session(actor, session, data)
    db.session.flush()
    return session


def update_session(actor: User, session: AuctionSession, data: dict) -> None:
    if session.status != "draft":
        raise AuctionError("session_not_draft")
    for field in ("title", "description", "mode", "starts_at", "place", "is_online"):
        if field in data:
            setattr(session, field, data[field])
    main = session.main_round
    main.mode = session.mode
    main.opens_at = None if session.is_live else session.starts_at
    main.closes_at = None if session.is_live else data.get("closes_at")


def invite(actor: User, session: AuctionSession, companies: list[Company]) -> int:
    """Add companies to the session and tell their members; returns how many were new."""
    if session.status in ("closed", "cancelled"):
        raise AuctionError("session_closed")
    known = {p.company_id for p in session.participants}
    added = 0
    for company in companies:
        if company.id in known:
            continue
        session.participants.append(Participant(company_id=company.id))
        known.add(company.id)
        added += 1
        for user in company.members:
            notify(user, "auction", _l("Invitation : %(title)s", title=session.title),
                   _l("Session d'enchères de ressources le %(when)s, %(place)s.", when=_local(session.starts_at),
                      place=session.place or _l("en ligne")),
                   external_url("auctions.show", session_id=session.id), f"auction-invite:{session.id}")
    db.session.flush()
    return added


def _local(moment: datetime) -> str:
    from marketplace.labels import format_datetime

    return format_datetime(moment)


def remove_participant(actor: User, session: AuctionSession, company_id: int) -> None:
    if session.status != "draft":
        raise AuctionError("session_not_draft")
    participant = session.participant(company_id)
    if participant is not None:
        session.participants.remove(participant)


def check_in(actor: User, session_id: int, company_id: int, present: bool) -> None:
    session = _lock_session(session_id)
    if session.status in ("closed", "cancelled"):
        raise AuctionError("session_closed")
    participant = session.participant(company_id)
    if participant is None:  # walk-ins: a company of the territory that turns up is added on the spot
        company = db.session.get(Company, company_id)
        if company is None or session.territory_id not in company.territory_ids:
            raise AuctionError("not_in_territory")
        participant = Participant(company_id=company_id)
        session.participants.append(participant)
    participant.checked_in_at = utcnow() if present else None


def open_session(actor: User, session_id: int) -> AuctionSession:
    """Live: the room opens (lots are then presented one by one). Timed and sealed: every ready lot
    takes bids from the opening time until the round's end, when a job closes them."""
    session = _lock_session(session_id)
    if session.status != "draft":
        raise AuctionError("session_not_draft")
    main = session.main_round
    now = utcnow()
    if not session.is_live and (main.closes_at is None or main.closes_at <= now):
        raise AuctionError("closes_in_past")
    session.status = "open"
    session.opened_at = now
    main.status = "open"
    for lot in main.lots:
        if lot.status == "ready" and not session.is_live:
            _open_timed(lot, actor)
    return session


def _open_timed(lot: Lot, actor: User | None) -> None:
    before = lot.status
    lot.status = "open"
    lot.closes_at = lot.scheduled_close = lot.round.closes_at
    _event(lot, actor, "opened", before, closes_at=lot.closes_at.isoformat())
    schedule_close(lot)


def schedule_close(lot: Lot) -> None:
    """Close the lot at its end time, in a job, even if nobody is looking (the minute sweep backs it up)."""
    from marketplace.auctions.tasks import close_lot_at

    enqueue_after_commit(db.session(), close_lot_at, lot.id, lot.closes_at)


def close_room(actor: User, session_id: int) -> None:
    """The live room ends: lots still on the table close (those never presented get no bid) and the
    main round resolves, sending what is left to a follow-up round."""
    session = _lock_session(session_id)
    if session.status != "open" or not session.is_live:
        raise AuctionError("session_not_open")
    for lot in list(session.main_round.lots):
        lot = lock_lot(lot.id)
        if lot.status in ("open", "ready"):
            _close(lot, actor)
    session.current_lot_id = None
    _resolve(session, session.main_round, actor)


# --- lots ---------------------------------------------------------------------------------------------


def put_up(actor: User, session: AuctionSession, listing: Listing, data: dict) -> Lot:
    """The owner puts an offer up (ready at once); a practitioner puts it up with the owner's consent
    to come. `data`: quantity, allow_partial, min_take, reserve_unit_price_eur, pickup_from, pickup_until, note."""
    if session.status not in ("draft", "open"):
        raise AuctionError("session_closed")
    if listing.kind != "offer" or listing.status != "published":
        raise AuctionError("listing_not_offer")
    if session.territory_id not in {t.id for t in listing.site.territories}:
        raise AuctionError("listing_outside_territory")
    main = session.main_round
    if any(lot.listing_id == listing.id and lot.status not in ("refused", "withdrawn") for lot in main.lots):
        raise AuctionError("listing_already_in_session")
    by_owner = listing.is_owned_by(actor)
    lot = Lot(round=main, listing=listing, position=max((x.position for x in main.lots), default=0) + 1,
              status="ready" if by_owner else "awaiting_consent", quantity=data["quantity"],
              quantity_remaining=data["quantity"], unit=data.get("unit") or listing.unit or "unit",
              allow_partial=bool(data.get("allow_partial")), min_take=data.get("min_take"),
              reserve_unit_price_eur=data.get("reserve_unit_price_eur"), pickup_from=data.get("pickup_from"),
              pickup_until=data.get("pickup_until"), note=(data.get("note") or "").strip(), put_up_by_id=actor.id)
    if by_owner:
        lot.consented_by_id, lot.consented_at = actor.id, utcnow()
    db.session.add(lot)
    db.session.flush()
    _event(lot, actor, "put_up", None, quantity=lot.quantity, allow_partial=lot.allow_partial)
    _listing_event(listing, actor, "auction_lot", session.title)
    if by_owner:
        _open_if_running(lot, actor)
    else:
        for user in _giver_people(listing):
            notify(user, "auction", _l("Accord demandé : « %(title)s » aux enchères", title=listing.title),
                   _l("L'animateur·rice propose de mettre votre offre en lot dans « %(session)s ». Rien ne se fait sans votre accord.",
                      session=session.title),
                   external_url("auctions.lot", lot_id=lot.id), f"lot-consent:{lot.id}", listing=listing)
    return lot


def _open_if_running(lot: Lot, actor: User | None) -> None:
    session = lot.round.session
    if session.status == "open" and not session.is_live and lot.round.status == "open":
        _open_timed(lot, actor)


def _giver_people(listing: Listing) -> list[User]:
    author = listing.author if listing.author and listing.author.company_id == listing.company_id else None
    return [author] if author else [u for u in listing.company.members if u.is_active]


def answer_consent(actor: User, lot_id: int, accept: bool, reserve: Decimal | None = None) -> Lot:
    lot = lock_lot(lot_id)
    if lot.status != "awaiting_consent":
        raise AuctionError("not_awaiting_consent")
    before = lot.status
    if accept:
        lot.status = "ready"
        lot.consented_by_id, lot.consented_at = actor.id, utcnow()
        if reserve is not None:
            lot.reserve_unit_price_eur = reserve
        _event(lot, actor, "consented", before)
        _open_if_running(lot, actor)
    else:
        lot.status = "refused"
        _event(lot, actor, "consent_refused", before)
    return lot


def withdraw_lot(actor: User, lot_id: int) -> Lot:
    lot = db.get_or_404(Lot, lot_id)
    session = _lock_session(lot.round.session_id)
    lot = lock_lot(lot_id)
    if lot.status not in ("awaiting_consent", "ready", "open"):
        raise AuctionError("lot_not_ready")
    if active_bids(lot.id):
        raise AuctionError("lot_has_bids")
    before = lot.status
    lot.status = "withdrawn"
    lot.closes_at = None
    _event(lot, actor, "withdrawn", before)
    round_ = lot.round
    # A timed or sealed round ends when its last lot closes; withdrawing that last lot ends it too.
    if round_.mode != "live" and round_.status == "open" and all(x.status not in ("open", "ready")
                                                                 for x in round_.lots):
        _resolve(session, round_, actor)
    return lot


# --- the live room --------------------------------------------------------------------------------------


def present(actor: User, lot_id: int) -> Lot:
    """Put a lot on the screen: it takes bids until the practitioner closes it."""
    lot = db.get_or_404(Lot, lot_id)
    session = _lock_session(lot.round.session_id)
    lot = lock_lot(lot_id)
    if session.status != "open" or not session.is_live or lot.round.kind != "main":
        raise AuctionError("session_not_open")
    if lot.status != "ready":
        raise AuctionError("lot_not_ready")
    if session.current_lot_id and session.current_lot_id != lot.id:
        current = db.session.get(Lot, session.current_lot_id)
        if current is not None and current.status == "open":
            raise AuctionError("other_lot_open")
    lot.status = "open"
    lot.presented_at = utcnow()
    session.current_lot_id = lot.id
    _event(lot, actor, "presented", "ready")
    return lot


def last_call(actor: User, lot_id: int, seconds: int | None = None) -> Lot:
    """"Dernières enchères": a countdown; bids stop when it ends, then the practitioner closes the lot."""
    lot = db.get_or_404(Lot, lot_id)
    _lock_session(lot.round.session_id)
    lot = lock_lot(lot_id)
    if lot.status != "open" or lot.round.mode != "live":
        raise AuctionError("lot_not_open")
    lot.closes_at = utcnow() + timedelta(seconds=seconds or _setting("AUCTION_LAST_CALL_SECONDS"))
    _event(lot, actor, "last_call", "open", closes_at=lot.closes_at.isoformat())
    return lot


def close_lot(actor: User | None, lot_id: int, now: datetime | None = None) -> bool:
    """Close bidding on a lot and propose its allocation to the giver. False when there was nothing to
    do (already closed, or, for a job, not yet due): closing twice changes nothing."""
    lot = db.session.get(Lot, lot_id)
    if lot is None:
        return False
    session = _lock_session(lot.round.session_id)
    lot = lock_lot(lot_id)
    if lot.status != "open":
        return False
    now = now or utcnow()
    if actor is None and (lot.round.mode == "live" or lot.closes_at is None or lot.closes_at > now):
        return False
    _close(lot, actor)
    if session.is_live and session.current_lot_id == lot.id and lot.round.kind == "main":
        pass  # the lot stays on screen with its result until the next is presented
    if lot.round.mode != "live":
        round_ = lot.round
        if all(x.status not in ("open", "ready") for x in round_.lots):
            _resolve(session, round_, actor)
    return True


def _close(lot: Lot, actor: User | None) -> None:
    before = lot.status
    lot.status = "closed"
    lot.closed_at = utcnow()
    shares = rules.allocate(terms_of(lot), bid_views(active_bids(lot.id))) if before == "open" else []
    bids = {b.id: b for b in lot.bids}
    for bid_id, quantity in shares:
        bid = bids[bid_id]
        db.session.add(Award(lot_id=lot.id, bid_id=bid.id, company_id=bid.company_id, quantity=quantity,
                             unit_price_eur=bid.unit_price_eur))
    db.session.flush()
    _event(lot, actor, "closed", before, proposed=[{"bid": b, "quantity": str(q)} for b, q in shares])
    if shares:
        for user in _giver_people(lot.listing):
            notify(user, "auction", _l("Lot clos : confirmez l'attribution de « %(title)s »", title=lot.listing.title),
                   _l("%(n)s enchère(s) retenue(s). Rien n'engage votre entreprise avant votre confirmation.",
                      n=len(shares)),
                   external_url("auctions.lot", lot_id=lot.id), f"lot-closed:{lot.id}:{lot.closed_at.isoformat()}",
                   listing=lot.listing)


def undo_close(actor: User, lot_id: int) -> Lot:
    """The practitioner recorded a result by mistake: the lot reopens with its bids, as long as the
    giver has decided nothing and the round is still running."""
    lot = db.get_or_404(Lot, lot_id)
    session = _lock_session(lot.round.session_id)
    lot = lock_lot(lot_id)
    if lot.status != "closed":
        raise AuctionError("lot_not_closed")
    if lot.round.status == "closed":
        raise AuctionError("round_resolved")
    if any(a.status in ("confirmed", "declined") for a in lot.awards):
        raise AuctionError("lot_decided")
    if session.current_lot_id and session.current_lot_id != lot.id:
        current = db.session.get(Lot, session.current_lot_id)
        if current is not None and current.status == "open":
            raise AuctionError("other_lot_open")
    for award in lot.awards:
        if award.status == "proposed":
            award.status = "undone"
            award.decided_at = utcnow()
            award.decided_by_id = actor.id
    lot.status = "open"
    lot.closed_at = None
    lot.closes_at = None if lot.round.mode == "live" else lot.closes_at
    session.current_lot_id = lot.id
    _event(lot, actor, "reopened", "closed")
    return lot


# --- bids ---------------------------------------------------------------------------------------------


def bidding_access(user: User, lot: Lot) -> str | None:
    """The reason (a MESSAGES key) why this person cannot bid on the lot now, or None."""
    if not user.company_id:
        return "no_company"
    if lot.listing.company_id == user.company_id:
        return "own_lot"
    if user.company.is_rejected:
        return "company_refused"
    round_ = lot.round
    session = round_.session
    if round_.kind == "main":
        participant = session.participant(user.company_id)
        if participant is None:
            return "not_invited"
        if session.is_live and participant.checked_in_at is None:
            return "not_checked_in"
    elif follow_up_access(lot, user.company) is None:
        return "not_eligible"
    return None


def place_bid(actor: User, lot_id: int, unit_price_eur: Decimal | None, quantity: Decimal | None,
              message: str = "", client_key: str | None = None) -> tuple[Bid, bool]:
    """Store one bid; (bid, True), or (the bid already stored under this key, False) for a retried
    request. A company's new bid replaces its earlier one on the lot. Raises AuctionError."""
    lot = lock_lot(lot_id)
    if lot is None:
        raise AuctionError("not_open")
    if client_key:
        existing = db.session.scalar(sa.select(Bid).where(Bid.lot_id == lot.id, Bid.company_id == actor.company_id,
                                                          Bid.client_key == client_key))
        if existing is not None:
            return existing, False
    reason = bidding_access(actor, lot)
    if reason:
        raise AuctionError(reason)
    now = utcnow()
    round_ = lot.round
    opens_at = round_.opens_at if round_.kind == "main" and round_.mode != "live" else None
    if not rules.accepting_bids(lot.status, now, opens_at, lot.closes_at):
        raise AuctionError("not_open")
    problems = rules.bid_problems(terms_of(lot), unit_price_eur, quantity)
    if problems:
        raise AuctionError("invalid", problems)
    db.session.execute(sa.update(Bid).where(Bid.lot_id == lot.id, Bid.company_id == actor.company_id,
                                            Bid.status == "active").values(status="superseded")
                       .execution_options(synchronize_session=False))
    bid = Bid(lot_id=lot.id, company_id=actor.company_id, user_id=actor.id, unit_price_eur=unit_price_eur,
              quantity=quantity, message=(message or "").strip()[:2000], client_key=client_key, placed_at=now)
    db.session.add(bid)
    db.session.flush()
    _event(lot, actor, "bid", lot.status, bid=bid.id, company=actor.company_id, unit_price_eur=unit_price_eur,
           quantity=quantity)
    lot.listing.last_activity_at = now
    if round_.mode == "timed" and lot.closes_at is not None:
        extended = rules.extended_close(
            lot.closes_at, lot.scheduled_close or lot.closes_at, now,
            timedelta(minutes=_setting("AUCTION_SOFT_CLOSE_MINUTES")),
            timedelta(minutes=_setting("AUCTION_EXTENSION_MINUTES")),
            timedelta(minutes=_setting("AUCTION_MAX_EXTENSION_MINUTES")))
        if extended != lot.closes_at:
            lot.closes_at = extended
            _event(lot, None, "extended", lot.status, closes_at=extended.isoformat())
            schedule_close(lot)
    return bid, True


def retract_bid(actor: User, bid_id: int, reason: str, note: str = "") -> Bid:
    """Withdraw one's own bid while the lot is open, only for a stated reason; logged on the lot."""
    bid = db.session.get(Bid, bid_id)
    if bid is None:
        raise AuctionError("bid_not_active")
    lot = lock_lot(bid.lot_id)
    db.session.refresh(bid)
    if reason not in rules.RETRACT_REASONS:
        raise AuctionError("bad_reason")
    if bid.status != "active" or bid.company_id != actor.company_id:
        raise AuctionError("bid_not_active")
    if lot.status != "open":
        raise AuctionError("lot_not_open")
    bid.status = "retracted"
    bid.retracted_at = utcnow()
    bid.retract_reason = reason
    bid.retract_note = (note or "").strip()[:2000]
    _event(lot, actor, "bid_retracted", lot.status, bid=bid.id, reason=reason, note=bid.retract_note)
    return bid


# --- awards ------------------------------------------------------------------------------------------


def decide_award(actor: User, award_id: int, confirm: bool, reason: str = "") -> bool:
    """The giver confirms (binding: a synergy is created) or declines a proposed share. False when it
    was already decided: an award is never confirmed twice."""
    award = db.session.get(Award, award_id)
    if award is None:
        return False
    session = _lock_session(award.lot.round.session_id)
    lot = lock_lot(award.lot_id)
    db.session.refresh(award)
    if award.status != "proposed":
        return False
    award.decided_at = utcnow()
    award.decided_by_id = actor.id
    bidder = award.bid.user
    if confirm:
        lot.quantity_remaining = lot.quantity_remaining - award.quantity
        award.status = "confirmed"
        from marketplace.synergies.services import create_from_award

        synergy = create_from_award(award, actor)
        _event(lot, actor, "award_confirmed", lot.status, award=award.id, company=award.company_id,
               quantity=award.quantity, synergy=synergy.id)
        _listing_event(lot.listing, actor, "auction_awarded", f"{award.company.name} : {award.quantity} {lot.unit}")
        if bidder is not None:
            notify(bidder, "auction", _l("Lot attribué : « %(title)s »", title=lot.listing.title),
                   _l("%(giver)s confirme l'attribution à votre entreprise. Prenez contact pour organiser l'enlèvement.",
                      giver=lot.listing.company.name),
                   external_url("auctions.lot", lot_id=lot.id), f"award:{award.id}")
    else:
        award.status = "declined"
        award.decline_reason = (reason or "").strip()[:2000]
        _event(lot, actor, "award_declined", lot.status, award=award.id, company=award.company_id,
               reason=award.decline_reason)
        if bidder is not None:
            notify(bidder, "auction", _l("Attribution déclinée : « %(title)s »", title=lot.listing.title),
                   award.decline_reason or _l("Le cédant n'a pas retenu votre enchère."),
                   external_url("auctions.lot", lot_id=lot.id), f"award:{award.id}")
    db.session.flush()
    _settle_if_decided(session, lot, actor)
    return True


def _settle_if_decided(session: AuctionSession, lot: Lot, actor: User | None) -> None:
    """Once the round is over and the giver has decided every share, what is left of the lot goes on
    (main round: to a follow-up round) or waits for the practitioner (follow-up: unclaimed)."""
    if lot.status != "closed" or lot.round.status != "closed":
        return
    if any(a.status == "proposed" for a in lot.awards):
        return
    before = lot.status
    if lot.quantity_remaining > 0 and lot.round.kind == "main":
        _pass_on(session, [(lot, lot.quantity_remaining)], actor)
    lot.status = "unclaimed" if lot.quantity_remaining > 0 else "settled"
    _event(lot, actor, lot.status, before, awarded=lot.awarded_quantity)


# --- rounds ------------------------------------------------------------------------------------------


def _resolve(session: AuctionSession, round_: Round, actor: User | None) -> None:
    """The round is over: lots nobody agreed to put up are dropped; every lot's unallocated quantity
    goes (main round) to one follow-up round; lots with nothing left to decide settle."""
    if round_.status == "closed":
        return
    round_.status = "closed"
    round_.closed_at = utcnow()
    if round_.kind == "main":
        session.status = "closed"
        session.closed_at = round_.closed_at
    leftovers = []
    for lot in round_.lots:
        if lot.status == "awaiting_consent":
            lot.status = "withdrawn"
            _event(lot, actor, "withdrawn", "awaiting_consent", reason="no consent before the end")
            continue
        if lot.status != "closed":
            continue
        unallocated = lot.quantity_remaining - lot.proposed_quantity
        if round_.kind == "main" and unallocated > 0:
            leftovers.append((lot, unallocated))
    if leftovers:
        _pass_on(session, leftovers, actor)
    for lot in round_.lots:
        _settle_if_decided(session, lot, actor)


def _open_follow_up(session: AuctionSession, radius_km: float, days: float, join_open: bool = True) -> Round:
    """The session's open follow-up round with this radius and more than a day to go (when `join_open`:
    a share declined later joins the round its siblings are in), else a new one."""
    now = utcnow()
    existing = next((r for r in session.rounds if r.kind == "follow_up" and r.status == "open"
                     and r.radius_km == radius_km and r.closes_at and r.closes_at > now + timedelta(days=1)), None)
    if existing is not None and join_open:
        return existing
    round_ = Round(number=max(r.number for r in session.rounds) + 1, kind="follow_up", mode="sealed", status="open",
                   opens_at=now, closes_at=now + timedelta(days=days), radius_km=radius_km)
    session.rounds.append(round_)
    db.session.flush()
    return round_


def _pass_on(session: AuctionSession, leftovers: list[tuple[Lot, Decimal]], actor: User | None,
             radius_km: float | None = None, days: float | None = None, relaunched: bool = False) -> Round:
    """Offer these quantities in a follow-up round (sealed, for a few days) and tell the solution
    providers able to take them, one message per person and round."""
    round_ = _open_follow_up(session, radius_km or _setting("AUCTION_FOLLOW_UP_RADIUS_KM"),
                             days or _setting("AUCTION_FOLLOW_UP_DAYS"), join_open=not relaunched)
    children = []
    for lot, quantity in leftovers:
        lot.quantity_remaining = lot.quantity_remaining - quantity
        child = Lot(round=round_, listing_id=lot.listing_id, parent_lot_id=lot.id, position=len(round_.lots) + 1,
                    status="open", quantity=quantity, quantity_remaining=quantity, unit=lot.unit,
                    allow_partial=lot.allow_partial, min_take=lot.min_take, pickup_from=lot.pickup_from,
                    pickup_until=lot.pickup_until, note=lot.note, put_up_by_id=lot.put_up_by_id,
                    consented_by_id=lot.consented_by_id, consented_at=lot.consented_at,
                    closes_at=round_.closes_at, scheduled_close=round_.closes_at)
        db.session.add(child)
        db.session.flush()
        _event(lot, actor, "passed_on", lot.status, quantity=quantity, child_lot=child.id, round=round_.number)
        _event(child, actor, "opened", None, parent=lot.id, quantity=quantity, closes_at=round_.closes_at.isoformat())
        schedule_close(child)
        children.append(child)
    _tell_providers(round_, children)
    return round_


def _tell_providers(round_: Round, lots: list[Lot]) -> None:
    providers = db.session.scalars(sa.select(Company).where(Company.is_solution_provider.is_(True))).all()
    told: dict[int, list[Lot]] = {}
    for company in providers:
        for lot in lots:
            if follow_up_access(lot, company) == "provider":
                told.setdefault(company.id, []).append(lot)
    for company_id, company_lots in told.items():
        company = db.session.get(Company, company_id)
        titles = ", ".join(f"{lot.listing.title} ({lot.quantity} {lot.unit})" for lot in company_lots)
        key = f"round:{round_.id}:" + ",".join(str(lot.id) for lot in company_lots)
        for user in company.members:
            notify(user, "auction", _l("Deuxième round : %(n)s lot(s) pour votre activité", n=len(company_lots)),
                   _l("Offres sous pli jusqu'au %(when)s : %(lots)s", when=_local(round_.closes_at), lots=titles),
                   external_url("auctions.round", round_id=round_.id), key)


def follow_up_access(lot: Lot, company: Company | None) -> str | None:
    """"provider", "outside" or None: who may bid on a follow-up lot (rules.follow_up_access)."""
    if company is None:
        return None
    round_ = lot.round
    listing = lot.listing
    session = round_.session
    participant = session.participant(company.id)
    in_room = participant is not None and (participant.checked_in_at is not None or not session.is_live)
    resource = rules.Resource(listing.company_id, listing.category, listing.waste_code, listing.is_hazardous,
                              listing.site.latitude, listing.site.longitude)
    candidate = rules.Candidate(company.id, company.is_solution_provider, frozenset(company.handled_category_list),
                                frozenset(company.handled_waste_code_list),
                                tuple((s.latitude, s.longitude) for s in company.sites), in_room)
    return rules.follow_up_access(resource, candidate, round_.radius_km or _setting("AUCTION_FOLLOW_UP_RADIUS_KM"))


def relaunch(actor: User, lot_ids: list[int], radius_km: float, days: float) -> Round | None:
    """Unclaimed again: offer these lots in a further round, often wider and longer."""
    if not lot_ids:
        return None
    first = db.get_or_404(Lot, lot_ids[0])
    session = _lock_session(first.round.session_id)
    leftovers = []
    for lot_id in lot_ids:
        lot = lock_lot(lot_id)
        if lot is None or lot.status != "unclaimed" or lot.round.session_id != session.id:
            raise AuctionError("not_unclaimed")
        leftovers.append((lot, lot.quantity_remaining))
    # Always a new round: a relaunch sets its own radius and deadline.
    round_ = _pass_on(session, leftovers, actor, radius_km=radius_km, days=days, relaunched=True)
    for lot, _quantity in leftovers:
        lot.status = "settled"
        _event(lot, actor, "relaunched", "unclaimed", round=round_.number)
    return round_


def close_unclaimed(actor: User, lot_id: int) -> Lot:
    """The practitioner stops looking for a taker for this lot."""
    lot = lock_lot(lot_id)
    if lot.status != "unclaimed":
        raise AuctionError("not_unclaimed")
    lot.status = "unsold"
    _event(lot, actor, "unsold", "unclaimed")
    return lot


def due_lot_ids(now: datetime | None = None) -> list[int]:
    """Timed or sealed lots whose end has passed and that are still open."""
    now = now or utcnow()
    return db.session.scalars(sa.select(Lot.id).join(Round).where(
        Lot.status == "open", Lot.closes_at <= now, Round.mode != "live").order_by(Lot.id)).all()


def due_round_ids(now: datetime | None = None) -> list[int]:
    """Timed or sealed rounds past their end with no lot taking bids, which no lot closing will resolve
    (every lot still awaited the giver's consent, or none was put up)."""
    now = now or utcnow()
    taking_bids = sa.select(Lot.id).where(Lot.round_id == Round.id, Lot.status.in_(("open", "ready")))
    return db.session.scalars(sa.select(Round.id).where(
        Round.status == "open", Round.mode != "live", Round.closes_at <= now, ~taking_bids.exists())
        .order_by(Round.id)).all()


def resolve_round(actor: User | None, round_id: int) -> bool:
    """End such a round (see due_round_ids); False when there is nothing to do."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        return False
    session = _lock_session(round_.session_id)
    db.session.refresh(round_)
    if round_.status != "open" or round_.id not in due_round_ids():
        return False
    _resolve(session, round_, actor)
    return True


def _listing_event(listing: Listing, actor: User | None, action: str, note: str) -> None:
    db.session.add(ListingEvent(listing_id=listing.id, actor_id=actor.id if actor else None, action=action,
                                from_status=listing.status, to_status=listing.status, note=note))


def offer_to_providers(listing: Listing, actor: User | None = None) -> Round:
    """The owner of a dormant offer asks for it to go to solution providers (an answer to a relaunch):
    a closed session of the listing's territory, with no main-round lot, whose sealed follow-up round
    holds one open lot for the whole listing; the providers able to take it are told."""
    if listing.kind != "offer" or listing.status != "published":
        raise AuctionError("listing_not_offer")
    territory = min(listing.site.territories, key=lambda t: t.id, default=None)
    if territory is None:
        raise AuctionError("listing_outside_territory")
    now = utcnow()
    session = AuctionSession(territory_id=territory.id, title=f"Deuxième round : {listing.title}"[:160], mode="sealed",
                             starts_at=now, is_online=True, status="closed", opened_at=now, closed_at=now,
                             created_by_id=actor.id if actor else None)
    session.rounds.append(Round(number=1, kind="main", mode="sealed", status="closed", opens_at=now, closes_at=now,
                                closed_at=now))
    db.session.add(session)
    db.session.flush()
    round_ = _open_follow_up(session, _setting("AUCTION_FOLLOW_UP_RADIUS_KM"), _setting("AUCTION_FOLLOW_UP_DAYS"),
                             join_open=False)
    quantity = listing.quantity if listing.quantity and listing.quantity > 0 else Decimal(1)
    lot = Lot(round=round_, listing=listing, parent_lot_id=None, position=1, status="open", quantity=quantity,
              quantity_remaining=quantity, unit=listing.unit or "unit", allow_partial=True,
              put_up_by_id=actor.id if actor else None, consented_by_id=actor.id if actor else None,
              consented_at=now, closes_at=round_.closes_at, scheduled_close=round_.closes_at)
    db.session.add(lot)
    db.session.flush()
    _event(lot, actor, "opened", None, quantity=quantity, closes_at=round_.closes_at.isoformat(), origin="relaunch")
    schedule_close(lot)
    _listing_event(listing, actor, "auction_lot", session.title)
    _tell_providers(round_, [lot])
    return round_
