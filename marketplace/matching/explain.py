"""Reasons of a match in words (French source strings, translated)."""
from flask_babel import gettext as _

from marketplace import labels


def reason_text(reason: dict) -> str:
    code, detail = reason.get("code"), reason.get("detail", "")
    if code == "concept":
        return _("même ressource : %(what)s", what=detail)
    if code == "use":
        return _("débouché habituel : %(what)s", what=detail)
    if code == "words":
        return _("mots en commun : %(words)s", words=detail)
    if code == "waste_code":
        return _("même famille de déchets (%(code)s)", code=detail)
    if code == "distance":
        return _("à %(km)s km", km=detail)
    if code == "category":
        return _("même catégorie (%(category)s)", category=labels.CATEGORIES_SHORT.get(detail, detail))
    if code == "quantity":
        return _("quantités compatibles")
    return detail or code


def reasons_text(reasons: list[dict]) -> list[str]:
    return [reason_text(r) for r in reasons]
