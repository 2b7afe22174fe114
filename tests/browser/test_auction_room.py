"""A live auction room in Chromium: the practitioner runs the room from one browser while two bidders
bid from their phones and the projector follows without reload; the lot nobody took goes to a sealed
second round, where a recycler, told by e-mail, bids; the giver awards it; the synergy appears."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.test_journey import wait_for_mail
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def sign_in(browser, base_url: str, email: str, viewport=None) -> Page:
    context = browser.new_context(base_url=base_url, locale="fr-FR", viewport=viewport or {"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/compte/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).not_to_have_url(re.compile("/compte/connexion"))
    return page


@pytest.fixture
def prepared_room(make_territory, make_company, make_user, make_listing):
    """A live session in preparation: two lots put up by the cannery, two invited bidders, a recycler
    (solution provider for plastics) outside the room."""
    from marketplace.auctions import services
    from marketplace.extensions import db
    from marketplace.models_base import utcnow

    territory = make_territory("Concarneau Cornouaille", "29900 29000 29910 29100")
    cannery = make_company("Conserverie du Port", "29900")
    brewery = make_company("Brasserie de l'Odet", "29000")
    joinery = make_company("Menuiserie Le Goff", "29910")
    recycler = make_company("Recyclerie Bretonne", "29100", is_solution_provider=True,
                            handled_categories="materials", handled_waste_codes="15 01 02")
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[territory], name="Maëlle Le Gall")
    make_user("alice@conserverie.fr", company=cannery, name="Alice Cannery")
    make_user("bob@brasserie.fr", company=brewery, name="Bob Brewer")
    make_user("jo@menuiserie.fr", company=joinery, name="Jo Joiner")
    make_user("tri@recyclerie.fr", company=recycler, name="Tri Recycle")
    pallets = make_listing(cannery, title="Palettes bois 120x80", quantity=Decimal("10"), unit="t",
                           waste_code="15 01 03")
    crates = make_listing(cannery, title="Caisses plastique usagées", quantity=Decimal("4"), unit="t",
                          waste_code="15 01 02")
    session = services.create_session(practitioner, territory, {
        "title": "Enchères de ressources de Concarneau", "mode": "live", "starts_at": utcnow(),
        "place": "CCI, Quimper", "is_online": False, "description": ""})
    services.invite(practitioner, session, [brewery, joinery])
    alice = cannery.members[0]
    services.put_up(alice, session, pallets, {"quantity": Decimal("10"), "allow_partial": True,
                                              "min_take": Decimal("2")})
    services.put_up(alice, session, crates, {"quantity": Decimal("4"), "allow_partial": False})
    db.session.commit()
    return {"session_id": session.id, "recycler": recycler}


def bid_from_phone(phone: Page, price: str, quantity: str) -> None:
    form = phone.locator("#room-form form")
    expect(form).to_be_visible()
    form.get_by_label("Prix par unité (€)").fill(price)
    form.get_by_label("Quantité").fill(quantity)
    form.get_by_role("button", name="Enchérir").click()
    expect(phone.locator(".flash.success")).to_contain_text("Enchère enregistrée")


def test_live_room_second_round_award_and_synergy(browser, live_server, prepared_room, smtp):
    from marketplace.auctions import tasks
    from marketplace.auctions.models import Lot, Round
    from marketplace.extensions import db

    session_path = f"/encheres/{prepared_room['session_id']}"

    # The practitioner checks the two bidders in and opens the room.
    desk = sign_in(browser, live_server, "anim@cci.fr")
    desk.goto(session_path)
    for _ in range(2):
        desk.get_by_role("button", name="Enregistrer la présence").first.click()
    expect(desk.get_by_text("✓ en salle")).to_have_count(2)
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="Ouvrir la salle").click()
    expect(desk.get_by_role("heading", name="Régie de la salle")).to_be_visible()

    projector = desk.context.new_page()
    projector.goto(f"{session_path}/projection")
    expect(projector.locator(".projector-kicker")).to_contain_text("Les enchères vont commencer")

    bob = sign_in(browser, live_server, "bob@brasserie.fr", PHONE)
    jo = sign_in(browser, live_server, "jo@menuiserie.fr", PHONE)
    for phone in (bob, jo):
        phone.goto(f"{session_path}/salle")
        expect(phone.locator("#room-state")).to_contain_text("En attente du prochain lot")

    # Lot 1 on screen: the projector and the phones follow without reload.
    desk.get_by_role("button", name="Présenter").first.click()
    expect(projector.locator(".projector-title")).to_have_text("Palettes bois 120x80")
    expect(projector.locator(".best-bid")).to_contain_text("pas encore d'enchère")
    bid_from_phone(bob, "12", "6")
    expect(projector.locator(".best-bid")).to_contain_text("12,00 €")
    bid_from_phone(jo, "15.50", "4")
    expect(projector.locator(".best-bid")).to_contain_text("15,50 €")
    expect(projector.locator(".bid-count")).to_have_text("2")
    expect(bob.locator("#room-state .best-bid")).to_contain_text("15,50 €")

    # "Dernières enchères", then the result is recorded: 4 t to the joinery, 6 t to the brewery.
    desk.get_by_role("button", name="Dernières enchères").click()
    expect(projector.locator(".projector-countdown .countdown")).to_have_text(re.compile(r"0:[0-3]\d"))
    desk.get_by_role("button", name="Adjuger : clore le lot").click()
    expect(projector.locator(".projector-result")).to_contain_text("Adjugé")

    # Lot 2: nobody bids; the room closes and the crates go to a second round.
    desk.get_by_role("button", name="Présenter").first.click()
    expect(projector.locator(".projector-title")).to_have_text("Caisses plastique usagées")
    desk.get_by_role("button", name="Adjuger : clore le lot").click()
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="Clore la salle").click()
    expect(desk.locator(".flash.success")).to_contain_text("deuxième round")
    expect(projector.locator(".projector-kicker")).to_contain_text("La salle est close")

    # The recycler is told by e-mail and bids, sealed, from the link.
    mail = wait_for_mail(smtp, "tri@recyclerie.fr", "Deuxième round")
    link = re.search(r"http://\S+/encheres/rounds/\d+", smtp.text(mail)).group(0)
    recycler = sign_in(browser, live_server, "tri@recyclerie.fr")
    recycler.goto(link)
    recycler.get_by_role("link", name="Caisses plastique usagées").click()
    expect(recycler.locator(".best-bid")).to_contain_text("sous pli")
    recycler.get_by_label("Prix par unité (€)").fill("-35")
    recycler.get_by_label("Quantité").fill("4")
    recycler.get_by_role("button", name="Enchérir").click()
    expect(recycler.locator(".flash.success")).to_contain_text("Enchère enregistrée")
    # Bob, who was in the room, may not see nor bid on it.
    bob.goto(link)
    expect(bob.get_by_role("heading", name="Page introuvable")).to_be_visible()

    # The deadline passes; the closing job ends the round.
    db.session.expire_all()
    follow_up = db.session.scalar(sa.select(Round).where(Round.kind == "follow_up"))
    past = follow_up.closes_at - timedelta(days=30)
    for lot in follow_up.lots:
        lot.closes_at = past
    follow_up.closes_at = past
    crates_lot_id = follow_up.lots[0].id
    db.session.commit()
    assert tasks.close_due_lots.call_local() == 1
    db.session.rollback()

    # The giver confirms: the synergy appears.
    alice = sign_in(browser, live_server, "alice@conserverie.fr")
    alice.goto(f"/encheres/lots/{crates_lot_id}")
    row = alice.locator("div.card tr", has_text="Recyclerie Bretonne")  # the award, not the bid list
    expect(row).to_contain_text("le cédant paie 35,00 €")
    row.get_by_role("button", name="Confirmer").click()
    expect(alice.locator(".flash.success")).to_contain_text("la synergie est créée")
    alice.get_by_role("link", name="Synergies").click()
    synergy = alice.locator("tr", has_text="Caisses plastique usagées")
    expect(synergy).to_contain_text("Recyclerie Bretonne")
    expect(synergy).to_contain_text("En négociation")
    desk.goto("/synergies")
    expect(desk.locator("tr", has_text="Caisses plastique usagées")).to_contain_text("Enchères")

    db.session.expire_all()
    assert db.session.get(Lot, crates_lot_id).status == "settled"
    db.session.rollback()
    for page in (desk, bob, jo, recycler, alice):
        page.context.close()
