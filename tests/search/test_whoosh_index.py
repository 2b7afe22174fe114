"""The Whoosh backend's own machinery (files on disk): generations behind a symbolic link, a damaged
index or one built with another schema, a plain folder in the way. These tests force the Whoosh
backend, so they run on every database."""
from __future__ import annotations

import html
from pathlib import Path

import pytest

from tests.search.helpers import found, indexed_ids, page


@pytest.fixture(autouse=True)
def whoosh_backend(app):
    app.config["SEARCH_BACKEND"] = "whoosh"


def _index_path(app) -> Path:
    return Path(app.config["SEARCH_INDEX_PATH"])


def test_the_index_is_a_link_to_its_current_generation(app, make_company, make_listing):
    listing = make_listing(make_company(), title="Palettes bois")
    path = _index_path(app)
    assert path.is_symlink() and path.resolve().name.startswith("search-index.gen-")
    assert indexed_ids(app) == {listing.id}


def test_corrupt_index_says_so_then_rebuild_restores_it(app, client, runner, make_company, make_listing):
    make_listing(make_company(), title="Palettes bois")
    for file in _index_path(app).resolve().iterdir():
        file.write_bytes(b"not an index")
    assert "indisponible" in page(client, "?q=palettes", status=503)
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert found(client, "?q=palettes") == {"Palettes bois"}
    # One generation on disk, behind the link.
    generations = [p for p in _index_path(app).parent.iterdir() if p.name.startswith("search-index.")]
    assert generations == [_index_path(app).resolve()]


def test_rebuild_replaces_a_plain_folder_and_works_on_an_empty_database(app, client, runner):
    path = _index_path(app)
    path.mkdir(parents=True, exist_ok=True)
    (path / "stray").write_text("x")
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "0 annonce(s) indexée(s)" in result.output
    assert str(path) in result.output
    assert path.is_symlink()
    assert "Aucune annonce" in html.unescape(page(client))


def test_empty_database_without_index_folder_is_not_an_error(app, client):
    assert not _index_path(app).exists()
    assert "Aucune annonce ne correspond à ces critères" in html.unescape(page(client))


def test_an_index_built_with_another_schema_is_rebuilt_not_misread(app, client, make_company, make_listing):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, Schema

    from marketplace.search.backends import whoosh_index as index
    from marketplace.search.tasks import apply_leftover_index_tasks

    listing = make_listing(make_company(), title="Palettes")
    path = _index_path(app)
    folder = index.new_generation(path)
    whoosh_index.create_in(str(folder), Schema(id=ID(stored=True, unique=True))).close()
    index.swap_in(folder, path)
    assert client.get("/recherche?q=palettes").status_code == 503
    apply_leftover_index_tasks.call_local()
    assert client.get("/recherche?q=palettes").status_code == 200
    assert indexed_ids(app) == {listing.id}


def test_a_failed_rebuild_leaves_the_current_index_in_place(app, client, make_company, make_listing):
    from marketplace.search import indexing

    make_listing(make_company(), title="Palettes bois")
    before = _index_path(app).resolve()

    def fail(_n):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        indexing.rebuild(progress=fail)
    assert _index_path(app).resolve() == before
    assert [p for p in before.parent.iterdir() if p.name.startswith("search-index.gen-")] == [before]
    assert found(client, "?q=palettes") == {"Palettes bois"}
