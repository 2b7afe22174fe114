"""Words for synergy stages, kinds, sub-types, origins, stop reasons, reporting groups and benefit
figures (French source strings, translated)."""
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
SUB_TYPES = {
    "substitution": _l("Substitution"),
    "reuse": _l("Réemploi"),
    "recycling": _l("Recyclage"),
    "energy_recovery": _l("Valorisation énergétique"),
    "methanisation": _l("Méthanisation"),
    "waste_heat": _l("Chaleur fatale"),
    "treatment": _l("Traitement"),
    "pooling": _l("Mutualisation"),
    "local_economy": _l("Économie locale"),
    "human_resources": _l("Ressources humaines"),
    "know_how": _l("Savoir-faire"),
}
ORIGINS = {"match": _l("Mise en relation"), "auction": _l("Enchères"), "manual": _l("Saisie par l'animation")}
STOP_REASONS = {
    "regulatory": _l("Réglementaire"),
    "technical": _l("Technique"),
    "financial": _l("Financier"),
    "distance": _l("Distance"),
    "motivation": _l("Motivation"),
    "other": _l("Autre"),
}
REPORTING_GROUPS = {
    "idea": _l("En idée"),
    "discussion": _l("En discussion"),
    "finalised": _l("Finalisées"),
    "stopped": _l("Bloquées / abandonnées"),
}
CONTINUITY = {True: _l("Continue"), False: _l("Ponctuelle")}
BENEFIT_STATUSES = {"declared": _l("Bénéfices déclarés"), "verified": _l("Bénéfices vérifiés")}
BENEFIT_FIGURES = {
    "tonnes_reused": _l("Tonnes réemployées ou recyclées"),
    "tonnes_diverted": _l("Tonnes détournées de l'enfouissement"),
    "tonnes_virgin_substituted": _l("Tonnes de matière vierge substituées"),
    "co2e_tonnes": _l("t CO2e évitées"),
    "mwh_saved": _l("MWh économisés"),
    "mwh_produced": _l("MWh produits à partir de déchets"),
    "eur_saved": _l("Euros économisés"),
    "eur_additional_sales": _l("Euros de ventes supplémentaires"),
    "jobs": _l("Emplois créés ou maintenus"),
    "m2_shared": _l("m² partagés"),
    "private_investment_eur": _l("Investissement privé (€)"),
    "public_investment_eur": _l("Investissement public (€)"),
}
CO2E_METHODS = {"computed": _l("calculées"), "entered": _l("saisies")}
FACTOR_UNITS = {"t": _l("par tonne"), "MWh": _l("par MWh")}
EVENT_ACTIONS = {
    "created": _l("Création"),
    "stage": _l("Changement d'étape"),
    "next_action": _l("Prochaine action"),
    "edited": _l("Modification"),
    "benefits_declared": _l("Bénéfices déclarés"),
    "benefits_verified": _l("Bénéfices vérifiés"),
}
