"""The search page as a user reads it, and the configured backend's index from tests: what it holds,
and losing it on purpose."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import sqlalchemy as sa

CARD_TITLE = re.compile(r'<h3 class="card-title"><a href="/annonces/\d+">(.*?)</a></h3>', re.DOTALL)


def page(client, query: str = "", status: int = 200) -> str:
    response = client.get("/recherche" + query)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def titles(client, query: str = "") -> list[str]:
    """Card titles in page order, as the user reads them (highlight tags removed)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", t)) for t in CARD_TITLE.findall(page(client, query))]


def found(client, query: str = "") -> set[str]:
    return set(titles(client, query))


def indexed_ids(app) -> set[int]:
    """The listing ids the search index has a document for."""
    from marketplace.extensions import db

    if app.config["SEARCH_BACKEND"] == "postgresql":
        from marketplace.search.models import SearchDocument

        return set(db.session.scalars(sa.select(SearchDocument.listing_id)))
    from marketplace.search.backends import whoosh_index

    with whoosh_index.searcher(Path(app.config["SEARCH_INDEX_PATH"])) as searcher:
        return {int(searcher.stored_fields(d)["id"]) for d in searcher.document_numbers()}


def lose_index(app) -> None:
    """What an operator may face: the Whoosh folder deleted, or the PostgreSQL tables never built
    (a site switched to the PostgreSQL backend without `flask search rebuild`)."""
    from marketplace.extensions import db

    if app.config["SEARCH_BACKEND"] == "postgresql":
        from marketplace.search.models import SearchDocument, SearchIndexState, SearchWord

        for model in (SearchIndexState, SearchDocument, SearchWord):
            db.session.execute(sa.delete(model))
        db.session.commit()
        return
    path = Path(app.config["SEARCH_INDEX_PATH"])
    assert path.is_symlink()
    shutil.rmtree(path.resolve())
    path.unlink()


def index_exists(app) -> bool:
    from marketplace.search.backends import get_backend

    return get_backend(app).usable()
