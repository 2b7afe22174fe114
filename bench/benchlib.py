"""Helpers shared by the benchmarks: free ports, percentiles, process memory, wrk's output, a gunicorn
server and a Huey consumer on an instance folder. Nothing here is imported by the application."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def unwind_on_sigterm() -> None:
    """Make SIGTERM (a `kill`, a CI timeout) end this benchmark like Ctrl-C does, through its `finally`
    blocks, so that the gunicorn and consumer processes it started are stopped rather than left running.
    Called by whatever starts such a process; a no-op outside the main thread or under another handler."""
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread
        pass


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Terminate a server or worker process; kill it if it has not exited after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def least_squares_slope(points: list[tuple[float, float]]) -> float:
    """Slope of the least-squares line through (x, y) points (at least two distinct x)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if n < 2 or spread == 0:
        raise ValueError("a slope needs two points at different x")
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


# --- processes and memory -------------------------------------------------------------------------


def rss_mib(pid: int) -> float | None:
    """Resident set size of a process (VmRSS in /proc/<pid>/status), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def default_workers() -> int:
    return int(os.environ.get("BENCH_WORKERS") or 2 * (os.cpu_count() or 1) + 1)


def instance_env(instance: Path, **extra: str) -> dict:
    """The environment of a server or worker process on an instance folder: the caller's environment
    without its MARKETPLACE_* settings, then the instance and the extras."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env["MARKETPLACE_INSTANCE_PATH"] = str(Path(instance).resolve())
    # this source tree first (the consumer imports the installed package, which may be another checkout)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.update({f"MARKETPLACE_{k}": str(v) for k, v in extra.items()})
    return env


class Gunicorn:
    """`gunicorn -w N wsgi:app` (or any app) on a free 127.0.0.1 port, ready when `ready_path` answers."""

    def __init__(self, env: dict, workers: int, log: Path, app: str = "wsgi:app", cwd: Path = ROOT,
                 ready_path: str = "/", timeout: float = 90, options: tuple[str, ...] = ()):
        unwind_on_sigterm()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            # `options` come first: e.g. ("-c", "deploy/gunicorn.conf.py"), whose settings the ones after override
            [str(BIN / "gunicorn"), *options, "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "60",
             app],
            cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.close()
                raise RuntimeError("gunicorn exited:\n" + self.log_path.read_text(errors="replace")[-3000:])
            try:
                with urllib.request.urlopen(self.base + ready_path, timeout=30) as response:
                    response.read()
                    if len(self.workers()) >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer {ready_path} within {timeout:.0f} s")

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def warm_up(self, path: str, requests: int) -> None:
        """Send a few requests so that every worker has loaded what it loads on first use."""
        for _ in range(requests):
            try:
                with urllib.request.urlopen(self.base + path, timeout=60) as response:
                    response.read()
            except OSError:
                pass

    def stop(self) -> None:
        stop(self.process)
        self.log.close()


# --- wrk ------------------------------------------------------------------------------------------

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """Requests/s, latency percentiles (seconds), request count, and errors from `wrk --latency`'s output.
    wrk counts 3xx as successes; `non_2xx_3xx` are the others, `socket_errors` connect/read/write/timeout."""
    result = {"requests_per_s": None, "requests": 0, "latency": {}, "non_2xx_3xx": 0,
              "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0}}
    in_distribution = False
    for line in output.splitlines():
        stripped = line.strip()
        if stripped.startswith("Latency Distribution"):
            in_distribution = True
            continue
        if in_distribution:
            match = re.fullmatch(r"(\d+(?:\.\d+)?)%\s+(\S+)", stripped)
            if match:
                result["latency"][f"p{float(match.group(1)):g}"] = _duration(match.group(2))
                continue
            in_distribution = False
        if match := re.match(r"(\d+) requests in ([\d.]+\w+),", stripped):
            result["requests"] = int(match.group(1))
            result["duration_s"] = _duration(match.group(2))
        elif stripped.startswith("Socket errors:"):
            for name, value in re.findall(r"(connect|read|write|timeout) (\d+)", stripped):
                result["socket_errors"][name] = int(value)
        elif stripped.startswith("Non-2xx or 3xx responses:"):
            result["non_2xx_3xx"] = int(stripped.rsplit(":", 1)[1])
        elif stripped.startswith("Requests/sec:"):
            result["requests_per_s"] = float(stripped.split(":", 1)[1])
    result["errors"] = result["non_2xx_3xx"] + sum(result["socket_errors"].values())
    return result


def wrk_path() -> str:
    path = shutil.which("wrk")
    if not path:
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk; `make bench` does it)")
    return path


def run_wrk(url: str, threads: int = 2, connections: int = 50, duration: float = 20) -> dict:
    command = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", url]
    busy0, total0 = cpu_times()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    busy1, total1 = cpu_times()
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed: {completed.stderr or completed.stdout}")
    result = parse_wrk(completed.stdout)
    result["cpu"] = (busy1 - busy0) / (total1 - total0) if total1 > total0 else None
    result["command"] = " ".join(command)
    return result


# --- Huey consumer --------------------------------------------------------------------------------


class Consumer:
    """`huey_consumer marketplace.worker.huey -w N -k thread` (as `make run` and the deployment guide
    start it) on an instance folder, its output in a log file."""

    def __init__(self, env: dict, log: Path, workers: int = 2):
        unwind_on_sigterm()
        self.log_path = Path(log)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(BIN / "huey_consumer"), "marketplace.worker.huey", "-w", str(workers), "-k", "thread"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def rss_mib(self) -> float | None:
        return rss_mib(self.process.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop(self.process)
        self.log.close()


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (online backup: works while it is open elsewhere)."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
