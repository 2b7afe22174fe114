"""`flask backup create` / `flask backup restore`: the demo territory (every feature's tables: accounts,
listings, matches, conversations, auctions, synergies with benefits, workshops…) plus an uploaded photo,
backed up, then restored into an empty instance — of the same database kind, and of the other kind
(SQLite ↔ PostgreSQL) — where every row, the file, the logins, the signed links' key and the search
are found again. A restore never writes into an instance that holds data."""
from __future__ import annotations

import contextlib
import io
import os
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from marketplace.backup import services
from marketplace.extensions import db
from tests.conftest import PASSWORD, CsrfClient, _base_config, _scratch_postgres_database, login

LOCAL_POSTGRES_URL = os.environ.get("MARKETPLACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def every_row(engine) -> dict[str, list[tuple]]:
    """Every backed-up table's rows, as comparable values, in primary-key order."""
    with engine.connect() as connection:
        tables = services._tables(connection)
        return {t.name: [tuple(services.encode(v) for v in row)
                         for row in connection.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for t in tables}


def photo_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 70)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def source(app, runner, make_user):
    """The demo territory, with a member of one of its companies (the tests' password) who adds a photo
    to a published listing."""
    from marketplace.listings.models import Listing

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    listing = db.session.scalar(sa.select(Listing).where(Listing.status == "published").order_by(Listing.id))
    owner = make_user("sauvegarde@demo.example", company=listing.company)
    client = app.test_client()
    login(client, owner)
    form = {"title": listing.title, "description": listing.description, "kind": listing.kind,
            "category": listing.category, "site_id": listing.site_id, "quantity": "", "unit": "",
            "frequency": listing.frequency, "waste_code": listing.waste_code or "",
            "photos": [(io.BytesIO(photo_bytes()), "lot.png")]}
    response = client.post(f"/annonces/{listing.id}/modifier", data=form, content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:400]
    db.session.expire_all()
    photos = db.session.get(Listing, listing.id).photos
    assert photos, "the photo was not stored"
    return {"owner": owner.email, "listing": listing.id, "title": listing.title, "photo": photos[0].filename}


@contextlib.contextmanager
def empty_instance(tmp_path, smtp_server, kind: str):
    """A new instance folder and an empty database (no schema) of the given kind."""
    from marketplace import create_app

    with contextlib.ExitStack() as stack:
        if kind == "postgresql":
            url = stack.enter_context(_scratch_postgres_database(os.environ.get("MARKETPLACE_TEST_DATABASE_URL")
                                                                 or LOCAL_POSTGRES_URL))
        else:
            url = f"sqlite:///{tmp_path / 'restored' / 'restored.db'}"
        folder = tmp_path / "restored"
        folder.mkdir(exist_ok=True)
        config = _base_config(folder, url, smtp_server.port)
        config.update(INSTANCE_PATH=str(folder), UPLOAD_FOLDER=str(folder / "uploads"),
                      SEARCH_BACKEND="postgresql" if kind == "postgresql" else "whoosh",
                      SEARCH_INDEX_PATH=str(folder / "search-index"), SECRET_KEY=None)
        target = create_app(config)
        target.test_client_class = CsrfClient
        with target.app_context():
            yield target
            db.session.remove()
            db.engine.dispose()


def kind_of(app) -> str:
    return "postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres") else "sqlite"


@pytest.mark.parametrize("same_kind", [True, False], ids=["same-database", "other-database"])
def test_restore_into_an_empty_instance_finds_everything(app, runner, source, tmp_path, smtp_server, same_kind):
    # An instance's generated key lives in its folder (the tests give theirs in the settings).
    secret = "4f" * 32
    (Path(app.config["INSTANCE_PATH"]) / "secret_key").write_text(secret)
    archive = tmp_path / "backup.tar.gz"
    result = runner.invoke(args=["backup", "create", "--output", str(archive)])
    assert result.exit_code == 0, result.output
    assert "listing:" in result.output and "fichiers déposés : 1" in result.output  # progress, table by table
    before = every_row(db.engine)
    assert sum(map(len, before.values())) > 500 and all(before[t] for t in ("listing", "synergy", "synergy_event", "workshop", "auction_lot", "match"))
    photo = os.path.join(app.config["UPLOAD_FOLDER"], "photos", source["photo"])

    kind = kind_of(app) if same_kind else ("sqlite" if kind_of(app) == "postgresql" else "postgresql")
    with empty_instance(tmp_path, smtp_server, kind) as target:
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert "annonce(s) indexée(s)" in result.output
        assert every_row(db.engine) == before
        restored = os.path.join(target.config["UPLOAD_FOLDER"], "photos", source["photo"])
        assert Path(restored).read_bytes() == Path(photo).read_bytes()
        assert (Path(target.config["INSTANCE_PATH"]) / "secret_key").read_text() == secret

        client = target.test_client()
        from marketplace.accounts.models import User

        login(client, db.session.scalar(sa.select(User).where(User.email == source["owner"])), PASSWORD)
        found = client.get("/recherche?q=" + source["title"].split()[0]).get_data(as_text=True)
        assert f"/annonces/{source['listing']}" in found
        served = client.get(f"/photos/{source['photo']}")
        assert served.status_code == 200 and served.data == Path(photo).read_bytes()
        served.close()
        # New rows get new ids after the restored ones (PostgreSQL sequences follow).
        from marketplace.accounts.models import Company
        from marketplace.companies.services import create_company

        company = create_company(None, {"name": "Nouvelle venue"}, {"name": "Siège", "postcode": "29900"})
        db.session.commit()
        assert company.id > max(row[0] for row in before["company"])


def test_restore_refuses_an_instance_with_data_and_changes_nothing(app, runner, source, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "create", "--output", str(archive)]).exit_code == 0
    before = every_row(db.engine)
    result = runner.invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code != 0 and "contient déjà des données" in result.output
    assert every_row(db.engine) == before


def test_unreadable_or_truncated_archives_are_refused_with_a_clear_message(app, runner, source, tmp_path,
                                                                           smtp_server):
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive")
    result = runner.invoke(args=["backup", "restore", str(garbage)])
    assert result.exit_code != 0 and "n'est pas une sauvegarde lisible" in result.output

    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "create", "--output", str(archive)]).exit_code == 0
    # The same archive with the listings file cut short: the restore stops, says why, writes nothing.
    cut = tmp_path / "cut.tar.gz"
    with tarfile.open(archive) as original, tarfile.open(cut, "w:gz") as out:
        for member in original.getmembers():
            data = original.extractfile(member).read() if member.isfile() else None
            if member.name == "tables/listing.jsonl":
                data = b"\n".join(data.splitlines()[:3]) + b"\n"
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    with empty_instance(tmp_path, smtp_server, kind_of(app)) as target:
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(cut)])
        assert result.exit_code != 0 and "l'archive est incomplète" in result.output
        with db.engine.connect() as connection:
            assert not services._holds_data(connection)
