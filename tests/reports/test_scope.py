"""Scope on the shared authorization world: `synergy` (from the auctions setup) is in t1, between Alice's
and Bob's companies; the Lorient practitioner (t2) never sees it, nor t1's companies and listings,
on the dashboard, its map or the exports."""
import csv
import io
import json
import re

from openpyxl import load_workbook

from tests.conftest import login
from tests.test_authorization import _auctions


def _data(html: str) -> dict:
    return json.loads(re.search(r'id="reports-data">(.*?)</script>', html, re.S).group(1))


def _client(app, user):
    client = app.test_client()
    login(client, user)
    return client


def test_other_practitioner_never_sees_t1(app, world, make_listing):
    _auctions(world, make_listing)
    synergy = world["synergy"]
    assert synergy.territory_id == world["t1"].id
    title = synergy.title  # "Filets de pêche"

    own = _client(app, world["practitioner"])
    mine = _data(own.get("/animation/rapports").get_data(as_text=True))["map"]
    assert [line[:2] for line in mine["synergies"]] == [[synergy.id, title]]
    assert world["a"].sites[0].id in {site[0] for site in mine["sites"]}
    assert title in own.get("/animation/rapports/export.csv").get_data().decode("utf-8-sig")

    other = _client(app, world["other_practitioner"])
    html = other.get("/animation/rapports").get_data(as_text=True)
    theirs = _data(html)
    assert theirs["map"]["synergies"] == [] and theirs["map"]["resources"] == []
    assert {site[0] for site in theirs["map"]["sites"]} == {world["c"].sites[0].id}
    assert theirs["groups"]["datasets"][0]["data"] == [0, 0, 0, 0]
    text = json.dumps(theirs, ensure_ascii=False) + html
    for name in (title, "Conserverie du Port", "Brasserie de l'Odet", "Palettes à donner", "Cherche drêches"):
        assert name not in text and name not in html.replace("&#39;", "'"), name

    rows = list(csv.reader(io.StringIO(other.get("/animation/rapports/export.csv").get_data().decode("utf-8-sig")),
                           delimiter=";"))
    assert len(rows) == 1  # the header only
    book = load_workbook(io.BytesIO(other.get("/animation/rapports/export.xlsx").get_data()))
    assert book["Synergies"].max_row == 1
    assert title not in {c.value for line in book["Synthèse"].iter_rows() for c in line}
