"""Photos: checked by content (not by name), re-encoded to JPEG without metadata, size-limited."""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.files import write_whole

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding


class PhotoError(ValueError):
    """The file is not an image we accept; the message says why, for the user."""


@dataclass
class StoredPhoto:
    filename: str
    width: int
    height: int


def photo_dir() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "photos"
    path.mkdir(parents=True, exist_ok=True)
    return path


def reencode(data: bytes, max_side: int) -> tuple[bytes, int, int]:
    """Decode, orient, shrink and re-encode; raises PhotoError for anything that is not a sound image."""
    from flask_babel import gettext as _

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoError(_("Format non accepté : envoyez une photo JPEG, PNG, WebP ou GIF."))
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoError(_("Image trop grande (plus de 40 mégapixels)."))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85, optimize=True)
            return out.getvalue(), image.width, image.height
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoError(_("Ce fichier n'est pas une image lisible."))


def store(data: bytes) -> StoredPhoto:
    from flask_babel import gettext as _

    if len(data) > current_app.config["MAX_PHOTO_BYTES"]:
        mb = current_app.config["MAX_PHOTO_BYTES"] // (1024 * 1024)
        raise PhotoError(_("Photo trop lourde : %(mb)s Mo au maximum.", mb=mb))
    jpeg, width, height = reencode(data, current_app.config["PHOTO_MAX_SIDE"])
    filename = f"{uuid.uuid4().hex}.jpg"
    write_whole(photo_dir() / filename, jpeg)  # OSError (is_disk_full) leaves no file behind
    db.session.info.setdefault(_STORED, []).append(filename)
    return StoredPhoto(filename, width, height)


def delete_file(filename: str) -> None:
    path = photo_dir() / filename
    if path.exists():
        path.unlink()


def delete_after_commit(filename: str) -> None:
    """Remove the file once the transaction that deletes its row commits (kept if it rolls back)."""
    db.session.info.setdefault(_DELETED, []).append(filename)


# Files written (or to remove) in the session's current transaction: a rollback removes the files
# written, so no photo is left that no row names; a commit removes the files whose rows went.
_STORED, _DELETED = "photos_stored", "photos_deleted"


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session):
    if session.in_nested_transaction():
        return
    session.info.pop(_STORED, None)
    for filename in session.info.pop(_DELETED, []):
        _remove_quietly(filename)


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    if session.in_nested_transaction():
        return
    session.info.pop(_DELETED, None)
    for filename in session.info.pop(_STORED, []):
        _remove_quietly(filename)


def _remove_quietly(filename: str) -> None:
    try:
        delete_file(filename)
    except OSError:
        current_app.logger.warning("photo %s could not be removed", filename, exc_info=True)
