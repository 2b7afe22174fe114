"""Import page for practitioners and administrators: upload → preview (nothing written) → confirm → report.

Between the preview and the confirmation the file waits in the instance folder under
imports/<token>.<ext>, beside a <token>.json naming the user who sent it; only that user can confirm it."""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.extensions import db
from marketplace.imports import rows, services
from marketplace.imports.forms import EXTENSIONS, TOKEN_PATTERN, ConfirmForm, UploadForm

bp = Blueprint("imports", __name__, url_prefix="/import")

DEFAULT_MAX_ROWS = 5000  # beyond that, the command line (`flask listings import`) is the right tool
KEEP_UPLOADS_SECONDS = 24 * 3600


def _require_importer() -> None:
    if not (current_user.is_admin or current_user.is_practitioner):
        abort(403)


def _folder() -> Path:
    return Path(current_app.instance_path) / "imports"


def _purge_stale(folder: Path) -> None:
    """Files uploaded for a preview that was never confirmed."""
    limit = time.time() - KEEP_UPLOADS_SECONDS
    for path in folder.glob("*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass  # another request removed it first


def _store(content: bytes, extension: str, filename: str) -> str:
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    _purge_stale(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.{extension}").write_bytes(content)
    (folder / f"{token}.json").write_text(json.dumps(
        {"user_id": current_user.id, "extension": extension, "filename": filename, "uploaded_at": time.time()}))
    return token


def _stored(token: str) -> tuple[bytes, dict] | None:
    """The file kept for this token, if it exists; 404 if the token is malformed or not the user's."""
    if not re.fullmatch(TOKEN_PATTERN, token or ""):
        abort(404)
    sidecar = _folder() / f"{token}.json"
    try:
        meta = json.loads(sidecar.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        abort(404)
    if meta.get("user_id") != current_user.id or meta.get("extension") not in EXTENSIONS:
        abort(404)
    try:
        return (_folder() / f"{token}.{meta['extension']}").read_bytes(), meta
    except FileNotFoundError:
        return None


def _discard(token: str, extension: str) -> None:
    for path in (_folder() / f"{token}.{extension}", _folder() / f"{token}.json"):
        path.unlink(missing_ok=True)


def _max_rows() -> int:
    return int(current_app.config.get("IMPORT_MAX_ROWS") or DEFAULT_MAX_ROWS)


@bp.route("/", methods=["GET", "POST"])
@login_required
def upload():
    _require_importer()
    form = UploadForm()
    if form.validate_on_submit():
        storage = form.file.data
        content = storage.read()
        try:
            parsed = rows.parse(content, storage.filename or "")
        except rows.FileError as exc:
            form.file.errors.append(str(exc))
        else:
            if len(parsed.lines) > _max_rows():
                form.file.errors.append(_(
                    "%(n)s lignes : c'est plus que les %(max)s qu'accepte cette page. Découpez le fichier, ou "
                    "demandez à l'administrateur·rice de l'importer avec la commande « flask listings import ».",
                    n=len(parsed.lines), max=_max_rows()))
            else:
                extension = storage.filename.rsplit(".", 1)[-1].lower()
                token = _store(content, extension, storage.filename)
                planned = services.plan(parsed, current_user)
                confirm_form = ConfirmForm(formdata=None, token=token, publish=form.publish.data,
                                           notify=form.notify.data)
                return render_template("imports/preview.html", form=confirm_form, planned=planned,
                                       warnings=parsed.warnings, filename=storage.filename,
                                       counts=_counts(planned))
    return render_template("imports/upload.html", form=form, columns=rows.REQUIRED_COLUMNS,
                           optional_columns=rows.OPTIONAL_COLUMNS, example=rows.EXAMPLE_CSV), \
        (422 if form.errors else 200)


def _counts(planned) -> dict[str, int]:
    counts = {"new": 0, "update": 0, "error": 0}
    for item in planned:
        counts[item.status] += 1
    return counts


@bp.route("/confirmer", methods=["POST"])
@login_required
def confirm():
    _require_importer()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(404)
    stored = _stored(form.token.data)
    if stored is None:
        flash(_("Ce fichier a déjà été importé ou n'est plus disponible : envoyez-le de nouveau."), "info")
        return redirect(url_for("imports.upload"))
    content, meta = stored
    try:
        parsed = rows.parse(content, meta.get("filename") or f"import.{meta['extension']}")
    except rows.FileError as exc:
        _discard(form.token.data, meta["extension"])
        flash(str(exc), "error")
        return redirect(url_for("imports.upload"))
    report = services.import_rows(parsed, actor=current_user, publish=form.publish.data, notify=form.notify.data)
    db.session.commit()
    _discard(form.token.data, meta["extension"])
    return render_template("imports/report.html", report=report, filename=meta.get("filename"))
