"""The acceptance journey, as real users in Chromium: a visitor signs up, confirms the e-mail from the
real SMTP server, creates the company and an offer with a photo; the territory's practitioner approves
it; the owner is told by e-mail; an anonymous visitor finds the offer by category and distance."""
from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

TITLE = "Palettes bois 120x80 à donner"
OWNER_EMAIL = "claire.le-goff@conserverie-concarneau.fr"
OWNER_PASSWORD = "Palettes-2024!"
CONFIRM_LINK = re.compile(r"http://\S+/compte/confirmer/\S+")


def wait_for_mail(smtp, address: str, subject: str, timeout: float = 10.0):
    """The first message to `address` whose subject holds `subject`, waiting for it to arrive."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in smtp.to(address) if subject in m["Subject"]]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            subjects = [(m["To"], m["Subject"]) for m in smtp.messages]
            raise AssertionError(f"no e-mail {subject!r} to {address} within {timeout}s; received: {subjects}")
        time.sleep(0.05)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Déconnexion").click()
    expect(page.locator(".flash.info")).to_contain_text("Vous êtes déconnecté.")
    expect(page.get_by_role("link", name="Connexion", exact=True)).to_be_visible()


def find_listing_id(title: str) -> int:
    """The id of the listing the live server wrote, read in a short transaction of the test's session."""
    from marketplace.extensions import db
    from marketplace.listings.models import Listing

    db.session.expire_all()
    try:
        listing = db.session.scalar(sa.select(Listing).where(Listing.title == title))
        assert listing is not None, f"no listing titled {title!r} in the database"
        return listing.id
    finally:
        db.session.rollback()  # never keep a read transaction open while the server writes


def test_sign_up_publish_moderate_and_find_an_offer(live_server, page: Page, smtp, make_territory, make_user,
                                                    tmp_path):
    # a. A territory around Concarneau and its practitioner.
    territory = make_territory("Concarneau Cornouaille", "29900 29000 29910")
    practitioner = make_user("animatrice@cci-quimper.fr", role="practitioner", territories=[territory],
                             name="Anne Animatrice")
    practitioner_email = practitioner.email

    # b. A visitor signs up.
    page.goto("/compte/inscription")
    expect(page.get_by_role("heading", name="Créer un compte")).to_be_visible()
    page.get_by_label("Nom et prénom").fill("Claire Le Goff")
    page.get_by_label("Adresse e-mail professionnelle").fill(OWNER_EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(OWNER_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(OWNER_PASSWORD)
    page.get_by_label("J'accepte que mes coordonnées professionnelles").check()
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page).to_have_url(re.compile(r"/compte/connexion"))
    expect(page.locator(".flash.success")).to_contain_text(f"Un lien de confirmation vient d'être envoyé à {OWNER_EMAIL}")

    # c. The confirmation e-mail arrives on the SMTP server; its link confirms the address and opens the session.
    message = wait_for_mail(smtp, OWNER_EMAIL, "")
    link = CONFIRM_LINK.search(smtp.text(message))
    assert link, smtp.text(message)
    assert link.group(0).startswith(live_server + "/"), link.group(0)
    page.goto(link.group(0))
    expect(page.locator(".flash.success")).to_contain_text("Adresse e-mail confirmée")
    expect(page).to_have_url(f"{live_server}/entreprises/nouvelle")
    expect(page.locator(".banner.warning")).to_have_count(0)

    # d. The company, with its main site in Concarneau (the commune is suggested from the postcode).
    page.get_by_label("Raison sociale").fill("Conserverie de Concarneau")
    page.get_by_label("Code postal").fill("29900")
    expect(page.get_by_label("Commune")).to_have_value(re.compile("concarneau", re.I))
    page.get_by_role("button", name="Créer l'entreprise").click()
    expect(page.locator(".flash.success")).to_contain_text("Entreprise Conserverie de Concarneau créée")
    expect(page).to_have_url(re.compile(r"/entreprises/\d+$"))

    # e. An offer with a photo, sent for publication.
    photo = tmp_path / "palettes.png"
    Image.new("RGB", (64, 48), (180, 120, 60)).save(photo, format="PNG")
    page.goto("/annonces/nouvelle?kind=offer")
    expect(page.get_by_role("heading", name="Nouvelle annonce")).to_be_visible()
    expect(page.locator("#kind")).to_have_value("offer")
    page.locator("#category").select_option("materials")
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Description").fill("Une centaine de palettes EUR en bon état, à enlever sur place.")
    page.get_by_label("Code déchet").press_sequentially("15 01 03")
    expect(page.locator("#waste-code-label")).to_contain_text("15 01 03")  # the picker recognised the code
    page.get_by_label("Quantité").fill("12")
    page.locator("#unit").select_option("t")
    page.locator("#frequency").select_option("monthly")
    page.locator("#price_mode").select_option("free")
    page.locator("input[type=file]#photos").set_input_files(str(photo))
    page.get_by_role("button", name="Enregistrer et publier").click()
    expect(page.locator(".flash.success")).to_contain_text(
        "Annonce envoyée à l'animateur·rice du territoire pour validation")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".flash.info")).to_contain_text("En attente de validation")

    # f. Logged out, the pending offer is not listed.
    log_out(page)
    page.goto("/annonces")
    expect(page.get_by_role("heading", name="Annonces", exact=True)).to_be_visible()
    expect(page.get_by_text(TITLE)).to_have_count(0)

    # g. The practitioner logs in and approves the offer.
    listing_id = find_listing_id(TITLE)
    page.goto("/compte/connexion")
    page.get_by_label("Adresse e-mail").fill(practitioner_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Déconnexion")).to_be_visible()
    page.goto(f"/annonces/{listing_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    page.get_by_role("button", name="Approuver et publier").click()
    expect(page.locator(".flash.success")).to_contain_text("Annonce approuvée et publiée")
    expect(page.get_by_role("button", name="Approuver et publier")).to_have_count(0)

    # h. The owner is told by e-mail, with a link to the offer.
    approved = wait_for_mail(smtp, OWNER_EMAIL, "Votre annonce est publiée")
    body = smtp.text(approved)
    assert TITLE in body, body
    assert f"{live_server}/annonces/{listing_id}" in body, body

    # i. An anonymous visitor finds the offer by category and distance, and opens it.
    log_out(page)
    page.goto("/annonces")
    filters = page.get_by_role("search", name="Filtrer les annonces")
    filters.locator("#category").select_option("materials")
    filters.get_by_label("Près du code postal").fill("29000")
    filters.get_by_label("Rayon (km)").fill("30")
    filters.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"/annonces\?.*category=materials"))
    expect(page.get_by_role("status").filter(has_text="annonce")).to_contain_text("à moins de 30 km de Quimper")
    result = page.locator(".listing-card").get_by_role("link", name=TITLE)
    expect(result).to_be_visible()
    result.click()
    expect(page).to_have_url(f"{live_server}/annonces/{listing_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("dl.facts")).to_contain_text("15 01 03")
    image = page.locator(".gallery img").first
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=10_000)
    assert image.evaluate("img => img.naturalWidth") == 64
