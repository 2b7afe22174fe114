"""The single index writer, with the configured backend: tasks written with the change, applied in
batches under one lock, leftovers and a lost index picked up by the periodic job, rebuild from the
database."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.search.helpers import indexed_ids, lose_index


def _pending():
    from marketplace.extensions import db
    from marketplace.search.models import IndexTask

    return db.session.scalars(sa.select(IndexTask.listing_id).order_by(IndexTask.id)).all()


@pytest.fixture
def held_lock():
    from marketplace.search.tasks import writer_lock

    writer_lock.acquire()
    yield writer_lock
    writer_lock.clear()


def test_a_change_writes_its_task_in_the_same_transaction(app, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.listings import services

    listing = make_listing(make_company(), title="Palettes")
    assert _pending() == []  # applied after commit by the real job
    assert indexed_ids(app) == {listing.id}

    services.change_status(None, listing, "withdraw")
    db.session.rollback()  # nothing happened: no task, nothing to apply
    assert _pending() == []
    assert indexed_ids(app) == {listing.id}


def test_a_writer_holding_the_lock_makes_other_jobs_return_and_then_applies_their_rows(
        app, make_company, make_listing, held_lock):
    from marketplace.search.tasks import apply_all, apply_index_tasks

    company = make_company()
    first = make_listing(company, title="Palettes")  # its job found the lock taken and returned
    second = make_listing(company, title="Cartons")
    assert _pending() == [first.id, second.id]
    assert apply_index_tasks.call_local() == 0

    held_lock.clear()
    assert apply_all() == 2
    assert _pending() == []
    assert indexed_ids(app) == {first.id, second.id}


def test_pending_rows_are_applied_in_batches(app, make_company, make_listing, held_lock):
    from marketplace.extensions import db
    from marketplace.search import indexing
    from marketplace.search.indexing import schedule_listing_ids

    indexing.rebuild()  # an empty index (this test holds the lock)
    company = make_company()
    listings = [make_listing(company, title=f"Lot {i}") for i in range(5)]
    schedule_listing_ids([listings[0].id, 999_999])  # the same listing again, and one that is gone
    db.session.commit()
    assert len(_pending()) == 7
    assert indexing.apply_pending(batch_size=2) == 7  # four batches: 2 + 2 + 2 + 1 listings
    assert _pending() == []
    assert indexed_ids(app) == {listing.id for listing in listings}


def test_a_deleted_listing_leaves_the_index(app, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.search.indexing import schedule_listing_ids

    listing = make_listing(make_company(), title="Palettes")
    db.session.execute(sa.delete(Listing).where(Listing.id == listing.id))
    schedule_listing_ids([listing.id])
    db.session.commit()
    assert indexed_ids(app) == set()


def test_periodic_job_applies_leftovers_and_rebuilds_a_lost_index(app, make_company, make_listing, held_lock):
    from marketplace.search.tasks import apply_leftover_index_tasks

    listing = make_listing(make_company(), title="Palettes")
    held_lock.clear()
    assert apply_leftover_index_tasks.call_local() == 1
    assert indexed_ids(app) == {listing.id}

    lose_index(app)
    apply_leftover_index_tasks.call_local()
    assert indexed_ids(app) == {listing.id}


def test_a_change_to_a_lost_index_rebuilds_it_whole(app, make_company, make_listing):
    """Applying a task to a missing index rebuilds it from the database rather than holding only the
    listing of that task."""
    from marketplace.extensions import db
    from marketplace.search.indexing import schedule_listing

    company = make_company()
    first = make_listing(company, title="Palettes")
    lose_index(app)
    second = make_listing(company, title="Cartons")
    assert indexed_ids(app) == {first.id, second.id}
    schedule_listing(first)
    db.session.commit()
    assert indexed_ids(app) == {first.id, second.id}


def test_periodic_job_releases_a_lock_left_by_a_dead_writer(app, make_company, make_listing, held_lock):
    from marketplace.extensions import db
    from marketplace.models_base import utcnow
    from marketplace.search.models import IndexTask
    from marketplace.search.tasks import apply_leftover_index_tasks

    listing = make_listing(make_company(), title="Palettes")
    assert apply_leftover_index_tasks.call_local() == 0  # recent rows: the holder is trusted
    db.session.execute(sa.update(IndexTask).values(created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert apply_leftover_index_tasks.call_local() == 1
    assert not held_lock.is_locked()
    assert indexed_ids(app) == {listing.id}


def test_rebuild_waits_for_the_writer_lock_or_breaks_it(app, runner, make_company, make_listing, held_lock):
    make_listing(make_company(), title="Palettes")
    result = runner.invoke(args=["search", "rebuild", "--wait", "0"])
    assert result.exit_code != 0
    assert "search-index-writer" in result.output and "--break-lock" in result.output

    result = runner.invoke(args=["search", "rebuild", "--break-lock"])
    assert result.exit_code == 0, result.output
    assert "1 annonce(s) indexée(s)" in result.output
    assert _pending() == []
    assert not held_lock.is_locked()


def test_rebuild_keeps_changes_made_after_it_started(app, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.search import indexing
    from marketplace.search.models import IndexTask

    listing_id = make_listing(make_company(), title="Palettes").id

    def progress(_n):
        # A change committed by someone else while the rebuild runs.
        with app.app_context():
            db.session.add(IndexTask(listing_id=listing_id))
            db.session.commit()

    assert indexing.rebuild(progress=progress) == 1
    assert len(_pending()) == 1  # left for apply_pending


def test_apply_now_waits_for_the_writer_and_leaves_the_index_current(app, make_company, make_listing, held_lock):
    import threading

    from marketplace.search.tasks import apply_now

    listing = make_listing(make_company(), title="Palettes")
    assert _pending() == [listing.id]
    threading.Timer(0.3, held_lock.clear).start()  # the other writer finishes soon
    assert apply_now(wait_seconds=10) == 1
    assert _pending() == []
    assert indexed_ids(app) == {listing.id}
