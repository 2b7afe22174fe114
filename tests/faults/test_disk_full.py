"""Fault: the disk fills up during an upload. The low-level write (`os.write`) of files under the
instance's upload folders fails with ENOSPC after part of a file is written, as a full disk does:
the page says so clearly, keeps what was typed, and leaves neither a partial file nor a row naming a
missing file; once there is room again the same form goes through."""
from __future__ import annotations

import errno
import html
import io
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingPhoto
from tests.conftest import listing_form, login
from tests.imports.test_rows import GOOD, csv_bytes


def image_bytes(size=(640, 480), colour=(30, 120, 70)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


class FullDisk:
    """`os.write` for files under `folder`: the first `room_for` files are written whole; the next ones
    get half their first chunk written, then ENOSPC (what a disk filling up mid-file does)."""

    def __init__(self, monkeypatch, folder: Path, room_for: int = 0):
        self.folder, self.room_for = str(folder), room_for
        self.files: list[str] = []
        self.refused = 0
        real_write = os.write

        def write(fd, data):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if not target.startswith(self.folder):
                return real_write(fd, data)
            if target not in self.files:
                self.files.append(target)
                if len(self.files) > self.room_for:
                    return real_write(fd, bytes(data[:max(len(data) // 2, 1)]))
            if len(self.files) <= self.room_for:
                return real_write(fd, data)
            self.refused += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", write)


def two_photos() -> list:
    return [(io.BytesIO(image_bytes()), "un.png"), (io.BytesIO(image_bytes(colour=(9, 9, 9))), "deux.png")]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def member(app, client, world):
    login(client, world["alice"])
    return world


def test_photos_on_a_full_disk_the_form_says_so_and_keeps_what_was_typed(app, client, member, monkeypatch):
    uploads = Path(app.config["UPLOAD_FOLDER"])
    title = "Drêches « disque plein »"
    data = listing_form(member["a"].sites[0].id, title=title, description="Une description tapée avec soin.",
                        quantity="7")
    disk = FullDisk(monkeypatch, uploads, room_for=1)  # the first photo fits, the second does not
    response = client.post("/annonces/nouvelle", content_type="multipart/form-data",
                           data={**data, "photos": two_photos()})
    assert response.status_code == 507
    page = html.unescape(response.get_data(as_text=True))
    assert "Le serveur n'a plus de place pour enregistrer les photos" in page
    assert f'value="{title}"' in page and "Une description tapée avec soin." in page and 'value="7"' in page
    assert disk.refused == 1 and len(disk.files) == 2
    assert files_in(uploads) == []  # neither the half-written photo nor the one written before it
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Listing).where(Listing.title == title)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ListingPhoto)) == 0

    monkeypatch.undo()  # room again
    response = client.post("/annonces/nouvelle", content_type="multipart/form-data",
                           data={**data, "photos": two_photos()})
    assert response.status_code == 302
    listing = db.session.scalars(sa.select(Listing).where(Listing.title == title)).one()
    assert sorted(photo.filename for photo in listing.photos) == files_in(uploads / "photos")
    assert len(listing.photos) == 2


def test_a_photo_added_on_a_full_disk_leaves_the_listing_as_it_was(app, client, member, monkeypatch):
    listing = member["a_draft"]
    before = listing.title
    FullDisk(monkeypatch, Path(app.config["UPLOAD_FOLDER"]))
    response = client.post(f"/annonces/{listing.id}/modifier", content_type="multipart/form-data", data={
        **listing_form(listing.site_id, title="Titre modifié", submit_for="save"),
        "photos": [(io.BytesIO(image_bytes()), "un.png")]})
    assert response.status_code == 507
    assert 'value="Titre modifié"' in html.unescape(response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).title == before and listing.photos == []
    assert files_in(Path(app.config["UPLOAD_FOLDER"])) == []


def test_an_import_file_on_a_full_disk_is_refused_clearly(app, client, world, monkeypatch):
    login(client, world["admin"])
    imports = Path(app.instance_path) / "imports"
    FullDisk(monkeypatch, imports)
    response = client.post("/import/", content_type="multipart/form-data", data={
        "file": (io.BytesIO(csv_bytes({**GOOD, "ref": "D1"})), "annonces.csv"), "publish": "y"})
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Le serveur n'a plus de place pour garder ce fichier" in page
    [publish] = re.findall(r'<input[^>]*name="publish"[^>]*>', page)
    assert re.search(r"\bchecked\b", publish)  # the choice made is kept
    assert files_in(imports) == []

    monkeypatch.undo()
    response = client.post("/import/", content_type="multipart/form-data", data={
        "file": (io.BytesIO(csv_bytes({**GOOD, "ref": "D1"})), "annonces.csv"), "publish": "y"})
    assert response.status_code == 200 and len(files_in(imports)) == 2  # the file and its owner's note
