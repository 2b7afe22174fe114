"""Auction rules as pure functions: what a valid bid is, how bids rank, how a lot's quantity is
allocated, when a late bid extends a timed lot, and who may take a lot in a follow-up round.
No database here: services.py hands in plain values and applies the outcome."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from marketplace.reference import distance_km

# A bid's price per unit, either sign (negative: the giver pays the taker).
MAX_ABS_UNIT_PRICE = Decimal("1000000")
MAX_QUANTITY = Decimal("100000000")

MODES = ("live", "timed", "sealed")
RETRACT_REASONS = ("typo", "lot_changed")


@dataclass(frozen=True)
class LotTerms:
    """What is on offer now: the quantity still unallocated and how it may be split."""

    quantity: Decimal
    allow_partial: bool
    min_take: Decimal | None = None
    reserve_unit_price_eur: Decimal | None = None


@dataclass(frozen=True)
class BidView:
    id: int
    company_id: int
    unit_price_eur: Decimal | None  # None: an expression of interest, price to agree
    quantity: Decimal
    placed_at: datetime

    @property
    def is_interest(self) -> bool:
        return self.unit_price_eur is None


def bid_problems(terms: LotTerms, unit_price_eur: Decimal | None, quantity: Decimal | None) -> list[str]:
    """Why this price and quantity cannot be bid on the lot (empty list: they can)."""
    problems = []
    if quantity is None or quantity.is_nan() or quantity <= 0:
        problems.append("quantity_missing")
    elif quantity > MAX_QUANTITY or quantity > terms.quantity:
        problems.append("quantity_above_lot")
    elif not terms.allow_partial and quantity != terms.quantity:
        problems.append("whole_lot_only")
    elif terms.allow_partial and terms.min_take and quantity < min(terms.min_take, terms.quantity):
        problems.append("below_min_take")
    if unit_price_eur is not None:
        if not unit_price_eur.is_finite() or abs(unit_price_eur) > MAX_ABS_UNIT_PRICE:
            problems.append("price_out_of_range")
        elif unit_price_eur != unit_price_eur.quantize(Decimal("0.01")):
            problems.append("price_precision")
    return problems


def rank(bids: list[BidView]) -> list[BidView]:
    """Best first: priced bids by price (higher is better for the giver, whatever the sign), ties to
    the earlier bid; then expressions of interest, earliest first."""
    priced = sorted((b for b in bids if not b.is_interest), key=lambda b: (-b.unit_price_eur, b.placed_at, b.id))
    interest = sorted((b for b in bids if b.is_interest), key=lambda b: (b.placed_at, b.id))
    return priced + interest


def best_bid(bids: list[BidView]) -> BidView | None:
    ranked = rank(bids)
    return ranked[0] if ranked else None


def meets_reserve(terms: LotTerms, bid: BidView) -> bool:
    """A hidden reserve is a floor on the price; an expression of interest cannot meet one."""
    if terms.reserve_unit_price_eur is None:
        return True
    return not bid.is_interest and bid.unit_price_eur >= terms.reserve_unit_price_eur


def allocate(terms: LotTerms, bids: list[BidView]) -> list[tuple[int, Decimal]]:
    """(bid id, quantity) proposed to the giver: by price then time, never more than on offer, each
    share at least the minimum take; a lot that cannot be split goes whole to the best bid for all
    of it. Bids under the reserve get nothing."""
    remaining = terms.quantity
    shares: list[tuple[int, Decimal]] = []
    for bid in rank(bids):
        if remaining <= 0:
            break
        if not meets_reserve(terms, bid):
            continue
        if not terms.allow_partial:
            if bid.quantity >= remaining:
                shares.append((bid.id, remaining))
                remaining = Decimal(0)
            continue
        take = min(bid.quantity, remaining)
        if terms.min_take and take < min(terms.min_take, terms.quantity):
            continue
        shares.append((bid.id, take))
        remaining -= take
    return shares


def extended_close(closes_at: datetime, scheduled_close: datetime, placed_at: datetime, window: timedelta,
                   extension: timedelta, cap: timedelta) -> datetime:
    """Soft close: a bid placed within `window` of the end pushes the end to `extension` after the
    bid, never beyond `cap` after the scheduled end."""
    if placed_at >= closes_at or closes_at - placed_at > window:
        return closes_at
    return max(closes_at, min(placed_at + extension, scheduled_close + cap))


# --- follow-up rounds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """The lot as a follow-up round sees it."""

    giver_company_id: int
    category: str
    waste_code: str | None
    is_hazardous: bool
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class Candidate:
    """A company that might take the lot."""

    company_id: int
    is_solution_provider: bool
    handled_categories: frozenset[str]
    handled_waste_codes: frozenset[str]
    sites: tuple[tuple[float | None, float | None], ...]
    was_in_room: bool


def provider_can_take(resource: Resource, candidate: Candidate) -> bool:
    """A solution provider can take a resource it declares: its waste code, or (non-hazardous) its
    family. A hazardous resource needs the exact code declared (the provider's authorisation)."""
    if not candidate.is_solution_provider:
        return False
    if resource.is_hazardous:
        return resource.waste_code is not None and resource.waste_code in candidate.handled_waste_codes
    if resource.waste_code and resource.waste_code in candidate.handled_waste_codes:
        return True
    return resource.category in candidate.handled_categories


def nearest_km(resource: Resource, candidate: Candidate) -> float | None:
    """Distance from the resource to the candidate's closest site; None when either is not located."""
    if resource.latitude is None or resource.longitude is None:
        return None
    distances = [distance_km(resource.latitude, resource.longitude, lat, lon)
                 for lat, lon in candidate.sites if lat is not None and lon is not None]
    return min(distances) if distances else None


def follow_up_access(resource: Resource, candidate: Candidate, radius_km: float) -> str | None:
    """Who may bid in a follow-up round: "provider" (a solution provider able to take it, told by
    e-mail), "outside" (a company that was not in the room), or None. Everyone within the radius;
    hazardous resources only to authorised providers; never the giver."""
    if candidate.company_id == resource.giver_company_id:
        return None
    distance = nearest_km(resource, candidate)
    if distance is not None and distance > radius_km:
        return None
    if provider_can_take(resource, candidate):
        return "provider"
    if resource.is_hazardous or candidate.was_in_room:
        return None
    return "outside"


# --- the live room ---------------------------------------------------------------------------------


def accepting_bids(status: str, now: datetime, opens_at: datetime | None, closes_at: datetime | None) -> bool:
    """A lot takes bids while open, from the opening time until its end (the countdown in a live room)."""
    if status != "open":
        return False
    if opens_at is not None and now < opens_at:
        return False
    return closes_at is None or now < closes_at
