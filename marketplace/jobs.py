"""The Huey job queue. Tasks run inside an application context; work is enqueued only after
the database transaction that caused it has committed, so a job never sees half-written state.

Huey forgets a job once a worker takes it, so a worker killed mid-job loses that job. A task
declared `app_task(durable=True)` does not: `enqueue_after_commit` writes an `UnfinishedJob` row in
the caller's transaction, the job deletes it in the transaction of its effect, and the sweep
`resume_unfinished_jobs` queues again every row left past its lease (docs/queue.md, "Faults")."""
from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import current_app, has_app_context
from huey import Huey, crontab
from huey.consumer import Consumer, Scheduler
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.config import load_config
from marketplace.extensions import db
from marketplace.models_base import utcnow

log = logging.getLogger(__name__)
POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg", "postgres+psycopg"}


def storage_for(config: dict) -> tuple[type, dict]:
    """The Huey storage class and its arguments for `HUEY_URL`: `sqlite:///file`, `redis://host:port/db`
    or `postgresql://user@host/db` (also `postgresql+psycopg://`, tables prefixed `HUEY_TABLE_PREFIX`)."""
    url = config["HUEY_URL"]
    scheme = urlparse(url).scheme.lower()
    if scheme == "sqlite":
        return SqliteStorage, {"filename": url[len("sqlite:///"):]}
    if scheme in {"redis", "rediss"}:
        return RedisStorage, {"url": url}
    if scheme in POSTGRES_SCHEMES:
        from marketplace.queue_storage import DEFAULT_TABLE_PREFIX, PostgresQueueStorage

        prefix = config.get("HUEY_TABLE_PREFIX") or DEFAULT_TABLE_PREFIX
        return PostgresQueueStorage, {"dsn": url, "table_prefix": prefix}
    raise RuntimeError(f"MARKETPLACE_HUEY_URL: unsupported scheme {scheme!r} "
                       "(use sqlite:///…, redis://… or postgresql://…)")


class PeriodicOnceScheduler(Scheduler):
    """Huey enqueues periodic tasks from every consumer that runs a scheduler. The extra consumers
    should run with `-n`; should one be started without it, the schedulers still agree: each minute's
    periodic tasks are enqueued by whichever claims that minute first in the shared queue storage."""

    def enqueue_periodic_tasks(self, now):
        minute = (now or self.huey._get_timestamp()).replace(second=0, microsecond=0)
        if not self.huey.storage.put_if_empty(_minute_key(minute), b"1"):
            self._logger.debug("periodic tasks of %s already enqueued by another consumer", minute)
            return
        # Keys older than any plausible clock skew between machines are no longer needed.
        self.huey.storage.delete_data(_minute_key(minute - timedelta(minutes=10)))
        super().enqueue_periodic_tasks(now)


def _minute_key(minute) -> str:
    return f"marketplace.periodic.{minute:%Y-%m-%dT%H:%M}"


class MarketplaceConsumer(Consumer):
    scheduler_class = PeriodicOnceScheduler


class MarketplaceHuey(Huey):
    """Huey with the storage chosen by `HUEY_URL`. No result store: no caller reads task results,
    and every stored result would stay in the queue storage forever."""

    def create_consumer(self, **options):
        return MarketplaceConsumer(self, **options)


def _build_huey():
    config = load_config()
    storage_class, storage_kwargs = storage_for(config)
    return MarketplaceHuey("marketplace", results=False, storage_class=storage_class,
                           immediate=config["HUEY_IMMEDIATE"], **storage_kwargs)


huey = _build_huey()
_worker_app = None


def configure(config: dict) -> None:
    """Apply an app's settings to the queue: immediate mode (tests) and the storage `HUEY_URL` names
    (a process serves one queue; tests switch between several)."""
    storage_class, storage_kwargs = storage_for(config)
    if (storage_class, storage_kwargs) != (huey.storage_class, huey.storage_kwargs):
        huey.storage_class, huey.storage_kwargs = storage_class, storage_kwargs
        if not huey.immediate:
            previous, huey.storage = huey.storage, huey.create_storage()
            previous.close()
    immediate = bool(config["HUEY_IMMEDIATE"])
    if immediate != huey.immediate:
        previous = huey.storage
        huey.immediate = immediate
        if not isinstance(previous, MemoryStorage):
            previous.close()


def get_app():
    """The current app (web process, tests) or one app per worker process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from marketplace import create_app

        _worker_app = create_app()
    return _worker_app


def app_task(durable: bool = False, **task_options):
    """Declare a Huey task that runs in its own application context (its own database session).

    `durable=True`: its effect happens once even if the worker running it dies, when it is queued with
    `enqueue_after_commit` (see `UnfinishedJob`). Such a task takes JSON arguments, commits its effect
    in one transaction (its first commit), and should declare `retries` for the errors worth a retry
    (a database lock): once Huey gives up, the sweep tries again after the lease."""

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, _job: str | None = None, **kwargs):
            with get_app().app_context():
                if _job is None:
                    return fn(*args, **kwargs)
                return _run_unfinished(fn, _job, args, kwargs)

        task = huey.task(name=fn.__name__, **task_options)(run)
        if durable:
            _durable_tasks[fn.__name__] = task
        return task

    return decorate


def app_periodic_task(validate_datetime, **task_options):
    def decorate(fn):
        @functools.wraps(fn)
        def run():
            with get_app().app_context():
                return fn()

        return huey.periodic_task(validate_datetime, name=fn.__name__, **task_options)(run)

    return decorate


def enqueue_after_commit(session: Session, task, *args) -> None:
    """Run `task(*args)` once the session's current transaction commits; forget it on rollback.
    A durable task (`app_task(durable=True)`) is also recorded in this transaction (`UnfinishedJob`)."""
    kwargs = {}
    if getattr(task, "name", None) in _durable_tasks and _durable_tasks[task.name] is task:
        key = uuid.uuid4().hex
        session.add(UnfinishedJob(key=key, task=task.name, args=list(args), retry_at=utcnow() + lease(1)))
        kwargs["_job"] = key
    session.info.setdefault("after_commit_tasks", []).append((task, args, kwargs))


def forget_after_commit(session: Session) -> None:
    """Drop the jobs this transaction asked for, with the rows of the durable ones."""
    for _task, _args, kwargs in session.info.pop("after_commit_tasks", []):
        if "_job" in kwargs:
            session.execute(sa.delete(UnfinishedJob).where(UnfinishedJob.key == kwargs["_job"]))


@sa.event.listens_for(Session, "after_commit")
def _dispatch(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: the real commit is still to come
    tasks = session.info.pop("after_commit_tasks", [])
    for task, args, kwargs in tasks:
        try:
            task(*args, **kwargs)
        except Exception:  # the outbox, index and unfinished-job sweeps pick up what could not be enqueued
            log.exception("could not enqueue %s", getattr(task, "name", task))


@sa.event.listens_for(Session, "after_rollback")
def _forget(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT was rolled back: see _forget_savepoint
    session.info.pop("after_commit_tasks", None)
    session.info.pop("savepoint_marks", None)


@sa.event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session, transaction):
    if transaction.nested:
        marks = session.info.setdefault("savepoint_marks", {})
        marks[id(transaction)] = len(session.info.get("after_commit_tasks", []))


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_savepoint(session, previous_transaction):
    """Jobs queued inside a SAVEPOINT that was rolled back are dropped; the others stay queued."""
    if previous_transaction.nested:
        mark = session.info.get("savepoint_marks", {}).pop(id(previous_transaction), None)
        if mark is not None and "after_commit_tasks" in session.info:
            del session.info["after_commit_tasks"][mark:]


# --- durable tasks: an effect that must happen once, whatever happens to the worker -------------

_durable_tasks: dict[str, object] = {}
# The key of the job whose row goes with the session's next commit (see _finish_unfinished_job).
_FINISHING = "unfinished_job_key"


class UnfinishedJob(db.Model):
    """A durable job whose effect has not been committed yet: written in the transaction that asks
    for the job, deleted in the transaction of its effect. A row still here at `retry_at` means the
    job was lost (worker killed, queue unreachable when it was asked for) or keeps failing: the sweep
    queues it again. No foreign key: what the job is about may be gone, and the job then says so."""

    __tablename__ = "unfinished_job"

    key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    task: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    args: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    enqueued: Mapped[int] = mapped_column(default=1, nullable=False)  # times handed to the queue
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    retry_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False, index=True)


class JobAlreadyDone(Exception):
    """Another run of the same job committed its effect first: this run's work is rolled back."""


def lease(enqueued: int) -> timedelta:
    """How long a job handed to the queue for the n-th time may take before the sweep hands it again:
    JOB_LEASE_MINUTES (time to wait in the queue and run), doubled at each try, at most a day."""
    minutes = current_app.config.get("JOB_LEASE_MINUTES", 15) if has_app_context() else 15
    return timedelta(minutes=min(minutes * 2 ** max(enqueued - 1, 0), 24 * 60))


def _job_pending(session: Session, key: str) -> bool:
    return session.scalar(sa.select(UnfinishedJob.key).where(UnfinishedJob.key == key)) is not None


def _run_unfinished(fn, key: str, args, kwargs):
    """Run a durable job unless another run has already done it; its row goes with its effect's commit."""
    session = db.session()
    if not _job_pending(session, key):
        log.info("%s %s: already done, nothing to do", fn.__name__, key)
        session.rollback()
        return None
    session.info[_FINISHING] = key
    try:
        result = fn(*args, **kwargs)
        if session.info.get(_FINISHING) == key:  # the task committed nothing: the job is done all the same
            session.commit()
        return result
    except Exception as exc:
        session.rollback()
        if isinstance(exc, JobAlreadyDone) or not _job_pending(session, key):
            log.info("%s %s: done meanwhile by another run, this one rolled back", fn.__name__, key)
            session.rollback()
            return None
        raise
    finally:
        session.info.pop(_FINISHING, None)


@sa.event.listens_for(Session, "before_commit")
def _finish_unfinished_job(session):
    """The job's row is deleted in the transaction of its effect; if it is gone, another run of the
    job committed first, and this transaction must not commit the effect a second time."""
    if session.in_nested_transaction():
        return
    key = session.info.pop(_FINISHING, None)
    if key is None:
        return
    deleted = session.execute(sa.delete(UnfinishedJob).where(UnfinishedJob.key == key)
                              .execution_options(synchronize_session=False)).rowcount
    if deleted != 1:
        raise JobAlreadyDone(key)


def resume_unfinished(limit: int = 500) -> int:
    """Queue again the durable jobs left unfinished past their lease; returns how many."""
    import marketplace.worker  # noqa: F401 - registers every durable task by name

    now = utcnow()
    jobs = db.session.scalars(sa.select(UnfinishedJob).where(UnfinishedJob.retry_at <= now)
                              .order_by(UnfinishedJob.retry_at).limit(limit)).all()
    resumed = []
    for job in jobs:
        task = _durable_tasks.get(job.task)
        if task is None:
            log.error("unfinished job %s: no durable task %r in this version; kept for a day", job.key, job.task)
            job.retry_at = now + timedelta(days=1)
            continue
        job.enqueued += 1
        job.retry_at = now + lease(job.enqueued)
        log.warning("job %s%s (%s) unfinished since %s: queued again (time %s)",
                    job.task, tuple(job.args), job.key, job.created_at, job.enqueued)
        resumed.append((task, list(job.args), job.key))
    db.session.commit()  # before queueing: a job running at once must see the new lease
    for task, args, key in resumed:
        task(*args, _job=key)
    return len(resumed)


@app_periodic_task(crontab(minute="*"))
def resume_unfinished_jobs() -> int:
    """Every minute: durable jobs lost with their worker (or never queued) are queued again."""
    return resume_unfinished()
