"""Fault: the database is busy. Another connection holds a lock longer than DATABASE_BUSY_TIMEOUT
(SQLite: the write lock; PostgreSQL: an EXCLUSIVE lock on the listing table, which makes the insert
hit lock_timeout) while a person posts the new-listing form and while an API client posts a listing.
The person gets a 503 page with Retry-After that sends the same form again (hidden fields and a fresh
CSRF token; never a password); the API gets 503 JSON with Retry-After; nothing is half-written; once
the lock is gone the form sent again creates the listing, exactly once."""
from __future__ import annotations

import contextlib
import re
import sqlite3
from html import unescape

import psycopg
import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.queue_storage import libpq_dsn
from tests.conftest import PASSWORD, listing_form, login

BUSY_TIMEOUT = 0.3  # seconds


@pytest.fixture
def short_busy_timeout(app):
    """New connections wait BUSY_TIMEOUT for a lock (SQLite busy_timeout, PostgreSQL lock_timeout)."""
    app.config["DATABASE_BUSY_TIMEOUT"] = BUSY_TIMEOUT
    db.session.rollback()
    db.engine.dispose()  # the pooled connections were opened with the default


@contextlib.contextmanager
def database_locked(app, table: str = "listing"):
    """Another connection holds the lock every write to `table` needs, until the block ends."""
    url = sa.make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
        return
    with psycopg.connect(libpq_dsn(app.config["DATABASE_URL"])) as holder:
        holder.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')  # readers go on, writers wait
        try:
            yield
        finally:
            holder.rollback()


def titled(title: str) -> int:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Listing).where(Listing.title == title))
    db.session.rollback()
    return count


def resend_form(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The action and the hidden fields of the page's form that sends the request again."""
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*class="resend-form">(.*?)</form>', html, re.S)
    assert form, html
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    return unescape(form.group(1)), [(name, unescape(value)) for name, value in fields]


def test_a_form_posted_while_the_database_is_busy_can_be_sent_again(app, client, world, short_busy_timeout):
    login(client, world["alice"])
    title = "Drêches <pendant> le « verrou » & co"
    data = listing_form(world["a"].sites[0].id, title=title, description="Deux lignes\net des accents : éàü.")
    with database_locked(app):
        response = client.post("/annonces/nouvelle", data=dict(data))
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        page = response.get_data(as_text=True)
        assert "momentanément occupée" in page and "Réessayez" in page
        action, fields = resend_form(page)
        assert titled(title) == 0  # nothing half-written
    assert action == "/annonces/nouvelle"
    sent = dict(fields)
    assert sent.pop("csrf_token")
    assert sent == data  # every field, as typed

    again = client.post(action, data=MultiDict(fields), csrf=False)  # the page's own token
    assert again.status_code == 302, again.get_data(as_text=True)[:500]
    assert titled(title) == 1


def test_the_page_never_writes_a_password_back(app, client, world, short_busy_timeout):
    login(client, world["alice"])
    new_password = "un-Nouveau-mot-de-passe-99"
    with database_locked(app, "user"):
        response = client.post("/compte/profil/mot-de-passe", data={
            "pw-current_password": PASSWORD, "pw-password": new_password, "pw-password_again": new_password})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert PASSWORD not in page and new_password not in page
    assert page.count('type="password"') == 3  # asked for again, empty
    _action, fields = resend_form(page)
    assert [name for name, _ in fields] == ["csrf_token"]


def test_the_api_answers_503_json_and_the_same_request_succeeds_later(app, client, world, runner,
                                                                       short_busy_timeout):
    result = runner.invoke(args=["users", "token", world["alice"].email])
    headers = {"Authorization": f"Bearer {result.output.strip()}"}
    body = {"kind": "offer", "title": "Sciure pendant le verrou", "category": "materials", "quantity": 3,
            "unit": "t", "frequency": "monthly", "price_mode": "free"}
    with database_locked(app):
        response = client.post("/api/v1/listings", headers=headers, json=body)
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["error"]["code"] == "database_busy"
        assert titled(body["title"]) == 0
    again = client.post("/api/v1/listings", headers=headers, json=body)
    assert again.status_code == 201, again.get_json()
    assert titled(body["title"]) == 1


def test_a_page_read_while_the_database_is_busy_still_shows(app, client, world, short_busy_timeout):
    """Readers are not blocked: only writes wait for the lock."""
    with database_locked(app):
        assert client.get("/annonces").status_code == 200


def _raised(statements) -> sa.exc.DBAPIError:
    try:
        statements()
    except sa.exc.DBAPIError as exc:
        return exc
    raise AssertionError("no database error")


def test_which_postgresql_errors_mean_busy(app):
    """A serialization failure, a deadlock and statement_timeout are "busy, try again" (as lock_timeout,
    above); a constraint violation is not. PostgreSQL's own errors, raised on a table of their own in the
    local PostgreSQL whatever the suite's database (it runs in the SQLite run too)."""
    import uuid

    from marketplace import busy
    from tests.conftest import QUEUE_POSTGRES_URL

    url = sa.make_url(QUEUE_POSTGRES_URL).set(drivername="postgresql+psycopg")
    table = f"busy_probe_{uuid.uuid4().hex[:8]}"
    ids = [1, 2]
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE {table} (id integer PRIMARY KEY, title text NOT NULL)"))
        connection.execute(sa.text(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b')"))
    try:
        with engine.connect() as reader, engine.connect() as writer:
            for connection in (reader, writer):  # a mistake here fails the test rather than hangs it
                connection.execute(sa.text(f"SET lock_timeout = '10s'"))
                connection.commit()
            def serialization_failure():
                reader.execute(sa.text(f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                reader.execute(sa.text(f"SELECT title FROM {table} WHERE id = :id"), {"id": ids[0]})
                writer.execute(sa.text(f"UPDATE {table} SET title = title || '.' WHERE id = :id"), {"id": ids[0]})
                writer.commit()
                reader.execute(sa.text(f"UPDATE {table} SET title = title || '!' WHERE id = :id"), {"id": ids[0]})

            assert busy.is_database_busy(_raised(serialization_failure))
            reader.rollback()

            def statement_timeout():
                reader.execute(sa.text(f"SET LOCAL statement_timeout = 50"))
                reader.execute(sa.text(f"SELECT pg_sleep(5)"))

            assert busy.is_database_busy(_raised(statement_timeout))
            reader.rollback()

            def deadlock():
                import threading

                reader.execute(sa.text(f"UPDATE {table} SET title = title WHERE id = :id"), {"id": ids[0]})
                writer.execute(sa.text(f"UPDATE {table} SET title = title WHERE id = :id"), {"id": ids[1]})
                errors = []

                def cross():
                    try:
                        writer.execute(sa.text(f"UPDATE {table} SET title = title WHERE id = :id"), {"id": ids[0]})
                    except sa.exc.DBAPIError as exc:
                        errors.append(exc)
                        writer.rollback()

                other = threading.Thread(target=cross)
                other.start()
                try:
                    reader.execute(sa.text(f"UPDATE {table} SET title = title WHERE id = :id"), {"id": ids[1]})
                except sa.exc.DBAPIError as exc:
                    errors.append(exc)
                    reader.rollback()
                other.join()
                writer.rollback()
                raise errors[0]  # whichever transaction PostgreSQL chose to end

            assert busy.is_database_busy(_raised(deadlock))
            reader.rollback()

            def duplicate_key():
                reader.execute(sa.text(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1"))

            assert not busy.is_database_busy(_raised(duplicate_key))
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
