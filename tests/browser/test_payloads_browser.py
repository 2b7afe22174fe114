"""Hostile text in a real Chromium (issue 7): a listing, its company, its site and a message hold markup
payloads; the pages that show them (the listing with its Leaflet map, the index, the search page and its
highlighted extracts, the conversation, the live auction's projector and the fragment htmx swaps in)
open no JavaScript dialog, break nothing the Content-Security-Policy would report (the `page` fixture
fails on any blocked inline handler), and show the payloads as text. tests/security/test_payloads.py
types the same payloads through every form; this test only looks at them in a browser."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.security.payloads import BY_KEY

pytestmark = pytest.mark.browser

SCRIPT = BY_KEY["script"].text  # <script>alert("x1")</script>
IMG = BY_KEY["img_onerror"].text  # "><img src=x onerror=alert("x2")>
TEMPLATE = BY_KEY["jinja_expression"].text  # {{7*7}}


@pytest.fixture
def hostile(world):
    """World's data with payloads where people type: Alice's listing, company, site and a message."""
    from marketplace.auctions import services as auctions
    from marketplace.conversations.services import reply
    from marketplace.extensions import db
    from marketplace.models_base import utcnow
    from marketplace.search.indexing import schedule_company_listings

    listing, company, site = world["a_published"], world["a"], world["a"].sites[0]
    listing.title = f"{SCRIPT} Palettes"
    listing.description = f"Palettes {IMG} {TEMPLATE} en bon état"
    company.name = IMG
    site.city = IMG  # the map's permanent tooltip
    schedule_company_listings(company.id)  # the search index learns the new words
    reply(world["bob"], world["conversation"], f"{SCRIPT} {IMG}")
    session = auctions.create_session(world["practitioner"], world["t1"], {
        "title": SCRIPT, "mode": "live", "starts_at": utcnow(), "place": IMG, "is_online": False,
        "description": ""})
    auctions.invite(world["practitioner"], session, [world["b"]])
    lot = auctions.put_up(world["alice"], session, listing, {"quantity": Decimal("10"), "allow_partial": True,
                                                             "min_take": Decimal("1")})
    db.session.commit()
    auctions.check_in(world["practitioner"], session.id, world["b"].id, True)
    auctions.open_session(world["practitioner"], session.id)
    auctions.present(world["practitioner"], lot.id)
    db.session.commit()
    return {**world, "session": session, "lot": lot}


def test_hostile_text_is_shown_as_text_and_never_runs(hostile, page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    listing = hostile["a_published"]

    page.goto("/compte/connexion")
    page.get_by_label("Adresse e-mail").fill(hostile["bob"].email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).not_to_have_url(re.compile("/compte/connexion"))

    page.goto(f"/annonces/{listing.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{SCRIPT} Palettes")
    expect(page.locator(".prose")).to_have_text(f"Palettes {IMG} {TEMPLATE} en bon état")
    # The map's label is the site's commune, in a Leaflet tooltip: as text, not as an <img>.
    tooltip = page.locator("#listing-map .leaflet-tooltip")
    expect(tooltip).to_have_text(IMG)
    assert tooltip.locator("img").count() == 0

    page.goto("/annonces")
    card = page.locator(".listing-card", has_text="Palettes")
    expect(card.first.locator(".card-title")).to_contain_text(SCRIPT)
    expect(card.first).to_contain_text(IMG)  # the company's name

    page.goto("/recherche?q=script+palettes")
    result = page.locator(".listing-card").first
    expect(result.locator(".card-title")).to_contain_text(SCRIPT)
    assert result.locator(".card-title mark").count() >= 1  # the words found, highlighted
    expect(result.locator(".card-snippet")).to_contain_text(IMG)

    page.goto(f"/messages/{hostile['conversation'].id}")
    expect(page.locator("main")).to_contain_text(f"{SCRIPT} {IMG}")

    page.goto(f"/encheres/{hostile['session'].id}/projection")
    expect(page.locator(".projector-title")).to_have_text(f"{SCRIPT} Palettes")
    expect(page.locator(".projector-footer")).to_contain_text(SCRIPT)
    # A bid moves the lot: htmx swaps the fragment in; the title stays text.
    from marketplace.auctions import services as auctions
    from marketplace.extensions import db

    auctions.place_bid(hostile["bob"], hostile["lot"].id, Decimal("6.25"), Decimal("4"))
    db.session.commit()
    expect(page.locator(".projector-state")).to_contain_text("6,25", timeout=10_000)
    expect(page.locator(".projector-title")).to_have_text(f"{SCRIPT} Palettes")

    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert dialogs == [], dialogs
    assert errors == [], errors
