"""A practitioner's day in Chromium: approve a pending listing, relaunch a dormant one, the owner
follows "still available" from the e-mail received on the real SMTP server (without logging in, once
only), then the practitioner completes a synergy with verified benefits and sees the territory
dashboard and its CSV export change."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.test_journey import wait_for_mail
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PENDING_TITLE = "Chutes de bâche PVC"
DORMANT_TITLE = "Fûts métalliques de 200 L"
SYNERGY_TITLE = "Drêches vers l'élevage"
STILL_AVAILABLE = re.compile(r"- Toujours disponible : (http://\S+)")


@pytest.fixture
def day(make_territory, make_company, make_user, make_listing):
    from marketplace.extensions import db
    from marketplace.models_base import utcnow
    from marketplace.synergies import services as synergies

    territory = make_territory("Concarneau Cornouaille", "29900 29000 29910")
    practitioner = make_user("animatrice@cci-quimper.fr", role="practitioner", territories=[territory],
                             name="Anne Animatrice")
    brewery = make_company("Brasserie de l'Odet", "29000")
    farm = make_company("Coopérative de l'Aven", "29910")
    make_user("bob@brasserie.fr", company=brewery, name="Bob Brasseur")
    alice = make_user("alice@cooperative.fr", company=farm, name="Alice Aven")
    make_listing(brewery, "pending", title=PENDING_TITLE)
    dormant = make_listing(farm, "published", title=DORMANT_TITLE)
    dormant.published_at = dormant.last_activity_at = dormant.updated_at = utcnow() - timedelta(days=90)
    dormant.last_viewed_at = None
    if not synergies.active_factors():
        synergies.load_default_factors()
    synergy = synergies.create_manual(practitioner, territory, {
        "title": SYNERGY_TITLE, "kind": "ME", "sub_type": "reuse", "is_continuous": True, "giver": brewery,
        "taker": farm, "quantity": Decimal("120"), "unit": "t", "stage": "finalising"})
    db.session.commit()
    return {"practitioner": practitioner.email, "alice": alice.email, "dormant_id": dormant.id,
            "synergy_id": synergy.id, "territory_id": territory.id}


def log_in(page: Page, email: str) -> None:
    page.goto("/compte/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Déconnexion")).to_be_visible()


def listing_status(listing_id: int) -> str:
    from marketplace.extensions import db
    from marketplace.listings.models import Listing

    db.session.expire_all()
    try:
        return db.session.scalar(sa.select(Listing.status).where(Listing.id == listing_id))
    finally:
        db.session.rollback()  # never keep a read transaction open while the server writes


def export_rows(page: Page) -> list[dict]:
    """Download the CSV export from the dashboard's link, as the practitioner would."""
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("CSV")).click()
    with open(info.value.path(), encoding="utf-8-sig") as f:
        return list(csv.DictReader(io.StringIO(f.read()), delimiter=";"))





def test_a_practitioner_day(live_server, page: Page, browser, smtp, day):
    log_in(page, day["practitioner"])

    # 1. The moderation queue: approve the pending listing.
    page.goto("/animation")
    page.get_by_role("link", name="À valider").click()
    row = page.get_by_role("row").filter(has_text=PENDING_TITLE)
    row.get_by_text("Décider").click()
    row.get_by_role("button", name="Approuver").click()
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=PENDING_TITLE)).to_have_count(0)
    page.goto("/annonces")
    expect(page.get_by_text(PENDING_TITLE)).to_be_visible()

    # 2. The dormant listings: relaunch the one that slept for 90 days.
    page.goto("/animation/dormantes")
    row = page.get_by_role("row").filter(has_text=DORMANT_TITLE)
    expect(row.get_by_role("checkbox")).to_be_checked()
    page.get_by_role("button", name="Relancer les annonces cochées").click()
    expect(page.locator(".flash.success")).to_be_visible()

    # 3. The owner's e-mail; "still available" works without logging in, and only once.
    message = wait_for_mail(smtp, day["alice"], "toujours d'actualité")
    link = STILL_AVAILABLE.search(smtp.text(message))
    assert link and link.group(1).startswith(live_server + "/"), smtp.text(message)
    owner = browser.new_context(base_url=live_server, locale="fr-FR")
    try:
        tab = owner.new_page()
        tab.goto(link.group(1))
        expect(tab.get_by_role("heading", level=1)).to_have_text("Votre annonce est-elle toujours d'actualité ?")
        tab.get_by_role("button", name="Confirmer : Toujours disponible").click()
        expect(tab.get_by_text("Merci : l'annonce reste en ligne.")).to_be_visible()
        tab.goto(link.group(1))
        expect(tab.get_by_text("rien n'a été changé")).to_be_visible()
    finally:
        owner.close()
    assert listing_status(day["dormant_id"]) == "published"
    page.goto("/animation/dormantes")
    expect(page.get_by_role("row").filter(has_text=DORMANT_TITLE)).to_have_count(0)

    # 4. The dashboard before the synergy completes.
    page.goto("/animation")
    page.get_by_role("link", name="Rapports du territoire").click()
    expect(page.locator("#table-stages tr[data-stage=finalising] td.total")).to_have_text("1")
    expect(page.locator("#table-stages tr[data-stage=completed] td.total")).to_have_text("0")
    expect(page.locator("#table-groups tr[data-group=finalised] td.total")).to_have_text("1")
    expect(page.locator("#table-benefits tfoot td.verified")).to_have_text("0")
    [mine] = [r for r in export_rows(page) if r["Intitulé"] == SYNERGY_TITLE]
    assert mine["Étape"] == "En finalisation" and mine["Bénéfices"] == "aucun", mine
    assert mine["Tonnes réemployées ou recyclées"] == "", mine

    # 5. The synergy completes, and the practitioner verifies its benefits with an emission factor.
    page.goto(f"/synergies/{day['synergy_id']}")
    page.get_by_label("Nouvelle étape").select_option(label="Achevée")
    page.get_by_role("button", name="Enregistrer l'étape").click()
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator(".card-kicker")).to_contain_text("Achevée")
    page.get_by_role("link", name="Vérifier les bénéfices").click()
    page.get_by_label("Tonnes réemployées ou recyclées").fill("120")
    page.get_by_label("Euros économisés").fill("4800")
    page.get_by_label("Calculer les t CO2e avec le facteur").select_option("stockage_isdnd_evite")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator(".benefits-table")).to_contain_text("48")  # 120 t × 400 kg / 1000

    # 6. The dashboard and the export show it.
    page.goto("/animation/rapports")
    expect(page.locator("#table-stages tr[data-stage=finalising] td.total")).to_have_text("0")
    expect(page.locator("#table-stages tr[data-stage=completed] td.total")).to_have_text("1")
    expect(page.locator("#table-groups tr[data-group=finalised] td.total")).to_have_text("1")  # same group
    expect(page.locator("#table-benefits tfoot td.verified")).to_have_text("1")
    expect(page.locator("#table-benefits tr[data-figure=tonnes_reused] td.verified")).to_contain_text("120")
    expect(page.locator("#table-benefits tr[data-figure=co2e_tonnes] td.verified")).to_contain_text("48")
    [mine] = [r for r in export_rows(page) if r["Intitulé"] == SYNERGY_TITLE]
    assert mine["Étape"] == "Achevée" and mine["Bénéfices"] == "vérifiés", mine
    assert mine["Tonnes réemployées ou recyclées"].startswith("120"), mine
    assert mine["t CO2e évitées"].startswith("48"), mine
    assert mine["Facteur d'émission : code"] == "stockage_isdnd_evite", mine
