"""What an edit changed in a listing, field by field (before → after), for its history.

Values are kept as plain JSON (decimals and dates as strings, slugs as slugs) in `ListingEvent.detail`,
so the history reads the same whatever happens to the listing later; `describe` turns them into words."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from marketplace import labels

# The fields an edit may change, in the order the history lists them ("site" is the site's label).
FIELD_LABELS = {
    "kind": _l("Type d'annonce"),
    "title": _l("Titre"),
    "description": _l("Description"),
    "category": _l("Catégorie"),
    "waste_code": _l("Code déchet"),
    "quantity": _l("Quantité"),
    "unit": _l("Unité"),
    "frequency": _l("Fréquence"),
    "price_mode": _l("Prix"),
    "unit_price_eur": _l("Prix unitaire (€)"),
    "available_from": _l("Disponible à partir du"),
    "available_until": _l("Disponible jusqu'au"),
    "expires_on": _l("Date d'expiration de l'annonce"),
    "site": _l("Site"),
}
_CHOICES = {"kind": labels.KINDS, "category": labels.CATEGORIES, "unit": labels.UNITS,
            "frequency": labels.FREQUENCIES, "price_mode": labels.PRICE_MODES}
_DATES = ("available_from", "available_until", "expires_on")
LONG_TEXT = 300  # characters of a description shown in the history


def plain(value):
    """A value as JSON keeps it and compares it: 12.000 and 12 are the same quantity."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    if value == "":
        return None
    return value


def snapshot(listing) -> dict:
    """The tracked fields of a listing, as plain values."""
    values = {field: plain(getattr(listing, field)) for field in FIELD_LABELS if field != "site"}
    values["site"] = listing.site.label if listing.site is not None else None
    return values


def diff(before: dict, after: dict) -> dict:
    """{field: {"before": …, "after": …}} for each field whose value changed."""
    return {field: {"before": before.get(field), "after": after.get(field)}
            for field in FIELD_LABELS if before.get(field) != after.get(field)}


def display(field: str, value) -> str:
    """One stored value in words: the label of a slug, a French date or number; "—" when empty."""
    if value is None or value == "":
        return "—"
    if field in _CHOICES:
        return str(_CHOICES[field].get(value, value))
    try:
        if field in _DATES:
            return labels.format_date(date.fromisoformat(value))
        if field == "quantity":
            return labels.format_quantity(Decimal(value))
        if field == "unit_price_eur":
            return labels.format_eur(Decimal(value))
    except (ValueError, TypeError, InvalidOperation):
        return str(value)
    text = str(value)
    return text if len(text) <= LONG_TEXT else text[:LONG_TEXT].rstrip() + "…"


def describe(detail: dict | None) -> list[tuple[str, str, str]]:
    """(field label, before, after) for each change recorded in an event's detail, in form order."""
    changes = (detail or {}).get("changes") or {}
    return [(str(label), display(field, changes[field].get("before")), display(field, changes[field].get("after")))
            for field, label in FIELD_LABELS.items() if field in changes]
