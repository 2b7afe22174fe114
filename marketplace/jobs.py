"""The Huey job queue. Tasks run inside an application context; work is enqueued only after
the database transaction that caused it has committed, so a job never sees half-written state."""
from __future__ import annotations

import functools
import logging
from datetime import timedelta
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import current_app, has_app_context
from huey import Huey
from huey.consumer import Consumer, Scheduler
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.orm import Session

from marketplace.config import load_config

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


def _app():
    """The current app (web process, tests) or one app per worker process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from marketplace import create_app

        _worker_app = create_app()
    return _worker_app


def app_task(**task_options):
    """Declare a Huey task that runs in its own application context (its own database session)."""

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with _app().app_context():
                return fn(*args, **kwargs)

        return huey.task(name=fn.__name__, **task_options)(run)

    return decorate


def app_periodic_task(validate_datetime, **task_options):
    def decorate(fn):
        @functools.wraps(fn)
        def run():
            with _app().app_context():
                return fn()

        return huey.periodic_task(validate_datetime, name=fn.__name__, **task_options)(run)

    return decorate


def enqueue_after_commit(session: Session, task, *args) -> None:
    """Run `task(*args)` once the session's current transaction commits; forget it on rollback."""
    session.info.setdefault("after_commit_tasks", []).append((task, args))


@sa.event.listens_for(Session, "after_commit")
def _dispatch(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: the real commit is still to come
    tasks = session.info.pop("after_commit_tasks", [])
    for task, args in tasks:
        try:
            task(*args)
        except Exception:  # the outbox sweep picks up what could not be enqueued
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
