"""The database is busy: another connection holds a lock longer than DATABASE_BUSY_TIMEOUT (SQLite:
"database is locked"; PostgreSQL: lock_timeout, statement_timeout, a serialization failure or a
deadlock). The request's transaction is rolled back, so nothing is half-written, and the answer is a
503 with Retry-After: a page that offers to send the same form again (its fields as hidden inputs
with a fresh CSRF token; passwords and files are asked for again, never echoed), or JSON for the API."""
from __future__ import annotations

import re
import sqlite3

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from marketplace.extensions import db

RETRY_AFTER_SECONDS = 10
# PostgreSQL SQLSTATEs: lock_not_available (lock_timeout), query_canceled (statement_timeout),
# serialization_failure, deadlock_detected.
BUSY_SQLSTATES = frozenset({"55P03", "57014", "40001", "40P01"})
# Fields whose value is never written back into a page.
SECRET_FIELD = re.compile(r"pass|mot_de_passe", re.IGNORECASE)


def is_database_busy(error: DBAPIError) -> bool:
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        name = getattr(original, "sqlite_errorname", "")
        return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or " is locked" in str(original)
    return getattr(original, "sqlstate", None) in BUSY_SQLSTATES


def response(error: DBAPIError) -> tuple[Response | str, int, dict]:
    db.session.rollback()
    reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
    current_app.logger.warning("database busy on %s %s: %s", request.method, request.path, reason)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    message = _("La base de données est momentanément occupée : rien n'a été enregistré. "
                "Réessayez dans quelques secondes.")
    if request.path.startswith("/api/"):
        from marketplace.api.errors import error_response

        return error_response(503, "database_busy", message), 503, headers
    return render_template("errors/busy.html", code=503, message=message, resend=_resend_form()), 503, headers


def _resend_form() -> dict | None:
    """What the page needs to send the same form again; None for a request without a form."""
    if request.method != "POST" or not (request.form or request.files):
        return None
    fields = [(name, value) for name, value in request.form.items(multi=True)
              if name != "csrf_token" and not SECRET_FIELD.search(name)]
    passwords = sorted({name for name in request.form if SECRET_FIELD.search(name)})
    files = sorted({name for name, storage in request.files.items(multi=True) if storage and storage.filename})
    return {"action": request.full_path if request.query_string else request.path, "fields": fields,
            "passwords": passwords, "files": files}
