"""The territory reports dashboard in a real Chromium, on `report_world` (tests/reports/conftest.py): both
charts drawn by Chart.js, the map drawn by Leaflet with its three layer toggles, no tile server configured
and nothing requested outside the application, no sideways scrolling on a phone. Full-page screenshots go
to test-artifacts/reports-dashboard*.png (gitignored) for a look."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.conftest import PASSWORD
from tests.reports.conftest import report_world  # noqa: F401  (the reporting fixture)

pytestmark = pytest.mark.browser


def test_dashboard_draws_charts_and_map_offline(app, report_world, make_listing, page, live_server):  # noqa: F811
    make_listing(report_world["a"], "published", title="Fûts de 200 L")
    assert app.config["MAP_TILE_URL"] == ""
    outside, errors = [], []
    page.on("request", lambda r: None if r.url.startswith(live_server) else outside.append(r.url))
    # (a missing favicon.ico is the only 404 of the site: failed loads are checked by URL below)
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto("/compte/connexion")
    page.get_by_label("Adresse e-mail").fill(report_world["practitioner"].email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).not_to_have_url(re.compile("/compte/connexion"))
    page.get_by_role("link", name="Rapports", exact=True).click()
    expect(page.get_by_role("heading", name="Rapports du territoire")).to_be_visible()
    page.wait_for_load_state("load")

    for chart in ("chart-groups", "chart-benefits"):
        assert page.evaluate(f"!!Chart.getChart(document.getElementById('{chart}'))"), chart
    groups = "Chart.getChart(document.getElementById('chart-groups')).data.datasets.map(d => d.data)"
    assert page.evaluate(groups) == [[2, 1, 3, 2], [0, 1, 1, 1]]
    toggles = page.locator(".leaflet-control-layers-overlays input[type=checkbox]")
    expect(toggles).to_have_count(3)
    expect(page.locator(".leaflet-control-layers-overlays")).to_contain_text("Synergies")
    # Untick the synergies layer, then tick it back: Leaflet removes and redraws it.
    toggles.nth(2).uncheck()
    expect(toggles.nth(2)).not_to_be_checked()
    toggles.nth(2).check()
    assert page.locator(".leaflet-tile").count() == 0

    page.get_by_label("Du", exact=True).fill("2024-01-01")
    page.get_by_label("Au", exact=True).fill("2024-12-31")
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator('tr[data-group="total"] td.total')).to_have_text("8")
    page.wait_for_load_state("load")
    page.wait_for_timeout(600)  # let the charts' entry animation finish before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports-dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    # On a phone the page does not scroll sideways: wide tables scroll inside their own box (the charts
    # take a moment to follow the new width).
    try:
        page.wait_for_function("document.documentElement.scrollWidth <= 390", timeout=15000)
    except Exception:
        widest = page.evaluate("""[...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 391)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
        raise AssertionError(f"the page scrolls sideways on a phone; widest elements: {widest}")
    page.screenshot(path=str(ARTIFACTS / "reports-dashboard-phone.png"), full_page=True)

    assert outside == [], outside
    assert errors == [], errors
