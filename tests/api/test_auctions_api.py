"""/api/v1 auctions, rounds and synergies: the same rights as the auction pages (invited bidder, company
not invited, giver, practitioner of the territory, practitioner of another territory), sealed bids
hidden until the close, the reserve never shown to bidders, idempotent bids, 400/422 on bad bodies."""
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.auctions.conftest import room  # noqa: F401  (the live room fixture)


@pytest.fixture
def token(runner):
    def issue(user):
        result = runner.invoke(args=["users", "token", user.email])
        assert result.exit_code == 0, result.output
        return {"Authorization": f"Bearer {result.output.strip()}"}

    return issue


@pytest.fixture
def people(room, token, make_territory, make_user):
    """An API token for each role around the room."""
    lorient = make_territory("Pays de Lorient", "56100 56600")
    other = make_user("anim@lorient.fr", role="practitioner", territories=[lorient])
    admin = make_user("admin@eit.fr", role="admin")
    u1, u2, u3 = room["users"]
    return {"u1": token(u1), "u2": token(u2), "u3": token(u3), "giver": token(room["alice"]),
            "practitioner": token(room["practitioner"]), "other": token(other), "admin": token(admin),
            "farmer": token(room["farmer"]), "recycler": token(room["recycler"])}


def present(room):
    from marketplace.auctions import services

    services.present(room["practitioner"], room["lot"].id)
    db.session.commit()


def bid(client, headers, lot_id, key=None, **body):
    body.setdefault("unit_price_eur", 5)
    body.setdefault("quantity", 2)
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/v1/lots/{lot_id}/bids", headers={**headers, **extra}, json=body)


def count_bids(**where):
    from marketplace.auctions.models import Bid

    query = sa.select(sa.func.count()).select_from(Bid)
    for key, value in where.items():
        query = query.where(getattr(Bid, key) == value)
    return db.session.scalar(query)


# --- sessions and lots ---------------------------------------------------------------------------


def test_sessions_follow_the_web_rights(client, room, people):
    session_id = room["session"].id
    seen = {name: [s["id"] for s in client.get("/api/v1/auctions", headers=h).get_json()["items"]]
            for name, h in people.items()}
    assert seen["u1"] == seen["giver"] == seen["practitioner"] == seen["admin"] == [session_id]
    assert seen["farmer"] == seen["other"] == seen["recycler"] == []

    mine = client.get(f"/api/v1/auctions/{session_id}", headers=people["u1"]).get_json()
    assert mine["you"] == {"runs": False, "invited": True, "checked_in": True}
    assert "participants" not in mine  # who else is invited: for the practitioners
    run = client.get(f"/api/v1/auctions/{session_id}", headers=people["practitioner"]).get_json()
    assert run["you"]["runs"] and len(run["participants"]) == 3
    assert run["rounds"][0]["kind"] == "main" and run["mode"] == "live" and run["status"] == "open"
    for name in ("farmer", "other", "recycler"):
        response = client.get(f"/api/v1/auctions/{session_id}", headers=people[name])
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
        assert client.get(f"/api/v1/auctions/{session_id}/lots", headers=people[name]).status_code == 404
        assert client.get(f"/api/v1/lots/{room['lot'].id}", headers=people[name]).status_code == 404
        assert client.get(f"/api/v1/lots/{room['lot'].id}/bids", headers=people[name]).status_code == 404
    assert client.get("/api/v1/auctions/999999", headers=people["admin"]).status_code == 404
    assert client.get("/api/v1/auctions").status_code == 401


def test_lots_list_with_best_bid_and_who_may_bid(client, room, people):
    present(room)
    lot_id = room["lot"].id
    assert bid(client, people["u1"], lot_id, unit_price_eur="3,50", quantity="4").status_code == 201
    assert bid(client, people["u2"], lot_id, unit_price_eur=6, quantity=2).status_code == 201

    lots = client.get(f"/api/v1/auctions/{room['session'].id}/lots", headers=people["u1"]).get_json()["items"]
    assert len(lots) == 1
    lot = lots[0]
    assert lot["status"] == "open" and lot["quantity"] == 10.0 and lot["allow_partial"] is True
    assert lot["best_bid"] == {"unit_price_eur": 6.0, "quantity": 2.0, "is_interest": False,
                               "placed_at": lot["best_bid"]["placed_at"], "yours": False}  # no bidder name
    assert lot["bid_count"] == 2
    assert lot["your_bid"]["unit_price_eur"] == 3.5 and lot["your_bid"]["quantity"] == 4.0
    assert lot["bidding"] == {"allowed": True, "reason": None}
    giver_view = client.get(f"/api/v1/lots/{lot_id}", headers=people["giver"]).get_json()
    assert giver_view["bidding"] == {"allowed": False, "reason": "own_lot"}
    assert giver_view["best_bid"]["company"]["id"] == room["bidders"][1].id  # the giver sees who
    assert client.get(f"/api/v1/lots/{lot_id}", headers=people["practitioner"]).get_json()["bidding"] == {
        "allowed": False, "reason": "no_company"}


def test_bids_list_all_for_giver_and_practitioner_own_for_bidders(client, room, people):
    present(room)
    lot_id = room["lot"].id
    bid(client, people["u1"], lot_id, unit_price_eur=3)
    bid(client, people["u2"], lot_id, unit_price_eur=4)
    for name in ("giver", "practitioner", "admin"):
        data = client.get(f"/api/v1/lots/{lot_id}/bids", headers=people[name]).get_json()
        assert data["all_bids"] is True and len(data["items"]) == 2
        assert {b["company"]["name"] for b in data["items"]} == {"Brasserie de l'Odet", "Menuiserie Le Goff"}
    data = client.get(f"/api/v1/lots/{lot_id}/bids", headers=people["u1"]).get_json()
    assert data["all_bids"] is False
    assert [b["company"]["name"] for b in data["items"]] == ["Brasserie de l'Odet"]
    assert client.get(f"/api/v1/lots/{lot_id}/bids", headers=people["u3"]).get_json()["items"] == []


def test_reserve_is_never_shown_to_bidders(client, room, people):
    lot = room["lot"]
    lot.reserve_unit_price_eur = Decimal("2.00")
    db.session.commit()
    present(room)
    bid(client, people["u1"], lot.id, unit_price_eur=3)
    for name in ("u1", "u2"):
        for url in (f"/api/v1/lots/{lot.id}", f"/api/v1/auctions/{room['session'].id}/lots",
                    f"/api/v1/lots/{lot.id}/bids", "/api/v1/auctions", f"/api/v1/auctions/{room['session'].id}"):
            response = client.get(url, headers=people[name])
            assert response.status_code == 200
            assert "reserve" not in response.get_data(as_text=True), (name, url)
    for name in ("giver", "practitioner"):
        assert client.get(f"/api/v1/lots/{lot.id}", headers=people[name]).get_json()["reserve_unit_price_eur"] == 2.0


# --- placing bids ---------------------------------------------------------------------------------------


def test_bid_rights_per_role(client, room, people, make_company, make_user, token):
    from marketplace.auctions import services

    lot_id = room["lot"].id
    # a company of the room invited but not checked in yet, and a company that gives another lot but is
    # not invited: both see the lot, neither may bid
    late = make_company("Scierie de l'Aven", "29900")
    late_user = make_user("late@aven.fr", company=late)
    services.invite(room["practitioner"], room["session"], [late])
    db.session.commit()
    assert bid(client, people["u1"], lot_id).get_json()["error"]["code"] == "not_open"  # not presented yet
    present(room)
    expected = {"giver": (403, "own_lot"), "practitioner": (403, "no_company"), "admin": (403, "no_company"),
                "other": (404, "not_found"), "farmer": (404, "not_found"), "recycler": (404, "not_found")}
    for name, (status, code) in expected.items():
        response = bid(client, people[name], lot_id)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), name
    response = bid(client, token(late_user), lot_id)
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "not_checked_in")
    assert "enregistrée" in response.get_json()["error"]["message"]
    assert count_bids() == 0
    created = bid(client, people["u1"], lot_id)
    assert created.status_code == 201 and created.get_json()["status"] == "active"
    assert count_bids(lot_id=lot_id) == 1


def test_a_company_giving_another_lot_is_not_invited_to_bid(client, room, make_company, make_user, make_listing,
                                                             token):
    from marketplace.auctions import services

    other_giver = make_company("Laiterie de Kerlaz", "29100")
    giver_user = make_user("lait@kerlaz.fr", company=other_giver)
    listing = make_listing(other_giver, "published", title="Lactosérum", quantity=Decimal("5"))
    services.put_up(giver_user, room["session"], listing, {"quantity": Decimal("5")})
    present(room)
    response = bid(client, token(giver_user), room["lot"].id)
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "not_invited")


def test_idempotency_key_stores_a_bid_once(client, room, people):
    from marketplace.auctions.models import LotEvent

    present(room)
    lot_id = room["lot"].id
    first = bid(client, people["u1"], lot_id, key="phone-1-bid-1", unit_price_eur="4.20")
    assert first.status_code == 201
    retry = bid(client, people["u1"], lot_id, key="phone-1-bid-1", unit_price_eur="4.20")
    assert retry.status_code == 200 and retry.get_json()["id"] == first.get_json()["id"]
    assert count_bids(client_key="phone-1-bid-1") == 1
    # the same key from another company is another bid
    other = bid(client, people["u2"], lot_id, key="phone-1-bid-1")
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    # a new key: a new bid that supersedes the company's earlier one
    newer = bid(client, people["u1"], lot_id, key="phone-1-bid-2", unit_price_eur=5)
    assert newer.status_code == 201
    bids = client.get(f"/api/v1/lots/{lot_id}/bids", headers=people["u1"]).get_json()["items"]
    assert [(b["unit_price_eur"], b["status"]) for b in bids] == [(4.2, "superseded"), (5.0, "active")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LotEvent).where(
        LotEvent.lot_id == lot_id, LotEvent.action == "bid")) == 3
    # a retry after the lot closed still answers with the stored bid
    client.post(f"/api/v1/lots/{lot_id}/close", headers=people["practitioner"])
    late_retry = bid(client, people["u1"], lot_id, key="phone-1-bid-2", unit_price_eur=5)
    assert late_retry.status_code == 200 and late_retry.get_json()["id"] == newer.get_json()["id"]
    assert bid(client, people["u1"], lot_id, key="phone-1-bid-3").get_json()["error"]["code"] == "not_open"


def test_interest_without_price(client, room, people):
    present(room)
    response = bid(client, people["u3"], room["lot"].id, unit_price_eur=None, interest=True, quantity=3,
                   message="Pour notre chaufferie")
    assert response.status_code == 201
    data = response.get_json()
    assert data["is_interest"] is True and data["unit_price_eur"] is None and data["message"] == "Pour notre chaufferie"
    negative = bid(client, people["u1"], room["lot"].id, unit_price_eur="-12.5", quantity=2)
    assert negative.status_code == 201 and negative.get_json()["unit_price_eur"] == -12.5


@pytest.mark.parametrize("body,field", [
    ({"unit_price_eur": "cinq", "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": True, "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": "NaN", "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": "Infinity", "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": 1.234, "quantity": 2}, "unit_price_eur"),  # cents only
    ({"unit_price_eur": 2e7, "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": None, "quantity": 2}, "unit_price_eur"),  # a price, or interest: true
    ({"unit_price_eur": 3, "interest": True, "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": 3, "interest": "yes", "quantity": 2}, "interest"),
    ({"unit_price_eur": 3}, "quantity"),
    ({"unit_price_eur": 3, "quantity": 0}, "quantity"),
    ({"unit_price_eur": 3, "quantity": -1}, "quantity"),
    ({"unit_price_eur": 3, "quantity": "0.0001"}, "quantity"),  # would round to 0 in the column
    ({"unit_price_eur": 3, "quantity": 11}, "quantity"),  # more than the lot
    ({"unit_price_eur": 3, "quantity": 1}, "quantity"),  # below the minimum take (2)
    ({"unit_price_eur": 3, "quantity": "1e999999"}, "quantity"),
    ({"unit_price_eur": 3, "quantity": [2]}, "quantity"),
    ({"unit_price_eur": {"amount": 3}, "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": 3, "quantity": 2, "message": 12}, "message"),
    ({"unit_price_eur": 3, "quantity": 2, "message": "x" * 2001}, "message"),
    ({"unit_price_eur": 3, "quantity": 2, "company_id": 1}, "company_id"),
    ({"unit_price_eur": 3, "quantity": 2, "message": "nul \x00 ici"}, "message"),
    # Text the document's pattern refuses (Python's Decimal read them: "1e3" was 1000, "1_0" was 10).
    ({"unit_price_eur": "1e3", "quantity": 2}, "unit_price_eur"),
    ({"unit_price_eur": 3, "quantity": "1_0"}, "quantity"),
    ({"unit_price_eur": " 3", "quantity": 2}, "unit_price_eur"),
])
def test_bad_bid_bodies_are_422_with_fields_and_store_nothing(client, room, people, body, field):
    present(room)
    response = client.post(f"/api/v1/lots/{room['lot'].id}/bids", headers=people["u1"], json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert field in error["fields"] and error["message"]
    assert count_bids() == 0


def test_unreadable_bid_bodies_are_400(client, room, people):
    present(room)
    url = f"/api/v1/lots/{room['lot'].id}/bids"
    for data in ("not json", "{\"quantity\": 2", "", "[1, 2]", "null", "12"):
        response = client.post(url, headers=people["u1"], data=data, content_type="application/json")
        assert response.status_code == 400, data
        assert response.get_json()["error"]["code"] == "bad_request"
    assert client.post(url, headers=people["u1"], data="quantity=2").status_code == 400  # form-encoded
    too_long = bid(client, people["u1"], room["lot"].id, key="k" * 65)
    assert too_long.status_code == 422 and "Idempotency-Key" in too_long.get_json()["error"]["fields"]
    control = bid(client, people["u1"], room["lot"].id, key="abc\x01")
    assert control.status_code == 422 and "Idempotency-Key" in control.get_json()["error"]["fields"]
    accented = bid(client, people["u1"], room["lot"].id, key="clé-1".encode().decode("latin-1"))
    assert accented.status_code == 422  # printable ASCII, as the document says
    assert count_bids() == 0


def test_whole_lot_only(client, room, people):
    lot = room["lot"]
    lot.allow_partial = False
    db.session.commit()
    present(room)
    response = bid(client, people["u1"], lot.id, quantity=4)
    assert response.status_code == 422 and "quantity" in response.get_json()["error"]["fields"]
    assert bid(client, people["u1"], lot.id, quantity="10.000").status_code == 201


def test_bid_rate_limit_per_person(app, room, people):
    """AUCTION_BID_RATE_LIMIT counts each person's bids, wherever they come from (a room shares one address)."""
    from marketplace import create_app
    from marketplace.extensions import limiter

    present(room)
    settings = {k: app.config[k] for k in ("TESTING", "DATABASE_URL", "INSTANCE_PATH", "SECRET_KEY", "HUEY_IMMEDIATE",
                                           "MAIL_SERVER", "MAIL_PORT", "BASE_URL")}
    limited = create_app({**settings, "RATELIMIT_ENABLED": True, "AUCTION_BID_RATE_LIMIT": "2 per minute"})
    client = limited.test_client()
    try:
        assert bid(client, people["u1"], room["lot"].id).status_code == 201
        assert bid(client, people["u1"], room["lot"].id).status_code == 201
        refused = bid(client, people["u1"], room["lot"].id)
        assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "too_many_requests"
        assert bid(client, people["u2"], room["lot"].id).status_code == 201
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.engine.dispose()
    assert count_bids() == 3


# --- retracting, closing, awarding -----------------------------------------------------------------------


def test_retract_own_bid_with_a_reason(client, room, people):
    present(room)
    placed = bid(client, people["u1"], room["lot"].id).get_json()
    url = f"/api/v1/bids/{placed['id']}/retract"
    assert client.post(url, headers=people["u2"], json={"reason": "typo"}).status_code == 404
    assert client.post(url, headers=people["giver"], json={"reason": "typo"}).status_code == 404
    bad = client.post(url, headers=people["u1"], json={"reason": "changed my mind"})
    assert bad.status_code == 422 and "reason" in bad.get_json()["error"]["fields"]
    nul = client.post(url, headers=people["u1"], json={"reason": "typo", "note": "\x00"})
    assert nul.status_code == 422 and "note" in nul.get_json()["error"]["fields"]
    assert client.post(url, headers=people["u1"], data="x", content_type="application/json").status_code == 400
    done = client.post(url, headers=people["u1"], json={"reason": "typo", "note": "5 au lieu de 0,5"})
    assert done.status_code == 200
    assert done.get_json()["status"] == "retracted" and done.get_json()["retract_reason"] == "typo"
    again = client.post(url, headers=people["u1"], json={"reason": "typo"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "bid_not_active"
    assert client.post("/api/v1/bids/999999/retract", headers=people["u1"], json={"reason": "typo"}).status_code == 404


def test_close_award_and_synergy(client, room, people):
    present(room)
    lot_id = room["lot"].id
    bid(client, people["u1"], lot_id, unit_price_eur=5, quantity=6)
    bid(client, people["u2"], lot_id, unit_price_eur=4, quantity=4)
    for name, status in (("u1", 403), ("giver", 403), ("other", 404)):
        assert client.post(f"/api/v1/lots/{lot_id}/close", headers=people[name]).status_code == status
    closed = client.post(f"/api/v1/lots/{lot_id}/close", headers=people["practitioner"])
    assert closed.status_code == 200
    assert closed.get_json()["closed"] is True and closed.get_json()["lot"]["status"] == "closed"
    assert client.post(f"/api/v1/lots/{lot_id}/close", headers=people["practitioner"]).get_json()["closed"] is False

    awards = client.get(f"/api/v1/lots/{lot_id}", headers=people["giver"]).get_json()["awards"]
    assert [(a["company"]["name"], a["quantity"], a["status"]) for a in awards] == [
        ("Brasserie de l'Odet", 6.0, "proposed"), ("Menuiserie Le Goff", 4.0, "proposed")]
    own = client.get(f"/api/v1/lots/{lot_id}", headers=people["u2"]).get_json()["awards"]
    assert [a["company"]["name"] for a in own] == ["Menuiserie Le Goff"]  # only its own share
    assert client.get(f"/api/v1/lots/{lot_id}", headers=people["u3"]).get_json()["awards"] == []

    first = awards[0]["id"]
    assert client.post(f"/api/v1/awards/{first}", headers=people["u1"], json={"decision": "confirm"}).status_code == 403
    assert client.post(f"/api/v1/awards/{first}", headers=people["other"],
                       json={"decision": "confirm"}).status_code == 404
    bad = client.post(f"/api/v1/awards/{first}", headers=people["giver"], json={"decision": "yes"})
    assert bad.status_code == 422 and "decision" in bad.get_json()["error"]["fields"]
    assert client.post(f"/api/v1/awards/{first}", headers=people["giver"], data="?",
                       content_type="application/json").status_code == 400
    confirmed = client.post(f"/api/v1/awards/{first}", headers=people["giver"], json={"decision": "confirm"})
    assert confirmed.status_code == 200
    data = confirmed.get_json()
    assert data["decided"] is True and data["award"]["status"] == "confirmed" and data["synergy_id"]
    again = client.post(f"/api/v1/awards/{first}", headers=people["giver"], json={"decision": "decline"}).get_json()
    assert again["decided"] is False and again["award"]["status"] == "confirmed"
    declined = client.post(f"/api/v1/awards/{awards[1]['id']}", headers=people["giver"],
                           json={"decision": "decline", "reason": "Trop loin"}).get_json()
    assert declined["decided"] is True and declined["award"]["decline_reason"] == "Trop loin"
    assert declined["synergy_id"] is None
    lot = client.get(f"/api/v1/lots/{lot_id}", headers=people["practitioner"]).get_json()
    assert lot["quantity_remaining"] == 4.0

    synergy_id = data["synergy_id"]
    for name in ("giver", "u1", "practitioner", "admin"):
        listed = client.get("/api/v1/synergies", headers=people[name]).get_json()
        assert [s["id"] for s in listed["items"]] == [synergy_id], name
        one = client.get(f"/api/v1/synergies/{synergy_id}", headers=people[name]).get_json()
        assert one["origin"] == "auction" and one["taker"]["name"] == "Brasserie de l'Odet"
        assert one["quantity"] == 6.0 and one["unit_price_eur"] == 5.0 and one["stage"] == "negotiation"
        assert one["reporting_group"] == "discussion" and one["benefits"] == {"declared": None, "verified": None}
    # benefits verified with a factor: the figures and the factor used come with the synergy
    from marketplace.extensions import db
    from marketplace.synergies import services as synergy_services
    from marketplace.synergies.models import EmissionFactor, Synergy

    factor = EmissionFactor(key="api-test", label="Acier recyclé", kg_co2e_per_unit=Decimal("1500"), unit="t",
                            source="Base Empreinte (test)")
    db.session.add(factor)
    synergy = db.session.get(Synergy, data["synergy_id"])
    synergy_services.verify_benefits(room["practitioner"], synergy, {"tonnes_reused": Decimal("2.5")}, factor=factor)
    db.session.commit()
    verified = client.get(f"/api/v1/synergies/{synergy.id}", headers=people["giver"]).get_json()["benefits"]["verified"]
    assert verified["figures"]["tonnes_reused"] == 2.5 and verified["figures"]["co2e_tonnes"] == 3.75
    assert verified["figures"]["eur_saved"] is None and verified["co2e_method"] == "computed"
    assert verified["emission_factor"] == {"key": "api-test", "label": "Acier recyclé", "kg_co2e_per_unit": 1500.0,
                                           "unit": "t", "source": "Base Empreinte (test)", "applied_to": "tonnes_reused"}
    for name in ("u2", "other", "farmer"):
        assert client.get("/api/v1/synergies", headers=people[name]).get_json()["items"] == []
        assert client.get(f"/api/v1/synergies/{synergy_id}", headers=people[name]).status_code == 404
    assert client.get("/api/v1/synergies?page=x", headers=people["admin"]).status_code == 422
    assert client.post("/api/v1/awards/999999", headers=people["giver"], json={"decision": "confirm"}).status_code == 404


# --- follow-up rounds: sealed bids -------------------------------------------------------------------------


@pytest.fixture
def follow_up(room, client, people):
    """The room closed with 7 t left: a sealed follow-up lot for solution providers and outsiders."""
    from marketplace.auctions import services
    from marketplace.auctions.models import Award, Lot

    present(room)
    lot = room["lot"]
    bid(client, people["u1"], lot.id, unit_price_eur=5, quantity=3)
    services.close_lot(room["practitioner"], lot.id)
    db.session.commit()
    award = db.session.scalar(sa.select(Award).where(Award.lot_id == lot.id))
    services.decide_award(room["alice"], award.id, True)
    services.close_room(room["practitioner"], room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == lot.id))
    assert child is not None and child.round.is_sealed and child.status == "open"
    return child


def test_sealed_bids_hidden_until_close(client, room, people, follow_up):
    child = follow_up
    assert bid(client, people["recycler"], child.id, unit_price_eur=-20, quantity=7).status_code == 201
    assert bid(client, people["farmer"], child.id, unit_price_eur=1, quantity=3).status_code == 201
    assert bid(client, people["u1"], child.id).status_code == 404  # was in the room: not offered the leftovers
    for name in ("giver", "practitioner", "recycler", "farmer"):
        lot = client.get(f"/api/v1/lots/{child.id}", headers=people[name]).get_json()
        assert lot["round"]["mode"] == "sealed" and lot["best_bid"] is None and "bid_count" not in lot, name
        bids = client.get(f"/api/v1/lots/{child.id}/bids", headers=people[name]).get_json()
        assert bids["all_bids"] is False, name
    assert client.get(f"/api/v1/lots/{child.id}/bids", headers=people["giver"]).get_json()["items"] == []
    own = client.get(f"/api/v1/lots/{child.id}/bids", headers=people["recycler"]).get_json()["items"]
    assert [b["unit_price_eur"] for b in own] == [-20.0]
    assert client.get(f"/api/v1/lots/{child.id}", headers=people["recycler"]).get_json()["your_bid"][
        "unit_price_eur"] == -20.0
    listed = client.get(f"/api/v1/auctions/{room['session'].id}/lots", headers=people["practitioner"]).get_json()
    sealed = next(x for x in listed["items"] if x["id"] == child.id)
    assert sealed["best_bid"] is None and "bid_count" not in sealed

    assert client.post(f"/api/v1/lots/{child.id}/close", headers=people["practitioner"]).get_json()["closed"] is True
    after = client.get(f"/api/v1/lots/{child.id}/bids", headers=people["giver"]).get_json()
    assert after["all_bids"] is True
    assert {b["company"]["name"] for b in after["items"]} == {"Recyclerie Bretonne", "Ferme du Moros"}
    lot = client.get(f"/api/v1/lots/{child.id}", headers=people["recycler"]).get_json()
    assert lot["best_bid"]["unit_price_eur"] == 1.0 and "company" not in lot["best_bid"]
    assert client.get(f"/api/v1/lots/{child.id}/bids", headers=people["recycler"]).get_json()["all_bids"] is False


def test_rounds_visible_to_the_caller(client, room, people, follow_up):
    child = follow_up
    for name in ("practitioner", "admin", "giver", "recycler", "farmer"):
        items = client.get("/api/v1/rounds", headers=people[name]).get_json()["items"]
        assert len(items) == 1, name
        assert items[0]["kind"] == "follow_up" and items[0]["session"]["id"] == room["session"].id
        assert [x["id"] for x in items[0]["lots"]] == [child.id], name
    for name in ("u1", "other"):  # in the room: not offered the leftovers again; another territory
        assert client.get("/api/v1/rounds", headers=people[name]).get_json()["items"] == [], name
    assert client.get(f"/api/v1/lots/{child.id}", headers=people["u1"]).status_code == 404
    farmer_lot = client.get(f"/api/v1/lots/{child.id}", headers=people["farmer"]).get_json()
    assert farmer_lot["bidding"] == {"allowed": True, "reason": None}


# --- the document ---------------------------------------------------------------------------------------


def test_openapi_document_lists_the_auction_paths(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, method in (("/auctions", "get"), ("/auctions/{session_id}", "get"), ("/auctions/{session_id}/lots", "get"),
                         ("/lots/{lot_id}", "get"), ("/lots/{lot_id}/bids", "get"), ("/lots/{lot_id}/bids", "post"),
                         ("/bids/{bid_id}/retract", "post"), ("/lots/{lot_id}/close", "post"),
                         ("/awards/{award_id}", "post"), ("/rounds", "get"), ("/synergies", "get"),
                         ("/synergies/{synergy_id}", "get")):
        assert method in doc["paths"][path], (path, method)
    post = doc["paths"]["/lots/{lot_id}/bids"]["post"]
    assert {"200", "201", "400", "403", "409", "422", "429"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
    # every reference points at a schema of the document
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs <= set(doc["components"]["schemas"])
    json.dumps(doc)  # serialisable as it is served


def test_a_nul_character_is_422_not_500(client, room, people):
    """PostgreSQL text cannot hold U+0000: refused up front, listings included."""
    response = client.post("/api/v1/listings", headers=people["giver"], json={
        "kind": "offer", "title": "Sciure \x00 de hêtre", "category": "materials", "quantity": 3, "unit": "t",
        "frequency": "monthly"})
    assert response.status_code == 422 and "title" in response.get_json()["error"]["fields"]


def test_every_api_endpoint_but_the_document_needs_a_token(app, client):
    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi":
            continue
        path = adapter.build(rule.endpoint, {name: 1 for name in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.get_json()["error"]["code"] == "unauthorized"
            checked += 1
    assert checked >= 20
