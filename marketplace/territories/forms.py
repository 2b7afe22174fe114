from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import NumberInput

from marketplace import labels, reference
from marketplace.territories.rules import parse_codes


class TerritoryForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[InputRequired(), Length(max=120)])
    kind = SelectField(_l("Définition"), choices=[])
    postcodes = TextAreaField(_l("Codes postaux"), validators=[Optional(), Length(max=20000)],
                              description=_l("Séparés par des espaces ou des virgules."))
    departements = StringField(_l("Départements"), validators=[Optional(), Length(max=255)],
                               description=_l("Par exemple : 29 56 22"))
    center_postcode = StringField(_l("Code postal du centre"), validators=[Optional(), Length(min=5, max=5)])
    radius_km = FloatField(_l("Rayon (km)"), validators=[Optional(), NumberRange(min=1, max=500)],
                           widget=NumberInput(step="any"))
    dormant_after_days = IntegerField(_l("Annonce dormante après (jours)"), default=60,
                                      validators=[InputRequired(), NumberRange(min=7, max=730)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = labels.choices(labels.TERRITORY_KINDS)

    def validate_postcodes(self, field):
        codes = parse_codes(field.data)
        if self.kind.data == "postcodes" and not codes:
            raise ValidationError(_l("Indiquez au moins un code postal."))
        unknown = [c for c in codes if c not in reference.postcodes()]
        if unknown:
            raise ValidationError(_l("Codes postaux inconnus : %(codes)s", codes=", ".join(unknown[:10])))
        field.data = " ".join(dict.fromkeys(codes))

    def validate_departements(self, field):
        codes = parse_codes(field.data)
        if self.kind.data == "departements" and not codes:
            raise ValidationError(_l("Indiquez au moins un département."))
        known = {reference.departement_of(p) for p in reference.postcodes()}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValidationError(_l("Départements inconnus : %(codes)s", codes=", ".join(unknown)))
        field.data = " ".join(dict.fromkeys(codes))

    def validate_center_postcode(self, field):
        if self.kind.data != "radius":
            return
        if not field.data or not reference.postcodes().get(field.data.strip()):
            raise ValidationError(_l("Indiquez un code postal connu pour le centre."))

    def validate_radius_km(self, field):
        if self.kind.data == "radius" and not field.data:
            raise ValidationError(_l("Indiquez un rayon en kilomètres."))


class AssignPractitionerForm(FlaskForm):
    email = EmailField(_l("E-mail de l'animateur·rice"), validators=[InputRequired(), Email(), Length(max=254)])
