"""Words for synergy stages, kinds and origins (French source strings, translated)."""
from flask_babel import lazy_gettext as _l

STAGES = {
    "idea": _l("En idée"),
    "discussion": _l("En discussion"),
    "negotiation": _l("En négociation"),
    "implementation": _l("Mise en œuvre"),
    "finalising": _l("En finalisation"),
    "completed": _l("Achevée"),
    "blocked": _l("Bloquée"),
    "abandoned": _l("Abandonnée"),
}
KINDS = {"ME": _l("Matières-énergies"), "TH": _l("Territoire-hommes")}
ORIGINS = {"match": _l("Mise en relation"), "auction": _l("Enchères"), "manual": _l("Saisie par l'animation")}
