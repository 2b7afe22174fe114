"""The entry table in a real Chromium: rows added by JavaScript keep what was typed, take the company
of the row above, and are saved like the others; Enter moves down instead of submitting."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.listings.models import Listing
from tests.conftest import PASSWORD
from tests.workshops.conftest import area, workshop  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def tab(page):
    """The shared browser tab of tests/browser/conftest.py (one Playwright per run)."""
    return page


def test_rows_added_in_the_browser_keep_the_typing_and_are_saved(tab, area, workshop):
    tab.goto("/compte/connexion")
    tab.fill("input[name=email]", area["practitioner"].email)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("main form button.button")
    tab.goto(f"/animation/ateliers/{workshop.id}/saisie")
    assert tab.locator("tbody.entry").count() == 10

    tab.select_option("#rows-9-company_id", str(area["brewery"].id))
    tab.fill("#rows-9-title", "Drêches de brasserie")
    tab.select_option("#rows-9-category", "materials")
    tab.click("[data-more-rows]")
    assert tab.locator("tbody.entry").count() == 20
    assert tab.input_value("#rows-9-title") == "Drêches de brasserie"  # nothing lost
    assert tab.input_value("#rows-10-company_id") == str(area["brewery"].id)  # the company of the row above
    assert tab.locator("#rows-10-title").evaluate("el => el === document.activeElement")

    tab.fill("#rows-10-title", "Cartons d'emballage")
    tab.press("#rows-10-title", "Enter")  # moves to the next row's title, does not submit
    assert tab.locator("#rows-11-title").evaluate("el => el === document.activeElement")
    tab.select_option("#rows-10-category", "materials")
    tab.click("button[value=save]")
    tab.wait_for_url(f"**/animation/ateliers/{workshop.id}/saisie")
    assert "2 annonces publiées" in tab.locator(".flashes").inner_text()
    db.session.expire_all()
    assert sorted(db.session.scalars(sa.select(Listing.title))) == ["Cartons d'emballage", "Drêches de brasserie"]
