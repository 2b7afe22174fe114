"""Keeping the index in step with the database.

Every listing change records an IndexTask in the caller's transaction (`schedule_listing`) and asks
for `apply_index_tasks` once it commits. The functions that write (`apply_pending`, `rebuild`) expect
their caller to hold the single writer lock (see tasks.py); they read the listings' current state
from the database, so a task only says "look at this listing again"."""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from datetime import UTC

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Site
from marketplace.extensions import db
from marketplace.jobs import enqueue_after_commit
from marketplace.listings.models import PUBLIC_STATUSES, Listing
from marketplace.matching.features import waste_code_words
from marketplace.search import index
from marketplace.search.models import IndexTask

log = logging.getLogger(__name__)
BATCH_SIZE = 500
WRITER_TIMEOUT = 30.0  # seconds to wait for Whoosh's own file lock


# --- scheduling (in the caller's transaction) ---------------------------------------------------


def _enqueue_apply(session) -> None:
    from marketplace.search.tasks import apply_index_tasks

    # One job per transaction is enough: it applies every pending row.
    queued = session.info.get("after_commit_tasks", [])
    if not any(task is apply_index_tasks for task, _ in queued):
        enqueue_after_commit(session, apply_index_tasks)


def schedule_listing_ids(listing_ids: Iterable[int]) -> None:
    session = db.session()
    added = False
    for listing_id in listing_ids:
        session.add(IndexTask(listing_id=listing_id))
        added = True
    if added:
        _enqueue_apply(session)


def schedule_listing(listing: Listing) -> None:
    """Re-index (or drop from the index) this listing once the current transaction commits."""
    if listing.id is None:
        db.session.flush()
    schedule_listing_ids([listing.id])


def schedule_company_listings(company_id: int) -> None:
    """The company's name is indexed with each of its listings."""
    schedule_listing_ids(db.session.scalars(sa.select(Listing.id).where(Listing.company_id == company_id)).all())


def schedule_site_listings(site_ids: Iterable[int]) -> None:
    """A site's place and territories are indexed with each of its listings."""
    site_ids = list(site_ids)
    if site_ids:
        schedule_listing_ids(db.session.scalars(sa.select(Listing.id).where(Listing.site_id.in_(site_ids))).all())


def has_pending() -> bool:
    return db.session.scalar(sa.select(IndexTask.id).limit(1)) is not None


# --- documents ----------------------------------------------------------------------------------


def document(listing: Listing) -> dict:
    """The search document of a public listing."""
    site = listing.site
    doc = {
        "id": str(listing.id),
        "kind": listing.kind,
        "category": listing.category,
        "status": listing.status,
        "title": listing.title,
        "description": listing.description or "",
        "company": listing.company.name,
        "city": site.city or "",
        "postcode": site.postcode or "",
        "territories": ",".join(str(t.id) for t in site.territories),
        "is_hazardous": bool(listing.is_hazardous),
        "spell": f"{listing.title}\n{listing.description or ''}",
    }
    if listing.waste_code:
        doc["waste_code"] = listing.waste_code
        doc["waste_chapter"] = listing.waste_code[:2]
        doc["waste_label"] = waste_code_words(listing.waste_code)
    # Columns always get a value (see the schema); (0, 0) is far from any French site.
    doc["latitude"] = doc["longitude"] = doc["published_at"] = 0
    if site.latitude is not None and site.longitude is not None:
        doc["geocells"] = ",".join(index.geocells(site.latitude, site.longitude))
        doc["latitude"] = round(site.latitude * index.MICRODEGREES)
        doc["longitude"] = round(site.longitude * index.MICRODEGREES)
    if listing.published_at is not None:
        doc["published_at"] = int(listing.published_at.replace(tzinfo=UTC).timestamp())
    return doc


def _load(listing_ids: list[int]) -> dict[int, Listing]:
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.id.in_(listing_ids)).options(
            selectinload(Listing.company), selectinload(Listing.site).selectinload(Site.territories))
    ).all()
    return {listing.id: listing for listing in listings}


# --- writing (caller holds the writer lock) -----------------------------------------------------


def index_is_usable() -> bool:
    try:
        index.open_index(index.index_path()).close()
    except index.IndexUnavailable:
        return False
    return True


def apply_pending(batch_size: int = BATCH_SIZE) -> int:
    """Apply every pending task in batches: one index commit, then one database commit, per batch.
    A missing or damaged index is rebuilt from the database instead. Returns the listings handled."""
    handled = 0
    ix = None
    rebuilt = False
    try:
        while True:
            tasks = db.session.scalars(sa.select(IndexTask).order_by(IndexTask.id).limit(batch_size)).all()
            if not tasks:
                return handled
            if ix is None:
                try:
                    ix = index.open_index(index.index_path())
                except index.IndexUnavailable as exc:
                    if rebuilt:
                        raise
                    rebuilt = True
                    log.warning("search index %s: rebuilding it from the database", exc.reason)
                    handled += rebuild()
                    continue
            task_ids = [t.id for t in tasks]
            listing_ids = sorted({t.listing_id for t in tasks})
            # Read after the tasks: the listings' state is at least as recent as the changes recorded.
            listings = _load(listing_ids)
            writer = ix.writer(timeout=WRITER_TIMEOUT)
            try:
                for listing_id in listing_ids:
                    listing = listings.get(listing_id)
                    if listing is not None and listing.status in PUBLIC_STATUSES:
                        writer.update_document(**document(listing))
                    else:
                        writer.delete_by_term("id", str(listing_id))
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            # Only the rows read: a row added meanwhile may describe a newer state.
            db.session.execute(sa.delete(IndexTask).where(IndexTask.id.in_(task_ids)))
            db.session.commit()
            handled += len(listing_ids)
    finally:
        if ix is not None:
            ix.close()


def public_listing_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Listing).where(Listing.status.in_(PUBLIC_STATUSES)))


def rebuild(progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Index every public listing into a fresh folder, then swap it in. Returns the number indexed.

    The tasks pending when it starts are covered by the rebuild and deleted; later ones stay for
    `apply_pending`."""
    path = index.index_path()
    covered = db.session.scalars(sa.select(IndexTask.id)).all()
    folder = index.new_generation(path)
    count = 0
    try:
        ix = index.create_empty(folder)
        writer = ix.writer(limitmb=128)
        try:
            last_id = 0
            while True:
                ids = db.session.scalars(
                    sa.select(Listing.id).where(Listing.status.in_(PUBLIC_STATUSES), Listing.id > last_id)
                    .order_by(Listing.id).limit(batch_size)
                ).all()
                if not ids:
                    break
                listings = _load(ids)
                for listing_id in ids:
                    writer.add_document(**document(listings[listing_id]))
                count += len(ids)
                last_id = ids[-1]
                if progress:
                    progress(len(ids))
                db.session.expunge_all()  # keep memory flat on large databases
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        ix.close()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    index.swap_in(folder, path)
    index.forget(path)
    for start in range(0, len(covered), batch_size):
        db.session.execute(sa.delete(IndexTask).where(IndexTask.id.in_(covered[start:start + batch_size])))
    db.session.commit()
    return count
