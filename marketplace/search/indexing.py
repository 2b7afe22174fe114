"""Keeping the index in step with the database, whatever the backend.

Every listing change records an IndexTask in the caller's transaction (`schedule_listing`) and asks
for `apply_index_tasks` once it commits. The functions that write (`apply_pending`, `rebuild`) expect
their caller to hold the single writer lock (see tasks.py); they read the listings' current state
from the database, so a task only says "look at this listing again", and hand the backend
(backends/) the listings to write or remove."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Site
from marketplace.extensions import db
from marketplace.jobs import enqueue_after_commit
from marketplace.listings.models import PUBLIC_STATUSES, Listing
from marketplace.search.backends import IndexUnavailable, get_backend
from marketplace.search.models import IndexTask

log = logging.getLogger(__name__)
BATCH_SIZE = 500


# --- scheduling (in the caller's transaction) ---------------------------------------------------


def _enqueue_apply(session) -> None:
    from marketplace.search.tasks import apply_index_tasks

    # One job per transaction is enough: it applies every pending row.
    queued = session.info.get("after_commit_tasks", [])
    if not any(task is apply_index_tasks for task, *_ in queued):
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


# --- writing (caller holds the writer lock) -----------------------------------------------------


def _load(listing_ids: list[int]) -> dict[int, Listing]:
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.id.in_(listing_ids)).options(
            selectinload(Listing.company), selectinload(Listing.site).selectinload(Site.territories))
    ).all()
    return {listing.id: listing for listing in listings}


def apply_pending(batch_size: int = BATCH_SIZE) -> int:
    """Apply every pending task in batches: one index write, then one database commit, per batch
    (the same commit for the PostgreSQL backend, whose index is in the database). A missing or
    damaged index is rebuilt from the database instead. Returns the listings handled."""
    backend = get_backend()
    handled = 0
    rebuilt = False
    with contextlib.ExitStack() as stack:
        writer = None
        while True:
            tasks = db.session.scalars(sa.select(IndexTask).order_by(IndexTask.id).limit(batch_size)).all()
            if not tasks:
                return handled
            if writer is None:
                try:
                    writer = stack.enter_context(backend.updating())
                except IndexUnavailable as exc:
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
            public = [listings[i] for i in listing_ids if i in listings and listings[i].status in PUBLIC_STATUSES]
            public_ids = {listing.id for listing in public}
            writer.write(public, [i for i in listing_ids if i not in public_ids])
            # Only the rows read: a row added meanwhile may describe a newer state.
            db.session.execute(sa.delete(IndexTask).where(IndexTask.id.in_(task_ids)))
            db.session.commit()
            handled += len(listing_ids)


def public_listing_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Listing).where(Listing.status.in_(PUBLIC_STATUSES)))


def rebuild(progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Index every public listing into a fresh index that replaces the current one at the end.
    Returns the number indexed.

    The tasks pending when it starts are covered by the rebuild and deleted; later ones stay for
    `apply_pending`."""
    backend = get_backend()
    covered = db.session.scalars(sa.select(IndexTask.id)).all()
    count = 0
    with backend.rebuilding() as builder:
        last_id = 0
        while True:
            ids = db.session.scalars(
                sa.select(Listing.id).where(Listing.status.in_(PUBLIC_STATUSES), Listing.id > last_id)
                .order_by(Listing.id).limit(batch_size)
            ).all()
            if not ids:
                break
            listings = _load(ids)
            builder.add([listings[listing_id] for listing_id in ids])
            count += len(ids)
            last_id = ids[-1]
            if progress:
                progress(len(ids))
            db.session.expunge_all()  # keep memory flat on large databases
    for start in range(0, len(covered), batch_size):
        db.session.execute(sa.delete(IndexTask).where(IndexTask.id.in_(covered[start:start + batch_size])))
    db.session.commit()
    backend.after_rebuild()
    return count
