from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField
from wtforms.validators import InputRequired, Regexp

# secrets.token_urlsafe(24): 32 characters of the URL-safe base64 alphabet, nothing else.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{32}$"
EXTENSIONS = ("csv", "xlsx")


class UploadForm(FlaskForm):
    file = FileField(_l("Fichier CSV ou XLSX"), validators=[
        FileRequired(_l("Choisissez le fichier à importer.")),
        FileAllowed(EXTENSIONS, _l("Un fichier .csv ou .xlsx, s'il vous plaît.")),
    ])
    publish = BooleanField(_l("Publier directement les annonces (sinon elles restent en brouillon)"))
    notify = BooleanField(_l("Prévenir les entreprises dont les annonces correspondent"), default=True)


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[InputRequired(), Regexp(TOKEN_PATTERN)])
    publish = BooleanField(_l("Publier directement les annonces (sinon elles restent en brouillon)"))
    notify = BooleanField(_l("Prévenir les entreprises dont les annonces correspondent"))
