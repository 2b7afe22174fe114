"""The pure auction rules, case by case: bid validity, ranking, allocation, soft close, follow-up access."""
from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest

from marketplace.auctions import rules
from marketplace.auctions.rules import BidView, Candidate, LotTerms, Resource

T0 = datetime(2025, 3, 14, 9, 0, 0)


def bid(id, price, quantity, seconds=0, company=None):
    return BidView(id=id, company_id=company or 100 + id, unit_price_eur=None if price is None else D(price),
                   quantity=D(quantity), placed_at=T0 + timedelta(seconds=seconds))


# --- bid_problems ------------------------------------------------------------------------------------

WHOLE = LotTerms(quantity=D("10"), allow_partial=False)
SPLIT = LotTerms(quantity=D("10"), allow_partial=True, min_take=D("2"))


@pytest.mark.parametrize("terms, price, quantity, problems", [
    (WHOLE, "5.00", "10", []),
    (WHOLE, "-12.50", "10", []),  # the giver pays the taker: a normal bid for waste
    (WHOLE, "0", "10", []),
    (WHOLE, None, "10", []),  # an expression of interest
    (WHOLE, "5", "4", ["whole_lot_only"]),
    (WHOLE, "5", "10.5", ["quantity_above_lot"]),
    (WHOLE, "5", None, ["quantity_missing"]),
    (WHOLE, "5", "0", ["quantity_missing"]),
    (WHOLE, "5", "-3", ["quantity_missing"]),
    (SPLIT, "5", "2", []),
    (SPLIT, "5", "10", []),
    (SPLIT, "5", "1.999", ["below_min_take"]),
    (SPLIT, "5", "11", ["quantity_above_lot"]),
    (LotTerms(D("10"), True), "5", "0.001", []),  # divisible without a minimum
    # Less left than the minimum take: taking all of what is left is allowed, less is not.
    (LotTerms(D("1.5"), True, D("2")), "5", "1.5", []),
    (LotTerms(D("1.5"), True, D("2")), "5", "1", ["below_min_take"]),
    (LotTerms(D("1e9"), True), "5", "100000001", ["quantity_above_lot"]),  # above MAX_QUANTITY
    (WHOLE, "1000000", "10", []),
    (WHOLE, "-1000000", "10", []),
    (WHOLE, "1000000.01", "10", ["price_out_of_range"]),
    (WHOLE, "-1000000.01", "10", ["price_out_of_range"]),
    (WHOLE, "3.141", "10", ["price_precision"]),
    (WHOLE, "3.10", "10", []),
    (WHOLE, "3.100", "10", []),  # trailing zeros are still to the cent
    (WHOLE, "3.141", "4", ["whole_lot_only", "price_precision"]),  # every problem at once
    (WHOLE, "NaN", "10", ["price_out_of_range"]),
    (WHOLE, "Infinity", "10", ["price_out_of_range"]),
    (WHOLE, "-Infinity", "10", ["price_out_of_range"]),
    (WHOLE, "sNaN", "10", ["price_out_of_range"]),
    (SPLIT, "5", "NaN", ["quantity_missing"]),
    (SPLIT, "5", "Infinity", ["quantity_above_lot"]),
    (SPLIT, "5", "-Infinity", ["quantity_missing"]),
])
def test_bid_problems(terms, price, quantity, problems):
    price = None if price is None else D(price)
    quantity = None if quantity is None else D(quantity)
    assert rules.bid_problems(terms, price, quantity) == problems


def test_bid_problems_ignore_the_reserve():
    """A bid under the hidden reserve is valid (bidders must not learn the reserve from a refusal)."""
    terms = LotTerms(D("10"), False, reserve_unit_price_eur=D("20"))
    assert rules.bid_problems(terms, D("1"), D("10")) == []


# --- rank and best_bid -------------------------------------------------------------------------------


def ids(bids):
    return [b.id for b in bids]


def test_rank_by_price_whatever_the_sign():
    bids = [bid(1, "-5", 1), bid(2, "3", 1), bid(3, "0", 1), bid(4, "-0.01", 1), bid(5, "12.5", 1)]
    assert ids(rules.rank(bids)) == [5, 2, 3, 4, 1]


def test_rank_ties_go_to_the_earlier_bid():
    bids = [bid(1, "3.50", 1, seconds=20), bid(2, "3.50", 1, seconds=10), bid(3, "3.50", 1, seconds=30)]
    assert ids(rules.rank(bids)) == [2, 1, 3]


def test_rank_exact_same_time_goes_to_the_first_stored():
    bids = [bid(7, "-2", 1, seconds=5), bid(3, "-2", 1, seconds=5)]
    assert ids(rules.rank(bids)) == [3, 7]


def test_rank_puts_interest_after_every_price_earliest_first():
    bids = [bid(1, None, 1, seconds=1), bid(2, "-100", 1, seconds=50), bid(3, None, 1, seconds=0),
            bid(4, "2", 1, seconds=60)]
    assert ids(rules.rank(bids)) == [4, 2, 3, 1]


def test_rank_does_not_depend_on_input_order():
    bids = [bid(i, str(p), 1, seconds=s) for i, (p, s) in enumerate([(1, 3), (2, 2), (1, 1), (-1, 0)], start=1)]
    assert ids(rules.rank(bids)) == ids(rules.rank(list(reversed(bids)))) == [2, 3, 1, 4]


def test_rank_and_best_bid_of_nothing():
    assert rules.rank([]) == []
    assert rules.best_bid([]) is None


def test_best_bid():
    assert rules.best_bid([bid(1, "-3", 1), bid(2, "-1", 1)]).id == 2
    assert rules.best_bid([bid(1, None, 1, seconds=9), bid(2, None, 1, seconds=1)]).id == 2
    assert rules.best_bid([bid(1, None, 1), bid(2, "-999", 1, seconds=99)]).id == 2


# --- meets_reserve -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reserve, price, meets", [
    (None, "-50", True),
    (None, None, True),
    ("5", "5", True),
    ("5", "4.99", False),
    ("5", None, False),  # an interest cannot meet a reserve
    ("-5", "-5", True),  # the giver accepts paying up to 5 per unit
    ("-5", "-3", True),
    ("-5", "-5.01", False),
    ("0", "0", True),
    ("0", "-0.01", False),
])
def test_meets_reserve(reserve, price, meets):
    terms = LotTerms(D("10"), False, reserve_unit_price_eur=None if reserve is None else D(reserve))
    assert rules.meets_reserve(terms, bid(1, price, 10)) is meets


# --- allocate ----------------------------------------------------------------------------------------


def test_allocate_whole_lot_to_the_best_bid():
    bids = [bid(1, "2", 10), bid(2, "3", 10, seconds=5), bid(3, "3", 10, seconds=9)]
    assert rules.allocate(WHOLE, bids) == [(2, D("10"))]


def test_allocate_whole_lot_skips_bids_for_less():
    bids = [bid(1, "9", 4), bid(2, "1", 10)]
    assert rules.allocate(WHOLE, bids) == [(2, D("10"))]


def test_allocate_whole_lot_nobody_wants_all_of_it():
    assert rules.allocate(WHOLE, [bid(1, "9", 4), bid(2, "8", 6)]) == []


def test_allocate_partial_by_price_then_time():
    terms = LotTerms(D("10"), True)
    bids = [bid(1, "-5", 4, seconds=0), bid(2, "3.5", 3, seconds=10), bid(3, "3.5", 3, seconds=20),
            bid(4, "-9", 5, seconds=30)]
    assert rules.allocate(terms, bids) == [(2, D("3")), (3, D("3")), (1, D("4"))]


def test_allocate_partial_last_share_is_what_is_left():
    terms = LotTerms(D("10"), True)
    assert rules.allocate(terms, [bid(1, "5", 6), bid(2, "4", 6), bid(3, "3", 6)]) == [(1, D("6")), (2, D("4"))]


def test_allocate_never_more_than_on_offer():
    terms = LotTerms(D("7.5"), True)
    shares = rules.allocate(terms, [bid(i, str(10 - i), "2.5") for i in range(1, 8)])
    assert sum(q for _, q in shares) == D("7.5") and len(shares) == 3


def test_allocate_min_take_skips_a_share_too_small_and_goes_on():
    terms = LotTerms(D("10"), True, min_take=D("3"))
    # Bid 1 takes 8; 2 t left is under the minimum take for bid 2 (wants 5) and bid 3 (wants 2).
    assert rules.allocate(terms, [bid(1, "9", 8), bid(2, "8", 5), bid(3, "7", 2)]) == [(1, D("8"))]
    # Bid 1 takes 6; 4 t left: bid 2 gets 4 (at least 3), nothing left for bid 3.
    assert rules.allocate(terms, [bid(1, "9", 6), bid(2, "8", 5), bid(3, "7", 3)]) == [(1, D("6")), (2, D("4"))]


def test_allocate_min_take_when_less_is_left_than_the_minimum():
    terms = LotTerms(D("1.5"), True, min_take=D("2"))
    assert rules.allocate(terms, [bid(1, "1", "1.5")]) == [(1, D("1.5"))]


def test_allocate_reserve_excludes_bids_below_it():
    terms = LotTerms(D("10"), True, reserve_unit_price_eur=D("-2"))
    bids = [bid(1, "-3", 5), bid(2, "-2", 4), bid(3, None, 5), bid(4, "1", 3, seconds=9)]
    assert rules.allocate(terms, bids) == [(4, D("3")), (2, D("4"))]


def test_allocate_reserve_whole_lot():
    terms = LotTerms(D("10"), False, reserve_unit_price_eur=D("5"))
    assert rules.allocate(terms, [bid(1, "4.99", 10)]) == []
    assert rules.allocate(terms, [bid(1, "4.99", 10), bid(2, "5", 10, seconds=99)]) == [(2, D("10"))]


def test_allocate_interest_bids_come_after_prices():
    terms = LotTerms(D("10"), True)
    bids = [bid(1, None, 6, seconds=0), bid(2, "-20", 6, seconds=50)]
    assert rules.allocate(terms, bids) == [(2, D("6")), (1, D("4"))]


def test_allocate_nothing_to_allocate():
    assert rules.allocate(LotTerms(D("10"), True), []) == []
    assert rules.allocate(LotTerms(D("0"), True), [bid(1, "5", 3)]) == []


# --- extended_close ----------------------------------------------------------------------------------

WINDOW, EXTENSION, CAP = timedelta(minutes=2), timedelta(minutes=2), timedelta(minutes=30)


def extend(closes_in, scheduled_in, placed_in):
    """closes_at, scheduled_close and placed_at given in minutes from T0; the result likewise."""
    result = rules.extended_close(T0 + timedelta(minutes=closes_in), T0 + timedelta(minutes=scheduled_in),
                                  T0 + timedelta(minutes=placed_in), WINDOW, EXTENSION, CAP)
    return (result - T0) / timedelta(minutes=1)


@pytest.mark.parametrize("closes_in, scheduled_in, placed_in, result", [
    (10, 10, 0, 10),  # well before the end: nothing changes
    (10, 10, 7.9, 10),  # just outside the window
    (10, 10, 8, 10),  # exactly at the window's edge: extended to 2 minutes after, i.e. the end itself
    (10, 10, 8.5, 10.5),
    (10, 10, 9.99, 11.99),
    (10, 10, 10, 10),  # at or after the end: too late, no extension
    (10, 10, 12, 10),
    (38, 10, 37, 39),  # already extended several times
    (39.5, 10, 39, 40),  # capped at scheduled + 30 minutes
    (40, 10, 39.5, 40),
    (41, 10, 40.5, 41),  # an end set beyond the cap is never brought forward
])
def test_extended_close(closes_in, scheduled_in, placed_in, result):
    assert extend(closes_in, scheduled_in, placed_in) == pytest.approx(result)


def test_extended_close_never_earlier_and_never_beyond_the_cap():
    for closes_in in (10, 15, 25, 39, 40):
        for step in range(0, 200):
            placed = closes_in - 3 + step * 0.02
            result = extend(closes_in, 10, placed)
            assert closes_in <= result <= max(closes_in, 40)


# --- provider_can_take, nearest_km, follow_up_access --------------------------------------------------

CONCARNEAU = (47.8742, -3.9196)
QUIMPER = (47.9960, -4.1020)
BREST = (48.3904, -4.4861)
LYON = (45.7640, 4.8357)


def resource(hazardous=False, waste_code="15 01 03", category="materials", giver=1, at=CONCARNEAU):
    return Resource(giver_company_id=giver, category=category, waste_code=waste_code, is_hazardous=hazardous,
                    latitude=at[0] if at else None, longitude=at[1] if at else None)


def candidate(company_id=2, provider=True, categories=("materials",), codes=("15 01 03",), sites=(QUIMPER,),
              in_room=False):
    return Candidate(company_id=company_id, is_solution_provider=provider, handled_categories=frozenset(categories),
                     handled_waste_codes=frozenset(codes), sites=tuple(sites), was_in_room=in_room)


@pytest.mark.parametrize("res, cand, can", [
    (resource(), candidate(), True),
    (resource(), candidate(provider=False), False),  # a company that is not a provider takes nothing this way
    (resource(), candidate(categories=(), codes=("15 01 03",)), True),  # by waste code
    (resource(), candidate(categories=("materials",), codes=()), True),  # by family
    (resource(), candidate(categories=("energy",), codes=("15 01 01",)), False),
    (resource(waste_code=None), candidate(codes=()), True),
    (resource(waste_code=None, category="energy"), candidate(codes=()), False),
    # Hazardous: only the exact code declared (the authorisation), never the family alone.
    (resource(hazardous=True, waste_code="16 01 04"), candidate(codes=("16 01 04",)), True),
    (resource(hazardous=True, waste_code="16 01 04"), candidate(codes=("15 01 03",)), False),
    (resource(hazardous=True, waste_code="16 01 04"), candidate(categories=("materials",), codes=()), False),
    (resource(hazardous=True, waste_code=None), candidate(codes=("16 01 04",)), False),
    (resource(hazardous=True, waste_code="16 01 04"), candidate(provider=False, codes=("16 01 04",)), False),
])
def test_provider_can_take(res, cand, can):
    assert rules.provider_can_take(res, cand) is can


def test_nearest_km():
    assert rules.nearest_km(resource(), candidate(sites=(LYON, QUIMPER))) == pytest.approx(18, abs=3)
    assert rules.nearest_km(resource(), candidate(sites=(LYON,))) == pytest.approx(705, abs=10)
    assert rules.nearest_km(resource(), candidate(sites=((None, None), BREST))) == pytest.approx(70, abs=8)
    assert rules.nearest_km(resource(), candidate(sites=((None, None),))) is None
    assert rules.nearest_km(resource(), candidate(sites=())) is None
    assert rules.nearest_km(resource(at=None), candidate()) is None


@pytest.mark.parametrize("res, cand, radius, access", [
    (resource(), candidate(), 50, "provider"),
    (resource(), candidate(in_room=True), 50, "provider"),  # a provider in the room may take it now
    (resource(), candidate(provider=False), 50, "outside"),  # a company that was not in the room
    (resource(), candidate(provider=False, in_room=True), 50, None),  # it had its chance in the room
    (resource(), candidate(categories=("energy",), codes=()), 50, "outside"),  # provider of something else
    (resource(), candidate(categories=("energy",), codes=(), in_room=True), 50, None),
    # Distance: within the radius from the nearest site, or nothing.
    (resource(), candidate(sites=(LYON,)), 50, None),
    (resource(), candidate(sites=(LYON,)), 1000, "provider"),
    (resource(), candidate(sites=(LYON, QUIMPER)), 50, "provider"),
    (resource(), candidate(provider=False, sites=(BREST,)), 50, None),
    (resource(), candidate(provider=False, sites=(BREST,)), 100, "outside"),
    (resource(), candidate(sites=(QUIMPER,)), 10, None),
    # Unknown location on either side: distance cannot exclude.
    (resource(at=None), candidate(sites=(LYON,)), 50, "provider"),
    (resource(), candidate(sites=((None, None),)), 50, "provider"),
    # Hazardous: authorised providers only, never companies outside the room.
    (resource(hazardous=True, waste_code="16 01 04"), candidate(codes=("16 01 04",)), 50, "provider"),
    (resource(hazardous=True, waste_code="16 01 04"), candidate(codes=("16 01 04",), in_room=True), 50, "provider"),
    (resource(hazardous=True, waste_code="16 01 04"), candidate(), 50, None),
    (resource(hazardous=True, waste_code="16 01 04"), candidate(provider=False), 50, None),
    (resource(hazardous=True, waste_code="16 01 04"), candidate(codes=("16 01 04",), sites=(LYON,)), 50, None),
    # Never the giver, even as a provider able to take its own resource.
    (resource(giver=2), candidate(company_id=2), 50, None),
    (resource(giver=2), candidate(company_id=2, provider=False), 50, None),
])
def test_follow_up_access(res, cand, radius, access):
    assert rules.follow_up_access(res, cand, radius) == access


# --- accepting_bids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status, opens_in, closes_in, accepting", [
    ("open", None, None, True),  # a live lot without countdown
    ("open", None, 1, True),
    ("open", None, 0, False),  # the countdown has ended
    ("open", None, -1, False),
    ("open", -10, 10, True),
    ("open", 0, 10, True),  # from the opening time itself
    ("open", 1, 10, False),  # not yet open
    ("ready", None, None, False),
    ("closed", None, None, False),
    ("awaiting_consent", None, 10, False),
    ("settled", -10, 10, False),
])
def test_accepting_bids(status, opens_in, closes_in, accepting):
    def at(minutes):
        return None if minutes is None else T0 + timedelta(minutes=minutes)

    assert rules.accepting_bids(status, T0, at(opens_in), at(closes_in)) is accepting
