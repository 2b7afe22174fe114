"""Workshop pages: creating a workshop, the fast entry table (nothing saved while a row is wrong, and
everything typed shown back), the collective and individual reports, mailing them, who sees what."""
import html
import re

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.workshops import queries
from marketplace.workshops.models import Workshop, WorkshopListing
from tests.conftest import login
from tests.workshops.conftest import FEED, GRAINS, TRUCK, entries, entry_form


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def as_practitioner(client, area):
    login(client, area["practitioner"])
    return client


def test_a_practitioner_creates_a_workshop_with_companies_of_the_territory(client, area):
    as_practitioner(client, area)
    form = page(client.get("/animation/ateliers/nouveau"))
    for name in ("Brasserie de l'Odet", "Ferme de Kerlaz", "Conserverie du Port"):
        assert name in form
    assert "Chantier Naval Lorientais" not in form  # another territory's company
    response = client.post("/animation/ateliers/nouveau", data={
        "title": "Atelier de la ZA de Kerambris", "held_on": "2026-11-20", "place": "Salle du conseil",
        "territory_id": str(area["territory"].id),
        "company_ids": [str(area["brewery"].id), str(area["farm"].id), str(area["shipyard"].id)]})
    workshop = db.session.scalars(sa.select(Workshop)).one()
    assert response.status_code == 302 and response.location.endswith(f"/animation/ateliers/{workshop.id}/saisie")
    assert workshop.company_ids == {area["brewery"].id, area["farm"].id}  # the foreign company was ignored
    listed = page(client.get("/animation/ateliers"))
    assert "Atelier de la ZA de Kerambris" in listed and "Salle du conseil" in listed


def test_a_practitioner_cannot_create_a_workshop_in_another_territory(client, area):
    login(client, area["other_practitioner"])
    response = client.post("/animation/ateliers/nouveau", data={
        "title": "Pirate", "held_on": "2026-11-20", "territory_id": str(area["territory"].id),
        "company_ids": [str(area["brewery"].id)]})
    assert response.status_code == 422
    assert count(Workshop) == 0


def test_editing_the_workshop_and_its_attendees(client, area, workshop):
    as_practitioner(client, area)
    response = client.post(f"/animation/ateliers/{workshop.id}/modifier", data={
        "title": "Atelier renommé", "held_on": "2026-11-21", "place": "", "company_ids": [str(area["farm"].id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert workshop.title == "Atelier renommé" and workshop.company_ids == {area["farm"].id}


def test_an_invalid_row_saves_nothing_and_everything_typed_is_shown_back(client, area, workshop):
    as_practitioner(client, area)
    rows = entries(area, ("brewery", GRAINS), ("farm", {**FEED, "quantity": "beaucoup"}),
                   ("cannery", {**TRUCK, "category": ""}))
    rows.insert(1, {})  # an empty row between them: ignored, keeps its place
    response = client.post(f"/animation/ateliers/{workshop.id}/saisie",
                           data=entry_form(rows, notify="y"))
    assert response.status_code == 422
    assert count(Listing) == 0 and count(WorkshopListing) == 0
    text = page(response)
    assert "2 lignes à corriger : rien n'a été enregistré." in text
    # What was typed is back in its row (rows 1, 3 and 4 of the table) …
    for index, title in ((0, "Drêches de brasserie"), (2, FEED["title"]), (3, TRUCK["title"])):
        assert re.search(rf'value="{re.escape(title)}" id="rows-{index}-title"', text), title
    assert 'value="2,5" id="rows-0-quantity"' in text and 'value="beaucoup" id="rows-2-quantity"' in text
    assert re.search(r'<textarea [^>]*id="rows-0-description"[^>]*>Drêches humides après brassage.<', text)
    assert re.search(rf'<option value="{area["farm"].id}" selected>Ferme de Kerlaz</option>', text)
    assert re.search(r'<option value="need" selected>Besoin</option>', text)
    assert '<input checked id="notify" name="notify"' in text
    # … with each message next to its field.
    assert re.search(r'id="rows-2-quantity-error">Quantité « beaucoup » illisible', text)
    assert re.search(r'id="rows-3-category-error">Choisissez une catégorie', text)
    assert 'id="rows-0-title-error"' not in text


def test_more_rows_without_javascript_keeps_every_row_and_saves_nothing(client, area, workshop):
    as_practitioner(client, area)
    rows = entries(area, ("brewery", GRAINS)) + [{} for _ in range(9)]
    response = client.post(f"/animation/ateliers/{workshop.id}/saisie", data=entry_form(rows, action="more"))
    assert response.status_code == 200 and count(Listing) == 0
    text = page(response)
    assert 'id="rows-19-title"' in text and 'id="rows-20-title"' not in text
    assert 'value="Drêches de brasserie" id="rows-0-title"' in text
    assert 'id="entry-row-template"' in text and "__index__" in text  # the rows JavaScript adds


def test_valid_rows_are_published_linked_and_matched_and_the_reports_show_them(client, area, workshop):
    as_practitioner(client, area)
    rows = entries(area, ("brewery", GRAINS), ("farm", FEED), ("cannery", TRUCK)) + [{}, {}]
    response = client.post(f"/animation/ateliers/{workshop.id}/saisie", data=entry_form(rows))
    assert response.status_code == 302 and response.location.endswith(f"/animation/ateliers/{workshop.id}/saisie")
    listings = db.session.scalars(sa.select(Listing).order_by(Listing.id)).all()
    assert [(listing.title, listing.status, listing.company_id) for listing in listings] == [
        ("Drêches de brasserie", "published", area["brewery"].id),
        ("Cherche drêches pour l'alimentation animale", "published", area["farm"].id),
        ("Camion frigorifique en temps partagé", "published", area["cannery"].id)]
    assert queries.listing_ids_of(workshop) == {listing.id for listing in listings}
    flashed = page(client.get(f"/animation/ateliers/{workshop.id}/saisie"))
    assert "3 annonces publiées pour l'atelier · 1 nouvelle opportunité trouvée" in flashed

    collective = page(client.get(f"/animation/ateliers/{workshop.id}/rapport"))
    assert "Rapport collectif de l'atelier" in collective and "css/workshops.css" in collective
    assert "data-print" in collective and "Imprimer" in collective
    counts = {label.strip(): int(n) for n, label in re.findall(r"<li><strong>(\d+)</strong>([^<]+)</li>", collective)}
    assert counts["entreprises"] == 3 and counts["offres (ressources)"] == 1 and counts["besoins"] == 2
    assert counts["opportunités"] == 1
    section = collective.split("Matières, déchets, coproduits")[1]
    assert section.index("Brasserie de l'Odet") < section.index("Drêches de brasserie") < section.index(
        "Ferme de Kerlaz") < section.index("Cherche drêches pour l'alimentation animale")
    assert re.search(r'class="distance">à \d+ km<', collective)

    farm_report = page(client.get(f"/animation/ateliers/{workshop.id}/entreprises/{area['farm'].id}"))
    assert "Cherche drêches pour l'alimentation animale" in farm_report
    assert "Qui la propose" in farm_report and "Brasserie de l'Odet" in farm_report
    assert "Yann Le Goff" in farm_report and "contact@brasserie.fr" in farm_report and "02 98 00 00 01" in farm_report
    assert "Camion frigorifique" not in farm_report
    cannery_report = page(client.get(f"/animation/ateliers/{workshop.id}/entreprises/{area['cannery'].id}"))
    assert "Camion frigorifique" in cannery_report and "Pas encore d'opportunité" in cannery_report

    show = page(client.get(f"/animation/ateliers/{workshop.id}"))
    assert "aucune adresse e-mail" in show  # the cannery has no member
    assert "Sans adresse e-mail de membre (non joignables) : Conserverie du Port." in show


def test_members_read_their_own_company_report_only(client, area, workshop):
    as_practitioner(client, area)
    client.post(f"/animation/ateliers/{workshop.id}/saisie",
                data=entry_form(entries(area, ("brewery", GRAINS), ("farm", FEED))))
    client.post("/compte/deconnexion")
    login(client, area["marc"])
    own = client.get(f"/animation/ateliers/{workshop.id}/entreprises/{area['farm'].id}")
    assert own.status_code == 200 and "Brasserie de l'Odet" in page(own)
    assert "contact@brasserie.fr" in page(own)
    assert client.get(f"/animation/ateliers/{workshop.id}/entreprises/{area['brewery'].id}").status_code == 404
    assert client.get(f"/animation/ateliers/{workshop.id}").status_code == 403
    assert client.get(f"/animation/ateliers/{workshop.id}/rapport").status_code == 403


def test_sending_the_reports_from_the_page(client, area, workshop, smtp):
    as_practitioner(client, area)
    client.post(f"/animation/ateliers/{workshop.id}/saisie",
                data=entry_form(entries(area, ("brewery", GRAINS), ("farm", FEED))))
    response = client.post(f"/animation/ateliers/{workshop.id}/envoyer")
    assert response.status_code == 302
    assert sorted(m["To"] for m in smtp.messages) == ["anne@brasserie.fr", "marc@kerlaz.fr", "paul@brasserie.fr"]
    show = page(client.get(f"/animation/ateliers/{workshop.id}"))
    assert "Rapports envoyés à 2 entreprises. (3 e-mails)" in show
    assert "Sans adresse e-mail de membre, non envoyé : Conserverie du Port." in show
    assert re.search(r"Rapports envoyés le .+ à 2 entreprises\.", show)
    assert "Renvoyer aussi leur rapport" in show

    smtp.clear()
    client.post(f"/animation/ateliers/{workshop.id}/envoyer")
    assert smtp.messages == []
    assert "2 entreprises avaient déjà reçu leur rapport" in page(client.get(f"/animation/ateliers/{workshop.id}"))
    client.post(f"/animation/ateliers/{workshop.id}/envoyer", data={"resend": "y"})
    assert len(smtp.messages) == 3


def test_the_workshop_page_and_the_practitioner_home_link_to_everything(client, area, workshop):
    as_practitioner(client, area)
    home = page(client.get("/animation"))
    assert 'href="/animation/ateliers"' in home
    show = page(client.get(f"/animation/ateliers/{workshop.id}"))
    for path in ("saisie", "import", "rapport", "modifier", f"entreprises/{area['brewery'].id}"):
        assert f'href="/animation/ateliers/{workshop.id}/{path}"' in show, path


def test_the_print_stylesheet_hides_the_navigation():
    from pathlib import Path

    css = (Path(__file__).parents[2] / "static/css/workshops.css").read_text()
    printing = css.split("@media print")[1]
    assert ".site-header" in printing and "display: none" in printing
