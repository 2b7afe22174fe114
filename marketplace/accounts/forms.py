from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import (
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)


PASSWORD_MIN = 10
PASSWORD_MAX = 256  # a bound on what the hash is asked to digest, and what the browser lets one type


class PasswordStrength:
    """At least 10 characters and not only letters or only digits."""

    def __call__(self, form, field):
        value = field.data or ""
        if len(value) < PASSWORD_MIN:
            raise ValidationError(_l("Au moins %(n)s caractères.", n=PASSWORD_MIN))
        if value.isalpha() or value.isdigit():
            raise ValidationError(_l("Mélangez lettres et chiffres ou signes."))


class SignUpForm(FlaskForm):
    full_name = StringField(_l("Nom et prénom"), validators=[InputRequired(), Length(max=120)])
    email = EmailField(_l("Adresse e-mail professionnelle"), validators=[InputRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[InputRequired(), Length(max=PASSWORD_MAX), PasswordStrength()])
    password_again = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[InputRequired(), Length(max=PASSWORD_MAX),
                    EqualTo("password", message=_l("Les deux mots de passe diffèrent."))],
    )
    accept_terms = BooleanField(
        _l("J'accepte que mes coordonnées professionnelles soient visibles des membres connectés"),
        validators=[InputRequired(message=_l("Cochez cette case pour créer un compte."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[InputRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[InputRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField(_l("Rester connecté"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[InputRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Nouveau mot de passe"), validators=[InputRequired(), Length(max=PASSWORD_MAX), PasswordStrength()])
    password_again = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[InputRequired(), Length(max=PASSWORD_MAX),
                    EqualTo("password", message=_l("Les deux mots de passe diffèrent."))],
    )


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Nom et prénom"), validators=[InputRequired(), Length(max=120)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=40)])
    locale = SelectField(_l("Langue"), choices=[("fr", "Français"), ("en", "English")])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Mot de passe actuel"), validators=[InputRequired(), Length(max=PASSWORD_MAX)])
    password = PasswordField(_l("Nouveau mot de passe"), validators=[InputRequired(), Length(max=PASSWORD_MAX), PasswordStrength()])
    password_again = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[InputRequired(), Length(max=PASSWORD_MAX),
                    EqualTo("password", message=_l("Les deux mots de passe diffèrent."))],
    )
