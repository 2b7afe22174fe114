"""The published listings matching compares with, kept in memory by each process.

Matching one listing reads every published listing of the other kind within 250 km: at 100,000
listings, 10,000 to 20,000 rows, which took most of a job's time to read from the database. So each
process keeps them (one store per database engine), and before each use brings the store up to date
with a few queries that return only what changed:

- the listings, sites and companies whose `updated_at` is recent (an ORM change of a listing, of its
  site's coordinates or of its company's declared waste codes and operations moves it), compared
  with what the previous check saw: a changed row is read again, and so is a row that no longer
  shows (a change rolled back since, or just older than the window now);
- at most every `COUNT_EVERY`, the number of published listings against the store's, which catches
  what the timestamps cannot (a row deleted, a change committed more than `WINDOW` after its
  timestamp was taken).

"Recent" is since the previous check minus `WINDOW`, because a change becomes visible only when its
transaction commits (an import commits at its end) and the clocks of several servers differ a little.
Each check sees what the session sees, its own changes not yet committed included. Right after a
bulk change (an import), each check reads back the (id, timestamp) of every row it touched, about
5 µs a row, until they are older than the window.
"""
from __future__ import annotations

import gc
import math
import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import timedelta

import sqlalchemy as sa

from marketplace.accounts.models import Company, Site
from marketplace.listings.models import Listing
from marketplace.matching.models import MatchProfile
from marketplace.models_base import utcnow

WINDOW = timedelta(minutes=15)
COUNT_EVERY = timedelta(minutes=1)
BATCH = 5000  # ids per IN (…) when rows are read again

# What matching reads of a candidate: the listing, its site's position, its company's declarations
# and the stored analysis of its text.
COLUMNS = (
    Listing.id, Listing.kind, Listing.status, Listing.category, Listing.company_id, Listing.waste_code,
    Listing.is_hazardous, Listing.quantity, Listing.unit, Listing.frequency, Listing.available_from,
    Listing.available_until, Listing.ref, Listing.updated_at, Site.latitude, Site.longitude,
    Company.handled_waste_codes, Company.treatment_operations, MatchProfile.title_terms, MatchProfile.body_terms,
    MatchProfile.source_updated_at,
)


def candidate_rows() -> sa.Select:
    """The rows of COLUMNS (filter them further)."""
    return (
        sa.select(*COLUMNS)
        .join(Site, Site.id == Listing.site_id).join(Company, Company.id == Listing.company_id)
        .outerjoin(MatchProfile, MatchProfile.listing_id == Listing.id)
    )


def bounding_box(latitude: float, longitude: float, km: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) of the box holding every point within `km` of the given one."""
    dlat = km / 110.57
    dlon = km / (111.32 * max(math.cos(math.radians(latitude)), 0.1))
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


class Entry:
    """A published listing as matching reads it: the row, its index terms (None while its stored
    analysis is missing or older than the listing) and, once described, its features."""

    __slots__ = ("row", "id", "kind", "company_id", "latitude", "longitude", "cell", "terms", "code", "described")

    def __init__(self, row):
        self.row = row
        self.id, self.kind, self.company_id = row["id"], row["kind"], row["company_id"]
        self.latitude, self.longitude = row["latitude"], row["longitude"]
        placed = self.latitude is not None and self.longitude is not None
        self.cell = (math.floor(self.latitude), math.floor(self.longitude)) if placed else None
        fresh = row["title_terms"] is not None and row["source_updated_at"] == row["updated_at"]
        self.terms = frozenset((row["title_terms"] + " " + row["body_terms"]).split()) if fresh else None
        self.code = (row["waste_code"] or "").replace(" ", "")
        self.described = None  # (vocabulary, features)

    def features(self, vocabulary, describe: Callable):
        """`describe(vocabulary, row)`, computed once per vocabulary."""
        described = self.described
        if described is None or described[0] is not vocabulary:
            described = self.described = (vocabulary, describe(vocabulary, self.row))
            self.terms = described[1].term_set  # the same terms, as the features hold them (one copy)
        return described[1]


class ListingStore:
    """The published listings of one database, by kind and by 1° cell of latitude and longitude."""

    def __init__(self):
        self.lock = threading.Lock()  # held while checking and selecting (worker threads share the store)
        self.by_kind: dict[str, dict[int, Entry]] = {"offer": {}, "need": {}}
        self.cells: dict[str, dict[tuple[int, int] | None, dict[int, Entry]]] = {"offer": {}, "need": {}}
        self.seen: dict[str, dict[int, object]] = {}  # table → {id: updated_at} of its recent rows at the last check
        self.checked_at = self.counted_at = None

    def within_reach(self, session, kind: str, company_id: int, latitude: float | None, longitude: float | None,
                     km: float, terms: set[str], prefixes: tuple[str, ...]) -> list[Entry]:
        """Published listings of `kind` of other companies whose site is in the box around the point
        (all of them when the point is unknown) and which carry one of `terms` or a waste code starting
        with one of `prefixes` (or whose terms are not known yet), as the database holds them for
        `session` now."""
        def keep(entries):
            return [e for e in entries if e.company_id != company_id and (
                e.terms is None or not terms.isdisjoint(e.terms) or (e.code and e.code.startswith(prefixes)))]

        with self.lock:
            self.check(session)
            if latitude is None or longitude is None:
                return keep(self.by_kind[kind].values())
            south, north, west, east = bounding_box(latitude, longitude, km)
            cells, found = self.cells[kind], []
            for lat in range(math.floor(south), math.floor(north) + 1):
                for lon in range(math.floor(west), math.floor(east) + 1):
                    entries = cells.get((lat, lon))
                    if not entries:
                        continue
                    if south <= lat and lat + 1 <= north and west <= lon and lon + 1 <= east:  # the whole cell
                        found += keep(entries.values())
                    else:
                        found += keep(e for e in entries.values()
                                      if south <= e.latitude <= north and west <= e.longitude <= east)
            return found

    def entries(self) -> list[Entry]:
        with self.lock:
            return [e for entries in self.by_kind.values() for e in entries.values()]

    def with_row(self, entry: Entry, **values) -> Entry:
        """The entry with some values of its row replaced (its stored analysis, just computed)."""
        new = Entry({**entry.row, **values})
        with self.lock:
            if self.by_kind[new.kind].get(entry.id) is entry:
                self._add(new)
        return new

    def check(self, session) -> None:
        """Bring the store up to date (the first time: read every published listing)."""
        now = utcnow()
        if self.checked_at is None:
            self._recent_changes(session, now - WINDOW)  # noted before reading, so nothing falls in between
            self._read(session, None)
        else:
            listings, sites, companies = self._recent_changes(session, self.checked_at - WINDOW)
            for column, ids in ((Listing.site_id, sites), (Listing.company_id, companies)):
                for batch in _batches(ids):
                    listings.update(session.scalars(sa.select(Listing.id).where(column.in_(batch))))
            if listings:
                self._read(session, listings)
        if self.counted_at is None or now - self.counted_at >= COUNT_EVERY:
            self._count(session)
            self.counted_at = now
        self.checked_at = now

    def _count(self, session) -> None:
        """Compare the number of published listings with the store's; on a difference, compare the ids."""
        published = session.scalar(sa.select(sa.func.count()).select_from(Listing).where(Listing.status == "published"))
        if published == sum(len(entries) for entries in self.by_kind.values()):
            return
        ids = set(session.scalars(sa.select(Listing.id).where(Listing.status == "published")))
        known = {i for entries in self.by_kind.values() for i in entries}
        self._read(session, (known - ids) | (ids - known))

    def _recent_changes(self, session, since) -> tuple[set[int], set[int], set[int]]:
        """Ids of the listings, sites and companies changed since the previous check."""
        changed = []
        for name, model in (("listing", Listing), ("site", Site), ("company", Company)):
            rows = dict(session.execute(sa.select(model.id, model.updated_at).where(model.updated_at > since)).all())
            before = self.seen.get(name, {})
            changed.append({i for i, at in rows.items() if before.get(i) != at} | (before.keys() - rows.keys()))
            self.seen[name] = rows
        return changed[0], changed[1], changed[2]

    def _read(self, session, ids: Iterable[int] | None) -> None:
        """Read these listings again (None: all of them), keeping the published ones."""
        if ids is None:
            for kind in self.by_kind:
                self.by_kind[kind], self.cells[kind] = {}, {}
            queries = [candidate_rows().where(Listing.status == "published")]
        else:
            for listing_id in ids:
                self._remove(listing_id)
            queries = [candidate_rows().where(Listing.id.in_(batch)) for batch in _batches(ids)]
        connection = session.connection()  # rows, not ORM results: 90,000 of them on the first check
        for query in queries:
            for count, row in enumerate(connection.execute(query), start=1):
                if row.status == "published" and row.kind in self.by_kind:
                    self._add(Entry(row._mapping))
                if ids is None and count % 10_000 == 0:
                    keep_out_of_gc()
        if ids is None:
            keep_out_of_gc()

    def _add(self, entry: Entry) -> None:
        if entry.id in self.by_kind["offer"] or entry.id in self.by_kind["need"]:
            self._remove(entry.id)
        self.by_kind[entry.kind][entry.id] = entry
        self.cells[entry.kind].setdefault(entry.cell, {})[entry.id] = entry

    def _remove(self, listing_id: int) -> None:
        for kind, entries in self.by_kind.items():
            entry = entries.pop(listing_id, None)
            if entry is not None:
                cell = self.cells[kind][entry.cell]
                del cell[listing_id]
                if not cell:
                    del self.cells[kind][entry.cell]


def keep_out_of_gc() -> None:
    """Exempt the objects that exist now, the store's above all (they live as long as the process),
    from the cyclic garbage collector: each of its full collections would walk them again, a second
    for 100,000 listings, in the middle of whatever job runs then. Reference counting still frees
    them when they are replaced; only cycles among them would stay (the job's own objects of that
    moment: a few kilobytes, once per warm-up or per job that described thousands of listings)."""
    gc.freeze()


def _batches(ids: Iterable[int]) -> list[list[int]]:
    ids = list(ids)
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


_stores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_stores_lock = threading.Lock()


def store_for(engine) -> ListingStore:
    """The store of this process for a database engine (an app has one; tests make one per test)."""
    with _stores_lock:
        store = _stores.get(engine)
        if store is None:
            store = _stores[engine] = ListingStore()
        return store
