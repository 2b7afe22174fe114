"""Workshop rules without the database: reading and checking the rows of the entry table, keeping an
import within the workshop's territory, and shaping the opportunities into the collective report and
each company's report. Plain values in, plain values out; unit-tested directly.

A row of the entry table is checked by the very checks of a spreadsheet import line
(`imports.rows.check_row`): the same resource, typed or imported, is accepted or refused alike."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flask_babel import gettext as _

from marketplace.imports.rows import ImportRow, ParsedFile, RowError, check_row, in_territories
from marketplace.listings.models import CATEGORIES, KINDS

# The entry table's columns, in the order of the page.
ENTRY_FIELDS = ("company_id", "kind", "title", "category", "quantity", "unit", "frequency", "waste_code",
                "description")
# What the user types about the resource: a row with none of these is an empty row and is ignored.
# The selects (company, offer/need, frequency) always hold a value, so they do not count.
CONTENT_FIELDS = ("title", "category", "quantity", "unit", "waste_code", "description")
DEFAULT_ROWS = 10
MORE_ROWS = 10
MAX_ROWS = 200  # one post; a bigger workshop is entered in several goes, or imported
# Longer than any column may be (the description's 8000): a value too long is refused by the row's
# checks and shown back whole, never silently shortened; the cut only bounds what a forged post holds.
MAX_FIELD_LENGTH = 20_000
ROW_FIELD = re.compile(r"^rows-(\d{1,4})-([a-z_]+)$")
# check_row's columns that describe the company's site: ours come from the database, so an error
# there is about the company's record, never about what was typed.
SITE_COLUMNS = ("ref", "company_name", "postcode", "city")
PLACEHOLDER_REF = "atelier"  # check_row wants a reference; workshop entries have none


class Attendee(NamedTuple):
    """A company that may be chosen in the entry table, with the site its listings will be placed at."""

    company_id: int
    name: str
    postcode: str | None = None  # None: no site in the workshop's territory
    city: str | None = None
    is_refused: bool = False


@dataclass
class EntryLine:
    """One non-empty row of the entry table: what was typed, and either a checked row or its errors
    (field → messages; the key "" holds what concerns the whole row)."""

    index: int  # position in the table, from 0
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    row: ImportRow | None = None
    company_id: int | None = None

    @property
    def number(self) -> int:
        return self.index + 1

    def add_error(self, name: str, message: str) -> None:
        messages = self.errors.setdefault(name, [])
        if message not in messages:
            messages.append(message)


def blank_values() -> dict[str, str]:
    return {name: "" for name in ENTRY_FIELDS} | {"kind": "offer", "frequency": "once"}


def blank_rows(count: int) -> list[dict[str, str]]:
    return [blank_values() for _ in range(count)]


def read_rows(form: Mapping[str, str]) -> list[dict[str, str]]:
    """The rows posted as `rows-<i>-<field>`, in the order of i (gaps closed), MAX_ROWS at most.
    Values are stripped and cut to a sane length; unknown fields are dropped."""
    by_index: dict[int, dict[str, str]] = {}
    for key in form:
        matched = ROW_FIELD.match(key)
        if not matched or matched[2] not in ENTRY_FIELDS:
            continue
        value = form.get(key) or ""
        by_index.setdefault(int(matched[1]), {})[matched[2]] = value.strip()[:MAX_FIELD_LENGTH]
    rows = []
    for index in sorted(by_index)[:MAX_ROWS]:
        rows.append(blank_values() | {"kind": "", "frequency": ""} | by_index[index])
    return rows


def is_blank(values: Mapping[str, str]) -> bool:
    return not any(str(values.get(name) or "").strip() for name in CONTENT_FIELDS)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] if message else message


def check_entry(index: int, values: Mapping[str, str], attendees: Mapping[int, Attendee]) -> EntryLine:
    """Every check of one row, all its errors at once. `attendees`: the companies one may choose, by id."""
    line = EntryLine(index, dict(values))

    def get(name: str) -> str:
        return str(values.get(name) or "").strip()

    attendee = None
    raw_company = get("company_id")
    if not raw_company:
        line.add_error("company_id", _("Choisissez l'entreprise."))
    elif not (raw_company.isascii() and raw_company.isdigit() and int(raw_company) in attendees):
        line.add_error("company_id", _("Entreprise inconnue de cet atelier : choisissez parmi les participantes."))
    else:
        attendee = attendees[int(raw_company)]
        if attendee.is_refused:
            line.add_error("company_id", _("Cette entreprise a été refusée : ses annonces ne peuvent pas être "
                                           "publiées."))
        elif attendee.postcode is None:
            line.add_error("company_id", _("Cette entreprise n'a pas de site dans le territoire de l'atelier : "
                                           "ajoutez-lui un site, ou choisissez une autre entreprise."))
    if get("kind") not in KINDS:
        line.add_error("kind", _("Offre ou besoin ?"))
    if not get("category"):
        line.add_error("category", _("Choisissez une catégorie."))
    elif get("category") not in CATEGORIES:
        line.add_error("category", _("Catégorie inconnue : choisissez dans la liste."))

    located = attendee is not None and attendee.postcode is not None
    checked = check_row(index + 1, {
        "ref": PLACEHOLDER_REF, "kind": get("kind") or "offer", "company_name": attendee.name if located else "-",
        "postcode": attendee.postcode if located else "", "city": (attendee.city or "") if located else "",
        "title": get("title"), "description": get("description"), "category": get("category"),
        "waste_code": get("waste_code"), "quantity": get("quantity"), "unit": get("unit"),
        "frequency": get("frequency") or "once",
    })
    for error in checked.errors:
        if error.field in SITE_COLUMNS:
            if located:  # the company's own record is wrong, not the row
                line.add_error("company_id", _("Adresse du site de l'entreprise à corriger (%(reason)s).",
                                               reason=error.message))
            continue
        if error.field in line.errors:
            continue  # already said more simply above
        if error.field == "unit" and not get("unit"):
            line.add_error("unit", _("Choisissez l'unité de la quantité."))
            continue
        line.add_error(error.field if error.field in ENTRY_FIELDS else "", _sentence(error.message))
    if not line.errors:
        line.row = checked.row
        line.company_id = attendee.company_id
    return line


def check_entries(rows: list[Mapping[str, str]], attendees: Mapping[int, Attendee]) -> list[EntryLine]:
    """The non-empty rows, checked (empty rows are ignored: they keep their place in the table)."""
    return [check_entry(index, values, attendees) for index, values in enumerate(rows) if not is_blank(values)]


def keep_within(parsed: ParsedFile, territories: list) -> int:
    """Refuse the spreadsheet lines whose postcode lies outside the workshop's territory (they are shown
    as errors and never imported); returns how many were refused."""
    refused = 0
    for line in parsed.lines:
        if line.row is None or line.errors or in_territories(line.row, territories):
            continue
        line.errors.append(RowError(line.number, "postcode", _(
            "code postal %(postcode)s hors du territoire de l'atelier : seules les entreprises de ce territoire "
            "peuvent y participer", postcode=line.row.postcode)))
        line.row = None
        refused += 1
    return refused


# --- reports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opportunity:
    """A stored match (an offer and a need) of which at least one side was entered at the workshop.
    `offer` and `need` are listings (anything with id, kind, category, company_id, company)."""

    match_id: int
    offer: Any
    need: Any
    score: float
    reasons: list = field(default_factory=list, hash=False, compare=False)
    offer_at_workshop: bool = True
    need_at_workshop: bool = True

    @property
    def distance_km(self) -> float | None:
        return distance_from_reasons(self.reasons)

    @property
    def category(self) -> str:
        """What the opportunity is about: the resource offered."""
        return self.offer.category

    @property
    def company_ids(self) -> tuple[int, int]:
        return self.offer.company_id, self.need.company_id

    def side_of(self, listing_id: int):
        """(the listing of that side, the listing of the other side)."""
        return (self.offer, self.need) if self.offer.id == listing_id else (self.need, self.offer)


def distance_from_reasons(reasons: Iterable[Mapping]) -> float | None:
    """The distance recorded by the scoring among a match's reasons, in km; None if unknown."""
    for reason in reasons or ():
        if reason.get("code") == "distance":
            try:
                return float(reason.get("detail"))
            except (TypeError, ValueError):
                return None
    return None


def _best_first(opportunities: Iterable[Opportunity]) -> list[Opportunity]:
    return sorted(opportunities, key=lambda o: (-o.score, o.match_id))


@dataclass
class ResourceGroup:
    """One resource offered (an offer) and its opportunities, best first."""

    offer: Any
    opportunities: list[Opportunity]

    @property
    def count(self) -> int:
        return len(self.opportunities)


def by_category(opportunities: Iterable[Opportunity]) -> list[tuple[str, list[ResourceGroup]]]:
    """The collective report's sections: by category of the resource offered (in the order of the
    domain's categories), then by resource (the offer), the resource with the best opportunity first;
    within a resource, best first."""
    categories: dict[str, dict[int, list[Opportunity]]] = {}
    for opportunity in opportunities:
        categories.setdefault(opportunity.category, {}).setdefault(opportunity.offer.id, []).append(opportunity)
    order = {slug: i for i, slug in enumerate(CATEGORIES)}
    sections = []
    for slug in sorted(categories, key=lambda s: (order.get(s, len(order)), s)):
        groups = [ResourceGroup(items[0].offer, _best_first(items)) for items in categories[slug].values()]
        groups.sort(key=lambda g: (-g.opportunities[0].score, g.offer.id))
        sections.append((slug, groups))
    return sections


@dataclass
class ReportEntry:
    """One of a company's listings and its opportunities, best first."""

    listing: Any
    at_workshop: bool
    opportunities: list[Opportunity]

    def partners(self) -> list[tuple[Opportunity, Any]]:
        """Each opportunity with the other side's listing."""
        return [(o, o.side_of(self.listing.id)[1]) for o in self.opportunities]


def company_entries(company_id: int, workshop_listings: Iterable[Any],
                    opportunities: Iterable[Opportunity]) -> list[ReportEntry]:
    """A company's report: each of its listings entered at the workshop (offers first), with its
    opportunities; then its other listings that an opportunity of the workshop involves."""
    opportunities = list(opportunities)
    own = [listing for listing in workshop_listings if listing.company_id == company_id]
    own_ids = {listing.id for listing in own}
    others: dict[int, Any] = {}
    for opportunity in opportunities:
        for listing in (opportunity.offer, opportunity.need):
            if listing.company_id == company_id and listing.id not in own_ids:
                others.setdefault(listing.id, listing)

    def entry(listing, at_workshop: bool) -> ReportEntry:
        return ReportEntry(listing, at_workshop, _best_first(
            o for o in opportunities if listing.id in (o.offer.id, o.need.id)))

    def order(listing):
        return (listing.kind != "offer", listing.id)

    return ([entry(listing, True) for listing in sorted(own, key=order)]
            + [entry(listing, False) for listing in sorted(others.values(), key=order)])


class Counts(NamedTuple):
    companies: int
    haves: int
    wants: int
    opportunities: int
    # Opportunities whose two companies both attended the workshop.
    between_attendees: int
    # Attending companies with at least one opportunity.
    companies_with_opportunities: int


def counts(attendee_ids: Iterable[int], workshop_listings: Iterable[Any],
           opportunities: Iterable[Opportunity]) -> Counts:
    attendee_ids = set(attendee_ids)
    listings = list(workshop_listings)
    opportunities = list(opportunities)
    involved = {company for o in opportunities for company in o.company_ids} & attendee_ids
    return Counts(
        companies=len(attendee_ids),
        haves=sum(1 for listing in listings if listing.kind == "offer"),
        wants=sum(1 for listing in listings if listing.kind == "need"),
        opportunities=len(opportunities),
        between_attendees=sum(1 for o in opportunities if set(o.company_ids) <= attendee_ids),
        companies_with_opportunities=len(involved),
    )


def opportunities_per_company(opportunities: Iterable[Opportunity]) -> Counter:
    """How many opportunities concern each company (an opportunity counts for both of its companies)."""
    tally: Counter = Counter()
    for opportunity in opportunities:
        for company_id in set(opportunity.company_ids):
            tally[company_id] += 1
    return tally


def recipients(members: Iterable[Any]) -> list[Any]:
    """The members a company's report is mailed to: active accounts with an address, each address once."""
    seen: set[str] = set()
    out = []
    for user in sorted(members, key=lambda u: u.id):
        address = (user.email or "").strip().lower()
        if not user.is_active or not address or address in seen:
            continue
        seen.add(address)
        out.append(user)
    return out
