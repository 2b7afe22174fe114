"""Fault: the worker is killed (kill -9) in the middle of a matching job. Huey forgets a job as soon as
a worker takes it, so the job itself is gone; its `unfinished_job` row is not. The sweep queues it
again, another consumer runs it, and the matches, the notification and the e-mail happen exactly once.

The job is held mid-way without any hook in the product: the test holds the database's write lock
(SQLite) or a lock on the job's row (PostgreSQL, where the job is then seen waiting inside its
transaction, its matches written but not committed) while the consumer runs it, then kills it."""
from __future__ import annotations

import contextlib
import sqlite3
import time
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.jobs import UnfinishedJob, app_task, lease, resume_unfinished
from marketplace.models_base import utcnow
from marketplace.queue_storage import libpq_dsn
from marketplace.search.models import IndexTask
from tests.conftest import listing_form, login, make_queue, using_queue
from tests.faults.conftest import wait_for


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def queue(request, app, tmp_path, queue_space):
    with using_queue(app, make_queue(request.param, tmp_path, queue_space)) as queue:
        yield queue


@contextlib.contextmanager
def holding_the_job(app, key: str):
    """Keep the job from committing: SQLite's write lock, or PostgreSQL's lock on its row. Yields a
    function telling whether the job is seen waiting on that lock (PostgreSQL only; None on SQLite)."""
    url = sa.make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, isolation_level=None, timeout=10)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield None
        finally:
            conn.rollback()
            conn.close()
        return
    dsn = libpq_dsn(app.config["DATABASE_URL"])
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as observer:
        holder.execute("SELECT key FROM unfinished_job WHERE key = %s FOR UPDATE", (key,))

        def job_waiting() -> bool:
            return observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM unfinished_job%%'").fetchone()[0] == 1

        try:
            yield job_waiting
        finally:
            holder.rollback()


def effects(offer_id: int, farmer_id: int) -> tuple[int, int]:
    """(matches of the offer, match notifications of the farmer), as committed."""
    from marketplace.matching.models import Match
    from marketplace.notifications.models import Notification

    db.session.rollback()
    matches = db.session.scalar(sa.select(sa.func.count()).select_from(Match).where(Match.offer_id == offer_id))
    told = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == farmer_id, Notification.kind == "match"))
    db.session.rollback()
    return matches, told


def test_a_matching_job_killed_mid_way_runs_again_and_happens_once(
        app, queue, smtp, consumers, make_territory, make_company, make_user, make_listing):
    from marketplace.jobs import huey
    from marketplace.listings.models import Listing
    from marketplace.territories.services import set_trusted

    territory = make_territory("Cornouaille", "29900 29000")
    brewery = make_company("Brasserie de l'Odet", "29000")
    farm = make_company("Ferme de Kerlaz", "29900")
    brewer = make_user("brasseur@odet.fr", company=brewery)
    farmer = make_user("eleveur@kerlaz.fr", company=farm)
    make_listing(farm, "published", kind="need", title="Alimentation animale pour vaches laitières", waste_code=None)
    set_trusted(territory, brewery, True, make_user(role="practitioner", territories=[territory]))
    db.session.commit()
    client = app.test_client()
    login(client, brewer)
    client.post("/annonces/nouvelle", data=listing_form(brewery.sites[0].id, description="Drêches humides."))
    offer = db.session.scalars(sa.select(Listing).where(Listing.title == "Drêches de brasserie")).one()
    assert offer.status == "published"
    [job] = db.session.scalars(sa.select(UnfinishedJob)).all()  # written with the publication
    assert (job.task, job.args) == ("match_listing", [offer.id, True])
    key = job.key
    db.session.rollback()
    smtp.clear()

    with holding_the_job(app, key) as job_waiting:
        first = consumers.start(app, queue, smtp)
        assert wait_for(lambda: first.logged(".match_listing: ")), first.output()
        if job_waiting is not None:  # PostgreSQL: the job is inside its transaction, about to commit
            assert wait_for(job_waiting), first.output()
        first.kill()
    second = consumers.start(app, queue, smtp)  # idle until the sweep: nothing of the job is left in the queue
    assert not any(task.name == "match_listing" for task in huey.pending())  # Huey lost it with the worker
    assert effects(offer.id, farmer.id) == (0, 0)
    assert db.session.scalar(sa.select(UnfinishedJob.key)) == key  # the record of what must still happen

    assert resume_unfinished() == 0  # within its lease: it may still be waiting in the queue
    db.session.execute(sa.update(UnfinishedJob).values(retry_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert resume_unfinished() == 1
    assert wait_for(lambda: smtp.to("eleveur@kerlaz.fr")), second.output()
    time.sleep(1.5)  # room for a duplicate, if there were one
    assert len(smtp.to("eleveur@kerlaz.fr")) == 1
    assert effects(offer.id, farmer.id) == (1, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnfinishedJob)) == 0
    db.session.rollback()
    assert resume_unfinished() == 0


# --- the same guarantee, in-process ----------------------------------------------------------------


@app_task(durable=True)
def fault_probe(listing_id: int, finished_elsewhere: bool = False) -> str:
    """A durable job whose effect is an index task row. `finished_elsewhere`: mid-way, another run of
    the same job commits first (it deletes the job's row from another connection)."""
    if finished_elsewhere:
        with db.engine.begin() as other:
            other.execute(sa.delete(UnfinishedJob))
    db.session.add(IndexTask(listing_id=listing_id))
    db.session.commit()
    return "done"


def _unfinished(task="fault_probe", args=(7,), minutes_ago=0) -> str:
    key = f"{task[:20]}{len(db.session.scalars(sa.select(UnfinishedJob.key)).all()):012d}"
    retry_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.add(UnfinishedJob(key=key, task=task, args=list(args), retry_at=retry_at))
    db.session.commit()
    return key


def _index_tasks(listing_id: int) -> int:
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(IndexTask).where(IndexTask.listing_id == listing_id))
    db.session.rollback()
    return count


def test_the_effect_and_the_end_of_the_job_are_one_commit(app):
    key = _unfinished(args=(7,))
    assert fault_probe.call_local(7, _job=key) == "done"
    assert _index_tasks(7) == 1 and db.session.get(UnfinishedJob, key) is None
    assert fault_probe.call_local(7, _job=key) is None  # a late copy (the sweep's) finds it done
    assert _index_tasks(7) == 1


def test_the_run_that_commits_second_rolls_its_effect_back(app):
    key = _unfinished(args=(8,))
    assert fault_probe.call_local(8, True, _job=key) is None
    assert _index_tasks(8) == 0


def test_the_sweep_requeues_what_is_past_its_lease_with_a_longer_lease_each_time(app):
    waiting = _unfinished(args=(9,), minutes_ago=-5)  # within its lease: maybe still in the queue
    lost = _unfinished(args=(10,), minutes_ago=1)
    unknown = _unfinished(task="renamed_since", args=(11,), minutes_ago=1)
    assert resume_unfinished() == 1  # immediate queue: the job has run
    assert _index_tasks(10) == 1 and _index_tasks(9) == 0
    assert db.session.get(UnfinishedJob, lost) is None
    kept = db.session.get(UnfinishedJob, unknown)
    assert kept.retry_at > utcnow() + timedelta(hours=23)  # kept for the operator, tried once a day
    assert db.session.get(UnfinishedJob, waiting).enqueued == 1
    assert [lease(n) for n in (1, 2, 3, 12)] == [timedelta(minutes=m) for m in (15, 30, 60, 24 * 60)]


def test_a_job_asked_for_in_a_rolled_back_transaction_leaves_nothing(app, make_company, make_listing):
    from marketplace.listings.services import schedule_matching

    listing = make_listing(make_company())
    db.session.rollback()
    schedule_matching(listing)
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnfinishedJob)) == 0
