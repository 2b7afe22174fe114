"""Reading and checking an import spreadsheet, without the database: bytes in, validated rows or
per-line errors out. The service adds the checks that need the database (existing refs, companies).

Line numbers are those the user sees in the spreadsheet: the header is line 1 when it is the first
row, and a quoted CSV cell spanning several physical lines still counts as one line."""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from marketplace import reference
from marketplace.companies.forms import clean_siret
from marketplace.listings.models import CATEGORIES, FREQUENCIES, KINDS, UNITS
from marketplace.territories.rules import territory_contains

REQUIRED_COLUMNS = (
    "ref", "kind", "company_name", "postcode", "city", "title", "description", "category", "waste_code",
    "quantity", "unit", "frequency",
)
OPTIONAL_COLUMNS = ("siret", "email", "price_eur", "available_from", "available_until")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
EXAMPLE_CSV = (
    ",".join(COLUMNS) + "\n"
    "OFF-001,offer,Conserverie du Port,29900,Concarneau,Palettes bois 120x80,"
    "\"Palettes EUR en bon état, 40 par mois.\",materials,15 01 03,40,unit,monthly,"
    "12345678200010,contact@conserverie.fr,0,2026-01-15,31/12/2026\n"
    "BES-001,need,Brasserie de l'Odet,29000,Quimper,Cuves inox 1000 L,,equipment,,2,unit,once,,,,,\n"
)

MAX_LENGTHS = {"ref": 64, "company_name": 160, "city": 120, "title": 160, "description": 8000}
MAX_QUANTITY = Decimal("1e10")
MAX_PRICE = Decimal("1e7")
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format
# Numeric spreadsheet cells lose their leading zeros: 01000 → 1000.
ZERO_PADDED = {"postcode": 5, "waste_code": 6, "siret": 14}


class FileError(Exception):
    """The file as a whole cannot be read: nothing is imported. The message says what to do."""


class RowError(NamedTuple):
    """One reason why a line is refused: (line number, column, message in the user's language)."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return _("ligne %(line)s, %(message)s", line=self.line, message=self.message)


@dataclass(frozen=True)
class ImportRow:
    """A line that passed every check that needs no database; values are ready to store."""

    line: int
    ref: str
    kind: str
    company_name: str
    postcode: str
    city: str
    title: str
    description: str
    category: str
    waste_code: str | None
    quantity: Decimal | None
    unit: str | None
    frequency: str
    siret: str | None = None
    email: str | None = None
    price_mode: str = "negotiable"
    unit_price_eur: Decimal | None = None
    available_from: date | None = None
    available_until: date | None = None
    latitude: float | None = None
    longitude: float | None = None

    def listing_data(self) -> dict:
        """The fields given to `listings.services.create` / `update`."""
        return {
            "kind": self.kind, "title": self.title, "description": self.description, "category": self.category,
            "waste_code": self.waste_code, "quantity": self.quantity, "unit": self.unit,
            "frequency": self.frequency, "price_mode": self.price_mode, "unit_price_eur": self.unit_price_eur,
            "available_from": self.available_from, "available_until": self.available_until,
        }


@dataclass
class Line:
    """One data line of the file: the cells as read (for display) and either a valid row or its errors."""

    number: int
    values: dict[str, str]
    row: ImportRow | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ParsedFile:
    lines: list[Line]
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[ImportRow]:
        return [line.row for line in self.lines if line.row is not None and not line.errors]

    @property
    def errors(self) -> list[RowError]:
        return [error for line in self.lines for error in line.errors]

    @property
    def rejected(self) -> int:
        return sum(1 for line in self.lines if line.errors)


@dataclass
class Table:
    """The raw cells: the header's column names and each data record with its line number."""

    header: list[str]
    records: list[tuple[int, list[str]]]


# --- reading -------------------------------------------------------------------------------------


def parse(content: bytes, filename: str = "") -> ParsedFile:
    """Read a CSV or XLSX file and check every line. FileError if the file itself is unusable."""
    table, notes = read_table(content, filename)
    parsed = check_table(table)
    parsed.warnings[:0] = notes
    return parsed


def read_table(content: bytes, filename: str = "") -> tuple[Table, list[str]]:
    """Cells of the first sheet (XLSX, recognised by its content) or of the CSV; plus reading notes."""
    if not content or not content.strip():
        raise FileError(_("Le fichier est vide : exportez votre tableau en CSV UTF-8 ou en XLSX, "
                          "avec la ligne d'en-tête."))
    if content.startswith(XLSX_MAGIC):
        return _read_xlsx(content), []
    if content.startswith(OLE_MAGIC) or filename.lower().endswith(".xls"):
        raise FileError(_("Ancien format Excel (.xls) non pris en charge : enregistrez le fichier au format "
                          ".xlsx ou « CSV UTF-8 »."))
    if filename.lower().endswith((".xlsx", ".xlsm", ".ods")):
        raise FileError(_("Classeur illisible : ouvrez-le dans votre tableur et enregistrez-le au format "
                          ".xlsx ou « CSV UTF-8 »."))
    return _read_csv(content)


def _decode(content: bytes) -> tuple[str, list[str]]:
    try:
        return content.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        # French Excel's plain "CSV" export is Windows-1252; read it rather than refuse it.
        text = content.decode("cp1252")
    except UnicodeDecodeError:
        raise FileError(_("Encodage du fichier non reconnu : enregistrez-le au format « CSV UTF-8 ».")) from None
    return text, [_("Le fichier n'est pas en UTF-8 : il a été lu comme un export Windows (Windows-1252). "
                    "Vérifiez les accents, ou enregistrez-le au format « CSV UTF-8 ».")]


def _sniff_delimiter(text: str) -> str:
    """The separator under which the header names the most known columns (comma when in doubt)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    best, best_score = ",", -1
    for delimiter in (",", ";", "\t"):
        names = {_column_name(c) for c in next(csv.reader([first], delimiter=delimiter), [])}
        score = len(names & set(COLUMNS))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(content: bytes) -> tuple[Table, list[str]]:
    text, notes = _decode(content)
    if "\x00" in text:
        raise FileError(_("Ce fichier n'est pas un tableau CSV (il contient des données binaires) : "
                          "exportez votre tableau en « CSV UTF-8 » ou en XLSX."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        records = [(number, [cell.strip() for cell in cells]) for number, cells in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise FileError(_("Fichier CSV illisible vers la ligne %(line)s (%(reason)s) : enregistrez-le de "
                          "nouveau au format « CSV UTF-8 ».", line=reader.line_num, reason=str(exc))) from None
    return _split_header(records), notes


def _cell_text(value, pad: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        text = str(int(value)) if isinstance(value, int) or value.is_integer() else repr(value)
        return text.zfill(pad) if pad and text.isdigit() else text
    return str(value).strip()


def _read_xlsx(content: bytes) -> Table:
    import openpyxl  # only needed for spreadsheets

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # style and extension notes from other spreadsheet programs
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                sheet.reset_dimensions()  # some programs write a wrong "used range"; read every row
                raw = [(number, list(cells)) for number, cells in
                       enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)]
            finally:
                workbook.close()
    except Exception as exc:  # noqa: BLE001 — a corrupt zip or sheet fails in many ways, all "unreadable"
        raise FileError(_("Classeur illisible (%(reason)s) : ouvrez-le dans votre tableur et enregistrez-le au "
                          "format .xlsx ou « CSV UTF-8 ».", reason=type(exc).__name__)) from None
    header_at = next((i for i, (_n, cells) in enumerate(raw) if any(_cell_text(c) for c in cells)), None)
    pads = {}
    if header_at is not None:
        names = [_column_name(_cell_text(c)) for c in raw[header_at][1]]
        pads = {i: ZERO_PADDED[name] for i, name in enumerate(names) if name in ZERO_PADDED}
    records = [(number, [_cell_text(c, pads.get(i)) for i, c in enumerate(cells)]) for number, cells in raw]
    return _split_header(records)


def _column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", (raw or "").strip().lstrip("\ufeff").lower())


def _split_header(records: list[tuple[int, list[str]]]) -> Table:
    """The first non-empty record is the header; the data records follow it."""
    for position, (_number, cells) in enumerate(records):
        if any(cells):
            return Table([_column_name(c) for c in cells], records[position + 1:])
    raise FileError(_("Le fichier est vide : exportez votre tableau en CSV UTF-8 ou en XLSX, "
                      "avec la ligne d'en-tête."))


# --- checking ------------------------------------------------------------------------------------


def check_table(table: Table) -> ParsedFile:
    """Check the columns, then every data line; blank lines are skipped (they keep their number)."""
    seen: set[str] = set()
    for name in table.header:
        if name and name in seen:
            raise FileError(_("La colonne « %(name)s » apparaît deux fois dans l'en-tête : gardez-en une "
                              "seule.", name=name))
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise FileError(_("Colonnes obligatoires absentes : %(missing)s. La première ligne doit nommer les "
                          "colonnes %(expected)s (séparées par des virgules ou des points-virgules).",
                          missing=", ".join(missing), expected=",".join(REQUIRED_COLUMNS)))
    notes = []
    unknown = [name for name in table.header if name and name not in COLUMNS]
    if unknown:
        notes.append(_("Colonnes inconnues ignorées : %(names)s.", names=", ".join(unknown)))
    index = {name: i for i, name in enumerate(table.header) if name in COLUMNS}
    lines: list[Line] = []
    first_line_of_ref: dict[str, int] = {}
    for number, cells in table.records:
        if not any(cells):
            continue
        values = {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}
        line = check_row(number, values)
        if len(cells) > len(table.header) and any(cells[len(table.header):]):
            line.errors.append(RowError(number, "", _(
                "plus de valeurs que de colonnes : mettez entre guillemets les textes qui contiennent "
                "le séparateur")))
        ref = values.get("ref", "")
        if ref:
            if ref in first_line_of_ref:
                line.errors.append(RowError(number, "ref", _(
                    "référence « %(ref)s » déjà utilisée ligne %(first)s : chaque annonce a sa propre référence",
                    ref=ref, first=first_line_of_ref[ref])))
            else:
                first_line_of_ref[ref] = number
        if line.errors:
            line.row = None
        lines.append(line)
    return ParsedFile(lines, notes)


def _slug(raw: str, allowed: tuple[str, ...]) -> str | None:
    wanted = raw.strip().replace("³", "3").replace("²", "2").lower()
    return next((slug for slug in allowed if slug.lower() == wanted), None)


def parse_decimal(raw: str) -> Decimal:
    """'1,5', '1.5', '1 500,25', '-30 €' → Decimal; ValueError otherwise (decimal comma first: '1,500' is 1.5)."""
    text = re.sub(r"[\s\u00a0\u202f]", "", raw).replace("\u2212", "-")
    text = re.sub(r"(?i)(€|eur|euros?)$", "", text)
    if not re.fullmatch(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)", text):
        raise ValueError(raw)
    return Decimal(text.replace(",", "."))


def parse_date(raw: str) -> date:
    """'2026-05-31' (a time after it is ignored) or '31/05/2026'; ValueError otherwise."""
    text = raw.strip()
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", text)
    if iso:
        return date(int(iso[1]), int(iso[2]), int(iso[3]))
    french = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if french:
        return date(int(french[3]), int(french[2]), int(french[1]))
    raise ValueError(raw)


def check_row(number: int, values: dict[str, str]) -> Line:
    """Every check of one line that needs no database; all its errors at once, not just the first."""
    line = Line(number, values)
    errors = line.errors

    def error(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    def get(column: str) -> str:
        return (values.get(column) or "").strip()

    for column, limit in MAX_LENGTHS.items():
        if len(get(column)) > limit:
            error(column, _("%(column)s trop long (%(n)s caractères) : %(limit)s au plus",
                            column=column, n=len(get(column)), limit=limit))

    ref = get("ref")
    if not ref:
        error("ref", _("référence (ref) manquante : donnez à chaque annonce une référence unique, "
                       "par exemple OFF-001"))

    kind = _slug(get("kind"), KINDS)
    if kind is None:
        error("kind", _("type « %(value)s » inconnu : écrivez offer (offre) ou need (besoin)", value=get("kind")))

    company_name = " ".join(get("company_name").split())
    if not company_name:
        error("company_name", _("nom de l'entreprise (company_name) manquant"))

    postcode, city = get("postcode"), " ".join(get("city").split())
    place = reference.locate(postcode, city) if re.fullmatch(r"\d{5}", postcode) else None
    if place is None:
        error("postcode", _("code postal « %(value)s » inconnu : 5 chiffres d'une commune française, "
                            "par exemple 29900", value=postcode))
    else:
        city = city or place.commune.title()

    title = " ".join(get("title").split())
    if not title:
        error("title", _("titre manquant : décrivez la ressource en quelques mots"))
    elif len(title) < 3:
        error("title", _("titre « %(value)s » trop court : 3 caractères au moins", value=title))

    categories = ", ".join(CATEGORIES)
    category = _slug(get("category"), CATEGORIES)
    if category is None:
        error("category", _("catégorie « %(value)s » inconnue : utilisez %(choices)s",
                            value=get("category"), choices=categories))

    waste_code = None
    try:
        entry = reference.waste_code_entry(get("waste_code"))
        waste_code = entry.code if entry else None
    except ValueError:
        error("waste_code", _("code déchet « %(value)s » inconnu de la liste européenne : 6 chiffres, par "
                              "exemple 15 01 03, ou laissez vide", value=get("waste_code")))

    units = ", ".join(UNITS)
    quantity = None
    if get("quantity"):
        try:
            quantity = parse_decimal(get("quantity")).quantize(Decimal("0.001"), ROUND_HALF_UP)
        except ValueError:
            error("quantity", _("quantité « %(value)s » illisible : écrivez un nombre, par exemple 12 ou 1,5",
                                value=get("quantity")))
        else:
            if quantity < 0 or quantity > MAX_QUANTITY:
                error("quantity", _("quantité « %(value)s » impossible : un nombre positif, 10 milliards au plus",
                                    value=get("quantity")))
                quantity = None
    unit = None
    if get("unit"):
        unit = _slug(get("unit"), UNITS)
        if unit is None:
            error("unit", _("unité « %(value)s » inconnue : utilisez %(choices)s", value=get("unit"), choices=units))
    elif quantity is not None:
        error("unit", _("unité manquante pour la quantité %(value)s : utilisez %(choices)s",
                        value=get("quantity"), choices=units))

    frequency = "once"
    if get("frequency"):
        frequency = _slug(get("frequency"), FREQUENCIES)
        if frequency is None:
            error("frequency", _("fréquence « %(value)s » inconnue : utilisez %(choices)s",
                                 value=get("frequency"), choices=", ".join(FREQUENCIES)))

    siret = None
    try:
        siret = clean_siret(get("siret"))
    except ValueError:
        error("siret", _("SIRET « %(value)s » invalide : 14 chiffres avec une clé de contrôle juste, ou "
                         "laissez vide", value=get("siret")))

    email = None
    if get("email"):
        try:
            email = validate_email(get("email"), check_deliverability=False).normalized
        except EmailNotValidError:
            error("email", _("e-mail « %(value)s » invalide : écrivez une adresse complète comme "
                             "contact@entreprise.fr, ou laissez vide", value=get("email")))

    price_mode, unit_price = "negotiable", None
    if get("price_eur"):
        try:
            unit_price = parse_decimal(get("price_eur")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        except ValueError:
            error("price_eur", _("prix « %(value)s » illisible : un nombre d'euros par unité, par exemple 12,50 "
                                 "ou -30 (négatif : le donneur paie le preneur), 0 pour gratuit, vide pour "
                                 "« à discuter »", value=get("price_eur")))
        else:
            if abs(unit_price) > MAX_PRICE:
                error("price_eur", _("prix « %(value)s » hors limites : entre -10 000 000 et 10 000 000 €",
                                     value=get("price_eur")))
            price_mode = "free" if unit_price == 0 else "priced"
            unit_price = None if price_mode == "free" else unit_price

    dates: dict[str, date | None] = {}
    for column in ("available_from", "available_until"):
        dates[column] = None
        if get(column):
            try:
                dates[column] = parse_date(get(column))
            except ValueError:
                error(column, _("date « %(value)s » illisible : écrivez AAAA-MM-JJ ou JJ/MM/AAAA, par exemple "
                                "2026-05-31 ou 31/05/2026", value=get(column)))
    if dates["available_from"] and dates["available_until"] and dates["available_until"] < dates["available_from"]:
        error("available_until", _("fin de disponibilité (%(end)s) avant son début (%(start)s) : corrigez "
                                   "l'une des deux dates", end=get("available_until"), start=get("available_from")))

    if not errors:
        line.row = ImportRow(
            line=number, ref=ref, kind=kind, company_name=company_name, postcode=postcode, city=city,
            title=title, description=get("description"), category=category, waste_code=waste_code,
            quantity=quantity, unit=unit, frequency=frequency, siret=siret, email=email, price_mode=price_mode,
            unit_price_eur=unit_price, available_from=dates["available_from"],
            available_until=dates["available_until"], latitude=place.latitude, longitude=place.longitude,
        )
    return line


def in_territories(row: ImportRow, territories) -> bool:
    """Whether the row's postcode lies in at least one of these territories."""
    return any(territory_contains(t, row.postcode, row.latitude, row.longitude) for t in territories)
