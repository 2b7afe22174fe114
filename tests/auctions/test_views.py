"""Auction and synergy pages through the web client, for each role: forms, flashes, CSRF, the room's
polling endpoints."""
from __future__ import annotations

import html
from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from marketplace.auctions import services
from marketplace.auctions.models import AuctionSession, Award, Bid, Lot, Participant
from marketplace.extensions import db
from marketplace.models_base import utcnow
from marketplace.synergies.models import Synergy
from tests.conftest import login


def as_user(app, user):
    client = app.test_client()
    login(client, user)
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


# --- sessions -------------------------------------------------------------------------------------------


def session_form(territory_id, **overrides) -> dict:
    data = {"title": "Enchères de printemps", "territory_id": str(territory_id), "mode": "timed",
            "starts_at": "2031-04-02T09:00", "closes_at": "2031-04-05T18:00", "place": "", "is_online": "y",
            "description": "Palettes, cartons, drêches."}
    data.update(overrides)
    return data


@pytest.mark.parametrize("overrides, field_error", [
    ({"title": ""}, "title-error"),
    ({"title": "ab"}, "title-error"),
    ({"closes_at": ""}, "closes_at-error"),  # a timed round needs its end
    ({"closes_at": "2031-04-01T18:00"}, "closes_at-error"),  # before the start
    ({"starts_at": "demain"}, "starts_at-error"),
    ({"is_online": "", "place": ""}, "place-error"),  # neither a place nor online
    ({"mode": "auction"}, "mode-error"),
    ({"territory_id": "999999"}, "territory_id-error"),  # not a territory of the practitioner
    # Were 500s: converting year 1 (or 9999) between Paris and UTC overflows.
    ({"starts_at": "0001-01-01T00:00"}, "starts_at-error"),
    ({"closes_at": "9999-12-31T23:59"}, "closes_at-error"),
    ({"closes_at": "demain"}, "closes_at-error"),  # was a 500: None compared with the start
])
def test_session_form_with_bad_input_shows_the_field_errors_and_saves_nothing(room, app, overrides, field_error):
    client = as_user(app, room["practitioner"])
    before = count(AuctionSession)
    data = session_form(room["territory"].id)
    data.update(overrides)
    response = client.post("/encheres/nouvelle", data=data)
    assert response.status_code == 200
    page = text(response)
    assert f'id="{field_error}"' in page and "Le formulaire contient des erreurs" in page
    assert count(AuctionSession) == before


def test_practitioner_creates_a_session_in_local_time(room, app):
    client = as_user(app, room["practitioner"])
    assert client.get("/encheres/nouvelle").status_code == 200
    response = client.post("/encheres/nouvelle", data=session_form(room["territory"].id))
    assert response.status_code == 302
    session = db.session.scalars(sa.select(AuctionSession).order_by(AuctionSession.id.desc())).first()
    assert response.location.endswith(f"/encheres/{session.id}")
    assert (session.title, session.mode, session.status, session.is_online) == (
        "Enchères de printemps", "timed", "draft", True)
    # Typed in Paris time (UTC+2 in April), stored in UTC.
    assert session.starts_at == datetime(2031, 4, 2, 7, 0)
    assert session.main_round.closes_at == datetime(2031, 4, 5, 16, 0)
    assert "Session créée" in text(client.get(response.location))


def test_members_cannot_create_sessions(room, app):
    client = as_user(app, room["alice"])
    assert client.get("/encheres/nouvelle").status_code == 403
    assert client.post("/encheres/nouvelle", data=session_form(room["territory"].id)).status_code == 403


def test_edit_a_draft_session_then_not_once_open(room, app):
    session = services.create_session(room["practitioner"], room["territory"], {
        "title": "Brouillon", "mode": "live", "starts_at": utcnow() + timedelta(days=3), "place": "CCI",
        "is_online": False, "description": ""})
    db.session.commit()
    client = as_user(app, room["practitioner"])
    assert "Brouillon" in text(client.get(f"/encheres/{session.id}/modifier"))
    response = client.post(f"/encheres/{session.id}/modifier", data=session_form(
        room["territory"].id, title="Salle de juin", mode="live", closes_at="", place="Halle", is_online=""))
    assert response.status_code == 302
    session = fresh(AuctionSession, session.id)
    assert session.title == "Salle de juin" and session.place == "Halle" and session.main_round.closes_at is None
    assert client.post(f"/encheres/{session.id}/ouvrir").status_code == 302
    assert fresh(AuctionSession, session.id).status == "open"
    response = client.get(f"/encheres/{session.id}/modifier")
    assert response.status_code == 302 and "ne se modifie plus" in text(client.get(response.location))


def test_invite_and_check_in_through_the_pages(room, app, make_company):
    late = make_company("Scierie du Steir", "29000")
    client = as_user(app, room["practitioner"])
    session = room["session"]
    assert "Scierie du Steir" in text(client.get(f"/encheres/{session.id}"))
    response = client.post(f"/encheres/{session.id}/invitations", data={"companies": [str(late.id)]})
    assert response.status_code == 302 and "1 entreprise(s) invitée(s)" in text(client.get(response.location))
    response = client.post(f"/encheres/{session.id}/invitations", data={})
    assert "Choisissez au moins une entreprise" in text(client.get(response.location))
    response = client.post(f"/encheres/{session.id}/participants/{late.id}/presence",
                           data={"present": "1", "next": f"/encheres/{session.id}/regie"})
    assert response.status_code == 302 and response.location.endswith(f"/encheres/{session.id}/regie")
    assert fresh(AuctionSession, session.id).participant(late.id).checked_in_at is not None
    response = client.post(f"/encheres/{session.id}/participants/{late.id}/presence",
                           data={"present": "1", "next": "https://evil.example/"})
    assert response.location.endswith(f"/encheres/{session.id}")  # never sent off-site
    assert client.post(f"/encheres/{session.id}/participants/{late.id}/presence",
                       data={"present": "maybe"}).status_code == 400


# --- lots -------------------------------------------------------------------------------------------------


def lot_form(listing_id, **overrides) -> dict:
    data = {"listing_id": str(listing_id), "quantity": "4", "allow_partial": "y", "min_take": "1",
            "reserve_unit_price_eur": "-3.50", "pickup_from": "2031-04-10", "pickup_until": "2031-04-20",
            "note": "Sur palettes, quai 2."}
    data.update(overrides)
    return data


def test_owner_puts_an_offer_up_ready_at_once(room, app, make_listing):
    listing = make_listing(room["giver"], "published", title="Cartons ondulés", quantity=D("4"), unit="t")
    client = as_user(app, room["alice"])
    session = room["session"]
    page = text(client.get(f"/encheres/{session.id}/lots/nouveau?listing={listing.id}"))
    assert "Cartons ondulés" in page and 'value="4' in page  # the offer's quantity, proposed
    response = client.post(f"/encheres/{session.id}/lots/nouveau", data=lot_form(listing.id))
    assert response.status_code == 302 and "Lot ajouté" in text(client.get(response.location))
    lot = db.session.scalars(sa.select(Lot).where(Lot.listing_id == listing.id)).one()
    assert (lot.status, lot.quantity, lot.allow_partial, lot.min_take, lot.reserve_unit_price_eur) == (
        "ready", D("4"), True, D("1"), D("-3.50"))
    assert (lot.pickup_from.isoformat(), lot.note) == ("2031-04-10", "Sur palettes, quai 2.")


@pytest.mark.parametrize("overrides, field_error", [
    ({"quantity": ""}, "quantity-error"),
    ({"quantity": "0"}, "quantity-error"),
    ({"quantity": "NaN"}, "quantity-error"),
    ({"quantity": "sNaN", "min_take": "sNaN"}, "quantity-error"),
    ({"min_take": "Infinity"}, "min_take-error"),
    ({"min_take": "5"}, "min_take-error"),  # more than the lot
    ({"pickup_until": "2031-04-01"}, "pickup_until-error"),
    ({"reserve_unit_price_eur": "abc"}, "reserve_unit_price_eur-error"),
    ({"listing_id": "999999"}, "listing_id-error"),
])
def test_lot_form_with_bad_input_saves_nothing(room, app, make_listing, overrides, field_error):
    listing = make_listing(room["giver"], "published", title="Cartons ondulés")
    client = as_user(app, room["alice"])
    data = lot_form(listing.id)
    data.update(overrides)
    response = client.post(f"/encheres/{room['session'].id}/lots/nouveau", data=data)
    assert response.status_code == 200 and f'id="{field_error}"' in text(response)
    assert count(Lot, Lot.listing_id == listing.id) == 0


def test_practitioner_puts_up_and_the_owner_consents_on_the_lot_page(room, app, make_listing):
    listing = make_listing(room["giver"], "published", title="Filets de pêche", quantity=D("2"), unit="t")
    practitioner = as_user(app, room["practitioner"])
    response = practitioner.post(f"/encheres/{room['session'].id}/lots/nouveau",
                                 data=lot_form(listing.id, quantity="2", reserve_unit_price_eur=""))
    assert "le cédant doit donner son accord" in text(practitioner.get(response.location))
    lot = db.session.scalars(sa.select(Lot).where(Lot.listing_id == listing.id)).one()
    assert lot.status == "awaiting_consent"

    assert as_user(app, room["users"][0]).post(f"/encheres/lots/{lot.id}/accord",
                                               data={"answer": "accept"}).status_code == 403
    assert practitioner.post(f"/encheres/lots/{lot.id}/accord", data={"answer": "accept"}).status_code == 403
    alice = as_user(app, room["alice"])
    assert "Votre accord est demandé" in text(alice.get(f"/encheres/lots/{lot.id}"))
    response = alice.post(f"/encheres/lots/{lot.id}/accord", data={"answer": "maybe"})
    assert fresh(Lot, lot.id).status == "awaiting_consent"
    response = alice.post(f"/encheres/lots/{lot.id}/accord", data={"answer": "accept",
                                                                    "reserve_unit_price_eur": "-8"})
    assert "Réponse enregistrée" in text(alice.get(response.location))
    lot = fresh(Lot, lot.id)
    assert lot.status == "ready" and lot.reserve_unit_price_eur == D("-8")


def test_withdraw_a_lot_without_bids(room, app):
    client = as_user(app, room["users"][0])
    lot = room["lot"]
    assert client.post(f"/encheres/lots/{lot.id}/retirer").status_code == 403
    response = as_user(app, room["alice"]).post(f"/encheres/lots/{lot.id}/retirer")
    assert response.status_code == 302 and fresh(Lot, lot.id).status == "withdrawn"


# --- bids ---------------------------------------------------------------------------------------------------


@pytest.fixture
def presented(room):
    services.present(room["practitioner"], room["lot"].id)
    db.session.commit()
    return room


def test_bid_form_posts_with_its_csrf_token(presented, app):
    room = presented
    lot = room["lot"]
    client = as_user(app, room["users"][0])
    page = text(client.get(f"/encheres/lots/{lot.id}"))
    assert 'name="csrf_token"' in page and f'action="/encheres/lots/{lot.id}/encherir"' in page
    form = {"unit_price_eur": "-4.50", "quantity": "3", "message": "Enlèvement sous 48 h", "client_key": "abc123"}
    assert client.post(f"/encheres/lots/{lot.id}/encherir", data=dict(form), csrf=False).status_code == 400
    assert count(Bid) == 0
    response = client.post(f"/encheres/lots/{lot.id}/encherir", data=dict(form))
    assert response.status_code == 302 and response.location.endswith(f"/encheres/lots/{lot.id}")
    assert "Enchère enregistrée" in text(client.get(response.location))
    bid = db.session.scalars(sa.select(Bid)).one()
    assert (bid.unit_price_eur, bid.quantity, bid.message, bid.company_id) == (
        D("-4.50"), D("3"), "Enlèvement sous 48 h", room["bidders"][0].id)
    # A double click (same form, same key) stores nothing more.
    response = client.post(f"/encheres/lots/{lot.id}/encherir", data=dict(form))
    assert "déjà enregistrée" in text(client.get(response.location)) and count(Bid) == 1
    # An interest without price.
    client.post(f"/encheres/lots/{lot.id}/encherir", data={"interest_only": "y", "quantity": "2", "unit_price_eur": "",
                                                          "client_key": "k2"})
    assert [b.unit_price_eur for b in db.session.scalars(sa.select(Bid).where(Bid.status == "active"))] == [None]


@pytest.mark.parametrize("form, flash", [
    ({"unit_price_eur": "", "quantity": "3"}, "Indiquez un prix, ou cochez « intérêt sans prix »."),
    ({"unit_price_eur": "2", "quantity": "1"}, "La quantité est inférieure à la prise minimale du lot."),
    ({"unit_price_eur": "2", "quantity": "11"}, "La quantité dépasse celle du lot."),
    ({"unit_price_eur": "2.555", "quantity": "3"}, "Le prix s'exprime au centime près."),
    ({"unit_price_eur": "2000000", "quantity": "3"}, "Prix hors limites."),
    ({"unit_price_eur": "NaN", "quantity": "3"}, "N'est pas une valeur décimale valide."),
    ({"unit_price_eur": "-Infinity", "quantity": "3"}, "N'est pas une valeur décimale valide."),
    ({"unit_price_eur": "1", "quantity": "sNaN"}, "N'est pas une valeur décimale valide."),
    ({"unit_price_eur": "2", "quantity": "0"}, "Le nombre doit être au minimum 0.001."),
    ({"unit_price_eur": "deux euros", "quantity": "3"}, "N'est pas une valeur décimale valide."),
])
def test_bad_bid_flashes_why_and_stores_nothing(presented, app, form, flash):
    lot = presented["lot"]
    client = as_user(app, presented["users"][0])
    response = client.post(f"/encheres/lots/{lot.id}/encherir", data=form)
    assert response.status_code == 302
    page = text(client.get(response.location))
    assert 'class="flash error"' in page and flash in page
    assert count(Bid) == 0


def test_refused_bidders_are_told_why(presented, app):
    lot = presented["lot"]
    alice = as_user(app, presented["alice"])
    response = alice.post(f"/encheres/lots/{lot.id}/encherir", data={"unit_price_eur": "1", "quantity": "3"})
    assert "Vous ne pouvez pas enchérir sur un lot de votre entreprise." in text(alice.get(response.location))
    assert presented["lot"].id and count(Bid) == 0
    farmer = as_user(app, presented["farmer"])  # not invited: the lot is not even shown
    assert farmer.get(f"/encheres/lots/{lot.id}").status_code == 404
    assert farmer.post(f"/encheres/lots/{lot.id}/encherir", data={"unit_price_eur": "1", "quantity": "3"}
                       ).status_code == 404
    assert count(Bid) == 0


def test_no_bid_form_on_a_closed_lot(presented, app):
    lot = presented["lot"]
    client = as_user(app, presented["users"][0])
    assert "bid-form" in text(client.get(f"/encheres/lots/{lot.id}"))
    services.close_lot(presented["practitioner"], lot.id)
    db.session.commit()
    assert "bid-form" not in text(client.get(f"/encheres/lots/{lot.id}"))


def test_retract_through_the_page(presented, app):
    lot = presented["lot"]
    client = as_user(app, presented["users"][0])
    client.post(f"/encheres/lots/{lot.id}/encherir", data={"unit_price_eur": "9", "quantity": "3"})
    bid = db.session.scalars(sa.select(Bid)).one()
    assert as_user(app, presented["users"][1]).post(f"/encheres/offres/{bid.id}/retrait",
                                                    data={"reason": "typo"}).status_code == 404
    response = client.post(f"/encheres/offres/{bid.id}/retrait", data={"reason": "whim"})
    assert "Indiquez le motif du retrait" in text(client.get(response.location))
    assert fresh(Bid, bid.id).status == "active"
    response = client.post(f"/encheres/offres/{bid.id}/retrait", data={"reason": "lot_changed", "note": "humide"})
    assert "le retrait est consigné" in text(client.get(response.location))
    assert (fresh(Bid, bid.id).status, fresh(Bid, bid.id).retract_reason) == ("retracted", "lot_changed")


# --- the live room: control desk, projector, phones ------------------------------------------------------------


def test_projector_state_answers_204_while_nothing_moves(presented, app):
    room = presented
    session = room["session"]
    client = as_user(app, room["users"][1])
    page = client.get(f"/encheres/{session.id}/projection")
    assert page.status_code == 200 and "Palettes bois 120x80" in text(page)
    first = client.get(f"/encheres/{session.id}/projection/etat")
    assert first.status_code == 200
    version = first.get_data(as_text=True).split('data-version="', 1)[1].split('"', 1)[0]
    assert client.get(f"/encheres/{session.id}/projection/etat?v={version}").status_code == 204
    assert client.get(f"/encheres/{session.id}/projection/etat?v=0.0").status_code == 200

    services.place_bid(room["users"][0], room["lot"].id, D("6.25"), D("4"))  # a bid moves the lot's version
    db.session.commit()
    moved = client.get(f"/encheres/{session.id}/projection/etat?v={version}")
    assert moved.status_code == 200 and "6,25" in text(moved)
    new_version = text(moved).split('data-version="', 1)[1].split('"', 1)[0]
    assert new_version != version
    assert client.get(f"/encheres/{session.id}/projection/etat?v={new_version}").status_code == 204
    # The phones' state follows the same version.
    assert client.get(f"/encheres/{session.id}/salle/etat?v={new_version}").status_code == 204
    assert client.get(f"/encheres/{session.id}/salle/etat?v={version}").status_code == 200
    services.last_call(room["practitioner"], room["lot"].id)  # the session screens move too
    db.session.commit()
    assert client.get(f"/encheres/{session.id}/projection/etat?v={new_version}").status_code == 200


def test_room_form_changes_only_with_the_lot_on_screen(room, app):
    session, lot = room["session"], room["lot"]
    client = as_user(app, room["users"][0])
    waiting = client.get(f"/encheres/{session.id}/salle/formulaire")
    assert waiting.status_code == 200 and "bid-form" not in text(waiting)
    assert client.get(f"/encheres/{session.id}/salle/formulaire?lot=").status_code == 204  # still no lot
    services.present(room["practitioner"], lot.id)
    db.session.commit()
    shown = client.get(f"/encheres/{session.id}/salle/formulaire?lot=")
    assert shown.status_code == 200 and "bid-form" in text(shown) and 'name="csrf_token"' in text(shown)
    assert client.get(f"/encheres/{session.id}/salle/formulaire?lot={lot.id}").status_code == 204
    room_page = text(client.get(f"/encheres/{session.id}/salle"))
    assert "bid-form" in room_page and "Palettes bois 120x80" in room_page
    # A bid from the phone comes back to the room.
    response = client.post(f"/encheres/lots/{lot.id}/encherir", data={
        "unit_price_eur": "1.50", "quantity": "2", "next": f"/encheres/{session.id}/salle"})
    assert response.location.endswith(f"/encheres/{session.id}/salle") and count(Bid) == 1


def test_room_form_tells_an_invited_company_not_checked_in(room, app, make_company, make_user):
    late = make_company("Scierie du Steir", "29000")
    user = make_user("scierie@example.fr", company=late)
    services.invite(room["practitioner"], room["session"], [late])
    services.present(room["practitioner"], room["lot"].id)
    db.session.commit()
    page = text(as_user(app, user).get(f"/encheres/{room['session'].id}/salle/formulaire"))
    assert "bid-form" not in page and "signalez-vous" in page


def test_control_desk_close_and_undo(presented, app):
    room = presented
    session, lot = room["session"], room["lot"]
    assert as_user(app, room["users"][0]).get(f"/encheres/{session.id}/regie").status_code == 403
    desk = as_user(app, room["practitioner"])
    assert "Adjuger" in text(desk.get(f"/encheres/{session.id}/regie"))
    services.place_bid(room["users"][0], lot.id, D("2"), D("3"))
    db.session.commit()
    response = desk.post(f"/encheres/lots/{lot.id}/dernieres-encheres", data={"seconds": "10"})
    assert response.status_code == 302 and fresh(Lot, lot.id).closes_at is not None
    response = desk.post(f"/encheres/lots/{lot.id}/dernieres-encheres", data={"seconds": "9999"})
    assert "Durée invalide" in text(desk.get(response.location))
    response = desk.post(f"/encheres/lots/{lot.id}/clore", data={"next": f"/encheres/{session.id}/regie"})
    assert "Résultat enregistré" in text(desk.get(response.location))
    assert fresh(Lot, lot.id).status == "closed" and count(Award) == 1
    response = desk.post(f"/encheres/lots/{lot.id}/clore")
    assert "déjà clos" in text(desk.get(response.location))
    response = desk.post(f"/encheres/lots/{lot.id}/annuler-cloture")
    assert "Clôture annulée" in text(desk.get(response.location))
    assert fresh(Lot, lot.id).status == "open" and fresh(Award, 1).status == "undone"
    response = desk.post(f"/encheres/{session.id}/clore")
    assert "Salle close" in text(desk.get(response.location))
    assert fresh(AuctionSession, session.id).status == "closed"


# --- awards, follow-up rounds, relaunch ------------------------------------------------------------------------


@pytest.fixture
def awarded(presented):
    room = presented
    services.place_bid(room["users"][0], room["lot"].id, D("-2.00"), D("6"))
    services.place_bid(room["users"][1], room["lot"].id, D("-3.00"), D("4"))
    services.close_lot(room["practitioner"], room["lot"].id)
    db.session.commit()
    room["awards"] = fresh(Lot, room["lot"].id).awards
    return room


def test_giver_decides_awards_on_the_lot_page(awarded, app):
    room = awarded
    first, second = room["awards"]
    bidder = as_user(app, room["users"][0])
    assert bidder.post(f"/encheres/attributions/{first.id}", data={"decision": "confirm"}).status_code == 403
    assert as_user(app, room["practitioner"]).post(f"/encheres/attributions/{first.id}",
                                                   data={"decision": "confirm"}).status_code == 403
    alice = as_user(app, room["alice"])
    assert alice.post(f"/encheres/attributions/{first.id}", data={"decision": "perhaps"}).status_code == 400
    response = alice.post(f"/encheres/attributions/{first.id}", data={"decision": "confirm"})
    assert "la synergie est créée" in text(alice.get(response.location))
    response = alice.post(f"/encheres/attributions/{first.id}", data={"decision": "decline"})
    assert "déjà été décidée" in text(alice.get(response.location))
    response = alice.post(f"/encheres/attributions/{second.id}", data={"decision": "decline", "reason": "Trop loin"})
    assert "Attribution déclinée" in text(alice.get(response.location))
    assert [a.status for a in fresh(Lot, room["lot"].id).awards] == ["confirmed", "declined"]
    assert count(Synergy) == 1
    assert "Attribution à votre entreprise" in text(bidder.get(f"/encheres/lots/{room['lot'].id}"))
    assert "Confirmée" in text(bidder.get("/encheres/offres-de-mon-entreprise"))


def test_relaunch_and_close_unclaimed_through_the_pages(room, app):
    p = room["practitioner"]
    services.close_room(p, room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == room["lot"].id))
    child.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    services.close_lot(None, child.id)
    db.session.commit()
    desk = as_user(app, p)
    page = text(desk.get(f"/encheres/{room['session'].id}"))
    assert "Relancer les lots sans preneur" in page and 'value="100"' in page  # twice the default radius
    response = desk.post(f"/encheres/{room['session'].id}/relance", data={"lot_ids": [], "radius_km": "100",
                                                                           "days": "8"})
    assert "Choisissez au moins un lot" in text(desk.get(response.location))
    response = desk.post(f"/encheres/{room['session'].id}/relance", data={"lot_ids": [str(child.id)],
                                                                           "radius_km": "800", "days": "8"})
    assert "/encheres/rounds/" in response.location
    assert "rayon 800 km" in text(desk.get(response.location))
    grandchild = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == child.id))
    assert as_user(app, room["lyon"]).get(f"/encheres/lots/{grandchild.id}").status_code == 200  # now in reach
    grandchild.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    services.close_lot(None, grandchild.id)
    db.session.commit()
    assert as_user(app, room["users"][0]).post(f"/encheres/lots/{grandchild.id}/clore-sans-preneur").status_code in (
        403, 404)
    response = desk.post(f"/encheres/lots/{grandchild.id}/clore-sans-preneur")
    assert "Lot clos sans preneur" in text(desk.get(response.location))
    assert fresh(Lot, grandchild.id).status == "unsold"


def test_follow_up_lots_listed_for_eligible_companies(room, app):
    services.close_room(room["practitioner"], room["session"].id)
    db.session.commit()
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == room["lot"].id))
    for user, sees in ((room["recycler"], True), (room["farmer"], True), (room["lyon"], False),
                       (room["users"][0], False)):
        client = as_user(app, user)
        assert ("Palettes bois 120x80" in text(client.get("/encheres/rounds"))) is sees, user.email
        assert client.get(f"/encheres/lots/{child.id}").status_code == (200 if sees else 404), user.email
        assert client.get(f"/encheres/rounds/{child.round_id}").status_code == (200 if sees else 404), user.email
    assert "bid-form" in text(as_user(app, room["recycler"]).get(f"/encheres/lots/{child.id}"))


# --- synergies ---------------------------------------------------------------------------------------------------


def test_synergies_list_and_page_for_each_role(awarded, app, make_territory, make_user):
    room = awarded
    services.decide_award(room["alice"], room["awards"][0].id, True)
    db.session.commit()
    synergy = db.session.scalars(sa.select(Synergy)).one()
    elsewhere = make_territory("Pays de Lorient", "56100")
    other_practitioner = make_user("anim@lorient.fr", role="practitioner", territories=[elsewhere])
    admin = make_user("admin@eit.fr", role="admin")
    for user, sees in ((room["alice"], True), (room["users"][0], True), (room["practitioner"], True), (admin, True),
                       (room["users"][1], False), (other_practitioner, False), (room["farmer"], False)):
        client = as_user(app, user)
        listed = "Palettes bois 120x80" in text(client.get("/synergies"))
        assert listed is sees, user.email
        page = client.get(f"/synergies/{synergy.id}")
        assert page.status_code == (200 if sees else 404), user.email
        if sees:
            assert "En négociation" in text(page) and "le cédant paie 2,00" in text(page)
    assert app.test_client().get("/synergies").status_code == 302  # log in first


def test_index_lists_the_sessions_of_each_role(room, app, make_user):
    draft = services.create_session(room["practitioner"], room["territory"], {
        "title": "Session en préparation", "mode": "live", "starts_at": utcnow() + timedelta(days=9), "place": "CCI",
        "is_online": False, "description": ""})
    services.invite(room["practitioner"], draft, room["bidders"])
    db.session.commit()
    practitioner_page = text(as_user(app, room["practitioner"]).get("/encheres"))
    assert "Enchères de ressources de Concarneau" in practitioner_page and "Session en préparation" in practitioner_page
    bidder_page = text(as_user(app, room["users"][0]).get("/encheres"))
    assert "Enchères de ressources de Concarneau" in bidder_page and "Session en préparation" not in bidder_page
    assert as_user(app, room["users"][0]).get(f"/encheres/{draft.id}").status_code == 404  # drafts: not yet
    assert "Enchères de ressources de Concarneau" not in text(as_user(app, room["farmer"]).get("/encheres"))
    assert count(Participant, Participant.session_id == draft.id) == 3


def test_round_page_of_a_main_round_has_no_follow_up_terms(room, app):
    page = text(as_user(app, room["practitioner"]).get(f"/encheres/rounds/{room['session'].main_round.id}"))
    assert "Palettes bois 120x80" in page and "rayon" not in page and "sous pli jusqu" not in page
