from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from marketplace import labels, reference


def waste_chapters() -> list[tuple[str, str]]:
    return [(w.code, f"{w.code} – {reference.waste_chapter_label(w.code)}")
            for w in reference.waste_codes().values() if w.level == "chapter"]


class SearchForm(FlaskForm):
    """The search page's query and filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Rechercher"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Type"), choices=[], validators=[Optional()])
    category = SelectField(_l("Catégorie"), choices=[], validators=[Optional()])
    chapter = SelectField(_l("Famille de déchets"), choices=[], validators=[Optional()])
    territory = SelectField(_l("Territoire"), choices=[], validators=[Optional()])
    hazardous = SelectField(_l("Déchets dangereux"), choices=[], validators=[Optional()])
    postcode = StringField(_l("Près du code postal"), validators=[Optional(), Length(min=5, max=5)])
    radius_km = IntegerField(_l("Rayon (km)"), default=30, validators=[Optional(), NumberRange(min=1, max=500)])
    sort = SelectField(_l("Trier par"), choices=[], validators=[Optional()])
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=10_000)])

    def __init__(self, *args, territories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = labels.choices(labels.KINDS_PLURAL, blank=str(_l("Offres et besoins")))
        self.category.choices = labels.choices(labels.CATEGORIES_SHORT, blank=str(_l("Toutes")))
        self.chapter.choices = [("", str(_l("Toutes")))] + waste_chapters()
        self.territory.choices = [("", str(_l("Tous")))] + [(str(t.id), t.name) for t in territories]
        self.hazardous.choices = [("", str(_l("Indifférent"))), ("1", str(_l("Dangereux seulement"))),
                                  ("0", str(_l("Non dangereux seulement")))]
        self.sort.choices = [("", str(_l("Automatique"))), ("relevance", str(_l("Pertinence"))),
                             ("newest", str(_l("Plus récentes"))), ("distance", str(_l("Distance")))]

    def validate_postcode(self, field):
        if field.data and not reference.postcodes().get(field.data.strip()):
            raise ValidationError(_l("Code postal inconnu."))

    def value(self, name: str):
        """A field's value if it is valid, else None (a bad filter is ignored, not fatal)."""
        f = self[name]
        return None if f.errors or f.data in ("", None) else f.data
