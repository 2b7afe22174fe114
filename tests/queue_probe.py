"""A task for the queue tests, run by real consumers (`huey_consumer tests.queue_probe.huey`) beside
every application task: each run writes a "start" row and, once done, a "done" row into the PostgreSQL
table QUEUE_PROBE_TABLE at QUEUE_PROBE_DSN, so that a test counts how often each task ran."""
from __future__ import annotations

import os
import time

import psycopg
from psycopg import sql

from marketplace.worker import huey  # noqa: F401 - the consumer's Huey, with the application's tasks


def record(key: str, event: str) -> None:
    with psycopg.connect(os.environ["QUEUE_PROBE_DSN"], autocommit=True) as conn:
        conn.execute(sql.SQL("INSERT INTO {} (key, event, pid, at) VALUES (%s, %s, %s, clock_timestamp())")
                     .format(sql.Identifier(os.environ["QUEUE_PROBE_TABLE"])), (key, event, os.getpid()))


@huey.task(name="queue_probe")
def probe(key: str, seconds: float = 0.0) -> None:
    record(key, "start")
    if seconds:
        time.sleep(seconds)
    record(key, "done")
