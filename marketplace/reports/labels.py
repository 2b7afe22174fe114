"""Words of the territory reports: why a filter was refused, the export columns, the chart titles
(French source strings, translated). Stage, kind, group and figure names come from synergies.labels."""
from flask_babel import lazy_gettext as _l

PROBLEMS = {
    "bad_territory": _l("Le territoire demandé n'est pas reconnu : tous vos territoires sont affichés."),
    "bad_start": _l("La date de début n'est pas une date valide (AAAA-MM-JJ) : elle est ignorée."),
    "bad_end": _l("La date de fin n'est pas une date valide (AAAA-MM-JJ) : elle est ignorée."),
    "start_after_end": _l("La date de début est postérieure à la date de fin : la période est ignorée."),
}
# The same problems for an export, which refuses rather than ignores (HTTP 400).
EXPORT_PROBLEMS = {
    "bad_territory": _l("Territoire invalide : indiquez l'identifiant numérique d'un de vos territoires."),
    "bad_start": _l("Date de début invalide : utilisez le format AAAA-MM-JJ."),
    "bad_end": _l("Date de fin invalide : utilisez le format AAAA-MM-JJ."),
    "start_after_end": _l("La date de début est postérieure à la date de fin."),
}
NO_REASON = _l("Motif non renseigné")
BENEFIT_BUCKETS = {
    "verified": _l("Vérifiés"),
    "verified_annual": _l("dont synergies continues (par an)"),
    "declared_pending": _l("Déclarés, pas encore vérifiés"),
}
# Short names of the charted figures, with their unit.
CHART_FIGURES = {
    "tonnes_reused": _l("t réemployées / recyclées"),
    "tonnes_diverted": _l("t détournées de l'enfouissement"),
    "tonnes_virgin_substituted": _l("t de matière vierge substituées"),
    "co2e_tonnes": _l("t CO2e évitées"),
    "mwh_saved": _l("MWh économisés"),
    "mwh_produced": _l("MWh produits"),
}
# Export columns, in order: key → heading.
COLUMNS = {
    "id": _l("N°"),
    "title": _l("Intitulé"),
    "territory": _l("Territoire"),
    "giver": _l("Entreprise qui donne"),
    "taker": _l("Entreprise qui reçoit"),
    "kind": _l("Type (ME/TH)"),
    "sub_type": _l("Sous-type"),
    "stage": _l("Étape"),
    "group": _l("Groupe de suivi"),
    "stop_reason": _l("Motif d'arrêt"),
    "is_continuous": _l("Continue"),
    "created": _l("Créée le"),
    "stage_changed": _l("Étape changée le"),
    "benefit_status": _l("Bénéfices"),
    "is_annual": _l("Chiffres par an"),
}
FACTOR_COLUMNS = {
    "co2e_method": _l("CO2e : méthode"),
    "co2e_basis": _l("CO2e : grandeur de base"),
    "emission_factor_key": _l("Facteur d'émission : code"),
    "emission_factor_label": _l("Facteur d'émission : libellé"),
    "emission_factor_value": _l("Facteur d'émission : kg CO2e par unité"),
    "emission_factor_unit": _l("Facteur d'émission : unité"),
    "emission_factor_source": _l("Facteur d'émission : source"),
}
BENEFIT_STATUS = {
    "verified": _l("vérifiés"),
    "declared": _l("déclarés, non vérifiés"),
    None: _l("aucun"),
}
YES_NO = {True: _l("oui"), False: _l("non")}
