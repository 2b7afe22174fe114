"""Words for auction states and actions (French source strings, translated)."""
from flask_babel import lazy_gettext as _l

MODES = {
    "live": _l("En salle, en direct"),
    "timed": _l("En ligne, round chronométré"),
    "sealed": _l("Sous pli (offres cachées jusqu'à la clôture)"),
}
MODES_SHORT = {"live": _l("En salle"), "timed": _l("En ligne"), "sealed": _l("Sous pli")}
SESSION_STATUSES = {"draft": _l("En préparation"), "open": _l("Ouverte"), "closed": _l("Close"),
                    "cancelled": _l("Annulée")}
ROUND_KINDS = {"main": _l("Round principal"), "follow_up": _l("Deuxième round")}
ROUND_STATUSES = {"scheduled": _l("Programmé"), "open": _l("Ouvert"), "closed": _l("Clos")}
LOT_STATUSES = {
    "awaiting_consent": _l("Attend l'accord du cédant"),
    "refused": _l("Refusé par le cédant"),
    "ready": _l("Prêt"),
    "open": _l("Enchères en cours"),
    "closed": _l("Clos, attribution à confirmer"),
    "settled": _l("Terminé"),
    "unclaimed": _l("Sans preneur"),
    "unsold": _l("Clos sans preneur"),
    "withdrawn": _l("Retiré"),
}
BID_STATUSES = {"active": _l("Active"), "superseded": _l("Remplacée"), "retracted": _l("Retirée")}
AWARD_STATUSES = {"proposed": _l("À confirmer"), "confirmed": _l("Confirmée"), "declined": _l("Déclinée"),
                  "undone": _l("Annulée")}
RETRACT_REASONS = {"typo": _l("Erreur de saisie"), "lot_changed": _l("Le lot a changé")}
EVENT_ACTIONS = {
    "put_up": _l("Mis en lot"),
    "consented": _l("Accord du cédant"),
    "consent_refused": _l("Refus du cédant"),
    "opened": _l("Ouvert aux enchères"),
    "presented": _l("Présenté en salle"),
    "last_call": _l("Dernières enchères"),
    "bid": _l("Enchère"),
    "bid_retracted": _l("Enchère retirée"),
    "extended": _l("Clôture prolongée"),
    "closed": _l("Clos"),
    "reopened": _l("Clôture annulée"),
    "award_confirmed": _l("Attribution confirmée"),
    "award_declined": _l("Attribution déclinée"),
    "passed_on": _l("Reste envoyé en deuxième round"),
    "settled": _l("Terminé"),
    "unclaimed": _l("Sans preneur"),
    "relaunched": _l("Relancé"),
    "unsold": _l("Clos sans preneur"),
    "withdrawn": _l("Retiré"),
}
