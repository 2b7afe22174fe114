"""A workshop's spreadsheet, through the import's own upload → preview → confirm: same checks, the
listings published and linked to the workshop, their companies registered, their matches found."""
import html
import io
import re

import sqlalchemy as sa

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.workshops import queries
from marketplace.workshops.models import WorkshopListing
from tests.conftest import login
from tests.imports.test_rows import GOOD, csv_bytes

FILE = csv_bytes(
    {**GOOD, "ref": "ATL-1", "kind": "need", "company_name": "Ferme de Kerlaz", "postcode": "29900",
     "city": "Concarneau", "title": "Cherche drêches pour l'alimentation animale", "waste_code": "",
     "frequency": "weekly", "quantity": "3"},
    {**GOOD, "ref": "ATL-2", "company_name": "Brasserie Nouvelle", "postcode": "29000", "city": "Quimper",
     "title": "Drêches de brasserie", "waste_code": "02 07 01", "frequency": "weekly", "quantity": "3"},
    {**GOOD, "ref": "ATL-3", "company_name": "Chantier Naval Lorientais", "postcode": "56100", "city": "Lorient"},
    {**GOOD, "ref": "ATL-4", "category": "matiere"},
)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def upload(client, workshop, content=FILE, **fields):
    return client.post(f"/animation/ateliers/{workshop.id}/import",
                       data={"file": (io.BytesIO(content), "atelier.csv"), **fields},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', page(response))[1]


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_preview_then_confirm_imports_into_the_workshop(client, area, workshop):
    login(client, area["practitioner"])
    preview = upload(client, workshop)
    text = page(preview)
    assert preview.status_code == 200 and count(Listing) == 0  # nothing written before confirming
    assert "Aperçu de l'import pour l'atelier « Atelier ressources de Cornouaille »" in text
    assert "hors du territoire de l'atelier" in text  # the Lorient line
    assert "catégorie « matiere » inconnue" in text  # the import's own line checks
    assert f'action="/animation/ateliers/{workshop.id}/import/confirmer"' in text

    done = client.post(f"/animation/ateliers/{workshop.id}/import/confirmer", data={"token": token_of(preview)})
    assert done.status_code == 200
    report = page(done)
    assert "Import terminé" in report and "Les annonces importées sont publiées et rattachées à l'atelier." in report
    listings = {listing.ref: listing for listing in db.session.scalars(sa.select(Listing))}
    assert set(listings) == {"ATL-1", "ATL-2"} and {listing.status for listing in listings.values()} == {"published"}
    assert queries.listing_ids_of(workshop) == {listings["ATL-1"].id, listings["ATL-2"].id}
    new_company = db.session.scalar(sa.select(Company).where(Company.name == "Brasserie Nouvelle"))
    assert new_company.id in workshop.company_ids
    [opportunity] = queries.opportunities(workshop)
    assert (opportunity.offer.ref, opportunity.need.ref) == ("ATL-2", "ATL-1")

    # The stored file is gone: confirming twice imports nothing more.
    again = client.post(f"/animation/ateliers/{workshop.id}/import/confirmer", data={"token": token_of(preview)})
    assert again.status_code == 302 and count(WorkshopListing) == 2


def test_an_unreadable_file_is_refused_with_the_import_message(client, area, workshop):
    login(client, area["practitioner"])
    response = upload(client, workshop, content=b"nothing,useful\n1,2\n")
    assert response.status_code == 422
    assert "Colonnes obligatoires absentes" in page(response)


def test_another_users_file_cannot_be_confirmed(client, app, area, workshop):
    login(client, area["practitioner"])
    token = token_of(upload(client, workshop))
    other = app.test_client()
    login(other, area["admin"])
    response = other.post(f"/animation/ateliers/{workshop.id}/import/confirmer", data={"token": token})
    assert response.status_code == 404 and count(Listing) == 0
