"""Auction services on the real database: timed rounds and soft close, closing jobs, sealed bids and the
hidden reserve as the pages show them, who may bid, retraction, consent, undo, follow-up rounds and
their e-mails, relaunch, the audit trail and awards."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from marketplace.auctions import services, tasks
from marketplace.auctions.models import AuctionSession, Award, Bid, Lot, LotEvent, Round
from marketplace.auctions.services import AuctionError
from marketplace.extensions import db
from marketplace.models_base import utcnow
from marketplace.synergies.models import Synergy
from tests.conftest import login


def online_session(room, make_listing, mode="timed", *, title="Palettes du port", quantity="10", allow_partial=True,
                   min_take=None, reserve=None, starts_in=timedelta(minutes=-5), closes_in=timedelta(hours=1),
                   open_now=True, **listing_fields):
    """A timed or sealed session of the room's territory, the room's bidders invited, one lot put up by its owner."""
    practitioner = room["practitioner"]
    now = utcnow()
    session = services.create_session(practitioner, room["territory"], {
        "title": f"Round en ligne ({mode})", "mode": mode, "starts_at": now + starts_in, "closes_at": now + closes_in,
        "place": "", "is_online": True, "description": ""})
    services.invite(practitioner, session, room["bidders"])
    listing = make_listing(room["giver"], "published", title=title, quantity=D(quantity), unit="t", **listing_fields)
    lot = services.put_up(room["alice"], session, listing, {
        "quantity": D(quantity), "allow_partial": allow_partial, "min_take": None if min_take is None else D(min_take),
        "reserve_unit_price_eur": None if reserve is None else D(reserve)})
    db.session.commit()
    if open_now:
        services.open_session(practitioner, session.id)
        db.session.commit()
    return session, lot


def events(lot_id) -> list[str]:
    return db.session.scalars(sa.select(LotEvent.action).where(LotEvent.lot_id == lot_id).order_by(LotEvent.id)).all()


def refused(code, fn, *args, **kwargs):
    with pytest.raises(AuctionError) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    assert info.value.code == code, info.value.code
    return info.value


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def bid_count(lot_id) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.lot_id == lot_id))


@pytest.fixture
def jobs():
    """The Huey queue (immediate in tests: due jobs run at once, later ones wait in the schedule)."""
    from marketplace.jobs import huey

    huey.storage.flush_schedule()
    yield huey
    huey.storage.flush_schedule()


def scheduled_closes(huey, lot_id) -> list:
    return sorted(t.eta for t in huey.scheduled() if t.name == "close_lot_job" and tuple(t.args) == (lot_id,))


# --- timed rounds: soft close, cap, closing jobs --------------------------------------------------------


def test_timed_lot_opens_with_the_session_and_takes_bids_only_between_start_and_end(room, make_listing):
    session, lot = online_session(room, make_listing, starts_in=timedelta(minutes=10))
    u1 = room["users"][0]
    lot = fresh(Lot, lot.id)
    assert lot.status == "open" and lot.closes_at == lot.scheduled_close == session.main_round.closes_at
    refused("not_open", services.place_bid, u1, lot.id, D("2"), D("3"))  # not started yet
    session.main_round.opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    services.place_bid(u1, lot.id, D("2"), D("3"))
    db.session.commit()
    lot.closes_at = utcnow() - timedelta(seconds=1)  # ended; the job has not run yet
    db.session.commit()
    refused("not_open", services.place_bid, room["users"][1], lot.id, D("3"), D("3"))
    assert bid_count(lot.id) == 1


def test_open_timed_session_needs_an_end_in_the_future(room, make_listing):
    session, _lot = online_session(room, make_listing, open_now=False)
    session.main_round.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    refused("closes_in_past", services.open_session, room["practitioner"], session.id)
    assert fresh(type(session), session.id).status == "draft"


def test_soft_close_extends_a_late_bid_and_is_capped(room, make_listing, app):
    _session, lot = online_session(room, make_listing)
    u1, u2, u3 = room["users"]
    lot = fresh(Lot, lot.id)

    # Well before the end: no extension.
    lot.closes_at = lot.scheduled_close = utcnow() + timedelta(minutes=10)
    db.session.commit()
    services.place_bid(u1, lot.id, D("1.00"), D("2"))
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert lot.closes_at == lot.scheduled_close and "extended" not in events(lot.id)

    # Within the last 2 minutes: the end moves to 2 minutes after the bid.
    lot.closes_at = lot.scheduled_close = utcnow() + timedelta(seconds=60)
    db.session.commit()
    late, _ = services.place_bid(u2, lot.id, D("1.50"), D("2"))
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert lot.closes_at == late.placed_at + timedelta(minutes=app.config["AUCTION_EXTENSION_MINUTES"])
    assert events(lot.id).count("extended") == 1

    # Extended many times already: never beyond 30 minutes after the scheduled end.
    scheduled = utcnow() - timedelta(minutes=29, seconds=30)
    lot.scheduled_close = scheduled
    lot.closes_at = utcnow() + timedelta(seconds=20)
    db.session.commit()
    services.place_bid(u3, lot.id, D("1.75"), D("2"))
    db.session.commit()
    lot = fresh(Lot, lot.id)
    cap = scheduled + timedelta(minutes=app.config["AUCTION_MAX_EXTENSION_MINUTES"])
    assert lot.closes_at == cap
    services.place_bid(u1, lot.id, D("2.00"), D("2"))  # at the cap: no further extension
    db.session.commit()
    assert fresh(Lot, lot.id).closes_at == cap
    assert events(lot.id).count("extended") == 2


def test_sealed_and_live_lots_never_extend(room, make_listing):
    _session, lot = online_session(room, make_listing, mode="sealed")
    lot = fresh(Lot, lot.id)
    lot.closes_at = lot.scheduled_close = utcnow() + timedelta(seconds=30)
    db.session.commit()
    services.place_bid(room["users"][0], lot.id, D("1.00"), D("2"))
    db.session.commit()
    assert fresh(Lot, lot.id).closes_at == lot.scheduled_close and "extended" not in events(lot.id)


def test_closing_job_runs_at_the_end_and_only_closes_when_due(room, make_listing, jobs):
    session, lot = online_session(room, make_listing)
    lot = fresh(Lot, lot.id)
    first_end = lot.closes_at
    assert scheduled_closes(jobs, lot.id) == [first_end]  # one job at the lot's end
    assert jobs.read_schedule(first_end - timedelta(seconds=1)) == []  # nothing due before it

    # A minute before the end, a late bid moves it: a second job is scheduled at the new end.
    lot.closes_at = lot.scheduled_close = utcnow() + timedelta(seconds=60)
    db.session.commit()
    services.place_bid(room["users"][0], lot.id, D("4.00"), D("10"))
    db.session.commit()
    new_end = fresh(Lot, lot.id).closes_at
    assert scheduled_closes(jobs, lot.id) == [new_end, first_end]

    # A job running before the lot's end (an outdated one, or an early consumer) changes nothing.
    assert tasks.close_lot_job.call_local(lot.id) is False
    assert tasks.close_due_lots.call_local() == 0
    assert services.close_lot(None, lot.id) is False
    db.session.rollback()
    assert fresh(Lot, lot.id).status == "open"

    # The end passes: the consumer runs the job due then; it closes the lot, proposes the award and
    # resolves the round.
    lot = fresh(Lot, lot.id)
    lot.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    due = [t for t in jobs.read_schedule(new_end) if t.name == "close_lot_job"]
    assert len(due) == 1
    jobs.execute(due[0], timestamp=new_end)
    lot = fresh(Lot, lot.id)
    assert lot.status == "closed" and [(a.company_id, a.quantity) for a in lot.awards] == [
        (room["bidders"][0].id, D("10"))]
    assert lot.round.status == "closed" and lot.round.session.status == "closed"
    assert tasks.close_due_lots.call_local() == 0  # the sweep finds nothing left
    [late_job] = jobs.read_schedule(first_end)
    jobs.execute(late_job, timestamp=first_end)  # the outdated job at the first end: nothing more
    assert events(lot.id).count("closed") == 1 and len(fresh(Lot, lot.id).awards) == 1


def test_closing_job_is_due_at_the_end_whatever_the_server_time_zone(room, make_listing, jobs, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        _session, lot = online_session(room, make_listing)
        lot = fresh(Lot, lot.id)
        assert scheduled_closes(jobs, lot.id) == [lot.closes_at]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_sweep_closes_due_lots_and_resolves_the_round_when_the_last_one_closes(room, make_listing):
    session, lot = online_session(room, make_listing)
    second = make_listing(room["giver"], "published", title="Cartons", quantity=D("3"), unit="t")
    lot2 = services.put_up(room["alice"], session, second, {"quantity": D("3")})
    db.session.commit()
    assert lot2.status == "open"  # put up while the round runs: opens at once
    services.place_bid(room["users"][0], lot.id, D("-2.00"), D("4"))
    db.session.commit()
    lot = fresh(Lot, lot.id)
    lot.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.due_lot_ids() == [lot.id]
    assert tasks.close_due_lots.call_local() == 1
    assert fresh(Round, session.main_round.id).status == "open"  # lot 2 still runs
    lot2 = fresh(Lot, lot2.id)
    lot2.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tasks.close_due_lots.call_local() == 1
    main = fresh(Round, session.main_round.id)
    assert main.status == "closed" and main.session.status == "closed"
    follow_up = db.session.scalar(sa.select(Round).where(Round.session_id == session.id, Round.kind == "follow_up"))
    children = {c.parent_lot_id: c.quantity for c in follow_up.lots}
    # Lot 1: 6 t unallocated now (4 t proposed); lot 2: all of it.
    assert children == {lot.id: D("6"), lot2.id: D("3")}
    assert fresh(Lot, lot2.id).status == "settled"
    assert fresh(Lot, lot.id).status == "closed"  # waits for the giver's decision on the 4 t


def test_sweep_ends_a_timed_round_with_no_lot_taking_bids(room, make_listing):
    """Every lot still waits for its giver's consent at the end: no lot closes, the sweep ends the round."""
    practitioner = room["practitioner"]
    session = services.create_session(practitioner, room["territory"], {
        "title": "Round sans lot", "mode": "timed", "starts_at": utcnow() - timedelta(minutes=5),
        "closes_at": utcnow() + timedelta(hours=1), "place": "", "is_online": True, "description": ""})
    lot = services.put_up(practitioner, session, make_listing(room["giver"], "published", title="Filets"),
                          {"quantity": D("2")})
    db.session.commit()
    services.open_session(practitioner, session.id)
    db.session.commit()
    assert services.due_round_ids() == []  # not over yet
    assert tasks.close_due_lots.call_local() == 0
    session.main_round.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.due_round_ids() == [session.main_round.id]
    tasks.close_due_lots.call_local()
    session = fresh(type(session), session.id)
    assert session.status == "closed" and session.main_round.status == "closed"
    assert fresh(Lot, lot.id).status == "withdrawn"
    assert services.due_round_ids() == [] and services.resolve_round(None, session.main_round.id) is False


def test_live_lots_are_never_closed_by_a_job(room):
    p, lot = room["practitioner"], room["lot"]
    services.present(p, lot.id)
    services.last_call(p, lot.id, 5)
    db.session.commit()
    lot = fresh(Lot, lot.id)
    lot.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert services.due_lot_ids() == []
    assert services.close_lot(None, lot.id) is False
    db.session.rollback()
    refused("not_open", services.place_bid, room["users"][0], lot.id, D("1"), D("2"))  # the countdown ended
    assert services.close_lot(p, lot.id) is True


def test_withdrawing_the_last_open_timed_lot_resolves_the_round(room, make_listing):
    session, lot = online_session(room, make_listing)
    empty = services.put_up(room["alice"], session, make_listing(room["giver"], "published", title="Bidons"),
                            {"quantity": D("5")})
    db.session.commit()
    services.place_bid(room["users"][0], lot.id, D("1.00"), D("10"))
    db.session.commit()
    lot = fresh(Lot, lot.id)
    lot.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tasks.close_due_lots.call_local() == 1
    services.withdraw_lot(room["alice"], empty.id)  # no bid on it: the giver takes it back
    db.session.commit()
    assert fresh(Round, session.main_round.id).status == "closed"
    services.decide_award(room["alice"], fresh(Lot, lot.id).awards[0].id, True)
    db.session.commit()
    assert fresh(Lot, lot.id).status == "settled"


# --- sealed bids and the hidden reserve, as the pages show them ----------------------------------------


def as_user(app, user):
    client = app.test_client()
    login(client, user)
    return client


def page_texts(client, paths) -> dict[str, str]:
    texts = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 204), (path, response.status_code)
        texts[path] = response.get_data(as_text=True)
    return texts


def shows(texts, *needles) -> list[str]:
    return [f"{needle} in {path}" for path, text in texts.items() for needle in needles if needle in text]


def bidder_pages(session, lot) -> list[str]:
    return [f"/encheres/{session.id}", f"/encheres/lots/{lot.id}", f"/encheres/rounds/{lot.round_id}",
            "/encheres/rounds", "/encheres", "/encheres/offres-de-mon-entreprise", f"/encheres/{session.id}/salle",
            f"/encheres/{session.id}/salle/etat", f"/encheres/{session.id}/projection",
            f"/encheres/{session.id}/projection/etat", f"/encheres/{session.id}/salle/formulaire"]


def test_sealed_bids_stay_hidden_from_other_bidders_until_close(room, make_listing, app):
    session, lot = online_session(room, make_listing, mode="sealed")
    u1, u2, _u3 = room["users"]
    services.place_bid(u1, lot.id, D("7.77"), D("10"))
    services.place_bid(u2, lot.id, D("4.44"), D("10"))
    db.session.commit()

    client = as_user(app, u2)
    before = page_texts(client, bidder_pages(session, lot))
    assert shows(before, "7,77", "7.77") == []
    assert shows(before, "4,44")  # one's own bid is shown to oneself
    giver = as_user(app, room["alice"])  # the giver neither, before the close
    assert shows(page_texts(giver, [f"/encheres/{session.id}", f"/encheres/lots/{lot.id}"]), "7,77", "4,44") == []

    lot = fresh(Lot, lot.id)
    lot.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tasks.close_due_lots.call_local() == 1
    after = page_texts(giver, [f"/encheres/lots/{lot.id}"])
    assert shows(after, "7,77") and shows(after, "4,44")  # the giver sees every bid once closed
    after = page_texts(client, [f"/encheres/{session.id}", f"/encheres/lots/{lot.id}", f"/encheres/rounds/{lot.round_id}"])
    assert len(shows(after, "7,77")) == 3  # the winning price is public once the lot is closed


def test_sealed_bids_hidden_from_the_practitioner_until_close(room, make_listing, client):
    session, lot = online_session(room, make_listing, mode="sealed")
    services.place_bid(room["users"][0], lot.id, D("7.77"), D("10"))
    db.session.commit()
    login(client, room["practitioner"])
    texts = page_texts(client, [f"/encheres/{session.id}", f"/encheres/lots/{lot.id}",
                                f"/encheres/lots/{lot.id}/historique", f"/encheres/rounds/{lot.round_id}"])
    assert shows(texts, "7,77", "7.77") == []
    assert "1 offre(s) sous pli" in texts[f"/encheres/lots/{lot.id}"]


def test_follow_up_sealed_bids_hidden_from_other_eligible_companies(room, client):
    p, lot = room["practitioner"], room["lot"]
    services.close_room(p, room["session"].id)  # nothing presented: the whole lot goes to a follow-up round
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == lot.id))
    services.place_bid(room["recycler"], child.id, D("-3.33"), D("10"))
    db.session.commit()
    login(client, room["farmer"])  # a company outside the room, also allowed to bid
    paths = [f"/encheres/lots/{child.id}", f"/encheres/rounds/{child.round_id}", "/encheres/rounds", "/encheres"]
    assert shows(page_texts(client, paths), "3,33", "3.33") == []
    child = fresh(Lot, child.id)
    child.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tasks.close_due_lots.call_local() == 1
    assert shows(page_texts(client, [f"/encheres/lots/{child.id}"]), "3,33")


def test_reserve_never_shown_to_bidders(room, make_listing, app):
    session, lot = online_session(room, make_listing, mode="timed", reserve="13.57")
    u1 = room["users"][0]
    services.place_bid(u1, lot.id, D("2.00"), D("10"))
    db.session.commit()
    client = as_user(app, u1)
    assert shows(page_texts(client, bidder_pages(session, lot)), "13,57", "13.57") == []
    assert shows(page_texts(as_user(app, room["alice"]), [f"/encheres/lots/{lot.id}"]), "13,57")
    assert shows(page_texts(as_user(app, room["practitioner"]), [f"/encheres/lots/{lot.id}"]), "13,57")

    lot = fresh(Lot, lot.id)
    lot.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    tasks.close_due_lots.call_local()
    lot = fresh(Lot, lot.id)
    assert lot.awards == []  # under the reserve: nothing proposed
    assert shows(page_texts(client, bidder_pages(session, lot)), "13,57", "13.57") == []


def test_reserve_hidden_in_the_live_room(room, app):
    p, lot = room["practitioner"], room["lot"]
    lot.reserve_unit_price_eur = D("13.57")
    db.session.commit()
    services.present(p, lot.id)
    db.session.commit()
    client = as_user(app, room["users"][0])
    assert shows(page_texts(client, bidder_pages(room["session"], lot)), "13,57", "13.57") == []
    regie = as_user(app, p).get(f"/encheres/{room['session'].id}/regie")
    assert "13,57" in regie.get_data(as_text=True)


# --- who may bid ---------------------------------------------------------------------------------------


def test_a_company_cannot_bid_on_its_own_lot(room, make_user):
    p, lot = room["practitioner"], room["lot"]
    services.check_in(p, room["session"].id, room["giver"].id, True)  # even checked in
    services.present(p, lot.id)
    db.session.commit()
    refused("own_lot", services.place_bid, room["alice"], lot.id, D("100"), D("2"))
    colleague = make_user("bob@conserverie.fr", company=room["giver"])
    refused("own_lot", services.place_bid, colleague, lot.id, D("100"), D("2"))
    assert bid_count(lot.id) == 0


def test_not_invited_not_checked_in_no_company_are_refused(room, make_company, make_user):
    p, lot = room["practitioner"], room["lot"]
    services.present(p, lot.id)
    db.session.commit()
    refused("not_invited", services.place_bid, room["farmer"], lot.id, D("1"), D("2"))
    late = make_company("Scierie du Steir", "29000")
    late_user = make_user("scierie@example.fr", company=late)
    services.invite(p, room["session"], [late])
    db.session.commit()
    refused("not_checked_in", services.place_bid, late_user, lot.id, D("1"), D("2"))
    nobody = make_user("nobody@example.fr")
    refused("no_company", services.place_bid, nobody, lot.id, D("1"), D("2"))
    assert bid_count(lot.id) == 0
    services.check_in(p, room["session"].id, late.id, True)
    db.session.commit()
    services.place_bid(late_user, lot.id, D("1"), D("2"))
    db.session.commit()
    services.check_in(p, room["session"].id, late.id, False)  # left the room
    db.session.commit()
    refused("not_checked_in", services.place_bid, late_user, lot.id, D("2"), D("2"))
    assert bid_count(lot.id) == 1
    services.check_in(p, room["session"].id, late.id, True)
    late.review_status = "rejected"  # refused by the practitioner: no more bids
    db.session.commit()
    refused("company_refused", services.place_bid, late_user, lot.id, D("3"), D("2"))
    assert bid_count(lot.id) == 1


def test_lot_not_presented_takes_no_bid(room):
    refused("not_open", services.place_bid, room["users"][0], room["lot"].id, D("1"), D("2"))


def test_invalid_bid_stores_nothing(room):
    p, lot = room["practitioner"], room["lot"]
    services.present(p, lot.id)
    db.session.commit()
    error = refused("invalid", services.place_bid, room["users"][0], lot.id, D("1.234"), D("1"))
    assert error.problems == ["below_min_take", "price_precision"]
    assert "prise minimale" in error.message and "centime" in error.message
    assert bid_count(lot.id) == 0 and "bid" not in events(lot.id)


def test_a_new_bid_replaces_the_company_s_earlier_one_and_a_retry_stores_once(room):
    p, lot = room["practitioner"], room["lot"]
    u1 = room["users"][0]
    services.present(p, lot.id)
    db.session.commit()
    first, created = services.place_bid(u1, lot.id, D("1"), D("2"), client_key="k1")
    db.session.commit()
    again, created_again = services.place_bid(u1, lot.id, D("1"), D("2"), client_key="k1")
    db.session.commit()
    assert created and not created_again and again.id == first.id
    second, _ = services.place_bid(u1, lot.id, D("2"), D("3"), client_key="k2")
    db.session.commit()
    statuses = dict(db.session.execute(sa.select(Bid.id, Bid.status).where(Bid.lot_id == lot.id)).all())
    assert statuses == {first.id: "superseded", second.id: "active"}


def test_follow_up_bidders_must_be_able_to_take_the_resource(room, make_listing, make_company, make_user):
    """A hazardous lot: only providers authorised for its waste code, within the radius, never the room."""
    p = room["practitioner"]
    hazardous = make_listing(room["giver"], "published", title="Huiles usagées", waste_code="13 02 05*",
                             quantity=D("2"), unit="t")
    assert hazardous.is_hazardous
    services.put_up(room["alice"], room["session"], hazardous, {"quantity": D("2")})
    db.session.commit()
    authorised = make_company("Collecte Huiles Bretagne", "29000", is_solution_provider=True,
                              handled_categories=["materials"], handled_waste_codes="13 02 05")
    oil_user = make_user("huiles@example.fr", company=authorised)
    services.close_room(p, room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).join(Round).where(Round.kind == "follow_up",
                                                               Lot.listing_id == hazardous.id))
    assert services.bidding_access(room["recycler"], child) == "not_eligible"  # declares the family, not the code
    assert services.bidding_access(room["farmer"], child) == "not_eligible"  # outside the room: not hazardous waste
    assert services.bidding_access(room["alice"], child) == "own_lot"
    assert services.bidding_access(oil_user, child) is None
    refused("not_eligible", services.place_bid, room["farmer"], child.id, D("-1"), D("2"))
    services.place_bid(oil_user, child.id, D("-80"), D("2"))
    db.session.commit()
    palettes = db.session.scalar(sa.select(Lot).join(Round).where(Round.kind == "follow_up",
                                                                  Lot.parent_lot_id == room["lot"].id))
    assert services.bidding_access(room["farmer"], palettes) is None  # outside the room
    assert services.bidding_access(room["users"][0], palettes) == "not_eligible"  # was in the room
    assert services.bidding_access(room["lyon"], palettes) == "not_eligible"  # too far


# --- retraction ------------------------------------------------------------------------------------------


def test_retraction_needs_a_stated_reason_and_is_logged(room):
    p, lot = room["practitioner"], room["lot"]
    u1, u2, _ = room["users"]
    services.present(p, lot.id)
    mine, _ = services.place_bid(u1, lot.id, D("9.00"), D("4"))
    other, _ = services.place_bid(u2, lot.id, D("2.00"), D("4"))
    db.session.commit()
    refused("bad_reason", services.retract_bid, u1, mine.id, "changed my mind")
    refused("bad_reason", services.retract_bid, u1, mine.id, "")
    refused("bid_not_active", services.retract_bid, u2, mine.id, "typo")  # not one's own bid
    refused("bid_not_active", services.retract_bid, u1, 999999, "typo")
    assert fresh(Bid, mine.id).status == "active"

    services.retract_bid(u1, mine.id, "typo", "  9 au lieu de 0,9  ")
    db.session.commit()
    mine = fresh(Bid, mine.id)
    assert (mine.status, mine.retract_reason, mine.retract_note) == ("retracted", "typo", "9 au lieu de 0,9")
    event = db.session.scalars(sa.select(LotEvent).where(LotEvent.action == "bid_retracted")).one()
    assert event.actor_id == u1.id and event.detail == {"bid": mine.id, "reason": "typo",
                                                        "note": "9 au lieu de 0,9"}
    assert services.best_bid(fresh(Lot, lot.id)).id == other.id
    refused("bid_not_active", services.retract_bid, u1, mine.id, "typo")  # once only

    services.close_lot(p, lot.id)
    db.session.commit()
    refused("lot_not_open", services.retract_bid, u2, other.id, "lot_changed")
    assert [a.bid_id for a in fresh(Lot, lot.id).awards] == [other.id]


# --- lots put up by the practitioner: the owner's consent ----------------------------------------------


def test_practitioner_put_up_waits_for_the_owner_s_consent_told_by_email(room, make_listing, smtp):
    p = room["practitioner"]
    listing = make_listing(room["giver"], "published", title="Chutes de filets", quantity=D("3"), unit="t")
    smtp.clear()
    lot = services.put_up(p, room["session"], listing, {"quantity": D("3"), "allow_partial": False})
    db.session.commit()
    assert lot.status == "awaiting_consent" and lot.consented_by_id is None
    [mail] = smtp.to(room["alice"].email)
    assert "Accord demandé" in mail["Subject"] and "Chutes de filets" in mail["Subject"]
    assert f"/encheres/lots/{lot.id}" in smtp.text(mail)
    assert smtp.to(p.email) == []
    refused("lot_not_ready", services.present, p, lot.id)  # not before the owner agrees

    services.answer_consent(room["alice"], lot.id, True, D("-4.00"))
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert (lot.status, lot.consented_by_id, lot.reserve_unit_price_eur) == ("ready", room["alice"].id, D("-4.00"))
    assert events(lot.id) == ["put_up", "consented"]
    refused("not_awaiting_consent", services.answer_consent, room["alice"], lot.id, False)
    services.present(p, lot.id)
    db.session.commit()
    assert fresh(Lot, lot.id).status == "open"


def test_owner_refuses_consent_and_an_owner_s_own_lot_needs_none(room, make_listing):
    p = room["practitioner"]
    listing = make_listing(room["giver"], "published", title="Chutes de filets")
    lot = services.put_up(p, room["session"], listing, {"quantity": D("3")})
    db.session.commit()
    services.answer_consent(room["alice"], lot.id, False)
    db.session.commit()
    assert fresh(Lot, lot.id).status == "refused" and events(lot.id) == ["put_up", "consent_refused"]
    again = services.put_up(room["alice"], room["session"], listing, {"quantity": D("3")})  # refused: may come back
    db.session.commit()
    assert again.status == "ready" and again.consented_by_id == room["alice"].id
    refused("listing_already_in_session", services.put_up, p, fresh(type(room["session"]), room["session"].id),
            fresh(type(listing), listing.id), {"quantity": D("1")})


def test_consent_in_a_running_timed_round_opens_the_lot(room, make_listing):
    session, _lot = online_session(room, make_listing)
    listing = make_listing(room["giver"], "published", title="Filets de pêche")
    lot = services.put_up(room["practitioner"], session, listing, {"quantity": D("2")})
    db.session.commit()
    services.answer_consent(room["alice"], lot.id, True)
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert lot.status == "open" and lot.closes_at == session.main_round.closes_at


def test_put_up_only_published_offers_of_the_territory(room, make_listing, make_company):
    p, session = room["practitioner"], room["session"]
    need = make_listing(room["giver"], "published", kind="need", title="Besoin")
    draft = make_listing(room["giver"], "draft", title="Brouillon")
    elsewhere = make_company("Forge de Lorient", "56100")
    far_offer = make_listing(elsewhere, "published", title="Ferraille")
    refused("listing_not_offer", services.put_up, p, session, need, {"quantity": D("1")})
    refused("listing_not_offer", services.put_up, p, session, draft, {"quantity": D("1")})
    refused("listing_outside_territory", services.put_up, p, session, far_offer, {"quantity": D("1")})


def test_lots_nobody_consented_to_are_dropped_when_the_room_closes(room, make_listing):
    p = room["practitioner"]
    lot = services.put_up(p, room["session"], make_listing(room["giver"], "published", title="Filets"),
                          {"quantity": D("1")})
    db.session.commit()
    services.close_room(p, room["session"].id)
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert lot.status == "withdrawn" and lot.children == []
    refused("not_awaiting_consent", services.answer_consent, room["alice"], lot.id, True)


# --- the live room: last call, close, undo ---------------------------------------------------------------


def test_one_lot_at_a_time_and_the_last_call(room, make_listing, app):
    p, lot = room["practitioner"], room["lot"]
    other = services.put_up(room["alice"], room["session"], make_listing(room["giver"], "published", title="Cartons"),
                            {"quantity": D("1")})
    db.session.commit()
    services.present(p, lot.id)
    db.session.commit()
    refused("other_lot_open", services.present, p, other.id)
    before = utcnow()
    services.last_call(p, lot.id)
    db.session.commit()
    closes = fresh(Lot, lot.id).closes_at
    assert timedelta(0) < closes - before <= timedelta(seconds=app.config["AUCTION_LAST_CALL_SECONDS"] + 1)
    services.place_bid(room["users"][0], lot.id, D("1"), D("2"))  # still counting down
    services.close_lot(p, lot.id)
    db.session.commit()
    services.present(p, other.id)
    db.session.commit()
    assert fresh(type(room["session"]), room["session"].id).current_lot_id == other.id
    assert events(lot.id) == ["put_up", "presented", "last_call", "bid", "closed"]


def test_undo_close_reopens_the_lot_with_its_bids(room):
    p, lot = room["practitioner"], room["lot"]
    u1, u2, _ = room["users"]
    services.present(p, lot.id)
    services.place_bid(u1, lot.id, D("2.00"), D("10"))
    db.session.commit()
    services.close_lot(p, lot.id)
    db.session.commit()
    [award] = fresh(Lot, lot.id).awards
    assert award.status == "proposed"

    services.undo_close(p, lot.id)
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert lot.status == "open" and lot.closed_at is None and lot.awards[0].status == "undone"
    assert lot.round.session.current_lot_id == lot.id
    services.place_bid(u2, lot.id, D("3.00"), D("10"))  # bidding goes on
    db.session.commit()
    refused("lot_not_closed", services.undo_close, p, lot.id)
    services.close_lot(p, lot.id)
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert [(a.company_id, a.status) for a in lot.awards] == [(u1.company_id, "undone"), (u2.company_id, "proposed")]
    assert events(lot.id)[-3:] == ["reopened", "bid", "closed"]

    services.decide_award(room["alice"], lot.awards[1].id, False, "Pas de transporteur")
    db.session.commit()
    refused("lot_decided", services.undo_close, p, lot.id)  # the giver has decided: the result stands


def test_undo_close_refused_once_the_room_is_closed(room):
    p, lot = room["practitioner"], room["lot"]
    services.present(p, lot.id)
    services.place_bid(room["users"][0], lot.id, D("2.00"), D("10"))
    services.close_lot(p, lot.id)
    services.close_room(p, room["session"].id)
    db.session.commit()
    refused("round_resolved", services.undo_close, p, lot.id)
    refused("session_not_open", services.close_room, p, room["session"].id)


# --- awards and synergies --------------------------------------------------------------------------------


def test_decide_award_twice_and_quantity_never_below_zero(room, smtp):
    p, lot = room["practitioner"], room["lot"]
    u1, u2, _ = room["users"]
    services.present(p, lot.id)
    services.place_bid(u1, lot.id, D("-1.50"), D("6"))
    services.place_bid(u2, lot.id, D("-2.50"), D("4"))
    services.close_lot(p, lot.id)
    db.session.commit()
    first, second = fresh(Lot, lot.id).awards
    assert (first.quantity, second.quantity) == (D("6"), D("4"))
    smtp.clear()
    assert services.decide_award(room["alice"], first.id, True) is True
    db.session.commit()
    assert services.decide_award(room["alice"], first.id, True) is False
    assert services.decide_award(room["alice"], first.id, False, "oups") is False
    assert services.decide_award(room["alice"], 999999, True) is False
    db.session.rollback()
    assert services.decide_award(room["alice"], second.id, True) is True
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert lot.quantity_remaining == 0 and lot.awarded_quantity == D("10")
    synergies = db.session.scalars(sa.select(Synergy).order_by(Synergy.id)).all()
    assert [(s.taker_company_id, s.stage, s.origin, s.quantity, s.unit_price_eur, s.award_id) for s in synergies] == [
        (u1.company_id, "negotiation", "auction", D("6"), D("-1.50"), first.id),
        (u2.company_id, "negotiation", "auction", D("4"), D("-2.50"), second.id)]
    assert all(s.giver_company_id == room["giver"].id and s.territory_id == room["territory"].id for s in synergies)
    [mail] = smtp.to(u1.email)  # the bidder is told once
    assert "Lot attribué" in mail["Subject"]
    services.close_room(p, room["session"].id)
    db.session.commit()
    lot = fresh(Lot, lot.id)
    assert lot.status == "settled" and lot.children == []  # nothing left: no follow-up


def test_closing_twice_proposes_once(room):
    p, lot = room["practitioner"], room["lot"]
    services.present(p, lot.id)
    services.place_bid(room["users"][0], lot.id, D("1"), D("10"))
    db.session.commit()
    assert services.close_lot(p, lot.id) is True
    db.session.commit()
    assert services.close_lot(p, lot.id) is False
    db.session.commit()
    assert len(fresh(Lot, lot.id).awards) == 1 and events(lot.id).count("closed") == 1


# --- follow-up rounds: e-mails, relaunch, close unclaimed --------------------------------------------------


def test_follow_up_email_once_per_provider_and_round_not_per_lot(room, make_listing, make_user, smtp):
    p = room["practitioner"]
    cartons = make_listing(room["giver"], "published", title="Cartons ondulés", quantity=D("2"), unit="t")
    services.put_up(room["alice"], room["session"], cartons, {"quantity": D("2")})
    colleague = make_user("collecte@recyclerie.fr", company=room["provider"])
    db.session.commit()
    smtp.clear()
    services.close_room(p, room["session"].id)  # nothing sold: both lots go to one follow-up round
    db.session.commit()
    [follow_up] = db.session.scalars(sa.select(Round).where(Round.kind == "follow_up")).all()
    assert len(follow_up.lots) == 2
    for person in (room["recycler"], colleague):
        [mail] = smtp.to(person.email)
        assert "2 lot(s)" in mail["Subject"]
        text = smtp.text(mail)
        assert "Palettes bois 120x80" in text and "Cartons ondulés" in text
        assert f"/encheres/rounds/{follow_up.id}" in text
    for person in (room["farmer"], room["lyon"], *room["users"], room["alice"]):
        assert smtp.to(person.email) == []  # outside the room but not providers, too far, in the room, the giver
    assert len(smtp.messages) == 2


def test_unclaimed_relaunched_wider_then_closed(room, smtp, app):
    p = room["practitioner"]
    services.close_room(p, room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == room["lot"].id))
    assert child.round.radius_km == app.config["AUCTION_FOLLOW_UP_RADIUS_KM"]
    assert services.follow_up_access(child, room["far"]) is None
    refused("not_unclaimed", services.relaunch, p, [child.id], 1000, 10)  # still taking bids
    refused("not_unclaimed", services.close_unclaimed, p, child.id)

    child.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tasks.close_due_lots.call_local() == 1
    child = fresh(Lot, child.id)
    assert child.status == "unclaimed" and child.round.status == "closed" and child.quantity_remaining == D("10")

    smtp.clear()
    new_round = services.relaunch(p, [child.id], 1000, 10)
    db.session.commit()
    new_round = fresh(Round, new_round.id)
    assert new_round.radius_km == 1000 and new_round.mode == "sealed" and new_round.status == "open"
    assert timedelta(days=9, hours=23) < new_round.closes_at - new_round.opens_at <= timedelta(days=10)
    [grandchild] = new_round.lots
    assert (grandchild.parent_lot_id, grandchild.quantity, grandchild.status) == (child.id, D("10"), "open")
    child = fresh(Lot, child.id)
    assert child.status == "settled" and child.quantity_remaining == 0
    assert events(child.id)[-2:] == ["passed_on", "relaunched"]
    assert services.follow_up_access(grandchild, room["far"]) == "provider"  # the wider radius reaches Lyon
    assert len(smtp.to(room["lyon"].email)) == 1 and len(smtp.to(room["recycler"].email)) == 1

    grandchild.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    tasks.close_due_lots.call_local()
    assert fresh(Lot, grandchild.id).status == "unclaimed"
    services.close_unclaimed(p, grandchild.id)
    db.session.commit()
    grandchild = fresh(Lot, grandchild.id)
    assert grandchild.status == "unsold" and events(grandchild.id)[-1] == "unsold"
    refused("not_unclaimed", services.close_unclaimed, p, grandchild.id)


def test_relaunch_for_a_day_opens_exactly_one_round(room):
    p = room["practitioner"]
    services.close_room(p, room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == room["lot"].id))
    child.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    tasks.close_due_lots.call_local()
    rounds_before = db.session.scalar(sa.select(sa.func.count()).select_from(Round))
    new_round = services.relaunch(p, [child.id], 60, 1)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == rounds_before + 1
    assert len(fresh(Round, new_round.id).lots) == 1


def test_relaunch_opens_a_new_round_even_when_one_with_that_radius_is_open(room, app):
    """The relaunch's own deadline holds: it never joins a round that closes earlier."""
    p = room["practitioner"]
    services.close_room(p, room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == room["lot"].id))
    first_round = child.round
    radius = app.config["AUCTION_FOLLOW_UP_RADIUS_KM"]
    child.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    tasks.close_due_lots.call_local()
    other = services._open_follow_up(fresh(Lot, child.id).round.session, radius, 3)  # an open round, same radius
    db.session.commit()
    new_round = services.relaunch(p, [child.id], radius, 20)
    db.session.commit()
    new_round = fresh(Round, new_round.id)
    assert new_round.id not in (first_round.id, other.id)
    assert new_round.closes_at - new_round.opens_at > timedelta(days=19)


def test_walk_in_check_in_only_for_companies_of_the_territory(room, make_company):
    p = room["practitioner"]
    session_id = room["session"].id
    services.check_in(p, session_id, room["outsider"].id, True)  # Concarneau: welcome in
    db.session.commit()
    lorient = make_company("Chantier Naval Lorientais", "56100")
    refused("not_in_territory", services.check_in, p, session_id, lorient.id, True)
    assert fresh(AuctionSession, session_id).participant(lorient.id) is None


def test_follow_up_award_settles_or_leaves_the_rest_unclaimed(room):
    p = room["practitioner"]
    services.close_room(p, room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == room["lot"].id))
    services.place_bid(room["recycler"], child.id, D("-20.00"), D("4"))
    services.place_bid(room["farmer"], child.id, D("-30.00"), D("3"))
    db.session.commit()
    child = fresh(Lot, child.id)
    child.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    tasks.close_due_lots.call_local()
    child = fresh(Lot, child.id)
    recycler_award, farmer_award = child.awards
    assert (recycler_award.quantity, farmer_award.quantity) == (D("4"), D("3"))
    services.decide_award(room["alice"], recycler_award.id, True)
    db.session.commit()
    assert fresh(Lot, child.id).status == "closed"  # the farmer's share is still to decide
    services.decide_award(room["alice"], farmer_award.id, False)
    db.session.commit()
    child = fresh(Lot, child.id)
    assert child.status == "unclaimed" and child.quantity_remaining == D("6") and child.children == []


# --- the audit trail -------------------------------------------------------------------------------------


def test_audit_trail_is_append_only(room):
    event = db.session.scalars(sa.select(LotEvent).where(LotEvent.lot_id == room["lot"].id)).first()
    event.action = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    event = db.session.get(LotEvent, event.id)
    db.session.delete(event)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(LotEvent, event.id).action == "put_up"


def test_every_step_is_in_the_trail_with_its_actor(room):
    p, lot = room["practitioner"], room["lot"]
    u1 = room["users"][0]
    services.present(p, lot.id)
    bid, _ = services.place_bid(u1, lot.id, D("-1.25"), D("10"))
    services.close_lot(p, lot.id)
    db.session.commit()
    services.decide_award(room["alice"], fresh(Lot, lot.id).awards[0].id, True)
    db.session.commit()
    trail = db.session.scalars(sa.select(LotEvent).where(LotEvent.lot_id == lot.id).order_by(LotEvent.id)).all()
    assert [(e.action, e.actor_id, e.from_status, e.to_status) for e in trail] == [
        ("put_up", room["alice"].id, None, "ready"),
        ("presented", p.id, "ready", "open"),
        ("bid", u1.id, "open", "open"),
        ("closed", p.id, "open", "closed"),
        ("award_confirmed", room["alice"].id, "closed", "closed"),
    ]
    assert trail[2].detail == {"bid": bid.id, "company": u1.company_id, "unit_price_eur": "-1.25",
                               "quantity": "10"}
    award = db.session.scalars(sa.select(Award)).one()
    assert [(x["bid"], D(x["quantity"])) for x in trail[3].detail["proposed"]] == [(bid.id, D("10"))]
    assert trail[4].detail["award"] == award.id
