"""JSON shapes of the API resources (kept in one place: the OpenAPI document describes them)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import url_for

from marketplace.matching.explain import reasons_text


def _iso(value):
    """A date as YYYY-MM-DD; a moment as RFC 3339 with its offset (the document's "date-time"): the
    database keeps UTC without an offset, so a naive datetime is UTC and says so."""
    if not value:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def listing(item) -> dict:
    return {
        "id": item.id,
        "ref": item.ref,
        "kind": item.kind,
        "status": item.status,
        "title": item.title,
        "description": item.description,
        "category": item.category,
        "waste_code": item.waste_code,
        "is_hazardous": item.is_hazardous,
        "quantity": float(item.quantity) if item.quantity is not None else None,
        "unit": item.unit,
        "frequency": item.frequency,
        "price_mode": item.price_mode,
        "unit_price_eur": float(item.unit_price_eur) if item.unit_price_eur is not None else None,
        "available_from": _iso(item.available_from),
        "available_until": _iso(item.available_until),
        "expires_on": _iso(item.expires_on),
        "published_at": _iso(item.published_at),
        "updated_at": _iso(item.updated_at),
        "company": {"id": item.company_id, "name": item.company.name},
        "site": {"id": item.site_id, "postcode": item.site.postcode, "city": item.site.city,
                 "latitude": item.site.latitude, "longitude": item.site.longitude},
        "photos": [url_for("listings.photo", filename=p.filename, _external=True) for p in item.photos],
        "url": url_for("listings.show", listing_id=item.id, _external=True),
    }


def match(item, subject) -> dict:
    other = item.other(subject)
    return {
        "listing": {"id": other.id, "ref": other.ref, "kind": other.kind, "title": other.title,
                    "company": other.company.name, "city": other.site.city},
        "score": item.score,
        "reasons": reasons_text(item.reasons),
        "found_at": _iso(item.created_at),
    }


def notification(item) -> dict:
    return {"id": item.id, "kind": item.kind, "title": item.title, "body": item.body, "link": item.link,
            "listing_id": item.listing_id, "created_at": _iso(item.created_at), "read_at": _iso(item.read_at)}


def page(items: list, pagination) -> dict:
    return {"items": items, "page": pagination.page, "per_page": pagination.per_page, "total": pagination.total,
            "pages": pagination.pages}


# --- auctions: what a caller sees follows the same rules as the auction pages -----------------------


def _number(value):
    return float(value) if value is not None else None


def _company(company) -> dict | None:
    return {"id": company.id, "name": company.name} if company is not None else None


def auction_session(item, user) -> dict:
    participant = item.participant(user.company_id) if user.company_id else None
    runs = item.is_run_by(user)
    data = {
        "id": item.id,
        "title": item.title,
        "description": item.description,
        "mode": item.mode,
        "status": item.status,
        "starts_at": _iso(item.starts_at),
        "place": item.place,
        "is_online": item.is_online,
        "opened_at": _iso(item.opened_at),
        "closed_at": _iso(item.closed_at),
        "territory": {"id": item.territory_id, "name": item.territory.name},
        "current_lot_id": item.current_lot_id,
        "rounds": [auction_round(r) for r in item.rounds],
        "you": {"runs": runs, "invited": participant is not None,
                "checked_in": bool(participant and participant.checked_in_at)},
        "url": url_for("auctions.show", session_id=item.id, _external=True),
    }
    if runs:
        data["participants"] = [
            {"company": _company(p.company), "invited_at": _iso(p.invited_at), "checked_in_at": _iso(p.checked_in_at)}
            for p in sorted(item.participants, key=lambda p: p.company.name)]
    return data


def auction_round(item) -> dict:
    return {"id": item.id, "session_id": item.session_id, "number": item.number, "kind": item.kind, "mode": item.mode,
            "status": item.status, "opens_at": _iso(item.opens_at), "closes_at": _iso(item.closes_at),
            "radius_km": item.radius_km}


def lot(item, user) -> dict:
    """A lot as this caller may see it: the best price only where it is public (never a sealed bid
    before the close), the reserve only for the giver and the practitioners, bidders' names only for
    those who see every bid."""
    from marketplace.auctions import services
    from marketplace.auctions.models import lot_shows_all_bids, lot_shows_best_price, lot_shows_reserve

    listing_ = item.listing
    sees_all = lot_shows_all_bids(item, user)
    gives_or_runs = item.is_given_by(user) or item.round.session.is_run_by(user)
    active = services.active_bids(item.id)
    data = {
        "id": item.id,
        "session_id": item.round.session_id,
        "round": auction_round(item.round),
        "parent_lot_id": item.parent_lot_id,
        "position": item.position,
        "status": item.status,
        "listing": {"id": listing_.id, "title": listing_.title, "category": listing_.category,
                    "waste_code": listing_.waste_code, "is_hazardous": listing_.is_hazardous,
                    "company": _company(listing_.company), "postcode": listing_.site.postcode,
                    "city": listing_.site.city},
        "quantity": _number(item.quantity),
        "quantity_remaining": _number(item.quantity_remaining),
        "unit": item.unit,
        "allow_partial": item.allow_partial,
        "min_take": _number(item.min_take),
        "pickup_from": _iso(item.pickup_from),
        "pickup_until": _iso(item.pickup_until),
        "note": item.note,
        "closes_at": _iso(item.closes_at),
        "presented_at": _iso(item.presented_at),
        "closed_at": _iso(item.closed_at),
        "best_bid": None,
        "your_bid": None,
        "bidding": None,
        "url": url_for("auctions.lot", lot_id=item.id, _external=True),
    }
    if lot_shows_best_price(item) or sees_all:
        data["bid_count"] = len(active)
    if lot_shows_best_price(item):
        best = services.best_bid(item)
        if best is not None:
            data["best_bid"] = {"unit_price_eur": _number(best.unit_price_eur), "quantity": _number(best.quantity),
                                "is_interest": best.is_interest, "placed_at": _iso(best.placed_at),
                                "yours": bool(user.company_id and best.company_id == user.company_id)}
            if sees_all:
                data["best_bid"]["company"] = _company(best.company)
    if lot_shows_reserve(item, user):
        data["reserve_unit_price_eur"] = _number(item.reserve_unit_price_eur)
    if user.company_id:
        mine = next((b for b in active if b.company_id == user.company_id), None)
        data["your_bid"] = bid(mine, show_company=True) if mine is not None else None
    if item.status == "open":
        reason = services.bidding_access(user, item)
        data["bidding"] = {"allowed": reason is None, "reason": reason}
    data["awards"] = [award(a) for a in item.awards if a.status != "undone"
                      and (gives_or_runs or (user.company_id and a.company_id == user.company_id))]
    return data


def bid(item, show_company: bool) -> dict:
    data = {
        "id": item.id,
        "lot_id": item.lot_id,
        "unit_price_eur": _number(item.unit_price_eur),
        "is_interest": item.is_interest,
        "quantity": _number(item.quantity),
        "message": item.message,
        "status": item.status,
        "placed_at": _iso(item.placed_at),
        "retracted_at": _iso(item.retracted_at),
        "retract_reason": item.retract_reason,
    }
    if show_company:
        data["company"] = _company(item.company)
    return data


def award(item) -> dict:
    return {"id": item.id, "lot_id": item.lot_id, "bid_id": item.bid_id, "company": _company(item.company),
            "quantity": _number(item.quantity), "unit_price_eur": _number(item.unit_price_eur),
            "status": item.status, "proposed_at": _iso(item.proposed_at), "decided_at": _iso(item.decided_at),
            "decline_reason": item.decline_reason}


def _benefit(row) -> dict | None:
    """A benefit record: its figures (null = unknown) and, for computed CO2e, the factor used."""
    if row is None:
        return None
    from marketplace.synergies.services import BENEFIT_FIGURES

    return {
        "is_annual": row.is_annual,
        "figures": {name: _number(getattr(row, name)) for name in BENEFIT_FIGURES},
        "co2e_method": row.co2e_method,
        "emission_factor": ({"key": row.emission_factor_key, "label": row.emission_factor_label,
                             "kg_co2e_per_unit": _number(row.emission_factor_value),
                             "unit": row.emission_factor_unit, "source": row.emission_factor_source,
                             "applied_to": row.co2e_basis}
                            if row.emission_factor_key else None),
        "recorded_at": _iso(row.recorded_at),
    }


def synergy(item) -> dict:
    return {
        "id": item.id,
        "title": item.title,
        "stage": item.stage,
        "reporting_group": item.reporting_group,
        "stop_reason": item.stop_reason,
        "stop_note": item.stop_note,
        "previous_stage": item.previous_stage,
        "kind": item.kind,
        "sub_type": item.sub_type,
        "is_continuous": item.is_continuous,
        "origin": item.origin,
        "territory": {"id": item.territory.id, "name": item.territory.name} if item.territory else None,
        "giver": _company(item.giver),
        "taker": _company(item.taker),
        "listing_id": item.listing_id,
        "need_listing_id": item.need_listing_id,
        "award_id": item.award_id,
        "next_action": item.next_action,
        "next_action_due": item.next_action_due.isoformat() if item.next_action_due else None,
        "benefits": {status: _benefit(item.benefit(status)) for status in ("declared", "verified")},
        "quantity": _number(item.quantity),
        "unit": item.unit,
        "unit_price_eur": _number(item.unit_price_eur),
        "stage_changed_at": _iso(item.stage_changed_at),
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
        "url": url_for("synergies.show", synergy_id=item.id, _external=True),
    }
