"""Sign-up, confirmation, log-in/out, password reset, profile."""
from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import services
from marketplace.accounts.models import User
from marketplace.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    SignUpForm,
)
from marketplace.extensions import db, limiter

bp = Blueprint("accounts", __name__, url_prefix="/compte")


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect a user to another site after log-in."""
    if not target:
        return None
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignUpForm()
    if form.validate_on_submit():
        email = services.normalize_email(form.email.data)
        services.sign_up(email, form.password.data, form.full_name.data, locale=session.get("locale", "fr"),
                         next_path=_safe_next(request.args.get("next")))
        db.session.commit()
        # The same answer whether the address already had an account or not (its owner gets an e-mail).
        flash(_("Un lien de confirmation vient d'être envoyé à %(email)s : ouvrez-le pour activer votre compte "
                "(pensez à regarder dans les indésirables).", email=email), "success")
        return redirect(url_for("accounts.login", email=email))
    return render_template("accounts/signup.html", form=form), (422 if form.errors else 200)


@bp.route("/confirmer/<token>")
def confirm(token):
    confirmation = services.confirm(token)
    if confirmation is None:
        flash(_("Ce lien de confirmation n'est plus valide : connectez-vous pour en recevoir un nouveau."), "error")
        return redirect(url_for("accounts.profile" if current_user.is_authenticated else "accounts.login"))
    db.session.commit()
    user = confirmation.user
    if not current_user.is_authenticated:
        if not confirmation.first:  # an old link opens no session: only the first use does
            flash(_("Adresse e-mail déjà confirmée : connectez-vous."), "info")
            return redirect(url_for("accounts.login", email=user.email))
        login_user(user)
        services.record_login(user)
        db.session.commit()
    flash(_("Adresse e-mail confirmée. Bienvenue !"), "success")
    if current_user.id != user.id:
        return redirect(url_for("main.home"))
    return redirect(_safe_next(confirmation.next_path) or (
        url_for("companies.create") if not user.company_id else url_for("listings.mine")))


@bp.route("/confirmation/renvoyer", methods=["POST"])
@login_required
@limiter.limit("5 per hour")
def resend_confirmation():
    if current_user.is_confirmed:
        flash(_("Votre adresse est déjà confirmée."), "info")
    else:
        services.send_confirmation(current_user)
        db.session.commit()
        flash(_("Un nouveau lien a été envoyé à %(email)s.", email=current_user.email), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("20 per 10 minutes", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(email=request.args.get("email"))
    if form.validate_on_submit():
        outcome = services.log_in(form.email.data, form.password.data)
        if isinstance(outcome, User):
            login_user(outcome, remember=form.remember.data)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"))
        db.session.commit()  # the failure counted, or the new confirmation link queued
        if outcome is None:
            form.password.errors.append(_("Adresse e-mail ou mot de passe incorrect."))
        elif outcome == services.UNCONFIRMED:
            form.email.errors.append(_("Confirmez d'abord votre adresse : un nouveau lien vient de vous y être "
                                       "envoyé."))
        else:  # the same words whether an account exists for the address or not
            form.password.errors.append(_(
                "Trop de tentatives de connexion pour cette adresse : réessayez dans %(minutes)s minutes, ou "
                "choisissez un nouveau mot de passe avec « Mot de passe oublié ? ».", minutes=outcome))
    return render_template("accounts/login.html", form=form), (422 if form.errors else 200)


@bp.route("/deconnexion", methods=["POST"])
def logout():
    logout_user()
    session.pop("locale", None)
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("main.home"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("5 per 10 minutes", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.send_password_reset(form.email.data)
        db.session.commit()
        flash(_("Si un compte existe pour cette adresse, un lien de réinitialisation vient d'y être envoyé."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form), (422 if form.errors else 200)


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
def reset_password(token):
    user = services.user_for_reset(token)
    if user is None:
        flash(_("Ce lien de réinitialisation n'est plus valide : demandez-en un nouveau."), "error")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.set_password(user, form.password.data)
        db.session.commit()
        flash(_("Mot de passe changé. Vous pouvez vous connecter."), "success")
        logout_user()
        return redirect(url_for("accounts.login", email=user.email))
    return render_template("accounts/reset_password.html", form=form), (422 if form.errors else 200)


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    password_form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        services.update_profile(current_user, form.full_name.data, form.phone.data, form.locale.data)
        session["locale"] = form.locale.data
        db.session.commit()
        flash(_("Profil enregistré."), "success")
        return redirect(url_for("accounts.profile"))
    status = 422 if form.errors else 200
    return render_template("accounts/profile.html", form=form, password_form=password_form), status


@bp.route("/profil/mot-de-passe", methods=["POST"])
@login_required
def change_password():
    form = ProfileForm(obj=current_user, formdata=None)
    password_form = ChangePasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        if services.check_password(current_user, password_form.current_password.data):
            user = current_user._get_current_object()
            services.set_password(user, password_form.password.data)
            db.session.commit()
            login_user(user)  # this session goes on under the new stamp; the others are over
            flash(_("Mot de passe changé."), "success")
            return redirect(url_for("accounts.profile"))
        password_form.current_password.errors.append(_("Mot de passe actuel incorrect."))
    return render_template("accounts/profile.html", form=form, password_form=password_form), 422
