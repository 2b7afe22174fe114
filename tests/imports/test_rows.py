"""Pure reading and checking of import spreadsheets: no database, many cases."""
import csv
import io
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest

from marketplace.imports import rows

GOOD = {
    "ref": "OFF-1", "kind": "offer", "company_name": "Conserverie du Port", "postcode": "29900", "city": "Concarneau",
    "title": "Palettes bois 120x80", "description": "Palettes EUR en bon état.", "category": "materials",
    "waste_code": "15 01 03", "quantity": "12", "unit": "t", "frequency": "monthly",
}


def csv_bytes(*lines, columns=rows.REQUIRED_COLUMNS, delimiter=",", bom=False, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for line in lines:
        writer.writerow([line.get(c, "") for c in columns] if isinstance(line, dict) else line)
    return (("\ufeff" if bom else "") + buf.getvalue()).encode(encoding)


def row(**overrides) -> dict:
    return {**GOOD, **overrides}


def parse_one(**overrides):
    parsed = rows.parse(csv_bytes(row(**overrides)), "import.csv")
    [line] = parsed.lines
    return line


def errors_of(**overrides) -> dict[str, str]:
    line = parse_one(**overrides)
    assert line.row is None
    return {error.field: error.message for error in line.errors}


def xlsx_bytes(sheet_rows, title="Annonces") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for values in sheet_rows:
        sheet.append(list(values))
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


# --- a good line ---------------------------------------------------------------------------------


def test_a_good_line_becomes_a_row_ready_to_store():
    line = parse_one(waste_code="150103", quantity="1,5", price_eur="", description="  Deux\nlignes  ")
    assert line.errors == [] and line.number == 2
    r = line.row
    assert (r.ref, r.kind, r.postcode, r.city, r.category, r.unit, r.frequency) == (
        "OFF-1", "offer", "29900", "Concarneau", "materials", "t", "monthly")
    assert r.waste_code == "15 01 03" and r.quantity == Decimal("1.5") and r.price_mode == "negotiable"
    assert r.description == "Deux\nlignes" and r.latitude and r.longitude
    data = r.listing_data()
    assert data["title"] == "Palettes bois 120x80" and data["unit_price_eur"] is None
    assert set(data) >= {"kind", "category", "waste_code", "quantity", "unit", "frequency", "price_mode"}


def test_example_of_the_upload_page_is_valid():
    parsed = rows.parse(rows.EXAMPLE_CSV.encode(), "exemple.csv")
    assert parsed.errors == [] and len(parsed.rows) == 2 and parsed.warnings == []


@pytest.mark.parametrize("raw, expected", [
    ("15 01 03", "15 01 03"), ("150103", "15 01 03"), ("15 01 03*", "15 01 03"), ("17 06 05*", "17 06 05"),
    ("", None),
])
def test_waste_codes_in_every_written_form(raw, expected):
    assert parse_one(waste_code=raw).row.waste_code == expected


@pytest.mark.parametrize("raw, expected", [
    ("12", Decimal(12)), ("1,5", Decimal("1.5")), ("1.5", Decimal("1.5")), ("1 500,25", Decimal("1500.25")),
    ("1\u00a0500", Decimal(1500)), (",5", Decimal("0.5")), ("0", Decimal(0)), ("2,1234", Decimal("2.123")),
])
def test_quantities_with_decimal_commas_and_spaces(raw, expected):
    assert parse_one(quantity=raw).row.quantity == expected


def test_empty_quantity_needs_no_unit_and_empty_frequency_means_once():
    r = parse_one(quantity="", unit="", frequency="").row
    assert r.quantity is None and r.unit is None and r.frequency == "once"


@pytest.mark.parametrize("raw, mode, price", [
    ("", "negotiable", None), ("0", "free", None), ("0,00", "free", None), ("-12,50", "priced", Decimal("-12.50")),
    ("30", "priced", Decimal(30)), ("12,5 €", "priced", Decimal("12.50")), ("\u22128", "priced", Decimal(-8)),
])
def test_price_is_signed_and_sets_the_price_mode(raw, mode, price):
    r = parse_one(price_eur=raw).row if raw == "" else rows.parse(
        csv_bytes(row(price_eur=raw), columns=rows.COLUMNS), "x.csv").rows[0]
    assert (r.price_mode, r.unit_price_eur) == (mode, price)


@pytest.mark.parametrize("raw, expected", [
    ("2026-05-31", date(2026, 5, 31)), ("31/05/2026", date(2026, 5, 31)), ("1/2/2026", date(2026, 2, 1)),
    ("2026-05-31 00:00:00", date(2026, 5, 31)),
])
def test_dates_iso_or_french(raw, expected):
    parsed = rows.parse(csv_bytes(row(available_from=raw), columns=rows.COLUMNS), "x.csv")
    assert parsed.rows[0].available_from == expected


def test_slugs_are_read_whatever_their_case():
    r = parse_one(kind="NEED", category="Energy", unit="mwh", frequency="Yearly").row
    assert (r.kind, r.category, r.unit, r.frequency) == ("need", "energy", "MWh", "yearly")
    assert parse_one(unit="m³").row.unit == "m3"


def test_company_siret_and_email_are_cleaned():
    parsed = rows.parse(csv_bytes(row(siret="732 829 320 00074", email="Contact@Conserverie.FR"),
                                  columns=rows.COLUMNS), "x.csv")
    r = parsed.rows[0]
    assert r.siret == "73282932000074" and r.email == "Contact@conserverie.fr"


# --- refused lines -------------------------------------------------------------------------------


def test_unknown_category_names_the_valid_ones():
    line = parse_one(category="matiere")
    [error] = line.errors
    assert error.line == 2 and error.field == "category"
    assert str(error) == ("ligne 2, catégorie « matiere » inconnue : utilisez materials, energy, water, equipment, "
                          "space, logistics, services, skills, staff")
    assert tuple(error) == (2, "category", error.message)  # a plain (line, field, message) tuple too


@pytest.mark.parametrize("postcode", ["99999", "2990", "ABCDE", ""])
def test_unknown_postcode(postcode):
    assert "code postal" in errors_of(postcode=postcode)["postcode"]


@pytest.mark.parametrize("code", ["99 99 99", "1501", "15 01", "15 01 03 04", "quinze"])
def test_bad_waste_code(code):
    assert "inconnu de la liste européenne" in errors_of(waste_code=code)["waste_code"]


@pytest.mark.parametrize("raw", ["abc", "1.500,25", "1,2,3", "12t", "--3"])
def test_unreadable_quantity(raw):
    message = errors_of(quantity=raw)["quantity"]
    assert f"« {raw} » illisible" in message and "1,5" in message


def test_negative_quantity_and_quantity_without_unit():
    assert "positif" in errors_of(quantity="-3")["quantity"]
    assert "unité manquante" in errors_of(unit="")["unit"]


@pytest.mark.parametrize("field, value, words", [
    ("kind", "offre", "offer (offre) ou need (besoin)"),
    ("kind", "", "offer (offre)"),
    ("unit", "tonnes", "utilisez t, kg, m3"),
    ("frequency", "souvent", "utilisez once, daily"),
    ("ref", "", "référence (ref) manquante"),
    ("company_name", "  ", "nom de l'entreprise"),
    ("title", "", "titre manquant"),
    ("title", "ab", "trop court"),
    ("title", "x" * 161, "160 au plus"),
    ("ref", "R" * 65, "64 au plus"),
])
def test_each_column_says_what_to_fix(field, value, words):
    assert words in errors_of(**{field: value})[field]


@pytest.mark.parametrize("field, value, words", [
    ("siret", "12345678901234", "SIRET « 12345678901234 » invalide"),
    ("email", "pas-une-adresse", "e-mail « pas-une-adresse » invalide"),
    ("price_eur", "gratuit", "prix « gratuit » illisible"),
    ("price_eur", "20000000", "hors limites"),
    ("available_from", "31/02/2026", "AAAA-MM-JJ ou JJ/MM/AAAA"),
    ("available_until", "2026/05/31", "AAAA-MM-JJ ou JJ/MM/AAAA"),
])
def test_optional_columns_are_checked(field, value, words):
    [line] = rows.parse(csv_bytes(row(**{field: value}), columns=rows.COLUMNS), "x.csv").lines
    assert line.row is None
    assert words in {e.field: e.message for e in line.errors}[field]


def test_availability_window_in_the_wrong_order():
    [line] = rows.parse(csv_bytes(row(available_from="2026-06-01", available_until="01/05/2026"),
                                  columns=rows.COLUMNS), "x.csv").lines
    [error] = line.errors
    assert error.field == "available_until" and "avant son début" in error.message


def test_every_error_of_a_line_is_reported_at_once():
    errors = errors_of(kind="x", postcode="00000", category="x", waste_code="x", quantity="x", unit="x")
    assert set(errors) == {"kind", "postcode", "category", "waste_code", "quantity", "unit"}


def test_duplicate_ref_is_an_error_for_the_later_line_only():
    parsed = rows.parse(csv_bytes(row(ref="A"), row(ref="B"), row(ref="A", title="Autre titre")), "x.csv")
    assert [line.number for line in parsed.lines] == [2, 3, 4]
    assert [r.ref for r in parsed.rows] == ["A", "B"]
    [error] = parsed.errors
    assert (error.line, error.field) == (4, "ref") and "déjà utilisée ligne 2" in error.message
    assert parsed.rejected == 1


def test_more_values_than_columns_suggests_quotes():
    content = csv_bytes(list(GOOD.values()) + ["débordement"])
    [line] = rows.parse(content, "x.csv").lines
    assert line.row is None and "guillemets" in line.errors[0].message


# --- line numbers as the spreadsheet shows them --------------------------------------------------


def test_line_numbers_count_blank_lines_and_multiline_cells_as_the_spreadsheet_does():
    content = csv_bytes(row(ref="A", description="une\ndeux\ntrois"), [], row(ref="B", category="zzz"))
    parsed = rows.parse(content, "x.csv")
    assert [line.number for line in parsed.lines] == [2, 4]
    assert parsed.errors[0].line == 4


# --- file formats --------------------------------------------------------------------------------


def test_utf8_bom_is_accepted():
    parsed = rows.parse(csv_bytes(row(company_name="Société Écorces"), bom=True), "x.csv")
    assert parsed.errors == [] and parsed.rows[0].company_name == "Société Écorces"


def test_semicolon_csv_as_french_excel_writes_it():
    content = csv_bytes(row(quantity="1,5", description="virgules, dans, le texte"), delimiter=";", bom=True)
    parsed = rows.parse(content, "export.csv")
    assert parsed.errors == [] and parsed.rows[0].quantity == Decimal("1.5")
    assert parsed.rows[0].description == "virgules, dans, le texte"


def test_tab_separated_text_is_read_too():
    parsed = rows.parse(csv_bytes(row(), delimiter="\t"), "x.txt")
    assert parsed.errors == [] and len(parsed.rows) == 1


def test_windows_1252_export_is_read_with_a_warning():
    parsed = rows.parse(csv_bytes(row(company_name="Société Écorces"), delimiter=";", encoding="cp1252"), "x.csv")
    assert parsed.rows[0].company_name == "Société Écorces"
    assert any("UTF-8" in w for w in parsed.warnings)


def test_unknown_columns_are_reported_once_and_ignored():
    columns = rows.REQUIRED_COLUMNS + ("colour", "notes")
    parsed = rows.parse(csv_bytes(row(colour="red"), row(ref="B", notes="x"), columns=columns), "x.csv")
    assert parsed.errors == [] and len(parsed.rows) == 2
    assert parsed.warnings == ["Colonnes inconnues ignorées : colour, notes."]


def test_header_names_are_forgiving_about_case_and_spaces():
    columns = [c.upper().replace("_", " ") for c in rows.REQUIRED_COLUMNS]
    parsed = rows.parse(csv_bytes([GOOD[c] for c in rows.REQUIRED_COLUMNS], columns=columns), "x.csv")
    assert parsed.errors == [] and len(parsed.rows) == 1


def test_missing_required_columns_refuse_the_whole_file_naming_them():
    columns = [c for c in rows.REQUIRED_COLUMNS if c not in ("city", "frequency")]
    with pytest.raises(rows.FileError) as refused:
        rows.parse(csv_bytes(row(), columns=columns), "x.csv")
    assert "Colonnes obligatoires absentes : city, frequency." in str(refused.value)


def test_a_column_twice_refuses_the_file():
    with pytest.raises(rows.FileError, match="apparaît deux fois"):
        rows.parse(csv_bytes(columns=rows.REQUIRED_COLUMNS + ("ref",)), "x.csv")


@pytest.mark.parametrize("content, filename, words", [
    (b"", "x.csv", "vide"),
    (b"\n\n  \n", "x.csv", "vide"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls", ".xls"),
    (b"PK\x03\x04 not really a zip", "x.xlsx", "Classeur illisible"),
    (b"ref,kind\x00\x01\x02", "x.csv", "binaires"),
    (b"\x81\x8d\x8f\x90\x9d", "x.csv", "Encodage"),
])
def test_unreadable_files_say_what_to_do(content, filename, words):
    with pytest.raises(rows.FileError, match=words):
        rows.parse(content, filename)


def test_header_only_gives_no_lines():
    parsed = rows.parse(csv_bytes(), "x.csv")
    assert parsed.lines == [] and parsed.warnings == []


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_with_numeric_and_date_cells():
    sheet = [
        rows.COLUMNS,
        ["X1", "offer", "Fromagerie de l'Ain", 1000, "Bourg-en-Bresse", "Lactosérum", "", "materials", 20501,
         1.5, "t", "weekly", 73282932000074, "", -12.5, datetime(2026, 5, 1), date(2026, 12, 31)],
        [None] * len(rows.COLUMNS),
        ["X2", "need", "Serres du Sud", "29900", "Concarneau", "Chaleur", "", "energy", None, 200, "MWh",
         "yearly", None, None, 0, None, None],
        ["X3", "need", "Serres du Sud", "29900", "Concarneau", "Chaleur", "", "chaleur", None, 200, "MWh",
         "yearly", None, None, None, None, None],
    ]
    parsed = rows.parse(xlsx_bytes(sheet), "annonces.xlsx")
    first, second = parsed.rows
    assert first.line == 2 and second.line == 4
    assert first.postcode == "01000" and first.waste_code == "02 05 01" and first.quantity == Decimal("1.5")
    assert first.siret == "73282932000074" and first.unit_price_eur == Decimal("-12.50")
    assert first.available_from == date(2026, 5, 1) and first.available_until == date(2026, 12, 31)
    assert second.quantity == Decimal(200) and second.price_mode == "free"
    [error] = parsed.errors
    assert error.line == 5 and error.field == "category"


def test_xlsx_reads_the_first_sheet_and_numbers_lines_as_the_sheet_does():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"] = "Annonces du 12 mai"  # a title row above the header
    for column, name in enumerate(rows.REQUIRED_COLUMNS, start=1):
        sheet.cell(row=3, column=column, value=name)
    for column, name in enumerate(rows.REQUIRED_COLUMNS, start=1):
        sheet.cell(row=4, column=column, value=GOOD[name])
    other = workbook.create_sheet("Autre")
    other["A1"] = "ignored"
    buf = io.BytesIO()
    workbook.save(buf)
    with pytest.raises(rows.FileError, match="Colonnes obligatoires absentes"):
        rows.parse(buf.getvalue(), "x.xlsx")  # the title row is taken as the header: clear refusal
    sheet.delete_rows(1)  # now: an empty row 1, the header on row 2, data on row 3
    buf = io.BytesIO()
    workbook.save(buf)
    parsed = rows.parse(buf.getvalue(), "x.xlsx")
    assert [line.number for line in parsed.lines] == [3] and parsed.errors == []


def test_xlsx_missing_columns_refused():
    with pytest.raises(rows.FileError, match="Colonnes obligatoires absentes : ref"):
        rows.parse(xlsx_bytes([rows.REQUIRED_COLUMNS[1:]]), "x.xlsx")


# --- territories ---------------------------------------------------------------------------------


def test_in_territories():
    r = parse_one(postcode="29900").row
    cornouaille = SimpleNamespace(kind="postcodes", postcodes="29900 29000", departements="")
    morbihan = SimpleNamespace(kind="departements", postcodes="", departements="56")
    around_quimper = SimpleNamespace(kind="radius", center_latitude=47.997, center_longitude=-4.091, radius_km=30)
    assert rows.in_territories(r, [cornouaille]) and rows.in_territories(r, [morbihan, around_quimper])
    assert not rows.in_territories(r, [morbihan]) and not rows.in_territories(r, [])
