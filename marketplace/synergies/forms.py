"""Synergy forms: a new synergy, its description, a stage move, the next action, benefits, emission factors."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from marketplace import labels as common_labels
from marketplace.fields import FiniteDecimalField
from marketplace.synergies import labels, rules
from marketplace.synergies.services import BENEFIT_FIGURES

NONE = 0  # the "nobody / nothing" choice of integer selects


def _sub_type_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(sub, f"{kind} · {labels.SUB_TYPES[sub]}")
                          for kind in rules.KINDS for sub in rules.SUB_TYPES[kind]]


def _check_sub_type(form) -> None:
    if not rules.sub_type_allowed(form.kind.data, form.sub_type.data or None):
        raise ValidationError(_l("Ce sous-type ne correspond pas au type de synergie."))


class DescriptionFields(FlaskForm):
    title = StringField(_l("Intitulé"), validators=[InputRequired(), Length(min=3, max=200)],
                        description=_l("La ressource ou le service échangé, par exemple « Drêches de brasserie »."))
    kind = SelectField(_l("Type"), choices=[])
    sub_type = SelectField(_l("Sous-type"), choices=[], validators=[Optional()])
    is_continuous = BooleanField(_l("Synergie continue (flux régulier) ; décochée : ponctuelle"))
    quantity = FiniteDecimalField(_l("Quantité"), places=3,
                                  validators=[Optional(), NumberRange(min=Decimal("0.001"), max=rules.MAX_FIGURE)])
    unit = SelectField(_l("Unité"), choices=[], validators=[Optional()])
    notes = TextAreaField(_l("Notes de suivi"), validators=[Optional(), Length(max=8000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = common_labels.choices(labels.KINDS)
        self.sub_type.choices = _sub_type_choices()
        self.unit.choices = common_labels.choices(common_labels.UNITS, blank="—")

    def validate_sub_type(self, field):
        _check_sub_type(self)


class SynergyForm(DescriptionFields):
    """A synergy entered by a practitioner."""

    territory_id = SelectField(_l("Territoire"), coerce=int, choices=[])
    giver_id = SelectField(_l("Entreprise qui cède (ou qui propose)"), coerce=int, choices=[])
    taker_id = SelectField(_l("Entreprise qui reçoit (ou qui utilise)"), coerce=int, choices=[])
    stage = SelectField(_l("Étape"), choices=[])
    next_action = StringField(_l("Prochaine action"), validators=[Optional(), Length(max=255)])
    next_action_due = DateField(_l("Échéance"), validators=[Optional()])
    listing_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,10}$")])

    def __init__(self, *args, territories=(), companies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.territory_id.choices = [(t.id, t.name) for t in territories]
        company_choices = [(c.id, c.name) for c in companies]
        self.giver_id.choices = company_choices
        self.taker_id.choices = company_choices
        self.stage.choices = [(s, str(labels.STAGES[s])) for s in rules.PIPELINE]

    def validate_taker_id(self, field):
        if field.data == self.giver_id.data:
            raise ValidationError(_l("Choisissez deux entreprises différentes."))


class EditForm(DescriptionFields):
    followed_by_id = SelectField(_l("Suivie par"), coerce=int, choices=[])

    def __init__(self, *args, practitioners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.followed_by_id.choices = [(NONE, str(_l("Toute l'animation du territoire")))] + [
            (u.id, u.full_name) for u in practitioners]

    def data_for_service(self) -> dict:
        return {"title": self.title.data, "kind": self.kind.data, "sub_type": self.sub_type.data or None,
                "is_continuous": bool(self.is_continuous.data), "quantity": self.quantity.data,
                "unit": self.unit.data or None, "notes": self.notes.data or "",
                "followed_by_id": self.followed_by_id.data or None}


class MoveForm(FlaskForm):
    stage = SelectField(_l("Nouvelle étape"), choices=[])
    reason = SelectField(_l("Motif (si bloquée ou abandonnée)"), choices=[], validators=[Optional()])
    note = StringField(_l("Précision"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage.choices = [(s, str(labels.STAGES[s])) for s in (targets if targets is not None else rules.STAGES)]
        self.reason.choices = common_labels.choices(labels.STOP_REASONS, blank="—")


class NextActionForm(FlaskForm):
    next_action = StringField(_l("Prochaine action"), validators=[Optional(), Length(max=255)])
    next_action_due = DateField(_l("Échéance"), validators=[Optional()])


class BenefitForm(FlaskForm):
    """Every figure is optional (empty: unknown). CO2e is typed in, or computed from a factor."""

    tonnes_reused = FiniteDecimalField(labels.BENEFIT_FIGURES["tonnes_reused"], places=3)
    tonnes_diverted = FiniteDecimalField(labels.BENEFIT_FIGURES["tonnes_diverted"], places=3)
    tonnes_virgin_substituted = FiniteDecimalField(labels.BENEFIT_FIGURES["tonnes_virgin_substituted"], places=3)
    mwh_saved = FiniteDecimalField(labels.BENEFIT_FIGURES["mwh_saved"], places=3)
    mwh_produced = FiniteDecimalField(labels.BENEFIT_FIGURES["mwh_produced"], places=3)
    emission_factor = SelectField(_l("Calculer les t CO2e avec le facteur"), choices=[], validators=[Optional()])
    co2e_basis = SelectField(_l("appliqué à"), choices=[], validators=[Optional()],
                             description=_l("Par défaut : la première quantité renseignée dans l'unité du facteur."))
    co2e_tonnes = FiniteDecimalField(labels.BENEFIT_FIGURES["co2e_tonnes"], places=2,
                                     description=_l("À saisir seulement sans facteur : avec un facteur, le calcul "
                                                    "remplace cette valeur."))
    eur_saved = FiniteDecimalField(labels.BENEFIT_FIGURES["eur_saved"], places=2)
    eur_additional_sales = FiniteDecimalField(labels.BENEFIT_FIGURES["eur_additional_sales"], places=2)
    jobs = FiniteDecimalField(labels.BENEFIT_FIGURES["jobs"], places=1)
    m2_shared = FiniteDecimalField(labels.BENEFIT_FIGURES["m2_shared"], places=1)
    private_investment_eur = FiniteDecimalField(labels.BENEFIT_FIGURES["private_investment_eur"], places=2)
    public_investment_eur = FiniteDecimalField(labels.BENEFIT_FIGURES["public_investment_eur"], places=2)
    note = TextAreaField(_l("Commentaire (source des chiffres, hypothèses)"), validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, factors=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name in BENEFIT_FIGURES:
            self[name].validators = [Optional(), NumberRange(min=0, max=rules.MAX_FIGURE)]
        self.emission_factor.choices = [("", "—")] + [
            (f.key, f"{f.label} ({common_labels.format_quantity(f.kg_co2e_per_unit)} kg CO2e "
                    f"{labels.FACTOR_UNITS[f.unit]})") for f in factors]
        self.co2e_basis.choices = [("", "—")] + [(name, str(labels.BENEFIT_FIGURES[name]))
                                                 for unit in rules.FACTOR_UNITS for name in rules.CO2E_BASES[unit]]

    def figures(self) -> dict:
        return {name: self[name].data for name in BENEFIT_FIGURES}


class EmissionFactorForm(FlaskForm):
    key = StringField(_l("Code"), validators=[
        InputRequired(), Length(max=60), Regexp(r"^[a-z0-9_]+$", message=_l("Minuscules, chiffres et _ seulement."))])
    label = StringField(_l("Libellé"), validators=[InputRequired(), Length(max=200)])
    kg_co2e_per_unit = FiniteDecimalField(_l("kg CO2e évités par unité"), places=3,
                                          validators=[InputRequired(), NumberRange(min=0, max=Decimal("1000000"))])
    unit = SelectField(_l("Unité"), choices=[])
    source = TextAreaField(_l("Source"), validators=[InputRequired(), Length(max=2000)],
                           description=_l("Base Empreinte / Base Carbone de l'ADEME, étude, hypothèse : "
                                          "d'où vient la valeur, et si elle reste à vérifier."))
    is_active = BooleanField(_l("Proposé lors de la saisie des bénéfices"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit.choices = [(u, f"kg CO2e {labels.FACTOR_UNITS[u]}") for u in rules.FACTOR_UNITS]
