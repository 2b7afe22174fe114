"""Search backends, chosen by the SEARCH_BACKEND setting (MARKETPLACE_SEARCH_BACKEND):

- `whoosh` (default): an index in files of the instance folder, nothing to install or run;
- `postgresql`: PostgreSQL full-text search in the application's own PostgreSQL database.

Both implement `base.SearchBackend`; `get_backend()` returns the configured one."""
from __future__ import annotations

from flask import Flask, current_app

from marketplace.search.backends.base import IndexUnavailable, SearchBackend

__all__ = ["BACKENDS", "IndexUnavailable", "SearchBackend", "SearchConfigError", "backend_name", "check_config",
           "get_backend"]

BACKENDS = ("whoosh", "postgresql")


class SearchConfigError(RuntimeError):
    """SEARCH_BACKEND names no backend, or one this database cannot run."""


def backend_name(config) -> str:
    """The configured backend's name (whoosh by default); SearchConfigError if it names none."""
    name = config.get("SEARCH_BACKEND") or "whoosh"
    if name not in BACKENDS:
        raise SearchConfigError(f"SEARCH_BACKEND={name!r}: expected one of {', '.join(BACKENDS)}.")
    return name


def check_config(config) -> None:
    """Refuse to start with a backend that cannot work (called by the app factory)."""
    if backend_name(config) == "postgresql" and not str(config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        raise SearchConfigError("SEARCH_BACKEND=postgresql needs a PostgreSQL database (MARKETPLACE_DATABASE_URL).")


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The backend of the app's configuration. Cheap: backends keep their state (open Whoosh
    searchers, the database connection) elsewhere, so this is called per use."""
    app = app or current_app._get_current_object()
    if backend_name(app.config) == "postgresql":
        from marketplace.search.backends.postgres_backend import PostgresBackend

        return PostgresBackend()
    from marketplace.search.backends.whoosh_backend import WhooshBackend

    return WhooshBackend(app.config["SEARCH_INDEX_PATH"])
