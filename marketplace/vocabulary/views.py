"""Administrators edit the thesaurus and the resource → use knowledge; practitioners may read them."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.extensions import db
from marketplace.vocabulary import services
from marketplace.vocabulary.models import DOCUMENTS, VocabularyDocument
from marketplace.vocabulary.rules import VocabularyError

bp = Blueprint("vocabulary", __name__, url_prefix="/vocabulaire")


class DocumentForm(FlaskForm):
    content = TextAreaField(_l("Contenu"), validators=[InputRequired(), Length(max=500_000)])


def _readable_name(name):
    if name not in DOCUMENTS:
        abort(404)
    if not (current_user.is_admin or current_user.is_practitioner):
        abort(403)
    return name


@bp.route("/")
@login_required
def index():
    if not (current_user.is_admin or current_user.is_practitioner):
        abort(403)
    vocabulary = services.current()
    saved = {d.name: d for d in db.session.scalars(db.select(VocabularyDocument))}
    return render_template("vocabulary/index.html", saved=saved, vocabulary=vocabulary)


@bp.route("/<name>", methods=["GET", "POST"])
@login_required
def edit(name):
    _readable_name(name)
    form = DocumentForm(content=services.texts()[name])
    if request.method == "POST":
        if not current_user.is_admin:
            abort(403)
        if form.validate_on_submit():
            try:
                services.save(name, form.content.data, current_user)
            except VocabularyError as exc:
                form.content.errors = [str(exc)]
            else:
                db.session.commit()
                flash(_("Vocabulaire enregistré : la recherche et la mise en relation l'utilisent dès maintenant."), "success")
                return redirect(url_for("vocabulary.edit", name=name))
    return render_template("vocabulary/edit.html", form=form, name=name,
                           document=db.session.get(VocabularyDocument, name)), (422 if form.errors else 200)


@bp.route("/<name>/retablir", methods=["POST"])
@login_required
def reset(name):
    _readable_name(name)
    if not current_user.is_admin:
        abort(403)
    DocumentForm().validate_on_submit() or abort(400)
    services.reset(name)
    db.session.commit()
    flash(_("Version livrée rétablie."), "success")
    return redirect(url_for("vocabulary.edit", name=name))
