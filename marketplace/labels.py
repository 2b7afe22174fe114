"""Human labels (French source strings, translated by Flask-Babel) for the slugs of the domain."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_date as _format_date
from flask_babel import format_datetime as _format_datetime
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

KINDS = {"offer": _l("Offre"), "need": _l("Besoin")}
KINDS_PLURAL = {"offer": _l("Offres"), "need": _l("Besoins")}
CATEGORIES = {
    "materials": _l("Matières, déchets, coproduits"),
    "energy": _l("Énergie (chaleur fatale, vapeur, combustibles)"),
    "water": _l("Eau"),
    "equipment": _l("Matériel, machines"),
    "space": _l("Locaux, stockage, parking"),
    "logistics": _l("Transport, logistique"),
    "services": _l("Services mutualisés, achats groupés"),
    "skills": _l("Savoir-faire, expertise"),
    "staff": _l("Emplois en temps partagé"),
}
CATEGORIES_SHORT = {
    "materials": _l("Matières"),
    "energy": _l("Énergie"),
    "water": _l("Eau"),
    "equipment": _l("Matériel"),
    "space": _l("Locaux"),
    "logistics": _l("Logistique"),
    "services": _l("Services"),
    "skills": _l("Savoir-faire"),
    "staff": _l("Emplois partagés"),
}
UNITS = {
    "t": _l("t"),
    "kg": _l("kg"),
    "m3": _l("m³"),
    "L": _l("L"),
    "unit": _l("unité(s)"),
    "m2": _l("m²"),
    "MWh": _l("MWh"),
    "h": _l("heure(s)"),
    "day": _l("jour(s)"),
}
FREQUENCIES = {
    "once": _l("ponctuel"),
    "daily": _l("par jour"),
    "weekly": _l("par semaine"),
    "monthly": _l("par mois"),
    "yearly": _l("par an"),
}
PRICE_MODES = {
    "free": _l("Gratuit"),
    "priced": _l("Prix indiqué"),
    "negotiable": _l("À discuter"),
}
STATUSES = {
    "draft": _l("Brouillon"),
    "pending": _l("En attente de validation"),
    "published": _l("Publiée"),
    "reserved": _l("Réservée"),
    "closed": _l("Conclue"),
    "withdrawn": _l("Retirée"),
    "expired": _l("Expirée"),
}
EVENT_ACTIONS = {
    "created": _l("créée"),
    "edited": _l("modifiée"),
    "submitted": _l("soumise à validation"),
    "published": _l("publiée"),
    "approved": _l("approuvée"),
    "changes_requested": _l("renvoyée pour modification"),
    "refused": _l("refusée par l'animateur·rice"),
    "moderated": _l("corrigée par l'animateur·rice"),
    "company_refused": _l("retirée : entreprise refusée"),
    "reserve": _l("réservée"),
    "close": _l("conclue"),
    "reopen": _l("remise en ligne"),
    "withdraw": _l("retirée"),
    "expired": _l("expirée"),
    "imported": _l("importée"),
    "auction_lot": _l("mise aux enchères"),
    "auction_awarded": _l("attribuée aux enchères"),
    "renewed": _l("confirmée toujours disponible"),
}
ROLES = {"member": _l("Membre"), "practitioner": _l("Animateur·rice"), "admin": _l("Administrateur·rice")}
TERRITORY_KINDS = {
    "postcodes": _l("Liste de codes postaux"),
    "departements": _l("Départements"),
    "radius": _l("Rayon autour d'un point"),
}
OPERATION_FAMILIES = {"recovery": _l("Valorisation"), "disposal": _l("Élimination"), "grouping": _l("Regroupement")}


def choices(mapping: dict, blank: str | None = None) -> list[tuple[str, str]]:
    out = [(k, str(v)) for k, v in mapping.items()]
    return ([("", blank)] + out) if blank is not None else out


def format_eur(value) -> str:
    if value is None:
        return ""
    return format_decimal(Decimal(value), format="#,##0.00") + " €"


def format_quantity(value) -> str:
    if value is None:
        return ""
    value = Decimal(value)
    return format_decimal(value, format="#,##0.###")


def format_date(value: date | None) -> str:
    return _format_date(value, "medium") if value else ""


def format_datetime(value: datetime | None) -> str:
    return _format_datetime(value, "short") if value else ""


def price_text(listing) -> str:
    """How the price intention reads on a listing card."""
    if listing.price_mode == "free":
        return str(PRICE_MODES["free"])
    if listing.price_mode == "priced" and listing.unit_price_eur is not None:
        unit = UNITS.get(listing.unit or "", "")
        amount = Decimal(listing.unit_price_eur)
        if amount < 0:
            return str(_l("Le cédant paie %(amount)s / %(unit)s", amount=format_eur(-amount), unit=unit))
        return str(_l("%(amount)s / %(unit)s", amount=format_eur(amount), unit=unit))
    return str(PRICE_MODES["negotiable"])
