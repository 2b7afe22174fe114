"""The single index writer. Every job that writes to the search index takes the Huey lock
"search-index-writer" first; a job that finds it taken simply returns, because the holder keeps
applying rows until none is left (and checks once more after letting go). Whoosh allows one writer
at a time; with PostgreSQL the lock keeps batches in order and a rebuild alone."""
from __future__ import annotations

import contextlib
import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from huey import crontab
from huey.exceptions import TaskLockedException

from marketplace.extensions import db
from marketplace.jobs import app_periodic_task, app_task, huey
from marketplace.models_base import utcnow
from marketplace.search import indexing
from marketplace.search.backends import get_backend
from marketplace.search.models import IndexTask

log = logging.getLogger(__name__)
WRITER_LOCK = "search-index-writer"
# A lock left by a killed worker would freeze the index forever; no writer holds it this long.
STALE_LOCK_AFTER = timedelta(minutes=30)

writer_lock = huey.lock_task(WRITER_LOCK)


def apply_all(heal: bool = False) -> int:
    """Apply every pending index task unless another process is writing. With `heal`, also rebuild
    an index that is missing or damaged. Returns the number of listings handled here."""
    handled = 0
    while True:
        try:
            with writer_lock:
                if heal and not get_backend().usable():
                    handled += indexing.rebuild()
                heal = False
                handled += indexing.apply_pending()
        except TaskLockedException:
            return handled
        # A row committed while we held the lock had its job return at once: pick it up now.
        if not indexing.has_pending():
            return handled


@app_task()
def apply_index_tasks() -> int:
    return apply_all()


@app_periodic_task(crontab(minute="*"))
def apply_leftover_index_tasks() -> int:
    """Every minute: what a lost job left behind, and an index deleted or damaged since."""
    oldest = db.session.scalar(sa.select(sa.func.min(IndexTask.created_at)))
    if writer_lock.is_locked() and oldest is not None and oldest < utcnow() - STALE_LOCK_AFTER:
        log.error("lock %s held while index tasks wait since %s: assuming a dead writer, releasing it",
                  WRITER_LOCK, oldest)
        writer_lock.clear()
    return apply_all(heal=True)


def apply_now(wait_seconds: float = 60.0) -> int:
    """Bring the index up to date before returning (for commands such as an import that must leave
    it current when they exit): wait for a running writer, then apply every pending task."""
    with holding_writer_lock(wait_seconds):
        return indexing.apply_pending()


@contextlib.contextmanager
def holding_writer_lock(wait_seconds: float = 60.0, break_lock: bool = False):
    """Hold the writer lock (for `flask search rebuild`), waiting for a running writer to finish."""
    if break_lock:
        writer_lock.clear()
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            writer_lock.acquire()
            break
        except TaskLockedException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)
    try:
        yield
    finally:
        writer_lock.clear()
