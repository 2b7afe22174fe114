"""Several consumers on a shared queue (Redis, PostgreSQL): real `huey_consumer` processes with two
worker threads each run every task exactly once, none lost; a scheduled task runs at its time, once;
a consumer killed with kill -9 loses the task it was running (Huey deletes a task when a worker takes
it: at most once) and nothing else; periodic tasks are enqueued once a minute whatever the number of
schedulers. The executions are counted in a PostgreSQL table written by the task itself."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import QUEUE_POSTGRES_URL, make_queue, using_queue

ROOT = Path(__file__).resolve().parent.parent
PROBE_DSN = QUEUE_POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(params=["redis", "postgresql"])
def queue(request, app, tmp_path, queue_space):
    with using_queue(app, make_queue(request.param, tmp_path, queue_space)) as queue:
        yield queue


@pytest.fixture
def probe_table():
    name = f"queue_probe_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PROBE_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, key text NOT NULL, event text NOT NULL, "
                             "pid integer NOT NULL, at timestamptz NOT NULL)").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(PROBE_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


def runs(table: str) -> list[tuple[str, str, int, datetime]]:
    with psycopg.connect(PROBE_DSN, autocommit=True) as conn:
        return conn.execute(sql.SQL("SELECT key, event, pid, at FROM {} ORDER BY id").format(
            sql.Identifier(table))).fetchall()


def count(table: str, event: str) -> int:
    return sum(1 for row in runs(table) if row[1] == event)


def wait_for(predicate, timeout=40.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


class Consumers:
    """Real consumer processes on the test's queue, logging to files; all stopped at the end."""

    def __init__(self, app, queue, probe_table, tmp_path):
        self.env = dict(os.environ, **queue.env, MARKETPLACE_INSTANCE_PATH=app.config["INSTANCE_PATH"],
                        MARKETPLACE_DATABASE_URL=app.config["DATABASE_URL"],
                        MARKETPLACE_SECRET_KEY=app.config["SECRET_KEY"], QUEUE_PROBE_DSN=PROBE_DSN,
                        QUEUE_PROBE_TABLE=probe_table, PYTHONPATH=str(ROOT))
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen, Path]] = []

    def start(self, *periodic: bool, workers=2, worker_type="thread") -> list[subprocess.Popen]:
        """One consumer per argument (True: with periodic tasks; False: `-n`), once all have started."""
        started = []
        for with_periodic in periodic:
            log = self.tmp_path / f"consumer-{len(self.procs)}.log"
            command = [str(Path(sys.executable).parent / "huey_consumer"), "tests.queue_probe.huey",
                       "-w", str(workers), "-k", worker_type] + ([] if with_periodic else ["-n"])
            with open(log, "wb") as out:
                proc = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            self.procs.append((proc, log))
            started.append((proc, log))
        for proc, log in started:
            assert wait_for(lambda: "Huey consumer started" in log.read_text(errors="replace")
                            or proc.poll() is not None, timeout=30), self.output()
            assert proc.poll() is None, self.output()
        return [proc for proc, _ in started]

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" for _, log in self.procs)

    def stop(self):
        for proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # graceful: let running tasks finish
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def consumers(app, queue, probe_table, tmp_path):
    group = Consumers(app, queue, probe_table, tmp_path)
    yield group
    group.stop()


def test_several_consumers_run_every_task_exactly_once(queue, consumers, probe_table):
    from tests.queue_probe import probe

    consumers.start(True, False)  # one consumer with the periodic tasks, extra ones with -n
    consumers.start(False, worker_type="process")  # forked workers: each opens its own connections
    for n in range(200):
        probe(f"t{n}", 0.01)

    assert wait_for(lambda: count(probe_table, "done") >= 200, timeout=60), consumers.output()
    time.sleep(1.5)  # room for a duplicate, if there were one
    rows = runs(probe_table)
    starts = [key for key, event, _, _ in rows if event == "start"]
    assert sorted(starts) == sorted(f"t{n}" for n in range(200))  # each once: none lost, none twice
    assert sorted(key for key, event, _, _ in rows if event == "done") == sorted(starts)
    assert len({pid for _, _, pid, _ in rows}) >= 2, "the work was shared between consumers"

    from marketplace.jobs import huey

    assert huey.pending_count() == 0 and huey.scheduled_count() == 0


def test_a_scheduled_task_runs_once_at_its_time(queue, consumers, probe_table):
    from tests.queue_probe import probe

    consumers.start(True, False)  # two schedulers read the schedule: each due task goes to one of them
    eta = datetime.now(timezone.utc) + timedelta(seconds=3)
    for n in range(20):
        probe.schedule(args=(f"s{n}",), eta=eta)
    probe.schedule(args=("later",), eta=eta + timedelta(seconds=60))

    assert wait_for(lambda: count(probe_table, "done") >= 20, timeout=30), consumers.output()
    time.sleep(1.5)
    rows = [row for row in runs(probe_table) if row[1] == "start"]
    assert sorted(key for key, *_ in rows) == sorted(f"s{n}" for n in range(20))
    for _, _, _, at in rows:  # Huey drops the eta's microseconds; the scheduler looks every second
        assert eta - timedelta(seconds=1) <= at < eta + timedelta(seconds=5), (at, eta)
    from marketplace.jobs import huey

    assert [task.args for task in huey.scheduled()] == [("later",)]  # not due: still waiting


def test_a_killed_consumer_loses_only_the_task_it_was_running(queue, consumers, probe_table):
    """The contract, precisely: a task taken by a worker is no longer in the queue. If the consumer
    dies (kill -9, power loss) while running it, that run is lost and no other consumer starts it
    again (at most once); the tasks still queued or scheduled are kept and run elsewhere, once.
    Recovering lost work is each job's business (the outbox and index sweeps, see docs/queue.md)."""
    from marketplace.jobs import huey
    from tests.queue_probe import probe

    [victim] = consumers.start(False, workers=1)
    probe("slow", 30)
    assert wait_for(lambda: count(probe_table, "start") == 1, timeout=30), consumers.output()
    for n in range(20):
        probe(f"q{n}", 0)  # waiting behind the slow one: the victim has a single worker
    # A task with an eta is queued too; the worker that takes it moves it to the schedule.
    probe.schedule(args=("scheduled",), eta=datetime.now(timezone.utc) + timedelta(seconds=5))
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert sorted(task.args[0] for task in huey.pending()) == sorted([f"q{n}" for n in range(20)] + ["scheduled"])

    consumers.start(False)
    assert wait_for(lambda: count(probe_table, "done") >= 21, timeout=40), consumers.output()
    time.sleep(1.5)
    rows = runs(probe_table)
    done = sorted(key for key, event, _, _ in rows if event == "done")
    assert done == sorted([f"q{n}" for n in range(20)] + ["scheduled"])
    assert [key for key, event, _, _ in rows if event == "start" and key == "slow"] == ["slow"]  # never again
    assert "slow" not in done
    assert huey.pending_count() == 0 and huey.scheduled_count() == 0


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgresql"])
def test_periodic_tasks_are_enqueued_once_a_minute_whatever_the_number_of_schedulers(
        kind, app, tmp_path, queue_space):
    """A consumer started without -n next to the one with the scheduler does not run them twice."""
    import marketplace.worker  # noqa: F401 - registers the periodic tasks
    from marketplace.jobs import PeriodicOnceScheduler, huey

    with using_queue(app, make_queue(kind, tmp_path, queue_space)):
        schedulers = [PeriodicOnceScheduler(huey, threading.Event(), interval=1, periodic=True) for _ in range(3)]
        at_630 = datetime(2031, 5, 6, 6, 30, 12)  # every-minute tasks and the synergy reminders are due
        due = len(huey.read_periodic(at_630))
        assert due >= 4
        for scheduler in schedulers:
            scheduler.enqueue_periodic_tasks(at_630)
        assert huey.pending_count() == due
        for scheduler in schedulers:
            scheduler.enqueue_periodic_tasks(at_630 + timedelta(minutes=1))
        assert huey.pending_count() == due + len(huey.read_periodic(at_630 + timedelta(minutes=1)))
