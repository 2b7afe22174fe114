"""Import page for practitioners and administrators: upload → preview (nothing written) → confirm → report.
Between the preview and the confirmation the file waits in the instance folder (`uploads.py`); only the
user who sent it can confirm it."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.extensions import db
from marketplace.imports import rows, services, uploads
from marketplace.imports.forms import ConfirmForm, UploadForm

bp = Blueprint("imports", __name__, url_prefix="/import")


def _require_importer() -> None:
    if not (current_user.is_admin or current_user.is_practitioner):
        abort(403)


@bp.route("/", methods=["GET", "POST"])
@login_required
def upload():
    _require_importer()
    form = UploadForm()
    if form.validate_on_submit():
        try:
            sheet = uploads.receive(form.file.data)
            token = uploads.keep(sheet)
        except uploads.UploadRefused as refused:
            form.file.errors.append(refused.message)
        else:
            planned = services.plan(sheet.parsed, current_user)
            confirm_form = ConfirmForm(formdata=None, token=token, publish=form.publish.data,
                                       notify=form.notify.data)
            return render_template("imports/preview.html", form=confirm_form, planned=planned,
                                   warnings=sheet.parsed.warnings, filename=sheet.filename,
                                   counts=uploads.counts(planned))
    return render_template("imports/upload.html", form=form, columns=rows.REQUIRED_COLUMNS,
                           optional_columns=rows.OPTIONAL_COLUMNS, example=rows.EXAMPLE_CSV), \
        (422 if form.errors else 200)


@bp.route("/confirmer", methods=["POST"])
@login_required
def confirm():
    _require_importer()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(404)
    try:
        sheet = uploads.take(form.token.data)
    except uploads.UploadRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for("imports.upload"))
    if sheet is None:
        flash(_("Ce fichier a déjà été importé ou n'est plus disponible : envoyez-le de nouveau."), "info")
        return redirect(url_for("imports.upload"))
    report = services.import_rows(sheet.parsed, actor=current_user, publish=form.publish.data,
                                  notify=form.notify.data)
    db.session.commit()
    uploads.discard(form.token.data, sheet.extension)
    return render_template("imports/report.html", report=report, filename=sheet.filename)
