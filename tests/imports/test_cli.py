"""`flask listings import`: the command of interfaces.md, through Flask's CLI runner."""
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.imports import rows, services
from marketplace.listings.models import Listing
from tests.imports.test_rows import GOOD, csv_bytes

DATA = Path(__file__).parent / "data"
MATCHING_DEV = DATA / "matching_dev.csv"


def run(runner, *args):
    return runner.invoke(args=["listings", "import", *map(str, args)])


def listings() -> list[Listing]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Listing).order_by(Listing.ref)).all()


def test_matching_dev_file_twice_creates_then_only_updates(runner):
    first = run(runner, MATCHING_DEV)
    assert first.exit_code == 0, first.output
    assert "créées: 50, mises à jour: 0, rejetées: 0" in first.output
    imported = listings()
    assert len(imported) == 50 and {listing.status for listing in imported} == {"draft"}
    assert imported[0].ref == "DEV-N00" and imported[0].company.name == "Société N00"
    companies = db.session.scalar(sa.select(sa.func.count()).select_from(Company))

    second = run(runner, MATCHING_DEV)
    assert second.exit_code == 0, second.output
    assert "créées: 0, mises à jour: 50, rejetées: 0" in second.output
    assert len(listings()) == 50
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)) == companies


def test_publish_flag_publishes(runner):
    result = run(runner, MATCHING_DEV, "--publish")
    assert result.exit_code == 0, result.output
    assert {listing.status for listing in listings()} == {"published"}


def test_bad_rows_are_listed_with_line_and_reason_and_good_rows_imported(runner, tmp_path):
    path = tmp_path / "annonces.csv"
    path.write_bytes(csv_bytes(
        {**GOOD, "ref": "G1"},
        {**GOOD, "ref": "B1", "category": "matiere"},
        {**GOOD, "ref": "G2", "kind": "need"},
        {**GOOD, "ref": "B2", "postcode": "99999", "quantity": "beaucoup"},
        {**GOOD, "ref": "G1", "title": "Doublon"},
        {**GOOD, "ref": "G3", "waste_code": "15 01 03*", "quantity": "2,5"},
        columns=rows.REQUIRED_COLUMNS + ("couleur",),
    ))
    result = run(runner, path)
    assert result.exit_code == 0, result.output
    assert "créées: 3, mises à jour: 0, rejetées: 3" in result.output
    for expected in (
        "ligne 3, catégorie « matiere » inconnue : utilisez materials, energy, water",
        "ligne 5, code postal « 99999 » inconnu",
        "ligne 5, quantité « beaucoup » illisible",
        "ligne 6, référence « G1 » déjà utilisée ligne 2",
        "Colonnes inconnues ignorées : couleur.",
    ):
        assert expected in result.output, expected
    assert [listing.ref for listing in listings()] == ["G1", "G2", "G3"]
    assert listings()[0].title == GOOD["title"]  # the duplicate line did not overwrite the first


def test_xlsx_file(runner, tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(rows.REQUIRED_COLUMNS)
    workbook.active.append([GOOD[c] for c in rows.REQUIRED_COLUMNS])
    path = tmp_path / "annonces.xlsx"
    workbook.save(path)
    result = run(runner, path)
    assert result.exit_code == 0 and "créées: 1, mises à jour: 0, rejetées: 0" in result.output


@pytest.mark.parametrize("content, words", [
    (b"nom,prix\nx,3\n", "Colonnes obligatoires absentes : ref, kind"),
    (b"", "Le fichier est vide"),
    (b"PK\x03\x04broken", "Classeur illisible"),
])
def test_unreadable_file_exits_1_saying_what_to_do(runner, tmp_path, content, words):
    path = tmp_path / ("x.xlsx" if content.startswith(b"PK") else "x.csv")
    path.write_bytes(content)
    result = run(runner, path)
    assert result.exit_code == 1 and words in result.output
    assert listings() == []


def test_missing_file_exits_1(runner, tmp_path):
    result = run(runner, tmp_path / "absent.csv")
    assert result.exit_code == 1 and "vérifiez le chemin" in result.output


def test_no_notify_and_actor_are_passed_on(runner, make_user, monkeypatch):
    admin = make_user("admin@eit.fr", role="admin")
    calls = []
    monkeypatch.setattr(services, "after_import", lambda ids, notify: calls.append((len(ids), notify)))
    result = run(runner, MATCHING_DEV, "--no-notify", "--actor", "admin@eit.fr")
    assert result.exit_code == 0, result.output
    assert calls == [(50, False)]
    assert {listing.author_id for listing in listings()} == {admin.id}
    assert run(runner, MATCHING_DEV).exit_code == 0 and calls[-1] == (50, True)


def test_actor_must_exist_and_be_practitioner_or_admin(runner, make_user):
    make_user("membre@example.fr")
    assert run(runner, MATCHING_DEV, "--actor", "inconnu@example.fr").exit_code == 2
    assert run(runner, MATCHING_DEV, "--actor", "membre@example.fr").exit_code == 2
    assert listings() == []
