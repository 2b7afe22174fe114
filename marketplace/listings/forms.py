from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from marketplace import labels, reference
from marketplace.fields import FiniteDecimalField


class ListingForm(FlaskForm):
    kind = SelectField(_l("Type d'annonce"), choices=[])
    title = StringField(_l("Titre"), validators=[InputRequired(), Length(min=3, max=160)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=8000)])
    category = SelectField(_l("Catégorie"), choices=[])
    waste_code = StringField(
        _l("Code déchet"), validators=[Optional(), Length(max=12)],
        description=_l("Facultatif. Tapez un code ou un mot (ex. « palette », « 15 01 03 ») pour chercher."),
    )
    quantity = FiniteDecimalField(_l("Quantité"), places=3, validators=[Optional(), NumberRange(min=0, max=Decimal("1e10"))])
    unit = SelectField(_l("Unité"), choices=[])
    frequency = SelectField(_l("Fréquence"), choices=[])
    site_id = SelectField(_l("Site"), coerce=int, choices=[])
    price_mode = SelectField(_l("Prix"), choices=[])
    unit_price_eur = FiniteDecimalField(
        _l("Prix unitaire (€)"), places=2, validators=[Optional(), NumberRange(min=Decimal("-1e7"), max=Decimal("1e7"))],
        description=_l("Positif : le preneur paie. Négatif : vous payez le preneur (cas fréquent pour un déchet)."),
    )
    available_from = DateField(_l("Disponible à partir du"), validators=[Optional()])
    available_until = DateField(_l("Disponible jusqu'au"), validators=[Optional()])
    expires_on = DateField(_l("Date d'expiration de l'annonce"), validators=[Optional()])
    photos = MultipleFileField(_l("Photos"), description=_l("JPEG, PNG, WebP ou GIF, 8 Mo au plus chacune."))

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = labels.choices(labels.KINDS)
        self.category.choices = labels.choices(labels.CATEGORIES, blank=str(_l("— choisir —")))
        self.unit.choices = labels.choices(labels.UNITS, blank="")
        self.frequency.choices = labels.choices(labels.FREQUENCIES)
        self.price_mode.choices = labels.choices(labels.PRICE_MODES)
        self.site_id.choices = [(s.id, s.label) for s in sites]

    def validate_category(self, field):
        if field.data not in labels.CATEGORIES:
            raise ValidationError(_l("Choisissez une catégorie."))

    def validate_waste_code(self, field):
        try:
            entry = reference.waste_code_entry(field.data)
        except ValueError:
            raise ValidationError(_l("Code déchet inconnu de la liste européenne (6 chiffres, ex. 15 01 03)."))
        field.data = entry.code if entry else None

    def validate_unit(self, field):
        if self.quantity.data is not None and not field.data:
            raise ValidationError(_l("Précisez l'unité de la quantité."))
        field.data = field.data or None

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Not an inline validator: Optional() on the field stops the chain when it is left empty.
        if self.price_mode.data == "priced" and self.unit_price_eur.data is None and not self.unit_price_eur.errors:
            self.unit_price_eur.errors = [_l("Indiquez le prix, ou choisissez « gratuit » ou « à discuter ».")]
            valid = False
        return valid

    def validate_available_until(self, field):
        if field.data and self.available_from.data and field.data < self.available_from.data:
            raise ValidationError(_l("La fin de disponibilité précède son début."))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Motif (envoyé à l'entreprise)"), validators=[InputRequired(), Length(min=5, max=2000)])


class StatusForm(FlaskForm):
    action = HiddenField(validators=[InputRequired()])


class ListingFilterFields:
    """The filters of the listing index, shared with the saved searches (alertes) that repeat them."""

    kind = SelectField(_l("Type"), choices=[], validators=[Optional()])
    category = SelectField(_l("Catégorie"), choices=[], validators=[Optional()])
    territory = SelectField(_l("Territoire"), choices=[], validators=[Optional()])
    postcode = StringField(_l("Près du code postal"), validators=[Optional(), Length(min=5, max=5)])
    radius_km = IntegerField(_l("Rayon (km)"), default=30, validators=[Optional(), NumberRange(min=1, max=500)])

    def __init__(self, *args, territories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = labels.choices(labels.KINDS_PLURAL, blank=str(_l("Offres et besoins")))
        self.category.choices = labels.choices(labels.CATEGORIES_SHORT, blank=str(_l("Toutes")))
        self.territory.choices = [("", str(_l("Tous")))] + [(str(t.id), t.name) for t in territories]

    def validate_postcode(self, field):
        if field.data and not reference.postcodes().get(field.data.strip()):
            raise ValidationError(_l("Code postal inconnu."))


class BrowseForm(ListingFilterFields, FlaskForm):
    """Filters of the listing index (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Mots"), validators=[Optional(), Length(max=100)])
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=10_000)])
