"""/api/v1 auctions: sessions, lots, bids, closing, awards, follow-up rounds, and the synergies they
create. Thin views on the same services as the auction pages, with the same rules on who sees and
does what (session.can_view / is_run_by, lot_can_view, lot.is_given_by, lot_shows_*). Each change is
one service call, committed at once, rolled back when the service refuses it."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from marketplace.api import params, serializers
from marketplace.api.auth import require_token
from marketplace.api.errors import ApiError
from marketplace.api.views import bp
from marketplace.auctions import queries, rules, services
from marketplace.auctions.models import AuctionSession, Award, Bid, Lot, lot_can_view, lot_shows_all_bids
from marketplace.auctions.services import AuctionError
from marketplace.extensions import db, limiter
from marketplace.synergies.models import Synergy

# AuctionError codes: who may act (403), what the request holds (422); every other code is a state
# the lot or the session is in (409).
ACCESS_CODES = frozenset({"no_company", "own_lot", "not_invited", "not_checked_in", "not_eligible"})
PROBLEM_FIELDS = {"quantity_missing": "quantity", "quantity_above_lot": "quantity", "whole_lot_only": "quantity",
                  "below_min_take": "quantity", "price_out_of_range": "unit_price_eur",
                  "price_precision": "unit_price_eur"}
BID_FIELDS = frozenset({"unit_price_eur", "quantity", "message", "interest"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 64
# 1 to 64 printable ASCII characters, no space at either end (the pattern the document gives).
IDEMPOTENCY_KEY = re.compile(r"[!-~]([ -~]{0,%d}[!-~])?" % (MAX_KEY_LENGTH - 2))
MAX_MESSAGE_LENGTH = 2000
# A decimal written as text: "12.5", "12,5", "-1 500" (spaces or narrow no-break spaces between the digits).
DECIMAL_TEXT = re.compile("[+-]?[0-9][0-9 \u202f]*([.,][0-9]+)?")
QUANTITY_STEP = Decimal("0.001")  # the column's precision: a finer quantity would be rounded, maybe to 0


def _refused(error: AuctionError):
    db.session.rollback()
    if error.code in ACCESS_CODES:
        raise ApiError(403, error.code, error.message)
    if error.code == "invalid":
        fields: dict[str, list[str]] = {}
        for problem in error.problems:
            fields.setdefault(PROBLEM_FIELDS.get(problem, "bid"), []).append(str(services.MESSAGES[problem]))
        raise ApiError(422, "invalid", error.message, fields)
    if error.code == "bad_reason":
        raise ApiError(422, "invalid", error.message, {"reason": [error.message]})
    raise ApiError(409, error.code, error.message)


def _body(allowed: frozenset[str]) -> dict:
    """The request's JSON object with known keys and simple values only (400 or 422 otherwise)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "Le corps de la requête doit être un objet JSON.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(422, "unknown_fields", "Champs inconnus.", {k: ["champ inconnu"] for k in unknown})
    for key, value in body.items():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ApiError(422, "invalid", "Valeur invalide.", {key: ["une valeur simple est attendue"]})
    return body


def _decimal(value, field: str, fields: dict) -> Decimal | None:
    """A JSON number or a numeric string ("12.5", "12,5") as a Decimal; None for null or ""."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        fields[field] = ["un nombre est attendu"]
        return None
    if isinstance(value, str) and not DECIMAL_TEXT.fullmatch(value):  # the document's pattern, nothing looser
        fields[field] = ["un nombre est attendu"]
        return None
    try:
        number = Decimal(value.replace(",", ".").replace("\u202f", "").replace(" ", "")
                         if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        fields[field] = ["un nombre est attendu"]
        return None
    if not number.is_finite():
        fields[field] = ["un nombre fini est attendu"]
        return None
    return number


def _string(body: dict, field: str, fields: dict, max_length: int) -> str:
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        fields[field] = ["une chaîne est attendue"]
        return ""
    if len(value) > max_length:
        fields[field] = [f"{max_length} caractères au plus"]
    elif "\x00" in value:  # PostgreSQL text cannot hold it
        fields[field] = ["caractère nul interdit"]
    return value


def _session(session_id: int) -> AuctionSession:
    session = db.session.get(AuctionSession, session_id)
    if session is None or not session.can_view(g.api_user):
        raise ApiError(404, "not_found", "Session introuvable.")
    return session


def _lot(lot_id: int) -> Lot:
    lot = db.session.get(Lot, lot_id)
    if lot is None or not lot_can_view(lot, g.api_user):
        raise ApiError(404, "not_found", "Lot introuvable.")
    return lot


# --- sessions and lots -----------------------------------------------------------------------------


@bp.get("/auctions")
@require_token
def list_auctions():
    """Sessions the caller runs, is invited to, or puts a lot up in."""
    user = g.api_user
    sessions = [s for s in queries.sessions_for(user) if s.can_view(user)]
    return jsonify({"items": [serializers.auction_session(s, user) for s in sessions]})


@bp.get("/auctions/<int:session_id>")
@require_token
def get_auction(session_id):
    return jsonify(serializers.auction_session(_session(session_id), g.api_user))


@bp.get("/auctions/<int:session_id>/lots")
@require_token
def auction_lots(session_id):
    """The session's lots, every round, as the caller may see them (as the session page lists them)."""
    session = _session(session_id)
    user = g.api_user
    runs = session.is_run_by(user)
    lots = [lot for round_ in session.rounds for lot in round_.lots
            if (runs or lot.status != "refused") and lot_can_view(lot, user)]
    return jsonify({"items": [serializers.lot(lot, user) for lot in lots]})


@bp.get("/lots/<int:lot_id>")
@require_token
def get_lot(lot_id):
    return jsonify(serializers.lot(_lot(lot_id), g.api_user))


@bp.get("/lots/<int:lot_id>/bids")
@require_token
def lot_bids(lot_id):
    """Every bid for the practitioners and the giver (sealed: once the lot is closed); otherwise the
    caller's company's own bids."""
    lot = _lot(lot_id)
    user = g.api_user
    sees_all = lot_shows_all_bids(lot, user)
    query = sa.select(Bid).where(Bid.lot_id == lot.id).order_by(Bid.id)
    if not sees_all:
        if not user.company_id:
            return jsonify({"items": [], "all_bids": False})
        query = query.where(Bid.company_id == user.company_id)
    return jsonify({"items": [serializers.bid(b, show_company=True) for b in db.session.scalars(query)],
                    "all_bids": sees_all})


# --- bids --------------------------------------------------------------------------------------------


def _bid_limit() -> str:
    return current_app.config["AUCTION_BID_RATE_LIMIT"]


def _bidder_key() -> str:
    """Rate limits count per person (checked after the token is read, see the decorator order)."""
    user = getattr(g, "api_user", None)
    return f"api-user:{user.id}" if user is not None else f"ip:{request.remote_addr or ''}"


@bp.post("/lots/<int:lot_id>/bids")
@require_token
@limiter.limit(_bid_limit, key_func=_bidder_key)
def place_bid(lot_id):
    """A price per unit (signed) and a quantity, or an interest without price. Retrying with the same
    Idempotency-Key returns the bid already stored (200) instead of storing a second one (201)."""
    lot = _lot(lot_id)
    user = g.api_user
    client_key = request.headers.get(IDEMPOTENCY_HEADER) or None
    if client_key is not None and not IDEMPOTENCY_KEY.fullmatch(client_key):
        raise ApiError(422, "invalid", "Clé d'idempotence invalide.",
                       {IDEMPOTENCY_HEADER: [f"1 à {MAX_KEY_LENGTH} caractères ASCII imprimables, sans espace "
                                             "au début ni à la fin"]})
    body = _body(BID_FIELDS)
    fields: dict[str, list[str]] = {}
    interest = body.get("interest", False)
    if interest is None:
        interest = False
    if not isinstance(interest, bool):
        fields["interest"] = ["true ou false"]
    price = _decimal(body.get("unit_price_eur"), "unit_price_eur", fields)
    quantity = _decimal(body.get("quantity"), "quantity", fields)
    message = _string(body, "message", fields, MAX_MESSAGE_LENGTH)
    if interest is True and price is not None:
        fields["unit_price_eur"] = ["sans objet pour un intérêt sans prix (interest: true)"]
    elif interest is False and price is None and "unit_price_eur" not in fields:
        fields["unit_price_eur"] = ["indiquez un prix, ou interest: true pour un intérêt sans prix"]
    if (quantity is not None and abs(quantity) <= rules.MAX_QUANTITY
            and quantity != quantity.quantize(QUANTITY_STEP)):
        fields["quantity"] = ["au millième près"]
    if fields:
        raise ApiError(422, "invalid", "Certains champs sont invalides.", fields)
    try:
        placed, created = services.place_bid(user, lot.id, price, quantity, message, client_key)
        db.session.commit()
    except AuctionError as error:
        _refused(error)
    except IntegrityError:
        # Two retries of the same request raced past the check: the unique key kept one; return it.
        db.session.rollback()
        placed = db.session.scalar(sa.select(Bid).where(Bid.lot_id == lot_id, Bid.company_id == user.company_id,
                                                        Bid.client_key == client_key)) if client_key else None
        if placed is None:
            raise
        created = False
    return jsonify(serializers.bid(placed, show_company=True)), 201 if created else 200


@bp.post("/bids/<int:bid_id>/retract")
@require_token
def retract_bid(bid_id):
    """Withdraw one's own active bid while the lot is open, for a stated reason (typo, lot_changed)."""
    user = g.api_user
    bid = db.session.get(Bid, bid_id)
    if bid is None or not user.company_id or bid.company_id != user.company_id:
        raise ApiError(404, "not_found", "Enchère introuvable.")
    body = _body(frozenset({"reason", "note"}))
    fields: dict[str, list[str]] = {}
    reason = body.get("reason")
    if reason not in rules.RETRACT_REASONS:
        fields["reason"] = [" ou ".join(rules.RETRACT_REASONS)]
    note = _string(body, "note", fields, 500)
    if fields:
        raise ApiError(422, "invalid", "Certains champs sont invalides.", fields)
    try:
        services.retract_bid(user, bid.id, reason, note)
        db.session.commit()
    except AuctionError as error:
        _refused(error)
    return jsonify(serializers.bid(db.session.get(Bid, bid_id), show_company=True))


# --- closing and awards ---------------------------------------------------------------------------------


@bp.post("/lots/<int:lot_id>/close")
@require_token
def close_lot(lot_id):
    """The practitioner closes bidding: the allocation is proposed to the giver. Closing a lot that is
    no longer open changes nothing ({"closed": false})."""
    lot = _lot(lot_id)
    if not lot.round.session.is_run_by(g.api_user):
        raise ApiError(403, "forbidden", "Seul·e l'animateur·rice de la session clôt un lot.")
    try:
        closed = services.close_lot(g.api_user, lot.id)
        db.session.commit()
    except AuctionError as error:
        _refused(error)
    return jsonify({"closed": closed, "lot": serializers.lot(db.session.get(Lot, lot_id), g.api_user)})


@bp.post("/awards/<int:award_id>")
@require_token
def decide_award(award_id):
    """The giver confirms (binding: a synergy is created) or declines a proposed share. An award is
    decided once: a second decision changes nothing ({"decided": false})."""
    award = db.session.get(Award, award_id)
    if award is None or not lot_can_view(award.lot, g.api_user):
        raise ApiError(404, "not_found", "Attribution introuvable.")
    if not award.lot.is_given_by(g.api_user):
        raise ApiError(403, "forbidden", "Seule l'entreprise qui cède le lot décide de l'attribution.")
    body = _body(frozenset({"decision", "reason"}))
    fields: dict[str, list[str]] = {}
    if body.get("decision") not in ("confirm", "decline"):
        fields["decision"] = ["confirm ou decline"]
    reason = _string(body, "reason", fields, 500)
    if fields:
        raise ApiError(422, "invalid", "Certains champs sont invalides.", fields)
    try:
        decided = services.decide_award(g.api_user, award.id, body["decision"] == "confirm", reason)
        if decided:
            db.session.commit()
        else:
            db.session.rollback()
    except AuctionError as error:
        _refused(error)
    award = db.session.get(Award, award_id)
    synergy = db.session.scalar(sa.select(Synergy.id).where(Synergy.award_id == award.id))
    return jsonify({"decided": decided, "award": serializers.award(award), "synergy_id": synergy})


# --- follow-up rounds and synergies ------------------------------------------------------------------


@bp.get("/rounds")
@require_token
def follow_up_rounds():
    """Follow-up rounds (deuxième round) the caller runs, gives in or may bid in, with the lots it may see."""
    user = g.api_user
    items = []
    for round_ in queries.follow_up_rounds_for(user):
        lots = [lot for lot in round_.lots if lot_can_view(lot, user)]
        items.append({**serializers.auction_round(round_),
                      "session": {"id": round_.session_id, "title": round_.session.title},
                      "lots": [serializers.lot(lot, user) for lot in lots]})
    return jsonify({"items": items})


def _page() -> int:
    return params.integer("page", 1, maximum=params.MAX_PAGE)


@bp.get("/synergies")
@require_token
def list_synergies():
    """Synergies of the caller's company, of the territories it runs; all of them for an administrator."""
    user = g.api_user
    query = sa.select(Synergy).order_by(Synergy.updated_at.desc(), Synergy.id.desc())
    page = _page()
    if not user.is_admin:
        mine = [Synergy.territory_id.in_(user.territory_ids)] if user.territory_ids else []
        if user.company_id:
            mine += [Synergy.giver_company_id == user.company_id, Synergy.taker_company_id == user.company_id]
        if not mine:
            return jsonify({"items": [], "page": page, "per_page": 50, "total": 0, "pages": 0})
        query = query.where(sa.or_(*mine))
    pagination = db.paginate(query, page=page, per_page=50, error_out=False)
    return jsonify(serializers.page([serializers.synergy(s) for s in pagination.items], pagination))


@bp.get("/synergies/<int:synergy_id>")
@require_token
def get_synergy(synergy_id):
    synergy = db.session.get(Synergy, synergy_id)
    if synergy is None or not synergy.can_view(g.api_user):
        raise ApiError(404, "not_found", "Synergie introuvable.")
    return jsonify(serializers.synergy(synergy))
