"""What a search backend does for the rest of the application. Views, the API, jobs and commands
only call these methods (through `get_backend()`); the loops that keep an index in step with the
database (indexing.py) are shared and only hand each backend listings to write or remove."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from marketplace.listings.models import Listing
    from marketplace.search.queries import SearchParams, SearchResult
    from marketplace.vocabulary.rules import Vocabulary


class IndexUnavailable(Exception):
    """No usable index (missing, unreadable, built by another version, never built): run `flask search rebuild`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class IndexWriter(Protocol):
    """Writes one batch of changes; the shared loop commits the database after each batch."""

    def write(self, listings: Iterable[Listing], removed_ids: Iterable[int]) -> None:
        """Replace the documents of these public listings; remove those of the other listing ids."""


class IndexBuilder(Protocol):
    """Fills a fresh index; it replaces the current one when the `rebuilding()` block ends normally."""

    def add(self, listings: Iterable[Listing]) -> None:
        """Add the documents of these public listings (each listing once)."""


class SearchBackend(Protocol):
    name: str

    def search(self, params: SearchParams, vocabulary: Vocabulary,
               spelling_words: Callable[[], list[str]] | None = None) -> SearchResult:
        """One page of results with facet counts, highlights and, when little is found, a spelling
        suggestion (`spelling_words`: extra words to suggest from, the thesaurus's). Raises
        IndexUnavailable."""

    def suggest(self, q: str, vocabulary: Vocabulary, extra_words: Iterable[str] = ()) -> str | None:
        """The query with its unknown words replaced by the nearest known ones, or None."""

    def usable(self) -> bool:
        """Whether there is an index to search and update (else the writer rebuilds it)."""

    def updating(self) -> AbstractContextManager[IndexWriter]:
        """The current index, open for updates (raises IndexUnavailable: rebuild instead)."""

    def rebuilding(self) -> AbstractContextManager[IndexBuilder]:
        """A fresh empty index that replaces the current one at the end of the block; searches
        keep reading the old one meanwhile; an error leaves the old one in place."""

    def after_rebuild(self) -> None:
        """Housekeeping once a rebuild is committed (PostgreSQL: VACUUM ANALYZE)."""

    def location(self) -> str:
        """Where the index lives, for messages."""
