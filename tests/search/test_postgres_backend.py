"""The PostgreSQL backend's own machinery: the French configuration, highlights built from ts_headline
and escaped, a rebuild in one transaction, the suggestion words. The behaviour shared with Whoosh is
tested in test_search.py. These run on PostgreSQL in both runs of the suite: the suite's database in
the PostgreSQL run, else a scratch database on the local server (MARKETPLACE_TEST_POSTGRES_URL, by
default the one the queue tests use too)."""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from tests.conftest import CsrfClient, _base_config, _scratch_postgres_database
from tests.search.helpers import indexed_ids, page

LOCAL_POSTGRES_URL = os.environ.get("MARKETPLACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def postgres_database(database_url, migrated_database, tmp_path_factory, smtp_server):
    """The suite's database when it is PostgreSQL (migrated for the session), else a scratch one."""
    if database_url:
        yield database_url
        return
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db

    with _scratch_postgres_database(LOCAL_POSTGRES_URL) as url:
        app = create_app(_base_config(tmp_path_factory.mktemp("search-postgres"), url, smtp_server.port))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


@pytest.fixture
def app(postgres_database, tmp_path, smtp_server):
    """The suite's `app`, on PostgreSQL with the PostgreSQL backend whatever the run."""
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app({**_base_config(tmp_path, postgres_database, smtp_server.port), "SEARCH_BACKEND": "postgresql"})
    app.test_client_class = CsrfClient
    with app.app_context():
        yield app
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


def test_the_french_configuration_folds_accents_then_stems(app):
    from marketplace.extensions import db

    vector = db.session.scalar(sa.text("SELECT to_tsvector('marketplace_fr', 'Réfrigérés de palettes')::text"))
    assert vector == "'palet':3 'refriger':1"
    assert db.session.scalar(sa.text(
        "SELECT to_tsvector('marketplace_fr', 'camion refrigere') @@ plainto_tsquery('marketplace_fr', 'réfrigéré')"))


def test_the_vector_weighs_title_labels_and_description(app, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.search.models import SearchDocument

    listing = make_listing(make_company("Scierie Jaouen"), title="Sciure", description="Copeaux secs",
                           waste_code="15 01 03")
    vector = db.session.scalar(sa.select(sa.cast(SearchDocument.document, sa.Text))
                               .where(SearchDocument.listing_id == listing.id))
    assert re.search(r"'sciur':\d+A", vector)
    assert re.search(r"'jaouen':\d+B", vector) and re.search(r"'emballag':\d+B", vector)
    assert re.search(r"'copeau':\d+C", vector)


def test_highlights_keep_the_text_and_mark_nothing_else(app, client, make_company, make_listing):
    # The markers ts_headline is given, the characters "<" and ">" are swapped for, an HTML tag.
    make_listing(make_company(), title="Palettes \x01<i>x</i>\x02 a < b > c & d &amp; e \"f\" 'g' \ue000h\ue001",
                 description="Palettes \x01<mark>pas une marque</mark>\x02 et \ue000crochets\ue001")
    text = page(client, "?q=palettes")
    title = re.search(r'<h3 class="card-title"><a href="/annonces/\d+">(.*?)</a></h3>', text, re.DOTALL).group(1)
    snippet = re.search(r'<p class="card-snippet">(.*?)</p>', text, re.DOTALL).group(1)
    assert title == ('<mark class="hl">Palettes</mark> &lt;i&gt;x&lt;/i&gt; a &lt; b &gt; c &amp; d &amp;amp; e '
                     '&#34;f&#34; &#39;g&#39; h')
    assert snippet == '<mark class="hl">Palettes</mark> &lt;mark&gt;pas une marque&lt;/mark&gt; et crochets'
    assert "\x01" not in text and "\x02" not in text and "\ue000" not in text


def test_a_rebuild_is_one_transaction_searches_see_the_old_index_meanwhile(app, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.search import indexing, queries
    from marketplace.search.backends import get_backend
    from marketplace.vocabulary import services as vocabulary

    company = make_company()
    ids = {make_listing(company, title=f"Palettes lot {i}").id for i in range(3)}
    seen = []

    def progress(_n):
        with app.app_context():  # another session, as a web process
            result = get_backend().search(queries.SearchParams(q="palettes"), vocabulary.current())
            seen.append(result.total)
            db.session.remove()

    assert indexing.rebuild(progress=progress, batch_size=2) == 3
    assert seen == [3, 3]
    assert indexed_ids(app) == ids


def test_a_failed_rebuild_leaves_the_index_as_it_was(app, make_company, make_listing):
    from marketplace.search import indexing

    listing_id = make_listing(make_company(), title="Palettes").id

    def fail(_n):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        indexing.rebuild(progress=fail)
    assert indexed_ids(app) == {listing_id}


def test_suggestion_words_are_the_listings_words_as_written(app, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.search.models import SearchWord

    make_listing(make_company(), title="Drêches de brasserie", description="Humides, à prendre")
    words = set(db.session.scalars(sa.select(SearchWord.word)))
    assert {"drêches", "brasserie", "humides", "prendre"} <= words
    assert "de" not in words and "à" not in words


def test_withdrawing_removes_the_document_and_its_territories(app, make_territory, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.listings import services
    from marketplace.search.models import SearchDocumentTerritory

    make_territory("Cornouaille", "29900")
    listing = make_listing(make_company(), title="Palettes")
    assert db.session.scalars(sa.select(SearchDocumentTerritory.listing_id)).all() == [listing.id]
    services.change_status(None, listing, "withdraw")
    db.session.commit()
    assert indexed_ids(app) == set()
    assert db.session.scalars(sa.select(SearchDocumentTerritory.listing_id)).all() == []
