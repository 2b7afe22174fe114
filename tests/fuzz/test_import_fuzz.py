"""Hypothesis over the spreadsheet import: CSV files with random headers, cells, encodings, delimiters,
line endings and byte-order marks, truncated files, binary garbage, and XLSX workbooks built with
openpyxl, sent through the practitioners' page (preview, then confirm) and through `flask listings
import`. Never a 500 nor a traceback: either a clear message about the file, or a preview listing
each bad line with its reason. The preview writes nothing; the confirmation writes exactly the lines
the preview announced (created or updated by their ref, never a line in error), each whole or not at
all; a refused file writes nothing."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from marketplace.extensions import db
from marketplace.imports import rows, services
from marketplace.listings.models import CATEGORIES, FREQUENCIES, UNITS
from tests.conftest import login
from tests.fuzz.conftest import changes, fuzz_settings, snapshot

# Examples per test and kind of file (readable, broken).
PAGE_EXAMPLES = {"readable": 25, "broken": 15}
CLI_EXAMPLES = {"readable": 12, "broken": 8}

# --- what goes in a cell --------------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=6),
    st.sampled_from(['"', '""', ",", ";", "\t", "\n", "\r", "a\r\nb", '"a,b"', "=1+1", "\ufeff", "\x00", "NaN",
                     "1e309", "-0", "é" * 9000]),
)
# A NUL anywhere makes the whole file unreadable (binary): readable files have none.
HOSTILE_TEXT = HOSTILE.filter(lambda value: "\x00" not in value)
_WORDS = st.text(st.characters(categories=["L", "N"]), min_size=3, max_size=30)
VALID = {  # values the import takes, written the ways spreadsheets write them
    "ref": st.from_regex(r"FZ-[0-9]{1,3}", fullmatch=True),
    "kind": st.sampled_from(["offer", "need", "Offer", " NEED "]),
    "company_name": st.sampled_from(["Conserverie du Port", "CONSERVERIE DU PORT", "Brasserie de l'Odet",
                                     "Scierie Nouvelle"]),
    "postcode": st.sampled_from(["29900", "29000", "29910"]),
    "city": st.just(""),
    "title": _WORDS,
    "description": st.one_of(st.just(""), HOSTILE_TEXT),
    "category": st.sampled_from([*CATEGORIES, "Materials"]),
    "waste_code": st.sampled_from(["15 01 03", "150103", "", "02 07 01"]),
    "quantity": st.one_of(st.sampled_from(["12", "1,5", "1 500,25", "0", ""]),
                          st.decimals(0, 10**6, places=3).map(str)),
    "unit": st.sampled_from([*UNITS, "T"]),
    "frequency": st.sampled_from([*FREQUENCIES, "Monthly", ""]),
    "siret": st.sampled_from(["", "73282932000074"]),
    "email": st.sampled_from(["", "contact@conserverie.fr"]),
    "price_eur": st.sampled_from(["", "0", "12,50", "-30 €"]),
    "available_from": st.sampled_from(["", "2026-05-31", "31/05/2026"]),
    "available_until": st.sampled_from(["", "2026-12-31"]),
}
MISTAKES = {  # what people get wrong in each column
    "ref": st.sampled_from(["", " "]),
    "kind": st.sampled_from(["besoin", "", "offre"]),
    "postcode": st.sampled_from(["56100", "99999", "2990", "029900", ""]),
    "city": st.sampled_from(["Lorient", "Paris"]),
    "title": st.sampled_from(["", "ab", "  x  "]),
    "category": st.sampled_from(["matiere", "", "MATERIALS "]),
    "waste_code": st.sampled_from(["15 01 03*", "99 99 99", "20 01 08*", "1501"]),
    "quantity": st.sampled_from(["-3", "1e3", "beaucoup", "1e11", "1.2.3"]),
    "unit": st.sampled_from(["tonnes", ""]),
    "frequency": st.sampled_from(["jamais", "2026-05-31"]),
    "siret": st.sampled_from(["12345678901234", "732 829 320 00074", "abc"]),
    "email": st.sampled_from(["pas-une-adresse", "a@b"]),
    "price_eur": st.sampled_from(["1e9", "douze", "-"]),
    "available_from": st.sampled_from(["2026-02-30", "0001-01-01", "demain"]),
    "available_until": st.sampled_from(["01/01/2020", "9999-12-31", "2026-13-01"]),
}


def wrong(column: str, broken: bool) -> st.SearchStrategy:
    hostile = HOSTILE if broken else HOSTILE_TEXT
    return st.one_of(MISTAKES[column], hostile) if column in MISTAKES else hostile


@st.composite
def line(draw, names: list[str], broken: bool) -> list[str]:
    """A line right in every cell, then up to two cells made wrong (any number when broken)."""
    cells = [draw(VALID[name]) if name in VALID else draw(HOSTILE_TEXT) for name in names]
    spoilt = draw(st.lists(st.integers(0, len(names) - 1), max_size=len(names) if broken else 2))
    for index in spoilt:
        cells[index] = draw(wrong(names[index], broken))
    return cells


@st.composite
def header(draw, broken: bool) -> list[str]:
    """The columns of the format, maybe reordered or renamed in another case or spacing; when broken,
    maybe one missing, one twice, one unknown."""
    columns = list(rows.REQUIRED_COLUMNS) + draw(st.lists(st.sampled_from(rows.OPTIONAL_COLUMNS), unique=True))
    columns = draw(st.permutations(columns)) if draw(st.booleans()) else columns
    tweak = draw(st.sampled_from(["none", "case"] + (["missing", "twice", "unknown"] if broken else [])))
    if tweak == "case":
        columns = [c.upper().replace("_", " ") if draw(st.booleans()) else c for c in columns]
    elif tweak == "missing":
        columns.remove(draw(st.sampled_from(columns)))
    elif tweak == "twice":
        columns.append(draw(st.sampled_from(columns)))
    elif tweak == "unknown":
        columns.append(draw(HOSTILE_TEXT))
    return columns


@st.composite
def table(draw, broken: bool) -> tuple[list[str], list[list[str]]]:
    columns = draw(header(broken))
    names = [rows._column_name(c) for c in columns]  # the column each cell is meant for
    lines = draw(st.lists(line(names, broken), min_size=1, max_size=6))
    if broken and draw(st.booleans()):  # a ragged line: cells missing or one too many
        lines[-1] = lines[-1][:-1] if draw(st.booleans()) else [*lines[-1], draw(HOSTILE)]
    return columns, lines


@st.composite
def csv_file(draw, broken: bool) -> tuple[str, bytes]:
    """A CSV file as spreadsheets write them (UTF-8 with or without BOM, Windows-1252; comma, semicolon
    or tab); when broken, also in encodings and with separators the import does not read, cut short."""
    columns, lines = draw(table(broken))
    delimiter = draw(st.sampled_from([",", ";", "\t"] + (["|"] if broken else [])))
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
    for line in [columns, *lines]:
        writer.writerow(line)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"] + (["latin-1", "utf-16"] if broken else [])))
    content = text.encode(encoding, errors="replace")
    if broken and draw(st.booleans()):  # cut anywhere, even inside a character
        content = content[:draw(st.integers(0, len(content)))]
    names = ["annonces.csv", "ANNONCES.CSV"] + (["export.xlsx", "annonces.txt"] if broken else [])
    return draw(st.sampled_from(names)), content


def _xlsx_value(value: str):
    """A cell as a spreadsheet keeps it: a number or a date when it reads as one, else text it can hold."""
    if re.fullmatch(r"-?[0-9]{1,12}", value):
        return int(value)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:32_000]


@st.composite
def xlsx_file(draw, broken: bool) -> tuple[str, bytes]:
    columns, lines = draw(table(broken))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for _ in range(draw(st.integers(0, 2))):  # blank lines before the header
        sheet.append([])
    for line in [columns, *lines]:
        sheet.append([_xlsx_value(v) for v in line])
    if draw(st.booleans()):
        sheet.cell(row=sheet.max_row + 1, column=1, value=date(2026, 5, 31))
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = buffer.getvalue()
    if broken and draw(st.booleans()):
        content = content[:draw(st.integers(0, len(content)))]
    return "annonces.xlsx", content


# Files the import reads (their lines right or wrong), and files it may well refuse as a whole.
READABLE = st.one_of(csv_file(broken=False), csv_file(broken=False), xlsx_file(broken=False))
BROKEN = st.one_of(csv_file(broken=True), xlsx_file(broken=True),
                   st.tuples(st.sampled_from(["annonces.csv", "annonces.xlsx"]), st.binary(max_size=300)))


# --- checks ---------------------------------------------------------------------------------------------


def _listings() -> dict[str, tuple]:
    """Every listing with a ref, as stored: ref → row."""
    with db.engine.connect() as conn:
        return {r.ref: tuple(r) for r in conn.execute(sa.text("SELECT * FROM listing WHERE ref IS NOT NULL"))}


def _expected(content: bytes, filename: str, actor) -> tuple[dict | None, list]:
    """What the preview announces for this file ({new, update, error} refs), or None for a refused file."""
    try:
        parsed = rows.parse(content, filename)
    except rows.FileError:
        return None, []
    planned = services.plan(parsed, actor)
    refs = {status: {p.row.ref for p in planned if p.status == status and p.row} for status in ("new", "update")}
    return refs, planned


def _check_written(before: dict, after: dict, refs: dict, report_text: str) -> None:
    created = set(after) - set(before)
    changed = {ref for ref in before if after.get(ref) != before[ref]}
    assert "base de données" not in report_text, "a line the preview accepted was refused on confirmation"
    assert created == refs["new"], (created, refs)
    assert changed <= refs["update"], (changed, refs)


@pytest.fixture
def importer(world, app):
    client = app.test_client()
    login(client, world["practitioner"])
    db.session.commit()
    return client


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("kind", ["readable", "broken"])
def test_import_page(app, world, importer, kind):
    """Upload, preview, confirm, as the practitioner of the first territory."""
    practitioner = world["practitioner"]

    @fuzz_settings(PAGE_EXAMPLES[kind])
    @given(file=READABLE if kind == "readable" else BROKEN, publish=st.booleans())
    def check(file, publish):
        filename, content = file
        before = snapshot()
        preview = importer.post("/import/", data={"file": (io.BytesIO(content), filename), "notify": "y",
                                                  **({"publish": "y"} if publish else {})},
                                content_type="multipart/form-data")
        assert preview.status_code in (200, 422), preview.get_data(as_text=True)[:2000]
        assert changes(before, snapshot()) == {}, "the preview wrote something"
        text = _page(preview)
        if preview.status_code == 422:  # the file itself is refused: a message says why
            assert re.search(r'class="[^"]*error[^"]*"', text), text[:2000]
            return
        with app.app_context():
            expected, planned = _expected(content, filename, db.session.merge(practitioner))
        assert expected is not None
        figures = [int(n) for n in re.findall(r"<li><strong>(\d+)</strong>", text)[:3]]
        assert figures == [len(expected["new"]), len(expected["update"]),
                           sum(p.status == "error" for p in planned)], figures
        for item in planned:
            for error in item.errors:  # each bad line, with its reason
                assert error.message in text, error.message
        token = re.search(r'name="token" type="hidden" value="([^"]+)"', text)
        if token is None:
            assert not (expected["new"] or expected["update"])
            return
        before_listings, before = _listings(), snapshot()
        confirmed = importer.post("/import/confirmer", data={"token": token[1], "notify": "y",
                                                             **({"publish": "y"} if publish else {})})
        assert confirmed.status_code == 200, confirmed.get_data(as_text=True)[:2000]
        _check_written(before_listings, _listings(), expected, _page(confirmed))
        before = snapshot()  # a second confirmation (a double click, the back button) imports nothing again
        again = importer.post("/import/confirmer", data={"token": token[1], "notify": "y"})
        assert again.status_code == 302 and changes(before, snapshot()) == {}

    check()


@pytest.mark.parametrize("kind", ["readable", "broken"])
def test_import_command(app, runner, world, tmp_path, kind):
    """`flask listings import FILE`: exit code 0 with every bad line listed, or 1 and nothing written."""
    path = tmp_path / "import"

    @fuzz_settings(CLI_EXAMPLES[kind])
    @given(file=READABLE if kind == "readable" else BROKEN)
    def check(file):
        filename, content = file
        target = path.with_name(filename)
        target.write_bytes(content)
        expected, planned = _expected(content, filename, None)
        before_listings, before = _listings(), snapshot()
        result = runner.invoke(args=["listings", "import", str(target)])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        if expected is None:
            assert result.exit_code == 1 and result.output.strip(), result.output
            assert changes(before, snapshot()) == {}
            return
        assert result.exit_code == 0, result.output
        for item in planned:
            for error in item.errors:
                assert f"ligne {error.line}" in result.output, (error.line, result.output)
        _check_written(before_listings, _listings(), expected, result.output)

    check()
