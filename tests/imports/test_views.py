"""The import page: upload → preview (nothing written) → confirm → report, for practitioners and
administrators only, within the practitioner's territories, the stored file confirmable by its owner only."""
import html
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.imports import rows, services
from marketplace.listings.models import Listing
from tests.conftest import login
from tests.imports.test_rows import GOOD, csv_bytes

FILE = csv_bytes(
    {**GOOD, "ref": "W1"},
    {**GOOD, "ref": "W2", "kind": "need", "company_name": "Brasserie de l'Odet", "postcode": "29000",
     "city": "Quimper", "title": "Cherche drêches", "waste_code": ""},
    {**GOOD, "ref": "W3", "category": "matiere"},
    {**GOOD, "ref": "W4", "company_name": "Chantier Naval Lorientais", "postcode": "56100", "city": "Lorient"},
)


@pytest.fixture
def people(make_territory, make_company, make_user):
    cornouaille = make_territory("Cornouaille", "29900 29000")
    lorient = make_territory("Pays de Lorient", "56100")
    return {
        "practitioner": make_user("anim@cci.fr", role="practitioner", territories=[cornouaille]),
        "other_practitioner": make_user("anim@lorient.fr", role="practitioner", territories=[lorient]),
        "admin": make_user("admin@eit.fr", role="admin"),
        "member": make_user("alice@conserverie.fr", company=make_company("Conserverie", "29900")),
    }


def upload(client, content=FILE, filename="annonces.csv", **fields):
    data = {"file": (io.BytesIO(content), filename), "notify": "y", **fields}
    return client.post("/import/", data=data, content_type="multipart/form-data")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def token_of(response) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', page(response))[1]


def confirm(client, token, **fields):
    return client.post("/import/confirmer", data={"token": token, **fields})


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def stored_files(app) -> list[str]:
    folder = Path(app.instance_path) / "imports"
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def test_practitioner_previews_then_confirms(app, client, people):
    login(client, people["practitioner"])
    form_page = page(client.get("/import/"))
    assert "Importer des annonces" in form_page and "company_name" in form_page and "OFF-001" in form_page
    assert 'href="/import/"' in form_page  # the "Import" link of the navigation
    companies = count(Company)

    preview = upload(client)
    text = page(preview)
    assert preview.status_code == 200 and "Aperçu de l'import" in text
    assert text.count(">nouvelle<") == 2 and text.count(">erreur<") == 2
    assert "catégorie « matiere » inconnue : utilisez materials, energy, water" in text
    assert "code postal 56100 hors de vos territoires" in text
    assert "nouvelle entreprise" in text and "Confirmer l'import" in text
    assert count(Listing) == 0 and count(Company) == companies  # nothing written by the preview
    token = token_of(preview)
    assert stored_files(app) == [f"{token}.csv", f"{token}.json"]
    assert json.loads((Path(app.instance_path) / "imports" / f"{token}.json").read_text())["user_id"] == \
        people["practitioner"].id

    report = confirm(client, token, publish="y", notify="y")
    text = page(report)
    assert report.status_code == 200 and "Import terminé" in text
    assert re.search(r"<strong>2</strong> créées", text) and re.search(r"<strong>2</strong> rejetées", text)
    assert "hors de vos territoires" in text
    imported = db.session.scalars(sa.select(Listing).order_by(Listing.ref)).all()
    assert [(item.ref, item.status, item.author_id) for item in imported] == [
        ("W1", "published", people["practitioner"].id), ("W2", "published", people["practitioner"].id)]
    assert stored_files(app) == []

    again = confirm(client, token, publish="y")  # the same confirmation sent twice
    assert again.status_code == 302 and again.location.endswith("/import/")
    assert "déjà été importé" in page(client.get("/import/"))
    assert count(Listing) == 2

    second = page(upload(client))
    assert second.count(">mise à jour<") == 2 and second.count(">nouvelle<") == 0


def test_administrator_may_import_anywhere(client, people):
    login(client, people["admin"])
    preview = upload(client)
    assert "hors de vos territoires" not in page(preview)
    confirm(client, token_of(preview))
    refs = db.session.scalars(sa.select(Listing.ref).order_by(Listing.ref)).all()
    assert refs == ["W1", "W2", "W4"]
    assert db.session.scalar(sa.select(Listing.status).where(Listing.ref == "W1")) == "draft"


def test_practitioner_of_another_territory_imports_only_theirs(client, people):
    login(client, people["other_practitioner"])
    preview = page(upload(client))
    assert "code postal 29900 hors de vos territoires" in preview and preview.count(">nouvelle<") == 1


def test_members_are_refused_and_anonymous_sent_to_log_in(app, client, people):
    for path in ("/import/",):
        response = client.get(path)
        assert response.status_code == 302 and "/compte/connexion" in response.location
    assert upload(client).status_code == 302
    login(client, people["member"])
    assert client.get("/import/").status_code == 403
    assert upload(client).status_code == 403
    assert confirm(client, "A" * 32).status_code == 403
    assert count(Listing) == 0 and stored_files(app) == []
    assert ">Import<" not in page(client.get("/annonces"))


def test_the_file_of_another_user_cannot_be_confirmed(app, people):
    owner, thief = app.test_client(), app.test_client()
    login(owner, people["practitioner"])
    login(thief, people["admin"])
    token = token_of(upload(owner))
    assert confirm(thief, token).status_code == 404
    assert count(Listing) == 0 and len(stored_files(app)) == 2
    assert confirm(owner, token).status_code == 200 and count(Listing) == 2


@pytest.mark.parametrize("token", ["short", "A" * 31 + "/", "../" * 11 + "ab", "A" * 33, ""])
def test_malformed_tokens_are_refused(client, people, token):
    login(client, people["practitioner"])
    assert confirm(client, token).status_code == 404


def test_unreadable_or_wrong_files_are_explained(client, people):
    login(client, people["practitioner"])
    response = upload(client, b"nom,prix\nx,3\n")
    assert response.status_code == 422
    assert "Colonnes obligatoires absentes : ref, kind" in page(response)
    response = upload(client, FILE, "annonces.txt")
    assert response.status_code == 422 and "Un fichier .csv ou .xlsx" in page(response)
    response = client.post("/import/", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choisissez le fichier" in page(response)


def test_too_many_lines_for_the_web_page(app, client, people):
    app.config["IMPORT_MAX_ROWS"] = 3
    login(client, people["practitioner"])
    response = upload(client)
    assert response.status_code == 422 and "flask listings import" in page(response)


def test_xlsx_upload_and_the_notify_choice(client, people, monkeypatch):
    calls = []
    monkeypatch.setattr(services, "after_import", lambda ids, notify: calls.append((len(ids), notify)))
    workbook = openpyxl.Workbook()
    workbook.active.append(rows.REQUIRED_COLUMNS)
    workbook.active.append([GOOD[c] for c in rows.REQUIRED_COLUMNS])
    buf = io.BytesIO()
    workbook.save(buf)
    login(client, people["practitioner"])
    preview = upload(client, buf.getvalue(), "annonces.xlsx", notify="")
    assert page(preview).count(">nouvelle<") == 1
    response = confirm(client, token_of(preview))  # notify left unticked
    assert response.status_code == 200 and calls == [(1, False)]
    assert "ne seront pas prévenues" in page(response)


def test_preview_in_english(client, people):
    login(client, people["practitioner"])
    client.post("/langue/en", data={"next": "/"})
    text = page(upload(client))
    assert "Import preview" in text and 'unknown category "matiere": use materials, energy' in text
    assert "postcode 56100 outside your territories" in text
