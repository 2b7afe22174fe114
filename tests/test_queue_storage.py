"""The PostgreSQL queue storage, method by method, against the local PostgreSQL: order, schedule,
key/value and counters; concurrent dequeues by threads and by forked processes (each task to exactly
one taker); tables created on first use, safely when several start at once; a waiting worker woken
by NOTIFY; the locks Huey builds on it."""
from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from huey.constants import EmptyData

from marketplace.queue_storage import PostgresQueueStorage, libpq_dsn
from tests.conftest import make_queue


@pytest.fixture
def pg_url(tmp_path, queue_space):
    return make_queue("postgresql", tmp_path, queue_space).url  # tables dropped at the end of the run


@pytest.fixture
def storage(pg_url, queue_table_prefix):
    storages = []

    def make(name="unit", **kwargs):
        kwargs.setdefault("table_prefix", queue_table_prefix)
        s = PostgresQueueStorage(name, dsn=pg_url, **kwargs)
        s.flush_all()
        storages.append(s)
        return s

    make.storages = storages
    yield make
    for s in storages:
        s.flush_all()
        s.close()


def test_queue_order_is_priority_then_first_in_first_out(storage):
    s = storage()
    for data, priority in ((b"a", None), (b"b", 0), (b"urgent", 10), (b"c", None), (b"low", -1)):
        s.enqueue(data, priority)
    assert s.queue_size() == 5
    assert s.enqueued_items() == [b"urgent", b"a", b"b", b"c", b"low"]
    assert s.enqueued_items(limit=2) == [b"urgent", b"a"]
    assert [s.dequeue() for _ in range(5)] == [b"urgent", b"a", b"b", b"c", b"low"]
    assert s.queue_size() == 0
    s.enqueue(b"x")
    s.flush_queue()
    assert s.queue_size() == 0 and s.enqueued_items() == []


def test_queues_of_different_names_and_prefixes_do_not_mix(storage, pg_url, queue_table_prefix):
    a, b = storage("a"), storage("b")
    c = PostgresQueueStorage("a", dsn=pg_url, table_prefix=queue_table_prefix + "_other")
    try:
        a.enqueue(b"for a")
        b.enqueue(b"for b")
        assert (a.queue_size(), b.queue_size(), c.queue_size()) == (1, 1, 0)
        assert b.dequeue() == b"for b" and a.dequeue() == b"for a"
    finally:
        c.drop_tables()
        c.close()


def test_empty_dequeue_waits_at_most_read_timeout(storage):
    s = storage(read_timeout=0.3)
    started = time.monotonic()
    assert s.dequeue() is None
    assert 0.25 <= time.monotonic() - started < 2


def test_a_waiting_worker_is_woken_by_an_enqueue(storage):
    waiter, producer = storage(read_timeout=10), storage()
    got = {}

    def wait():
        started = time.monotonic()
        got["data"], got["seconds"] = waiter.dequeue(), time.monotonic() - started

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.5)  # the waiter is listening
    producer.enqueue(b"wake up")
    thread.join(timeout=10)
    assert got["data"] == b"wake up"
    assert got["seconds"] < 3  # well before the 10 s timeout: NOTIFY, not polling


def test_schedule_gives_due_tasks_in_time_order_once(storage):
    s = storage()
    now = datetime(2031, 1, 1, 12, 0, 0)  # naive UTC, as Huey hands it
    s.add_to_schedule(b"later", now + timedelta(seconds=30))
    s.add_to_schedule(b"second", now - timedelta(seconds=5))
    s.add_to_schedule(b"first", now - timedelta(minutes=5))
    s.add_to_schedule(b"now", now)
    assert s.schedule_size() == 4
    assert s.scheduled_items() == [b"first", b"second", b"now", b"later"]
    assert s.scheduled_items(limit=1) == [b"first"]
    assert s.read_schedule(now) == [b"first", b"second", b"now"]
    assert s.read_schedule(now) == []  # taken once
    assert s.scheduled_items() == [b"later"]
    # An aware datetime means the same instant.
    assert s.read_schedule((now + timedelta(minutes=1)).replace(tzinfo=timezone.utc)) == [b"later"]
    s.add_to_schedule(b"x", now)
    s.flush_schedule()
    assert s.schedule_size() == 0


def test_key_value_store(storage):
    s = storage()
    assert s.peek_data("k") is EmptyData and s.pop_data("k") is EmptyData and not s.has_data_for_key("k")
    s.put_data("k", b"1")
    s.put_data(b"k", b"2")  # bytes and str keys are the same key; put overwrites
    assert s.peek_data("k") == b"2" and s.has_data_for_key(b"k")
    assert s.put_if_empty("k", b"3") is False and s.peek_data("k") == b"2"
    assert s.put_if_empty("lock", b"1") is True and s.put_if_empty("lock", b"1") is False
    assert s.peek_many(["k", "lock", "missing"]) == {"k": b"2", "lock": b"1"}
    assert s.result_store_size() == 2
    assert s.result_items() == {"k": b"2", "lock": b"1"}
    assert s.pop_data("k") == b"2" and s.peek_data("k") is EmptyData
    assert s.delete_data("lock") is True and s.delete_data("lock") is False
    with pytest.raises(NotImplementedError):
        s.put_if_empty("k", b"1", ttl=10)
    s.put_data("x", b"1")
    s.flush_results()
    assert s.result_store_size() == 0


def test_counters(storage):
    s = storage()
    assert s.incr("c") == 1 and s.incr("c", 5) == 6 and s.incr("c", 0) == 6
    s.delete_counter("c")
    assert s.incr("c") == 1
    s.incr("d")
    s.flush_counters()
    assert s.incr("c", 0) == 0 and s.incr("d", 0) == 0


def test_threads_dequeuing_at_once_each_get_different_tasks(storage):
    s = storage()
    for n in range(400):
        s.enqueue(str(n).encode())
    taken: list[bytes] = []
    connections = []
    lock = threading.Lock()

    def work():
        while (data := s.dequeue()) is not None:
            with lock:
                taken.append(data)
        connections.append(s._connection())

    s.read_timeout = 0.2
    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken) == sorted(str(n).encode() for n in range(400))
    assert len({id(conn) for conn in connections}) == 8  # one connection per thread…
    deadline = time.monotonic() + 5
    while not all(conn.closed for conn in connections) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(conn.closed for conn in connections)  # …closed when its thread ended


def _take_all(url, prefix, results):
    s = PostgresQueueStorage("unit", dsn=url, table_prefix=prefix, read_timeout=0.2)
    taken = []
    while (data := s.dequeue()) is not None:
        taken.append(data)
    s.close()
    results.put(taken)


def test_forked_processes_reconnect_and_each_get_different_tasks(storage, pg_url, queue_table_prefix):
    s = storage()
    for n in range(300):
        s.enqueue(str(n).encode())
    assert s.queue_size() == 300  # the parent holds an open connection when it forks
    s.read_timeout = 0.2

    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def child():
        taken = []
        while (data := s.dequeue()) is not None:  # the parent's storage object, inherited
            taken.append(data)
        results.put(taken)

    procs = [context.Process(target=child) for _ in range(3)]
    for proc in procs:
        proc.start()
    taken = [data for _ in procs for data in results.get(timeout=60)]
    for proc in procs:
        proc.join(timeout=10)
        assert proc.exitcode == 0
    assert sorted(taken) == sorted(str(n).encode() for n in range(300))
    assert s.queue_size() == 0  # the parent's own connection still works: children did not close it


def test_tables_are_created_on_first_use_even_by_many_at_once(pg_url):
    prefix = f"test_create_{uuid.uuid4().hex[:8]}"
    storages = [PostgresQueueStorage("unit", dsn=pg_url, table_prefix=prefix) for _ in range(6)]
    assert not storages[0]._opened  # nothing connects before first use
    errors = []

    def first_use(s):
        try:
            s.enqueue(b"x")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(s,)) for s in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        assert storages[0].queue_size() == 6
    finally:
        storages[0].drop_tables()
        for s in storages:
            s.close()


def test_settings_are_checked(pg_url):
    with pytest.raises(ValueError):
        PostgresQueueStorage("unit", dsn=pg_url, table_prefix="Robert'); DROP TABLE students;--")
    with pytest.raises(ValueError):
        PostgresQueueStorage("unit", dsn=None)
    assert libpq_dsn("postgresql+psycopg://u@h:5432/db") == "postgresql://u@h:5432/db"
    assert libpq_dsn("postgres://u@h/db") == "postgresql://u@h/db"


def test_the_setting_picks_the_storage(tmp_path):
    from huey.storage import RedisStorage, SqliteStorage

    from marketplace.jobs import storage_for

    sqlite = {"HUEY_URL": f"sqlite:///{tmp_path}/jobs.db"}
    assert storage_for(sqlite) == (SqliteStorage, {"filename": f"{tmp_path}/jobs.db"})
    assert storage_for({"HUEY_URL": "redis://127.0.0.1:6379/3"}) == (RedisStorage, {"url": "redis://127.0.0.1:6379/3"})
    for url in ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"):
        assert storage_for({"HUEY_URL": url, "HUEY_TABLE_PREFIX": "jobs"}) == (
            PostgresQueueStorage, {"dsn": url, "table_prefix": "jobs"})
    with pytest.raises(RuntimeError):
        storage_for({"HUEY_URL": "amqp://h/"})


def test_a_huey_lock_is_held_across_consumers(pg_url, queue_table_prefix):
    """`huey.lock_task` (the search index writer's lock) on this storage: one holder among all processes."""
    from huey import Huey
    from huey.exceptions import TaskLockedException

    one, two = (Huey("unit-lock", results=False, storage_class=PostgresQueueStorage, dsn=pg_url,
                     table_prefix=queue_table_prefix) for _ in range(2))
    try:
        lock_one, lock_two = one.lock_task("writer"), two.lock_task("writer")
        with lock_one:
            assert lock_two.is_locked()
            with pytest.raises(TaskLockedException):
                lock_two.acquire()
        assert not lock_two.is_locked()
        with lock_two:
            assert lock_one.is_locked()
    finally:
        for huey in (one, two):
            huey.storage.flush_all()
            huey.storage.close()


def test_close_closes_this_process_connections(storage):
    s = storage()
    s.enqueue(b"x")
    conns = list(s._opened)
    assert conns and s.close() is True
    assert all(conn.closed for conn in conns)
    assert s.dequeue() == b"x"  # and the next use reconnects


def test_migrations_leave_the_queue_tables_alone(app, runner):
    """The queue may share the application's database: autogenerate must not propose to drop its tables."""
    import sqlalchemy as sa

    from marketplace.extensions import db

    prefix = app.config["HUEY_TABLE_PREFIX"]
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {prefix}_task (id integer PRIMARY KEY, data text)"))
    try:
        result = runner.invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {prefix}_task"))
