"""A Huey storage in PostgreSQL (psycopg 3), for `MARKETPLACE_HUEY_URL=postgresql://…`.

Why our own: Huey only ships a PostgreSQL storage from 3.5 on (the project accepts `huey>=2.5`), and
that one shares a single connection between all the threads of a process behind a lock, connects
when it is constructed (here: at import) to create its tables, and does not notice a fork. This one
opens one connection per thread and per process (again after a fork, without closing the parent's),
connects on first use, and creates its tables then, under a prefix of our choosing, outside Alembic
(the queue may live in another database than the application).

Guarantees (the queue's, whatever the task):
- a task is handed to exactly one worker: `dequeue` deletes the row it returns in one statement that
  skips rows locked by a concurrent dequeue (`FOR UPDATE SKIP LOCKED`), so several consumers, on
  several machines, never take the same task; a task taken is gone from the queue (Huey's contract
  on every storage), so a worker killed while running it loses that run (see docs/queue.md);
- `read_schedule` moves due tasks out of the schedule the same way: each goes to one scheduler;
- order: higher priority first, then first in first out;
- `put_if_empty` is atomic (`INSERT … ON CONFLICT DO NOTHING`), which makes `huey.lock_task` a lock
  held across every consumer of the queue.

Idle workers wait on LISTEN/NOTIFY (at most `read_timeout` seconds, then look again), so a new task
starts at once rather than after a polling delay.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import weakref
from datetime import datetime, timezone

import psycopg
from huey.constants import EmptyData
from huey.storage import BaseStorage
from psycopg import sql

DEFAULT_TABLE_PREFIX = "huey_queue"
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgres+psycopg")
_PREFIX_RE = re.compile(r"[a-z_][a-z0-9_]{0,40}")


def libpq_dsn(url: str) -> str:
    """`postgresql+psycopg://…` (the SQLAlchemy spelling) → `postgresql://…`, which libpq reads."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in POSTGRES_SCHEMES:
        return "postgresql://" + rest
    return url


def _utc_naive(ts: datetime) -> datetime:
    """Huey hands naive UTC datetimes; store them as such (`timestamp`), whatever the server's zone."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts


def _text_key(key) -> str:
    return key.decode("utf-8") if isinstance(key, bytes) else str(key)


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - a broken link cannot be closed cleanly, and need not be
        pass


_INHERITED: list = []


class _HeldConnection:
    """A thread's connection. Closed when the thread ends and its thread-local data goes, except in a
    forked child, where it is the parent's: closing it there would end the parent's session, so the
    child keeps it, unused, for good."""

    __slots__ = ("conn", "pid", "listening")

    def __init__(self, conn):
        self.conn, self.pid, self.listening = conn, os.getpid(), False

    def __del__(self):
        try:
            if self.pid == os.getpid():
                _close_quietly(self.conn)
            else:
                _INHERITED.append(self.conn)
        except Exception:  # noqa: BLE001 - at interpreter exit, module globals may be gone already
            pass


class PostgresQueueStorage(BaseStorage):
    """Huey storage on four tables: `<prefix>_task` (the queue), `<prefix>_schedule`, `<prefix>_kv`
    (results, locks, revocations) and `<prefix>_counter`, each row tagged with the Huey name."""

    blocking = True  # dequeue() waits up to read_timeout for a NOTIFY: the worker need not poll
    priority = True

    def __init__(self, name: str = "huey", dsn: str | None = None, table_prefix: str = DEFAULT_TABLE_PREFIX,
                 read_timeout: float = 1.0, **connect_kwargs):
        super().__init__(name)
        if not dsn:
            raise ValueError("PostgresQueueStorage needs a dsn (postgresql://user@host/db)")
        if not _PREFIX_RE.fullmatch(table_prefix or ""):
            raise ValueError(f"table prefix {table_prefix!r}: lower-case letters, digits and _ only, at most 41")
        self.dsn = libpq_dsn(dsn)
        self.table_prefix = table_prefix
        self.read_timeout = read_timeout
        self.connect_kwargs = connect_kwargs
        t = {kind: sql.Identifier(f"{table_prefix}_{kind}") for kind in ("task", "schedule", "kv", "counter")}
        self._t = t
        channel = f"{table_prefix}.{name}"
        if len(channel.encode()) > 63:  # PostgreSQL would truncate it: keep it unique instead
            channel = f"huey.{hashlib.md5(channel.encode()).hexdigest()}"
        self.channel = channel
        self._local = threading.local()
        # Every connection opened, with the process that opened it, for close().
        self._opened: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._opened_lock = threading.Lock()
        self._schema_ready_pid = None

    # --- connections ----------------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection:
        """This thread's connection, opened on first use, and again after a fork or a broken link."""
        held = getattr(self._local, "held", None)
        if held is not None and (held.pid != os.getpid() or held.conn.closed or held.conn.broken):
            held = self._local.held = None
        if held is None:
            held = self._local.held = _HeldConnection(psycopg.connect(self.dsn, autocommit=True, **self.connect_kwargs))
            with self._opened_lock:
                self._opened[held.conn] = held.pid
        if self._schema_ready_pid != os.getpid():
            self._create_tables(held.conn)
            self._schema_ready_pid = os.getpid()
        return held.conn

    def close(self) -> bool:
        """Close every connection this process opened (the consumer calls it before forking workers)."""
        pid = os.getpid()
        with self._opened_lock:
            mine = [conn for conn, opener in self._opened.items() if opener == pid]
            self._opened = weakref.WeakKeyDictionary()
        for conn in mine:
            _close_quietly(conn)
        self._local = threading.local()
        return bool(mine)

    def _execute(self, query, params=(), fetch: str | None = None):
        conn = self._connection()
        cursor = conn.execute(query, params)
        if fetch == "one":
            return cursor.fetchone()
        if fetch == "all":
            return cursor.fetchall()
        return cursor.rowcount

    # --- schema -------------------------------------------------------------------------------------

    def _ddl(self) -> list:
        t = self._t
        index = {kind: sql.Identifier(f"{self.table_prefix}_{kind}_order") for kind in ("task", "schedule")}
        return [
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, queue text NOT NULL, "
                    "priority double precision NOT NULL DEFAULT 0, data bytea NOT NULL, "
                    "enqueued_at timestamptz NOT NULL DEFAULT now())").format(t["task"]),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (queue, priority DESC, id)").format(index["task"], t["task"]),
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, queue text NOT NULL, "
                    "eta timestamp NOT NULL, data bytea NOT NULL)").format(t["schedule"]),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (queue, eta, id)").format(index["schedule"], t["schedule"]),
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (queue text NOT NULL, key text NOT NULL, value bytea NOT NULL, "
                    "PRIMARY KEY (queue, key))").format(t["kv"]),
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (queue text NOT NULL, key text NOT NULL, "
                    "value bigint NOT NULL DEFAULT 0, PRIMARY KEY (queue, key))").format(t["counter"]),
        ]

    def _lock_key(self) -> int:
        return int.from_bytes(hashlib.blake2b(self.table_prefix.encode(), digest_size=8).digest(), "big", signed=True)

    def _create_tables(self, conn) -> None:
        """CREATE … IF NOT EXISTS is not safe when two processes run it at once (both may try to
        create the table's type): serialize it with a transaction-scoped advisory lock. Skipped when
        everything exists, because CREATE INDEX IF NOT EXISTS still locks the table against writes."""
        names = [f"{self.table_prefix}_{kind}" for kind in ("task", "schedule", "kv", "counter", "task_order",
                                                             "schedule_order")]
        present = conn.execute("SELECT count(to_regclass(quote_ident(name))) FROM unnest(%s::text[]) AS name",
                               (names,)).fetchone()[0]
        if present == len(names):
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key(),))
            for statement in self._ddl():
                conn.execute(statement)

    def drop_tables(self) -> None:
        """Remove the queue's tables (tests, or retiring a queue): every Huey name under this prefix."""
        conn = self._connection()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key(),))
            for table in self._t.values():
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        self._schema_ready_pid = None

    # --- queue --------------------------------------------------------------------------------------

    def enqueue(self, data, priority=None):
        self._execute(
            sql.SQL("WITH added AS (INSERT INTO {} (queue, priority, data) VALUES (%s, %s, %s) RETURNING id) "
                    "SELECT pg_notify(%s, '') FROM added").format(self._t["task"]),
            (self.name, priority or 0, data, self.channel))

    def _take(self):
        row = self._execute(
            sql.SQL("DELETE FROM {t} WHERE id = (SELECT id FROM {t} WHERE queue = %s "
                    "ORDER BY priority DESC, id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING data")
            .format(t=self._t["task"]), (self.name,), fetch="one")
        return bytes(row[0]) if row is not None else None

    def dequeue(self):
        data = self._take()
        if data is not None:
            return data
        conn = self._connection()
        held = self._local.held
        if not held.listening:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            held.listening = True
            data = self._take()  # enqueued between the first look and LISTEN
            if data is not None:
                return data
        deadline = time.monotonic() + self.read_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if not list(conn.notifies(timeout=remaining, stop_after=1)):
                return None
            for _ in conn.notifies(timeout=0):  # drain what piled up while this thread was busy
                pass
            data = self._take()
            if data is not None:
                return data  # else another worker was quicker: wait for the next one
        return None

    def queue_size(self):
        return self._execute(sql.SQL("SELECT count(*) FROM {} WHERE queue = %s").format(self._t["task"]),
                             (self.name,), fetch="one")[0]

    def enqueued_items(self, limit=None):
        rows = self._execute(
            sql.SQL("SELECT data FROM {} WHERE queue = %s ORDER BY priority DESC, id LIMIT %s").format(self._t["task"]),
            (self.name, limit), fetch="all")
        return [bytes(data) for data, in rows]

    def flush_queue(self):
        self._execute(sql.SQL("DELETE FROM {} WHERE queue = %s").format(self._t["task"]), (self.name,))

    # --- schedule -----------------------------------------------------------------------------------

    def add_to_schedule(self, data, ts):
        self._execute(sql.SQL("INSERT INTO {} (queue, eta, data) VALUES (%s, %s, %s)").format(self._t["schedule"]),
                      (self.name, _utc_naive(ts), data))

    def read_schedule(self, ts):
        rows = self._execute(
            sql.SQL("DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE queue = %s AND eta <= %s "
                    "FOR UPDATE SKIP LOCKED) RETURNING eta, id, data").format(t=self._t["schedule"]),
            (self.name, _utc_naive(ts)), fetch="all")
        return [bytes(data) for _eta, _id, data in sorted(rows, key=lambda row: row[:2])]

    def schedule_size(self):
        return self._execute(sql.SQL("SELECT count(*) FROM {} WHERE queue = %s").format(self._t["schedule"]),
                             (self.name,), fetch="one")[0]

    def scheduled_items(self, limit=None):
        rows = self._execute(
            sql.SQL("SELECT data FROM {} WHERE queue = %s ORDER BY eta, id LIMIT %s").format(self._t["schedule"]),
            (self.name, limit), fetch="all")
        return [bytes(data) for data, in rows]

    def flush_schedule(self):
        self._execute(sql.SQL("DELETE FROM {} WHERE queue = %s").format(self._t["schedule"]), (self.name,))

    # --- key/value: results, locks, revocations -------------------------------------------------------

    def put_data(self, key, value, is_result=False):
        self._execute(
            sql.SQL("INSERT INTO {} (queue, key, value) VALUES (%s, %s, %s) "
                    "ON CONFLICT (queue, key) DO UPDATE SET value = excluded.value").format(self._t["kv"]),
            (self.name, _text_key(key), value))

    def peek_data(self, key):
        row = self._execute(sql.SQL("SELECT value FROM {} WHERE queue = %s AND key = %s").format(self._t["kv"]),
                            (self.name, _text_key(key)), fetch="one")
        return bytes(row[0]) if row is not None else EmptyData

    def peek_many(self, keys):
        rows = self._execute(
            sql.SQL("SELECT key, value FROM {} WHERE queue = %s AND key = ANY(%s)").format(self._t["kv"]),
            (self.name, [_text_key(k) for k in keys]), fetch="all")
        return {key: bytes(value) for key, value in rows}

    def pop_data(self, key):
        row = self._execute(
            sql.SQL("DELETE FROM {} WHERE queue = %s AND key = %s RETURNING value").format(self._t["kv"]),
            (self.name, _text_key(key)), fetch="one")
        return bytes(row[0]) if row is not None else EmptyData

    def delete_data(self, key):
        return self._execute(sql.SQL("DELETE FROM {} WHERE queue = %s AND key = %s").format(self._t["kv"]),
                             (self.name, _text_key(key))) == 1

    def has_data_for_key(self, key):
        return self._execute(sql.SQL("SELECT 1 FROM {} WHERE queue = %s AND key = %s").format(self._t["kv"]),
                             (self.name, _text_key(key)), fetch="one") is not None

    def put_if_empty(self, key, value, ttl=None):
        if ttl is not None:
            raise NotImplementedError("ttl is not supported by this storage.")
        return self._execute(
            sql.SQL("INSERT INTO {} (queue, key, value) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING")
            .format(self._t["kv"]), (self.name, _text_key(key), value)) == 1

    def result_store_size(self):
        return self._execute(sql.SQL("SELECT count(*) FROM {} WHERE queue = %s").format(self._t["kv"]),
                             (self.name,), fetch="one")[0]

    def result_items(self):
        rows = self._execute(sql.SQL("SELECT key, value FROM {} WHERE queue = %s").format(self._t["kv"]),
                             (self.name,), fetch="all")
        return {key: bytes(value) for key, value in rows}

    def flush_results(self):
        self._execute(sql.SQL("DELETE FROM {} WHERE queue = %s").format(self._t["kv"]), (self.name,))

    # --- counters (Huey 3: chords, rate limits) -----------------------------------------------------------

    def incr(self, key, amount=1):
        return self._execute(
            sql.SQL("INSERT INTO {} AS c (queue, key, value) VALUES (%s, %s, %s) ON CONFLICT (queue, key) "
                    "DO UPDATE SET value = c.value + excluded.value RETURNING value").format(self._t["counter"]),
            (self.name, _text_key(key), amount), fetch="one")[0]

    def delete_counter(self, key):
        self._execute(sql.SQL("DELETE FROM {} WHERE queue = %s AND key = %s").format(self._t["counter"]),
                      (self.name, _text_key(key)))

    def flush_counters(self):
        self._execute(sql.SQL("DELETE FROM {} WHERE queue = %s").format(self._t["counter"]), (self.name,))

    def flush_all(self):
        self.flush_queue()
        self.flush_schedule()
        self.flush_results()
        self.flush_counters()
