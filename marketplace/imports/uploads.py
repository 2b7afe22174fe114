"""A spreadsheet between its preview and its confirmation, for every page that imports one (the import
page, a workshop's import).

`receive` reads and checks the uploaded file (nothing is written); `keep` puts it in the instance
folder under imports/<token>.<ext>, beside a <token>.json naming the user who sent it; `take` gives it
back to that user only, parsed again; `discard` removes it once imported. Files never confirmed are
removed after a day."""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.files import is_disk_full, write_whole
from marketplace.imports import rows
from marketplace.imports.forms import EXTENSIONS, TOKEN_PATTERN

DEFAULT_MAX_ROWS = 5000  # beyond that, the command line (`flask listings import`) is the right tool
KEEP_UPLOADS_SECONDS = 24 * 3600


class UploadRefused(Exception):
    """The file cannot be imported from a page: the message says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Upload:
    content: bytes
    filename: str
    extension: str
    parsed: rows.ParsedFile


def max_rows() -> int:
    return int(current_app.config.get("IMPORT_MAX_ROWS") or DEFAULT_MAX_ROWS)


def receive(storage) -> Upload:
    """Read and check an uploaded file (a werkzeug FileStorage); UploadRefused if it cannot be imported."""
    content = storage.read()
    filename = storage.filename or ""
    try:
        parsed = rows.parse(content, filename)
    except rows.FileError as exc:
        raise UploadRefused(str(exc)) from exc
    if len(parsed.lines) > max_rows():
        raise UploadRefused(_(
            "%(n)s lignes : c'est plus que les %(max)s qu'accepte cette page. Découpez le fichier, ou "
            "demandez à l'administrateur·rice de l'importer avec la commande « flask listings import ».",
            n=len(parsed.lines), max=max_rows()))
    return Upload(content, filename, filename.rsplit(".", 1)[-1].lower(), parsed)


def keep(upload: Upload) -> str:
    """Keep the file for the current user's confirmation; returns its token. UploadRefused when the
    disk is full (nothing is left behind)."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    _purge_stale(folder)
    token = secrets.token_urlsafe(24)
    meta = json.dumps({"user_id": current_user.id, "extension": upload.extension, "filename": upload.filename,
                       "uploaded_at": time.time()}).encode()
    try:
        write_whole(folder / f"{token}.{upload.extension}", upload.content)
        write_whole(folder / f"{token}.json", meta)
    except OSError as exc:
        discard(token, upload.extension)
        if not is_disk_full(exc):
            raise
        current_app.logger.error("disk full: import file not kept (%s)", exc)
        raise UploadRefused(_("Le serveur n'a plus de place pour garder ce fichier le temps de l'aperçu : rien "
                              "n'a été importé. Réessayez plus tard.")) from exc
    return token


def take(token: str) -> Upload | None:
    """The file kept under this token, parsed again; None if it is gone (already imported, or too old).
    404 if the token is malformed or not the current user's; UploadRefused if it no longer reads (it
    is then discarded)."""
    if not re.fullmatch(TOKEN_PATTERN, token or ""):
        abort(404)
    try:
        meta = json.loads((_folder() / f"{token}.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        abort(404)
    if meta.get("user_id") != current_user.id or meta.get("extension") not in EXTENSIONS:
        abort(404)
    extension = meta["extension"]
    try:
        content = (_folder() / f"{token}.{extension}").read_bytes()
    except FileNotFoundError:
        return None
    filename = meta.get("filename") or f"import.{extension}"
    try:
        parsed = rows.parse(content, filename)
    except rows.FileError as exc:
        discard(token, extension)
        raise UploadRefused(str(exc)) from exc
    return Upload(content, meta.get("filename") or "", extension, parsed)


def discard(token: str, extension: str) -> None:
    for path in (_folder() / f"{token}.{extension}", _folder() / f"{token}.json"):
        path.unlink(missing_ok=True)


def counts(planned) -> dict[str, int]:
    """How many planned lines are new, updates and errors (the preview's figures)."""
    found = {"new": 0, "update": 0, "error": 0}
    for item in planned:
        found[item.status] += 1
    return found


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
