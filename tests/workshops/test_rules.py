"""Workshop rules without the database: entry rows read and checked (by the import's own line checks),
an import kept within the territory, and the opportunities shaped into the reports."""
from decimal import Decimal
from types import SimpleNamespace

import pytest
from werkzeug.datastructures import MultiDict

from marketplace.imports import rows as import_rows
from marketplace.workshops import rules
from tests.imports.test_rows import GOOD, csv_bytes

ATTENDEES = {
    1: rules.Attendee(1, "Brasserie de l'Odet", "29000", "Quimper"),
    2: rules.Attendee(2, "Ferme de Kerlaz", "29900", "Concarneau"),
    3: rules.Attendee(3, "Société Fantôme", "29900", "Concarneau", is_refused=True),
    4: rules.Attendee(4, "Fonderie Lointaine", None, None),  # no site in the territory
}
GOOD_ROW = {"company_id": "1", "kind": "offer", "title": "Drêches de brasserie", "category": "materials",
            "quantity": "2,5", "unit": "t", "frequency": "weekly", "waste_code": "02 07 01",
            "description": "Drêches humides après brassage."}


def check(**overrides) -> rules.EntryLine:
    return rules.check_entry(0, {**GOOD_ROW, **overrides}, ATTENDEES)


def test_a_good_row_becomes_listing_data_with_french_decimals():
    line = check()
    assert line.errors == {}
    assert line.company_id == 1
    assert line.row.listing_data() == {
        "kind": "offer", "title": "Drêches de brasserie", "description": "Drêches humides après brassage.",
        "category": "materials", "waste_code": "02 07 01", "quantity": Decimal("2.500"), "unit": "t",
        "frequency": "weekly", "price_mode": "negotiable", "unit_price_eur": None, "available_from": None,
        "available_until": None,
    }


def test_optional_fields_may_stay_empty():
    line = check(quantity="", unit="", waste_code="", description="", frequency="")
    assert line.errors == {}
    assert (line.row.quantity, line.row.unit, line.row.waste_code, line.row.frequency) == (None, None, None, "once")


@pytest.mark.parametrize(("overrides", "field", "fragment"), [
    ({"company_id": ""}, "company_id", "Choisissez l'entreprise"),
    ({"company_id": "99"}, "company_id", "inconnue de cet atelier"),
    ({"company_id": "abc"}, "company_id", "inconnue de cet atelier"),
    ({"company_id": "3"}, "company_id", "refusée"),
    ({"company_id": "4"}, "company_id", "pas de site dans le territoire"),
    ({"kind": ""}, "kind", "Offre ou besoin"),
    ({"kind": "gift"}, "kind", "Offre ou besoin"),
    ({"category": ""}, "category", "Choisissez une catégorie"),
    ({"category": "matiere"}, "category", "Catégorie inconnue"),
    ({"title": ""}, "title", "Titre manquant"),
    ({"title": "ab"}, "title", "trop court"),
    ({"quantity": "beaucoup"}, "quantity", "illisible"),
    ({"quantity": "-3"}, "quantity", "impossible"),
    ({"unit": ""}, "unit", "Choisissez l'unité"),
    ({"unit": "tonnes"}, "unit", "inconnue"),
    ({"waste_code": "99 99 99"}, "waste_code", "inconnu de la liste européenne"),
    ({"frequency": "hourly"}, "frequency", "inconnue"),
    ({"description": "x" * 8001}, "description", "trop long"),
])
def test_each_wrong_field_gets_its_message_next_to_it(overrides, field, fragment):
    line = check(**overrides)
    assert line.row is None and line.company_id is None
    assert fragment in " ".join(line.errors[field]), line.errors
    assert set(line.errors) == {field}, "one mistake, one message, in the right cell"


def test_every_error_of_a_row_is_reported_at_once():
    line = check(company_id="", category="", quantity="x", waste_code="12")
    assert set(line.errors) == {"company_id", "category", "quantity", "waste_code"}


def test_a_site_with_an_unknown_postcode_is_the_company_record_to_fix():
    line = rules.check_entry(0, GOOD_ROW, {1: rules.Attendee(1, "Brasserie", "00000", "Nulle part")})
    assert list(line.errors) == ["company_id"]
    assert "site de l'entreprise" in line.errors["company_id"][0]


def test_reading_posted_rows_in_order_closing_gaps_and_ignoring_strangers():
    form = MultiDict([
        ("rows-10-title", "  Dixième  "), ("rows-2-title", "Deuxième"), ("rows-2-kind", "need"),
        ("rows-2-evil", "x"), ("rows-x-title", "x"), ("csrf_token", "t"), ("title", "x"),
    ])
    read = rules.read_rows(form)
    assert [r["title"] for r in read] == ["Deuxième", "Dixième"]
    assert read[0]["kind"] == "need" and "evil" not in read[0]
    assert set(read[1]) == set(rules.ENTRY_FIELDS)


def test_reading_stops_at_the_maximum_and_cuts_long_values():
    form = MultiDict([(f"rows-{i}-title", "t" * (rules.MAX_FIELD_LENGTH + 1000)) for i in range(rules.MAX_ROWS + 5)])
    read = rules.read_rows(form)
    assert len(read) == rules.MAX_ROWS
    assert len(read[0]["title"]) == rules.MAX_FIELD_LENGTH


def test_rows_with_nothing_typed_are_ignored_whatever_the_selects_say():
    blank = rules.blank_values() | {"company_id": "1", "kind": "need", "frequency": "weekly"}
    assert rules.is_blank(blank)
    assert not rules.is_blank(blank | {"description": "x"})
    lines = rules.check_entries([blank, GOOD_ROW, rules.blank_values(), {**GOOD_ROW, "title": ""}], ATTENDEES)
    assert [(line.index, line.number, bool(line.errors)) for line in lines] == [(1, 2, False), (3, 4, True)]


def test_an_import_keeps_to_the_workshop_territory():
    territory = SimpleNamespace(kind="postcodes", postcodes="29900 29000", departements="")
    parsed = import_rows.parse(csv_bytes(
        {**GOOD, "ref": "IN"}, {**GOOD, "ref": "OUT", "postcode": "56100", "city": "Lorient"},
        {**GOOD, "ref": "BAD", "category": "x"}), "f.csv")
    assert rules.keep_within(parsed, [territory]) == 1
    assert [line.values["ref"] for line in parsed.lines if not line.errors] == ["IN"]
    [out] = [line for line in parsed.lines if line.values["ref"] == "OUT"]
    assert out.row is None and "hors du territoire de l'atelier" in out.errors[0].message
    assert [row.ref for row in parsed.rows] == ["IN"]


# --- reports ---------------------------------------------------------------------------------------


def listing(id, kind, company_id, category="materials"):
    return SimpleNamespace(id=id, kind=kind, company_id=company_id, category=category,
                           company=SimpleNamespace(id=company_id))


def opportunity(match_id, offer, need, score, km=None):
    reasons = [{"code": "concept", "detail": "drêches", "value": 0.9}]
    if km is not None:
        reasons.append({"code": "distance", "detail": f"{km:.0f}", "value": 0.5})
    return rules.Opportunity(match_id, offer, need, score, reasons)


O1, O2, O3 = listing(1, "offer", 10), listing(2, "offer", 10, "energy"), listing(3, "offer", 30, "water")
O4 = listing(8, "offer", 30)
N1, N2 = listing(4, "need", 20), listing(5, "need", 20, "energy")
OUTSIDE_NEED = listing(6, "need", 99)  # a company that did not attend
OPPORTUNITIES = [
    opportunity(1, O1, N1, 1.2, 18), opportunity(2, O2, N2, 2.0), opportunity(3, O1, OUTSIDE_NEED, 1.9, 40),
    opportunity(4, O3, N1, 0.7),
]


def test_distance_comes_from_the_scoring_reasons():
    assert OPPORTUNITIES[0].distance_km == 18.0
    assert OPPORTUNITIES[1].distance_km is None
    assert rules.distance_from_reasons([{"code": "distance", "detail": "n/a"}]) is None


def test_collective_report_groups_by_category_then_resource_best_first():
    sections = rules.by_category(OPPORTUNITIES + [opportunity(5, O4, N1, 1.5)])
    assert [(slug, [(g.offer.id, [o.match_id for o in g.opportunities]) for g in groups])
            for slug, groups in sections] == [
        ("materials", [(1, [3, 1]), (8, [5])]), ("energy", [(2, [2])]), ("water", [(3, [4])])]
    assert sections[0][1][0].count == 2


def test_a_company_report_lists_its_workshop_listings_then_its_others_involved():
    workshop_listings = [O1, O2, N1, N2, listing(7, "need", 10)]
    entries = rules.company_entries(10, workshop_listings, OPPORTUNITIES)
    assert [(e.listing.id, e.at_workshop, [o.match_id for o in e.opportunities]) for e in entries] == [
        (1, True, [3, 1]), (2, True, [2]), (7, True, [])]
    assert [theirs.id for _o, theirs in entries[0].partners()] == [6, 4]
    # Company 20's need N1 also matched company 30's offer, which was not entered at the workshop.
    entries = rules.company_entries(30, [O1, N1], OPPORTUNITIES)
    assert [(e.listing.id, e.at_workshop, [o.match_id for o in e.opportunities]) for e in entries] == [(3, False, [4])]


def test_counts_of_the_collective_report():
    counts = rules.counts([10, 20], [O1, O2, N1, N2], OPPORTUNITIES)
    assert counts == rules.Counts(companies=2, haves=2, wants=2, opportunities=4, between_attendees=2,
                                  companies_with_opportunities=2)
    assert rules.opportunities_per_company(OPPORTUNITIES) == {10: 3, 20: 3, 99: 1, 30: 1}


def test_recipients_are_active_members_with_an_address_each_once():
    people = [SimpleNamespace(id=3, email="Anne@x.fr", is_active=True),
              SimpleNamespace(id=1, email="anne@x.fr", is_active=True),
              SimpleNamespace(id=2, email="gone@x.fr", is_active=False),
              SimpleNamespace(id=4, email="", is_active=True)]
    assert [u.id for u in rules.recipients(people)] == [1]
