"""The Huey job queue. Tasks run inside an application context; work is enqueued only after
the database transaction that caused it has committed, so a job never sees half-written state."""
from __future__ import annotations

import functools
import logging
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey
from sqlalchemy.orm import Session

from marketplace.config import load_config

log = logging.getLogger(__name__)


def _build_huey():
    config = load_config()
    url = config["HUEY_URL"]
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return SqliteHuey("marketplace", filename=url[len("sqlite:///"):], immediate=config["HUEY_IMMEDIATE"])
    if scheme in {"redis", "rediss"}:
        return RedisHuey("marketplace", url=url, immediate=config["HUEY_IMMEDIATE"])
    raise RuntimeError(f"MARKETPLACE_HUEY_URL: unsupported scheme {scheme!r} (use sqlite:/// or redis://)")


huey = _build_huey()
_worker_app = None


def configure(config: dict) -> None:
    """Apply an app's settings to the queue: immediate mode (tests) and, for SQLite, the queue file."""
    url = config["HUEY_URL"]
    if isinstance(huey, SqliteHuey) and urlparse(url).scheme == "sqlite":
        filename = url[len("sqlite:///"):]
        if huey.storage_kwargs.get("filename") != filename:
            huey.storage_kwargs["filename"] = filename
            if not huey.immediate:
                huey.storage = huey.create_storage()
    huey.immediate = bool(config["HUEY_IMMEDIATE"])


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
