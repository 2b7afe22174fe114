"""The Whoosh index of public listings on disk: its schema, where it lives, and the searchers web
processes read it with. Web processes only read; the single writer is `indexing.py` through the
backend (whoosh_backend.py).

On disk, SEARCH_INDEX_PATH is a symbolic link to the current generation of the index
(`search-index.gen-…` beside it): a rebuild writes a fresh generation and swaps the link with one
rename, so readers see either the old index or the new one, never a half-built one."""
from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import secrets
import shutil
import threading
import warnings
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

from flask import current_app
from whoosh import columns
from whoosh import index as whoosh_index
from whoosh.fields import BOOLEAN, COLUMN, ID, KEYWORD, TEXT, Schema

from marketplace.search.analysis import french_analyzer, spelling_analyzer
from marketplace.search.backends.base import IndexUnavailable

log = logging.getLogger(__name__)
# Fields searched by free text, and the weight of a title match.
TEXT_FIELDS = ("title", "description", "waste_label", "company")
TITLE_BOOST = 3.0
SEARCHERS_KEPT = 8  # idle searchers kept per process for reuse
INDEXES_KEPT = 4  # open indexes per process (one in production; tests use one folder per test)


def build_schema() -> Schema:
    text = french_analyzer()
    return Schema(
        # Stored: the id (the page reads the listings from the database) and the texts highlighted.
        id=ID(stored=True, unique=True),
        kind=ID,
        category=ID,
        status=ID,
        title=TEXT(analyzer=text, stored=True, field_boost=TITLE_BOOST),
        description=TEXT(analyzer=text, stored=True),
        waste_code=ID,
        waste_chapter=ID,
        waste_label=TEXT(analyzer=text),
        company=TEXT(analyzer=text),
        city=TEXT(analyzer=text),
        postcode=ID,
        territories=KEYWORD(commas=True),
        # Distance: grid cells around the site as terms (the bounding-box prefilter), and its
        # position in micro-degrees as columns (the exact distance). A NumericRange box on float
        # fields costs 20-250 ms on 50,000 listings (one term per coordinate in each band); cells
        # cost a few ms. Columns are always written: Whoosh 2.7.5 fails reading a column that a
        # segment lacks, and its float columns are broken.
        geocells=KEYWORD(commas=True),
        latitude=COLUMN(columns.NumericColumn("i", default=0)),
        longitude=COLUMN(columns.NumericColumn("i", default=0)),
        # Only sorted on, never searched: seconds since 1970, no index terms.
        published_at=COLUMN(columns.NumericColumn("q", default=0)),
        is_hazardous=BOOLEAN,
        spell=TEXT(analyzer=spelling_analyzer()),
    )


def _fingerprint(schema: Schema) -> frozenset:
    return frozenset((name, type(schema[name]).__name__) for name in schema.names())


SCHEMA_FINGERPRINT = _fingerprint(build_schema())


# --- positions ----------------------------------------------------------------------------------

MICRODEGREES = 1_000_000
GRID = (("f", 10), ("c", 1))  # cells of 0.1° (≈ 11 × 7 km here) and of 1°, as cells per degree
MAX_CELLS = 200


def geocells(latitude: float, longitude: float) -> list[str]:
    """The grid cells, one per resolution, that hold a point."""
    return [f"{name}{math.floor(latitude * per)}:{math.floor(longitude * per)}" for name, per in GRID]


def cells_covering(south: float, west: float, north: float, east: float) -> list[str]:
    """Cells of the finest resolution that covers the box in at most MAX_CELLS cells."""
    for name, per in GRID:
        rows = range(math.floor(south * per), math.floor(north * per) + 1)
        cols = range(math.floor(west * per), math.floor(east * per) + 1)
        if len(rows) * len(cols) <= MAX_CELLS or per == GRID[-1][1]:
            return [f"{name}{r}:{c}" for r in rows for c in cols]
    return []


def index_path(app=None) -> Path:
    return Path((app or current_app).config["SEARCH_INDEX_PATH"])


def open_index(path: Path):
    """The index at `path`, or IndexUnavailable saying why not."""
    if not path.exists():
        raise IndexUnavailable("missing")
    with warnings.catch_warnings():
        # Whoosh leaves the file of a damaged table of contents open: let it be collected quietly.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            ix = whoosh_index.open_dir(str(path))
        except whoosh_index.EmptyIndexError:
            ix, reason = None, "missing"
        except Exception as exc:  # noqa: BLE001 (a damaged index fails in many ways: pickle, struct, I/O…)
            ix, reason = None, "corrupt"
            log.warning("cannot open the search index at %s: %s: %s", path, type(exc).__name__, exc)
        if ix is None:
            gc.collect()
            raise IndexUnavailable(reason)
    if _fingerprint(ix.schema) != SCHEMA_FINGERPRINT:  # built by another version: rebuild
        ix.close()
        raise IndexUnavailable("outdated")
    return ix


# --- readers ------------------------------------------------------------------------------------


class _OpenIndex:
    """One open index per folder per process, and a small pool of searchers refreshed before use."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._ix = None
        self._identity = None
        self._idle: list = []

    def _current_identity(self):
        try:
            st = os.stat(self.path)  # follows the link: a rebuild changes the inode
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def acquire(self):
        identity = self._current_identity()
        with self._lock:
            if identity is None:
                self._close_idle()
                self._ix = None
                raise IndexUnavailable("missing")
            if self._ix is None or identity != self._identity:
                self._close_idle()
                self._ix = None
                self._ix = open_index(self.path)
                self._identity = identity
            searcher = self._idle.pop() if self._idle else None
            ix = self._ix
        try:
            return self._fresh(ix, searcher), identity
        except Exception as exc:  # segment files gone or damaged under an open index
            with self._lock:
                self._ix = None
            raise IndexUnavailable("corrupt") from exc

    @staticmethod
    def _fresh(ix, searcher):
        """The pooled searcher if the index has not changed since, else a new one. Not
        `Searcher.refresh()`: in Whoosh 2.7.5 it keeps the old deletions of the segments it reuses
        (a withdrawn listing would stay visible) and fails on a searcher of an empty index."""
        if searcher is not None:
            if searcher.up_to_date():
                return searcher
            searcher.close()
        return ix.searcher()

    def release(self, searcher, identity) -> None:
        with self._lock:
            if identity == self._identity and self._ix is not None and len(self._idle) < SEARCHERS_KEPT:
                self._idle.append(searcher)
                return
        searcher.close()

    def _close_idle(self) -> None:
        for searcher in self._idle:
            with contextlib.suppress(Exception):
                searcher.close()
        self._idle = []

    def close(self) -> None:
        with self._lock:
            self._close_idle()
            self._ix = None


_open: OrderedDict[str, _OpenIndex] = OrderedDict()
_open_lock = threading.Lock()


def _open_index_for(path: Path) -> _OpenIndex:
    key = str(path)
    with _open_lock:
        handle = _open.get(key)
        if handle is None:
            handle = _open[key] = _OpenIndex(path)
            while len(_open) > INDEXES_KEPT:
                _, oldest = _open.popitem(last=False)
                oldest.close()
        else:
            _open.move_to_end(key)
        return handle


@contextlib.contextmanager
def searcher(path: Path | None = None):
    """A searcher on the latest committed version of the index, returned to the pool afterwards.
    Raises IndexUnavailable when there is no usable index."""
    handle = _open_index_for(path or index_path())
    found, identity = handle.acquire()
    try:
        yield found
    finally:
        handle.release(found, identity)


def forget(path: Path | None = None) -> None:
    """Close this process's searchers on an index folder (after it was replaced or removed)."""
    with _open_lock:
        handle = _open.pop(str(path or index_path()), None)
    if handle is not None:
        handle.close()


# --- generations on disk ------------------------------------------------------------------------


def new_generation(path: Path) -> Path:
    """An empty folder beside `path` for a fresh index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    folder = path.parent / f"{path.name}.gen-{stamp}-{secrets.token_hex(3)}"
    folder.mkdir()
    return folder


def create_empty(folder: Path):
    return whoosh_index.create_in(str(folder), build_schema())


def swap_in(folder: Path, path: Path) -> None:
    """Make `path` point to `folder` with one atomic rename, then delete the other generations."""
    link = path.parent / f".{path.name}.link-{secrets.token_hex(3)}"
    os.symlink(folder.name, link)
    if path.exists() and not path.is_symlink():
        # A real folder (made by hand, or an older layout) cannot be replaced by a rename: move it
        # aside first; readers see "missing" for that instant only.
        aside = path.parent / f"{path.name}.old-{secrets.token_hex(3)}"
        os.rename(path, aside)
    os.replace(link, path)
    for other in path.parent.glob(f"{path.name}.*"):
        if other == folder or not other.name.startswith((f"{path.name}.gen-", f"{path.name}.old-")):
            continue
        if other.is_dir() and not other.is_symlink():
            shutil.rmtree(other, ignore_errors=True)
        else:
            other.unlink(missing_ok=True)
