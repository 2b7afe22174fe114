"""Choosing the search backend (the setting, what the tests run on, configurations refused at start),
and the query rules both backends share."""
from __future__ import annotations

import os

import pytest

from tests.conftest import TEST_SEARCH_BACKEND


def test_runs_on_the_requested_search_backend(app):
    from marketplace.search.backends import get_backend

    wanted = os.environ.get("MARKETPLACE_TEST_SEARCH_BACKEND") or (
        "postgresql" if os.environ.get("MARKETPLACE_TEST_DATABASE_URL") else "whoosh")
    assert TEST_SEARCH_BACKEND == wanted
    assert get_backend().name == wanted


def test_whoosh_is_the_default(tmp_path, monkeypatch):
    from marketplace.config import load_config

    monkeypatch.delenv("MARKETPLACE_SEARCH_BACKEND", raising=False)
    assert load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})["SEARCH_BACKEND"] == "whoosh"
    monkeypatch.setenv("MARKETPLACE_SEARCH_BACKEND", "postgresql")
    assert load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})["SEARCH_BACKEND"] == "postgresql"


@pytest.mark.parametrize("backend, database_url, message", [
    ("postgresql", "sqlite:///{tmp}/x.db", "needs a PostgreSQL database"),
    ("elasticsearch", "sqlite:///{tmp}/x.db", "expected one of whoosh, postgresql"),
])
def test_a_backend_that_cannot_work_is_refused_at_start(tmp_path, backend, database_url, message):
    from marketplace import create_app
    from marketplace.search.backends import SearchConfigError

    with pytest.raises(SearchConfigError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "SEARCH_BACKEND": backend,
                    "DATABASE_URL": database_url.format(tmp=tmp_path)})


# --- the shared query rules ---------------------------------------------------------------------


def test_query_terms_keep_the_words_as_written_for_backends_that_analyse_text(app):
    from marketplace.search import queries
    from marketplace.vocabulary import services

    parsed = queries.parse_query("Cherche plaques de plâtre, 15 01 03 et Fenwick", services.current())
    plaster, forklift = parsed.terms
    assert plaster.typed == queries.Wording(("plaqu", "platr"), "plaques plâtre")  # filler words dropped
    assert queries.Wording(("placo",), "placo") in plaster.synonyms
    assert forklift.typed.text == "Fenwick"
    assert any(s.text == "chariot élévateur" for s in forklift.synonyms)  # the thesaurus's own spelling
    assert parsed.waste_codes == ["15 01 03"]
    assert parsed.clause_count == 3 and set(parsed.expanded) >= {"chariot élévateur"}


def test_spelling_helpers():
    from marketplace.search import queries

    assert queries.edit_distance("pallettes", "palettes") == 1
    assert queries.edit_distance("drache", "drêches") == 2
    assert queries.edit_distance("abc", "abcdef") == 3  # beyond the limit: limit + 1
    assert queries.nearest_words("fenwic", ["fenwick", "fenwik", "fenetre", "wenwick"]) == [
        (1, "fenwick"), (1, "fenwik")]
    assert queries.replace_words("des pallettes bois", {(4, 13): "palettes"}) == "des palettes bois"
    assert queries.suggestion_words("Des PALLETTES") == [("pallettes", 4, 13)]
