"""Workshop forms. The entry table's rows are not WTForms fields (their number changes on the page):
`rules.read_rows` reads them and `rules.check_entries` checks them; the form carries the CSRF token
and the options around them."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from marketplace.companies.forms import MultiCheckboxField
from marketplace.imports.forms import UploadForm

NOTIFY_LABEL = _l("Prévenir dès maintenant les entreprises dont les annonces correspondent")
NOTIFY_HINT = _l("Sinon, chaque entreprise de l'atelier découvre ses opportunités dans son rapport.")


class WorkshopForm(FlaskForm):
    title = StringField(_l("Intitulé"), validators=[InputRequired(), Length(min=3, max=160)],
                        description=_l("Par exemple « Atelier ressources de la ZA de Kerambris »."))
    held_on = DateField(_l("Date"), validators=[InputRequired()])
    place = StringField(_l("Lieu"), validators=[Optional(), Length(max=255)])
    company_ids = MultiCheckboxField(_l("Entreprises participantes"), coerce=int, choices=[],
                                     validate_choice=False)
    notes = TextAreaField(_l("Notes (pour l'animation, jamais envoyées aux entreprises)"),
                          validators=[Optional(), Length(max=8000)])

    def __init__(self, *args, companies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.company_ids.choices = [(c.id, c.name) for c in companies]

    def chosen(self, companies) -> list:
        """The companies checked, among those offered (anything else posted is ignored)."""
        ids = set(self.company_ids.data or ())
        return [c for c in companies if c.id in ids]


class NewWorkshopForm(WorkshopForm):
    territory_id = SelectField(_l("Territoire"), coerce=int, choices=[])

    def __init__(self, *args, territories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.territory_id.choices = [(t.id, t.name) for t in territories]


class EntryForm(FlaskForm):
    notify = BooleanField(NOTIFY_LABEL, description=NOTIFY_HINT)


class WorkshopUploadForm(UploadForm):
    """The import's upload form; a workshop import always publishes, so its choice is not offered."""

    notify = BooleanField(NOTIFY_LABEL, description=NOTIFY_HINT)


class SendForm(FlaskForm):
    resend = BooleanField(_l("Renvoyer aussi leur rapport aux entreprises qui l'ont déjà reçu"))
