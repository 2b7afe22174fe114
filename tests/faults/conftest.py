"""Helpers of the fault tests: real consumer processes on the test's queue, logging to a file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout: float = 40.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class Consumer:
    """`huey_consumer marketplace.worker.huey` with two worker threads and no periodic tasks (the test
    runs the sweeps itself), seeing the app's database, queue, SMTP server and search index."""

    def __init__(self, app, queue, smtp, log: Path):
        env = dict(os.environ, **queue.env, MARKETPLACE_INSTANCE_PATH=app.config["INSTANCE_PATH"],
                   MARKETPLACE_DATABASE_URL=app.config["DATABASE_URL"], MARKETPLACE_SECRET_KEY=app.config["SECRET_KEY"],
                   MARKETPLACE_MAIL_PORT=str(smtp.port), MARKETPLACE_BASE_URL="http://localhost",
                   MARKETPLACE_SEARCH_BACKEND=app.config["SEARCH_BACKEND"], PYTHONPATH=str(ROOT))
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "huey_consumer"), "marketplace.worker.huey", "-w", "2", "-k",
                 "thread", "-n"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def logged(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")

    def kill(self) -> None:
        """kill -9: no clean-up of any kind, as in a crash or an OOM kill."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def consumers(tmp_path):
    """`start(app, queue, smtp)` starts one more consumer; every one still running is stopped at the end."""
    started: list[Consumer] = []

    class Starter:
        @staticmethod
        def start(app, queue, smtp) -> Consumer:
            consumer = Consumer(app, queue, smtp, tmp_path / f"consumer-{len(started)}.log")
            started.append(consumer)
            return consumer

    yield Starter
    for consumer in started:
        consumer.stop()
