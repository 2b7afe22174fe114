"""Fault: the search index is lost or damaged. The Whoosh folder deleted outright (not just damaged),
or, for the PostgreSQL backend, its document table emptied or dropped, or its words table dropped: the
search page says the index is unavailable (or incomplete) and that `flask search rebuild` restores it,
never a 500; the listing pages and /annonces keep working from the database; the rebuild brings every
listing back. Every test runs with each backend (PostgreSQL: the suite's database in the PostgreSQL
run, else a scratch database on the local server, as tests/search/test_postgres_backend.py does)."""
from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.conftest import CsrfClient, _base_config
from tests.search.helpers import found, page
from tests.search.test_postgres_backend import postgres_database  # noqa: F401 - a fixture


@pytest.fixture(params=["whoosh", "postgresql"])
def app(request, app, tmp_path, smtp_server):
    """The suite's app with the Whoosh backend; or an app on PostgreSQL with the PostgreSQL backend."""
    if request.param == "whoosh":
        app.config["SEARCH_BACKEND"] = "whoosh"
        yield app
        return
    if app.config["SEARCH_BACKEND"] == "postgresql":
        yield app
        _put_tables_back()
        return
    from marketplace import create_app

    url = request.getfixturevalue("postgres_database")
    pg_app = create_app({**_base_config(tmp_path / "pg", url, smtp_server.port), "SEARCH_BACKEND": "postgresql"})
    pg_app.test_client_class = CsrfClient
    with pg_app.app_context():
        yield pg_app
        _put_tables_back()
        tables = ", ".join(f'"{t.name}"' for t in reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


def _put_tables_back() -> None:
    """Whatever a failed test left dropped, for the next tests and the clean-up that empties every table."""
    db.session.remove()
    db.metadata.create_all(db.engine, checkfirst=True)


@pytest.fixture
def listings(app, make_company, make_listing):
    company = make_company()
    return [make_listing(company, title="Palettes bois 120x80", description="Palettes EUR en bon état."),
            make_listing(company, title="Fûts métalliques", description="Fûts de 200 litres, propres.")]


def unavailable(client, query: str) -> str:
    text = html.unescape(page(client, query, status=503))
    assert "L'index de recherche est indisponible" in text and "flask search rebuild" in text
    return text


def the_rest_still_works(client, listings) -> None:
    browse = html.unescape(client.get("/annonces").get_data(as_text=True))
    assert all(listing.title in browse for listing in listings)
    for listing in listings:
        assert client.get(f"/annonces/{listing.id}").status_code == 200


def rebuild(runner) -> None:
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "2 annonce(s) indexée(s)" in result.output


def is_postgresql(app) -> bool:
    return app.config["SEARCH_BACKEND"] == "postgresql"


def test_index_deleted_outright(app, client, runner, listings):
    assert found(client, "?q=palettes") == {"Palettes bois 120x80"}  # a searcher is open on it now
    if is_postgresql(app):
        db.session.execute(sa.text("DROP TABLE search_document CASCADE"))
        db.session.commit()
    else:
        path = Path(app.config["SEARCH_INDEX_PATH"])
        shutil.rmtree(path.resolve())
        path.unlink()
        assert not path.exists()
    unavailable(client, "?q=palettes")
    unavailable(client, "")
    the_rest_still_works(client, listings)
    rebuild(runner)
    assert found(client, "?q=palettes") == {"Palettes bois 120x80"}
    assert found(client, "?q=futs") == {"Fûts métalliques"}


def test_the_writer_rebuilds_a_deleted_index_at_the_next_change(app, client, listings, make_listing):
    """What the worker does by itself (here at once: the queue is immediate): the next listing
    change, or the minute sweep, finds the index gone and rebuilds it from the database."""
    if is_postgresql(app):
        db.session.execute(sa.text("DROP TABLE search_document CASCADE"))
        db.session.commit()
    else:
        shutil.rmtree(Path(app.config["SEARCH_INDEX_PATH"]).resolve())
    make_listing(listings[0].company, title="Big-bags de sable", description="Sable de fonderie.")
    assert found(client, "?q=palettes") == {"Palettes bois 120x80"}
    assert found(client, "?q=sable") == {"Big-bags de sable"}


def test_index_emptied(app, client, runner, listings):
    """PostgreSQL: every document deleted; Whoosh: every file of the folder deleted, the folder kept."""
    assert found(client, "?q=palettes") == {"Palettes bois 120x80"}
    if is_postgresql(app):
        db.session.execute(sa.text("DELETE FROM search_document"))
        db.session.commit()
    else:
        for file in Path(app.config["SEARCH_INDEX_PATH"]).resolve().iterdir():
            file.unlink()
    unavailable(client, "?q=palettes")
    the_rest_still_works(client, listings)
    rebuild(runner)
    assert found(client, "?q=palettes") == {"Palettes bois 120x80"}


@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_words_table_dropped(app, client, runner, listings):
    """PostgreSQL only: the spelling suggestions' words. Results still come; the page says the index
    is incomplete rather than failing on a misspelt word."""
    db.session.execute(sa.text("DROP TABLE search_word"))
    db.session.commit()
    assert found(client, "?q=palettes") == {"Palettes bois 120x80"}
    text = html.unescape(page(client, "?q=plaettes"))  # misspelt: a suggestion is looked for
    assert "L'index de recherche est incomplet" in text and "flask search rebuild" in text
    the_rest_still_works(client, listings)
    rebuild(runner)
    assert "Vouliez-vous dire" in html.unescape(page(client, "?q=plaettes"))
