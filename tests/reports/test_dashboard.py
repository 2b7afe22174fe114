"""The territory reports dashboard and its exports on the `report_world` fixture (tests/reports/conftest.py):
every figure is compared with numbers worked out by hand from the fixture's table, not recomputed."""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.conftest import login

FIGURES = ("tonnes_reused", "tonnes_diverted", "tonnes_virgin_substituted", "co2e_tonnes", "mwh_saved",
           "mwh_produced", "eur_saved", "eur_additional_sales", "jobs", "m2_shared", "private_investment_eur",
           "public_investment_eur")


def as_user(app, user):
    client = app.test_client()
    login(client, user)
    return client


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def num(text: str) -> Decimal:
    """A figure as the page shows it (French: narrow spaces, decimal comma, € sign) as a Decimal."""
    cleaned = re.sub(r"[\s\u202f\xa0€]", "", text).replace(",", ".")
    return Decimal(cleaned)


def row(html: str, attribute: str, key: str) -> list[Decimal]:
    """The numbers of the table row <tr data-<attribute>="<key>">."""
    match = re.search(rf'<tr data-{attribute}="{key}">(.*?)</tr>', html, re.S)
    assert match, (attribute, key)
    return [num(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)]


def chart_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="reports-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def benefits(html: str) -> dict[str, list[Decimal]]:
    """figure → [verified, of which continuous (per year), declared not yet verified]."""
    return {name: row(html, "figure", name) for name in FIGURES}


def D(*values) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


# --- the dashboard -----------------------------------------------------------------------------


def test_practitioner_dashboard_all_time(app, report_world, make_listing):
    w = report_world
    make_listing(w["c"], "published", title="Tôles de Lorient")
    html = page(as_user(app, w["practitioner"]), "/animation/rapports")

    # Group × type, PNSI style (s1…s11 of t1; t2's synergy is not theirs).
    assert row(html, "group", "idea") == D(2, 0, 2)
    assert row(html, "group", "discussion") == D(1, 1, 2)
    assert row(html, "group", "finalised") == D(3, 1, 4)
    assert row(html, "group", "stopped") == D(2, 1, 3)
    assert row(html, "group", "total") == D(8, 3, 11)
    # By stage.
    expected_stages = {"idea": (2, 0, 2), "discussion": (1, 0, 1), "negotiation": (0, 1, 1),
                       "implementation": (1, 0, 1), "finalising": (0, 1, 1), "completed": (2, 0, 2),
                       "blocked": (1, 0, 1), "abandoned": (1, 1, 2)}
    for stage, numbers in expected_stages.items():
        assert row(html, "stage", stage) == D(*numbers), stage
    # Blocked / abandoned by reason.
    assert row(html, "reason", "regulatory") == D(1, 0, 1)
    assert row(html, "reason", "distance") == D(0, 1, 1)
    assert row(html, "reason", "financial") == D(0, 1, 1)
    assert row(html, "reason", "technical") == D(0, 0, 0)
    assert row(html, "reason", "total") == D(1, 2, 3)

    # Benefits: verified (s4, s5, s6, s10), of which continuous (s4, per year), declared not yet
    # verified (s2, s9: the declarations of s4 and s10 are superseded by their verified figures).
    assert benefits(html) == {
        "tonnes_reused": D(28.5, 0, 12), "tonnes_diverted": D(8.5, 0, 0), "tonnes_virgin_substituted": D(18, 0, 0),
        "co2e_tonnes": D(81.75, 50.5, 0), "mwh_saved": D(250, 250, 0), "mwh_produced": D(0, 0, 0),
        "eur_saved": D(12300, 12000, 1800), "eur_additional_sales": D(4000, 0, 0), "jobs": D(2, 0, 0),
        "m2_shared": D(0, 0, 120), "private_investment_eur": D(5000, 0, 0), "public_investment_eur": D(2500, 0, 0),
    }
    assert row(html, "figure", "count") == D(4, 1, 2)
    assert "par an" in html and "Déclarés, pas encore vérifiés" in html
    assert "Règle de la période" in html

    data = chart_data(html)
    assert [d["data"] for d in data["groups"]["datasets"]] == [[2, 1, 3, 2], [0, 1, 1, 1]]
    assert [d["data"] for d in data["benefits"]["datasets"]] == [[28.5, 8.5, 18, 81.75, 250, 0], [12, 0, 0, 0, 0, 0]]

    # The map: the sites of t1's companies, their published listings, the eleven synergies as lines.
    site_ids = {s[0] for s in data["map"]["sites"]}
    assert site_ids == {w["a"].sites[0].id, w["b"].sites[0].id}
    assert len(data["map"]["synergies"]) == 11 and data["map"]["unplaced"] == 0
    titles = {t[2] for r in data["map"]["resources"] for t in r[3]}
    assert {"Palettes à donner", "Cherche drêches"} <= titles and "Tôles de Lorient" not in titles
    assert "Copeaux" not in html and "Forges de Lanester" not in html and "Chantier Naval" not in html

    # Scripts and data: vendored, no inline code, nothing from a CDN.
    assert "vendor/chartjs/chart.umd.min.js" in html and "vendor/leaflet/leaflet.js" in html and "js/reports.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert "https://" not in html.split("<main", 1)[1]
    # Export links keep the filters.
    assert 'href="/animation/rapports/export.csv"' in html and 'href="/animation/rapports/export.xlsx"' in html


def test_period_filter(app, report_world):
    client = as_user(app, report_world["practitioner"])
    html = page(client, "/animation/rapports?du=2024-01-01&au=2024-12-31")
    # Out: s5 (completed 15 Nov 2023), s8 (abandoned 20 Dec 2023), s11 (created 1 Jan 2025 in Paris).
    # In: s4 (created 2023, open), s9 (abandoned during 2024), s7 (blocked is not final).
    assert row(html, "group", "idea") == D(1, 0, 1)
    assert row(html, "group", "discussion") == D(1, 1, 2)
    assert row(html, "group", "finalised") == D(2, 1, 3)
    assert row(html, "group", "stopped") == D(1, 1, 2)
    assert row(html, "group", "total") == D(5, 3, 8)
    assert row(html, "stage", "completed") == D(1, 0, 1)
    assert row(html, "reason", "distance") == D(0, 0, 0)
    assert row(html, "reason", "total") == D(1, 1, 2)
    assert benefits(html) == {
        "tonnes_reused": D(20, 0, 12), "tonnes_diverted": D(0, 0, 0), "tonnes_virgin_substituted": D(18, 0, 0),
        "co2e_tonnes": D(80.5, 50.5, 0), "mwh_saved": D(250, 250, 0), "mwh_produced": D(0, 0, 0),
        "eur_saved": D(12000, 12000, 1800), "eur_additional_sales": D(4000, 0, 0), "jobs": D(2, 0, 0),
        "m2_shared": D(0, 0, 120), "private_investment_eur": D(5000, 0, 0), "public_investment_eur": D(2500, 0, 0),
    }
    assert row(html, "figure", "count") == D(3, 1, 2)
    assert len(chart_data(html)["map"]["synergies"]) == 8
    assert 'value="2024-01-01"' in html and 'value="2024-12-31"' in html
    assert "export.csv?du=2024-01-01&amp;au=2024-12-31" in html

    # Open-ended periods.
    since = page(client, "/animation/rapports?du=2024-01-01")
    assert row(since, "group", "total") == D(6, 3, 9)  # s11 is back
    until = page(client, "/animation/rapports?au=2023-12-31")
    assert row(until, "group", "finalised") == D(2, 0, 2)  # s4, s5
    assert row(until, "group", "stopped") == D(1, 0, 1)  # s8
    assert row(until, "group", "total") == D(3, 0, 3)


def test_territory_filter(app, report_world):
    w = report_world
    both = as_user(app, w["both_practitioner"])
    everything = page(both, "/animation/rapports")
    assert row(everything, "group", "discussion") == D(2, 1, 3)
    assert row(everything, "group", "total") == D(9, 3, 12)
    assert row(everything, "figure", "tonnes_reused") == D(128.5, 0, 12)
    assert row(everything, "figure", "co2e_tonnes") == D(281.75, 50.5, 0)

    lorient = page(both, f"/animation/rapports?territoire={w['t2'].id}")
    assert row(lorient, "group", "discussion") == D(1, 0, 1)
    assert row(lorient, "group", "total") == D(1, 0, 1)
    assert row(lorient, "figure", "tonnes_reused") == D(100, 0, 0)
    assert row(lorient, "figure", "co2e_tonnes") == D(200, 0, 0)
    assert row(lorient, "figure", "count") == D(1, 0, 0)
    assert "Palettes consignées" not in lorient
    assert {s[0] for s in chart_data(lorient)["map"]["sites"]} == {w["c"].sites[0].id, w["d"].sites[0].id}
    assert f"export.xlsx?territoire={w['t2'].id}" in lorient

    concarneau = page(both, f"/animation/rapports?territoire={w['t1'].id}&du=2024-01-01&au=2024-12-31")
    assert row(concarneau, "group", "total") == D(5, 3, 8)

    # Not one's territory, or no such territory: 404, as for any object that is not yours.
    practitioner = as_user(app, w["practitioner"])
    page(practitioner, f"/animation/rapports?territoire={w['t2'].id}", status=404)
    page(practitioner, f"/animation/rapports/export.csv?territoire={w['t2'].id}", status=404)
    page(as_user(app, w["admin"]), "/animation/rapports?territoire=999999", status=404)


def test_admin_sees_every_territory(app, report_world):
    html = page(as_user(app, report_world["admin"]), "/animation/rapports")
    assert row(html, "group", "total") == D(9, 3, 12)
    assert "Pays de Lorient" in html and "Concarneau Cornouaille" in html


@pytest.mark.parametrize("query, message", [
    ("du=2024-02-30", "La date de début n'est pas une date valide"),
    ("au=31/12/2024", "La date de fin n'est pas une date valide"),
    ("du=2024-06-01&au=2024-01-01", "La date de début est postérieure à la date de fin"),
    ("territoire=abc", "Le territoire demandé n'est pas reconnu"),
])
def test_bad_filters_show_a_message_and_are_ignored(app, report_world, query, message):
    client = as_user(app, report_world["practitioner"])
    html = page(client, f"/animation/rapports?{query}")
    assert message in html.replace("&#39;", "'") and 'class="flash error" role="alert"' in html
    assert row(html, "group", "total") == D(8, 3, 11)  # as without the filter
    for export in ("export.csv", "export.xlsx"):
        response = client.get(f"/animation/rapports/{export}?{query}")
        assert response.status_code == 400 and response.mimetype == "text/plain"
        assert response.get_data(as_text=True).strip()


def test_bad_end_keeps_a_good_start(app, report_world):
    html = page(as_user(app, report_world["practitioner"]), "/animation/rapports?du=2024-01-01&au=x")
    assert row(html, "group", "total") == D(6, 3, 9)


# --- exports -----------------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    content = response.get_data()
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def comma(value: str) -> Decimal:
    return Decimal(value.replace(",", ".")) if value else Decimal(0)


def test_csv_export(app, report_world):
    w = report_world
    client = as_user(app, w["practitioner"])
    response = client.get(f"/animation/rapports/export.csv?territoire={w['t1'].id}&du=2024-01-01&au=2024-12-31")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename=synergies_concarneau-cornouaille_2024-01-01_2024-12-31.csv'
    rows = read_csv(response)
    assert [r["Intitulé"] for r in rows] == ["Palettes consignées", "Drêches pour l'élevage", "Gardiennage mutualisé",
                                            "Chaleur fatale du four", "Formation des caristes", "Big bags",
                                            "Local partagé", "Ferraille de découpe"]
    assert sum(comma(r["Tonnes réemployées ou recyclées"]) for r in rows) == Decimal("20")
    assert sum(comma(r["t CO2e évitées"]) for r in rows) == Decimal("80.5")
    assert sum(comma(r["Euros économisés"]) for r in rows) == Decimal("12000")
    assert [r["Type (ME/TH)"] for r in rows].count("TH") == 3
    scrap = rows[-1]
    assert scrap["N°"] == str(w["s10"].id)
    assert (scrap["Territoire"], scrap["Entreprise qui donne"], scrap["Entreprise qui reçoit"]) == (
        "Concarneau Cornouaille", "Conserverie du Port", "Brasserie de l'Odet")
    assert (scrap["Étape"], scrap["Groupe de suivi"], scrap["Créée le"], scrap["Étape changée le"]) == (
        "Achevée", "Finalisées", "2024-07-01", "2024-09-30")
    figures = ("Tonnes réemployées ou recyclées", "t CO2e évitées", "Euros de ventes supplémentaires")
    assert tuple(scrap[name] for name in figures) == ("20,000", "30,00", "4000,00")
    assert (scrap["Facteur d'émission : code"], scrap["Facteur d'émission : kg CO2e par unité"],
            scrap["CO2e : méthode"], scrap["Bénéfices"]) == ("test_ferraille", "1500,000", "calculées", "vérifiés")
    blocked = rows[5]
    assert (blocked["Étape"], blocked["Groupe de suivi"], blocked["Motif d'arrêt"]) == (
        "Bloquée", "Bloquées / abandonnées", "Réglementaire")
    assert rows[1]["Bénéfices"] == "déclarés, non vérifiés" and rows[1]["Tonnes réemployées ou recyclées"] == ""
    assert rows[1]["Continue"] == "oui" and rows[0]["Bénéfices"] == "aucun"

    everything = read_csv(client.get("/animation/rapports/export.csv"))
    assert len(everything) == 11 and "Copeaux d'acier" not in {r["Intitulé"] for r in everything}
    assert sum(comma(r["Tonnes réemployées ou recyclées"]) for r in everything) == Decimal("28.5")
    assert everything[-1]["Intitulé"] == "Fûts vides" and everything[-1]["Créée le"] == "2025-01-01"


def test_xlsx_export(app, report_world):
    from openpyxl import load_workbook

    w = report_world
    client = as_user(app, w["practitioner"])
    response = client.get("/animation/rapports/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.fullmatch(r"attachment; filename=synergies_tous-territoires_au-\d{4}-\d{2}-\d{2}\.xlsx",
                        response.headers["Content-Disposition"])
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Synthèse", "Synergies"]

    sheet = book["Synergies"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in line))) for line in sheet.iter_rows(min_row=2)]
    assert len(rows) == 11 and "Copeaux d'acier" not in {r["Intitulé"] for r in rows}
    reused = [r["Tonnes réemployées ou recyclées"] for r in rows if r["Tonnes réemployées ou recyclées"] is not None]
    assert all(isinstance(v, (int, float)) for v in reused)
    assert sum(reused) == pytest.approx(28.5)
    assert sum(r["t CO2e évitées"] or 0 for r in rows) == pytest.approx(81.75)
    scrap = next(r for r in rows if r["N°"] == w["s10"].id)
    assert scrap["Facteur d'émission : kg CO2e par unité"] == 1500 and scrap["t CO2e évitées"] == 30
    assert scrap["Créée le"].date().isoformat() == "2024-07-01"

    summary = [[c.value for c in line] for line in book["Synthèse"].iter_rows()]

    def after(title, label):
        start = next(i for i, line in enumerate(summary) if line[0] == title)
        return next(line[1:] for line in summary[start + 1:] if line[0] == label)

    groups = "Synergies par groupe de suivi et par type"
    assert after(groups, "En idée")[:3] == [2, 0, 2]
    assert after(groups, "En discussion")[:3] == [1, 1, 2]
    assert after(groups, "Finalisées")[:3] == [3, 1, 4]
    assert after(groups, "Bloquées / abandonnées")[:3] == [2, 1, 3]
    assert after(groups, "Total")[:3] == [8, 3, 11]
    assert after("Synergies bloquées ou abandonnées, par motif", "Réglementaire")[:3] == [1, 0, 1]
    assert after("Bénéfices", "Tonnes réemployées ou recyclées")[:3] == pytest.approx([28.5, 0, 12])
    assert after("Bénéfices", "t CO2e évitées")[:3] == pytest.approx([81.75, 50.5, 0])
    assert after("Bénéfices", "m² partagés")[:3] == pytest.approx([0, 0, 120])
    assert after("Bénéfices", "Synergies concernées")[:3] == [4, 1, 2]


def test_exports_neutralise_formulas(app, report_world, make_company):
    from marketplace.synergies import services

    w = report_world
    evil = make_company("@Malin SARL", "29900")
    services.create_manual(w["practitioner"], w["t1"], {"title": '=HYPERLINK("http://evil.example","x")',
                                                        "giver": evil, "taker": w["a"]})
    db.session.commit()
    client = as_user(app, w["practitioner"])
    rows = read_csv(client.get("/animation/rapports/export.csv"))
    bad = rows[-1]
    assert bad["Intitulé"] == '\'=HYPERLINK("http://evil.example","x")'
    assert bad["Entreprise qui donne"] == "'@Malin SARL"

    from openpyxl import load_workbook

    content = client.get("/animation/rapports/export.xlsx").get_data()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any("<f>" in s or "<f " in s for s in sheets)  # not a single formula
    sheet = load_workbook(io.BytesIO(content))["Synergies"]
    last = list(sheet.iter_rows(min_row=sheet.max_row))[0]
    assert last[1].value == '=HYPERLINK("http://evil.example","x")' and last[1].data_type == "s"
    assert last[3].value == "@Malin SARL" and last[3].data_type == "s"


# --- scale -------------------------------------------------------------------------------------


def test_queries_do_not_grow_with_the_number_of_synergies(app, report_world):
    """The dashboard and the exports issue the same number of SQL statements for 12 or 600 synergies."""
    from marketplace.synergies.models import Synergy, SynergyBenefit

    w = report_world
    client = as_user(app, w["practitioner"])
    statements = []

    def count(*_args):
        statements.append(1)

    def measure():
        result = {}
        for path in ("/animation/rapports", "/animation/rapports/export.csv", "/animation/rapports/export.xlsx"):
            statements.clear()
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                assert client.get(path).status_code == 200
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
            result[path] = len(statements)
        return result

    before = measure()
    stages = ("idea", "discussion", "negotiation", "implementation", "finalising", "completed")
    db.session.execute(sa.insert(Synergy), [
        {"territory_id": w["t1"].id, "title": f"Synergie {i}", "stage": stages[i % 6], "kind": "ME" if i % 3 else "TH",
         "origin": "manual", "giver_company_id": w["a"].id, "taker_company_id": w["b"].id} for i in range(600)])
    ids = db.session.scalars(sa.select(Synergy.id).where(Synergy.title.like("Synergie %"))).all()
    db.session.execute(sa.insert(SynergyBenefit), [
        {"synergy_id": i, "status": "verified", "is_annual": False, "tonnes_reused": Decimal("1.5"), "note": ""}
        for i in ids])
    db.session.commit()
    after = measure()
    assert after == before
    html = page(client, "/animation/rapports")
    assert row(html, "group", "total") == D(408, 203, 611)
    assert row(html, "figure", "tonnes_reused") == D(928.5, 0, 12)
