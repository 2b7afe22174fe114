from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length, Optional

from marketplace import labels
from marketplace.listings.forms import ListingFilterFields
from marketplace.notifications.labels import KIND_LABELS, MODE_LABELS
from marketplace.notifications.models import KINDS


class PreferencesForm(FlaskForm):
    """One choice per kind (instant, daily digest, never) and "tout couper"."""

    match = SelectField(KIND_LABELS["match"])
    alert = SelectField(KIND_LABELS["alert"])
    message = SelectField(KIND_LABELS["message"])
    moderation = SelectField(KIND_LABELS["moderation"])
    pending = SelectField(KIND_LABELS["pending"])
    auction = SelectField(KIND_LABELS["auction"])
    synergy = SelectField(KIND_LABELS["synergy"])
    everything_off = BooleanField(_l("Tout couper : ne plus rien recevoir, ni par e-mail ni dans l'application"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in KINDS:
            self[kind].choices = labels.choices(MODE_LABELS)

    def modes(self) -> dict[str, str]:
        return {kind: self[kind].data for kind in KINDS}


class MuteCategoryForm(FlaskForm):
    category = SelectField(_l("Catégorie"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = labels.choices(labels.CATEGORIES_SHORT)


class SavedSearchForm(ListingFilterFields, FlaskForm):
    """An alerte: the browse filters (same field names as the listing index) and a name."""

    name = StringField(_l("Nom de l'alerte"), validators=[Optional(), Length(max=120)],
                       description=_l("Facultatif : par défaut, les mots et filtres choisis."))
    q = StringField(_l("Mots"), validators=[Optional(), Length(max=200)],
                    description=_l("Chaque mot (ou un synonyme connu, ex. « GRVS » pour « big bag ») doit figurer dans l'annonce."))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        has_words = bool((self.q.data or "").strip())
        if valid and not has_words and not any(f.data for f in (self.category, self.territory, self.postcode)):
            self.q.errors = [_l("Indiquez des mots ou au moins un filtre : sans critère, l'alerte "
                                "vous préviendrait de chaque annonce.")]
            valid = False
        return valid

    def saved_search_data(self) -> dict:
        return {
            "name": self.name.data, "query": self.q.data, "kind": self.kind.data or None,
            "category": self.category.data or None,
            "territory_id": int(self.territory.data) if self.territory.data else None,
            "postcode": self.postcode.data, "radius_km": self.radius_km.data,
        }
