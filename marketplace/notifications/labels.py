"""Words for the notification kinds and delivery modes (French source strings, translated)."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "match": _l("Correspondances avec vos annonces"),
    "alert": _l("Alertes (recherches enregistrées)"),
    "message": _l("Messages des entreprises"),
    "moderation": _l("Validation de vos annonces"),
    "pending": _l("Annonces à valider (animation)"),
    "auction": _l("Enchères de ressources (invitations, lots, attributions)"),
    "synergy": _l("Synergies (nouvelles synergies, actions à mener)"),
}
KIND_SHORT = {
    "match": _l("Correspondance"),
    "alert": _l("Alerte"),
    "message": _l("Message"),
    "moderation": _l("Validation"),
    "pending": _l("À valider"),
    "auction": _l("Enchères"),
    "synergy": _l("Synergie"),
}
MODE_LABELS = {
    "instant": _l("Tout de suite, par e-mail"),
    "daily": _l("Un résumé par jour"),
    "off": _l("Jamais"),
}
