import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from stdnum.fr import siret as stdnum_siret
from wtforms import (
    BooleanField,
    EmailField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace import labels, reference
from marketplace.accounts.models import Company
from marketplace.extensions import db


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def clean_siret(raw: str | None) -> str | None:
    """14 digits with a valid check digit, spaces allowed when typed; ValueError otherwise."""
    if not raw or not raw.strip():
        return None
    compact = stdnum_siret.compact(raw)
    if not stdnum_siret.is_valid(compact):
        raise ValueError(raw)
    return compact


class SiteFieldsMixin:
    def validate_postcode(self, field):
        if not reference.postcodes().get((field.data or "").strip()):
            raise ValidationError(_l("Code postal inconnu."))

    def validate_city(self, field):
        postcode = (self.postcode.data or "").strip()
        communes = reference.communes_for(postcode)
        if communes and not field.data:
            field.data = communes[0]


class SiteForm(SiteFieldsMixin, FlaskForm):
    name = StringField(_l("Nom du site"), validators=[InputRequired(), Length(max=120)])
    address = StringField(_l("Adresse"), validators=[Optional(), Length(max=255)])
    postcode = StringField(_l("Code postal"), validators=[InputRequired(), Length(min=5, max=5)])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=120)])


class CompanyForm(FlaskForm):
    name = StringField(_l("Raison sociale"), validators=[InputRequired(), Length(max=160)])
    siret = StringField(_l("SIRET"), validators=[Optional(), Length(max=20)],
                        description=_l("14 chiffres ; facultatif."))
    naf_code = StringField(_l("Code NAF"), validators=[Optional(), Length(max=8)],
                           description=_l("Par exemple 10.20Z ; facultatif."))
    description = TextAreaField(_l("Activité"), validators=[Optional(), Length(max=4000)])
    contact_name = StringField(_l("Contact"), validators=[Optional(), Length(max=120)])
    contact_email = EmailField(_l("E-mail de contact"), validators=[Optional(), Email(), Length(max=254)])
    contact_phone = StringField(_l("Téléphone de contact"), validators=[Optional(), Length(max=40)])
    website = URLField(_l("Site web"), validators=[Optional(), Length(max=255)])
    is_solution_provider = BooleanField(_l("Nous sommes apporteurs de solutions (recycleur, valoriste, collecteur)"))
    handled_categories = MultiCheckboxField(_l("Familles de ressources traitées"), choices=[])
    handled_waste_codes = TextAreaField(
        _l("Codes déchets acceptés"), validators=[Optional(), Length(max=4000)],
        description=_l("Codes à 6 chiffres séparés par des virgules, par exemple 15 01 03, 20 01 08."),
    )
    treatment_operations = MultiCheckboxField(_l("Opérations de traitement autorisées"), choices=[])

    def __init__(self, *args, company_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.company_id = company_id
        self.handled_categories.choices = labels.choices(labels.CATEGORIES_SHORT)
        self.treatment_operations.choices = [
            (code, f"{code} — {desc[:70]}") for code, (_family, desc) in reference.treatment_operations().items()
        ]

    def validate_siret(self, field):
        try:
            field.data = clean_siret(field.data)
        except ValueError:
            raise ValidationError(_l("SIRET invalide : 14 chiffres avec une clé de contrôle correcte."))
        if field.data and db.session.scalar(
            sa.select(Company.id).where(Company.siret == field.data, Company.id != (self.company_id or 0))
        ):
            raise ValidationError(_l("Ce SIRET est déjà enregistré pour une autre entreprise."))

    def validate_naf_code(self, field):
        try:
            field.data = reference.normalize_naf(field.data)
        except ValueError:
            raise ValidationError(_l("Code NAF inconnu dans la nomenclature NAF rév. 2 (format 10.20Z)."))

    def validate_website(self, field):
        if field.data and not field.data.startswith(("http://", "https://")):
            raise ValidationError(_l("L'adresse doit commencer par http:// ou https://."))

    def validate_handled_waste_codes(self, field):
        codes, bad = [], []
        for raw in (field.data or "").replace(";", ",").split(","):
            if not raw.strip():
                continue
            try:
                codes.append(reference.waste_code_entry(raw).code)
            except ValueError:
                bad.append(raw.strip())
        if bad:
            raise ValidationError(_l("Codes déchets inconnus : %(codes)s", codes=", ".join(bad)))
        field.data = ", ".join(dict.fromkeys(codes))


class NewCompanyForm(SiteFieldsMixin, CompanyForm):
    site_name = StringField(_l("Nom du site principal"), validators=[InputRequired(), Length(max=120)],
                            default=_l("Siège"))
    address = StringField(_l("Adresse"), validators=[Optional(), Length(max=255)])
    postcode = StringField(_l("Code postal"), validators=[InputRequired(), Length(min=5, max=5)])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=120)])


class InviteForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail du collègue"), validators=[InputRequired(), Email(), Length(max=254)])
