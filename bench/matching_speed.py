"""Matching time per new listing on a generated instance: the job's work (`refresh_matches`: candidates
from the process's store, prefilter, scoring, the matches written, then rolled back) for 40 published
listings, first in a fresh process (cold: the first job reads every published listing into the store),
then warm; then, in a new app (a store of its own), the warm-up a worker does as it starts and the same
jobs after it. Beside it, in the same run, the SQL candidate query matching ran for each job before
the store (the rows alone, no scoring) as the yardstick.

    .venv/bin/python bench/generate.py --listings 100000 --instance bench/out/100k
    .venv/bin/python bench/matching_speed.py --instance bench/out/100k [--consumer]

--consumer also runs the real job, `match_listing`, in a Huey consumer (`huey_consumer
marketplace.worker.huey -w 2 -k thread`) on a copy of the database, and reports its time per listing
and the consumer's memory (VmRSS) afterwards.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def run(instance: Path, listings: int = 40) -> dict:
    """{"total", "cold": [s…], "warm": [s…], "candidates": [s…], "found": mean matches, "warm_up": s,
    "after_warm_up": [s…], "rss_mib": {"start", "warm", "before_warm_up", "warmed_up"}}."""
    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(Path(instance).resolve())
    os.environ.pop("MARKETPLACE_DATABASE_URL", None)

    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.matching.services import _candidate_rows, refresh_matches, warm_up

    app = create_app()
    result: dict = {"rss_mib": {"start": _rss_mib()}}
    with app.app_context():
        result["total"] = db.session.scalar(sa.select(sa.func.count()).select_from(Listing))
        ids = db.session.scalars(sa.select(Listing.id).where(Listing.status == "published")
                                 .order_by(Listing.id).limit(listings)).all()
        print(f"{result['total']} listings; matching {len(ids)} published ones", flush=True)
        for label in ("cold", "warm"):
            times, found = [], []
            for listing_id in ids:
                listing = db.session.get(Listing, listing_id)
                start = time.perf_counter()
                found.append(len(refresh_matches(listing)))  # all new: the rollback below removes them
                times.append(time.perf_counter() - start)
                db.session.rollback()
            result[label] = times
            result["found"] = statistics.mean(found) if found else 0
        result["rss_mib"]["warm"] = _rss_mib()
        times = []
        for listing_id in ids:  # yardstick: fetching the candidate rows, nothing else
            listing = db.session.get(Listing, listing_id)
            listing.site  # noqa: B018 (loaded before the clock starts, as in find_matches' caller)
            start = time.perf_counter()
            sum(1 for _ in _candidate_rows(listing))
            times.append(time.perf_counter() - start)
            db.session.rollback()
        result["candidates"] = times
    app = create_app()  # a new engine, so a new (empty) store: as a worker process that just started
    with app.app_context():
        result["rss_mib"]["before_warm_up"] = _rss_mib()
        start = time.perf_counter()
        warm_up()
        result["warm_up"] = time.perf_counter() - start
        db.session.rollback()
        result["rss_mib"]["warmed_up"] = _rss_mib()
        times = []
        for listing_id in ids:
            listing = db.session.get(Listing, listing_id)
            start = time.perf_counter()
            refresh_matches(listing)
            times.append(time.perf_counter() - start)
            db.session.rollback()
        result["after_warm_up"] = times
    return result


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def run_consumer(instance: Path, listings: int = 40, timeout: float = 600) -> dict:
    """The matching job as production runs it: `match_listing` enqueued for `listings` published
    listings into a fresh Huey queue, executed by a real consumer on a copy of the instance's database.
    Returns {"per_listing_s", "jobs", "seconds", "rss_mib_before", "rss_mib_after"}."""
    from benchlib import Consumer, copy_sqlite, instance_env, rss_mib

    instance = Path(instance).resolve()
    with tempfile.TemporaryDirectory(prefix="matching-consumer-") as tmp:
        work = Path(tmp)
        copy_sqlite(instance / "marketplace.db", work / "marketplace.db")
        shutil.copy(instance / "secret_key", work / "secret_key")
        index = instance / "search-index"
        queue = work / "jobs.db"
        env = instance_env(work, HUEY_URL=f"sqlite:///{queue}", BASE_URL="http://127.0.0.1",
                           SEARCH_INDEX_PATH=str(index) if index.exists() else str(work / "search-index"),
                           MAIL_SERVER="127.0.0.1", MAIL_PORT="9")  # notify=False: nothing is mailed
        os.environ["MARKETPLACE_INSTANCE_PATH"] = str(work)
        os.environ["MARKETPLACE_HUEY_URL"] = f"sqlite:///{queue}"
        import sqlalchemy as sa

        from marketplace import create_app
        from marketplace.extensions import db
        from marketplace.jobs import configure
        from marketplace.listings.models import Listing
        from marketplace.matching.models import Match
        from marketplace.matching.tasks import match_listing

        app = create_app({"HUEY_URL": f"sqlite:///{queue}", "HUEY_IMMEDIATE": False})
        configure(app.config)
        consumer = Consumer(env, work / "consumer.log")
        try:
            with app.app_context():
                ids = db.session.scalars(sa.select(Listing.id).where(Listing.status == "published")
                                         .order_by(Listing.id.desc()).limit(listings)).all()
                time.sleep(2)  # the consumer starts (imports the app) meanwhile
                before = consumer.rss_mib()
                start = time.perf_counter()
                for listing_id in ids:
                    match_listing(listing_id, False)
                deadline = time.monotonic() + timeout  # done when the consumer's log shows every job ended
                while time.monotonic() < deadline and consumer.alive() and _running(work / "consumer.log", len(ids)):
                    time.sleep(0.05)
                elapsed = time.perf_counter() - start
                stored = db.session.scalar(sa.select(sa.func.count()).select_from(Match))
            after = rss_mib(consumer.process.pid)
        finally:
            consumer.stop()
        executed = _finished(work / "consumer.log")
    return {"jobs": len(ids), "executed": executed, "seconds": elapsed,
            "per_listing_s": elapsed / max(len(ids), 1), "rss_mib_before": before, "rss_mib_after": after,
            "matches_stored": stored, "errors": _errors(work / "consumer.log")}


def _finished(log: Path, marker: str = "executed in") -> int:
    """How many matching jobs the consumer's log shows as done (periodic jobs are not counted)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return 0
    return sum(1 for line in lines if "match_listing" in line and marker in line)


def _errors(log: Path) -> int:
    try:
        return log.read_text(errors="replace").count("Unhandled exception in task")
    except OSError:
        return 0


def _running(log: Path, expected: int) -> bool:
    """True while fewer than `expected` matching jobs have ended (done or failed)."""
    return _finished(log) + _errors(log) < expected


def report(result: dict) -> None:
    for label, name in (("cold", "cold process"), ("warm", "warm"), ("after_warm_up", "after warm-up")):
        times = sorted(result.get(label) or [])
        if times:
            print(f"{name:18} median {statistics.median(times):.3f} s   "
                  f"p95 {times[int(0.95 * len(times)) - 1]:.3f} s   max {times[-1]:.3f} s   "
                  f"({result['found']:.1f} matches on average)")
    if result.get("warm_up") is not None:
        rss = result.get("rss_mib", {})
        print(f"{'warm-up':18} {result['warm_up']:.1f} s (a worker reads and describes every published listing "
              f"as it starts); the store takes {rss['warmed_up'] - rss['before_warm_up']:.0f} MiB "
              f"(process RSS {rss['start']:.0f} MiB at start)")
    times = sorted(result["candidates"])
    if times:
        print(f"{'SQL candidate query':18} median {statistics.median(times):.3f} s   "
              f"p95 {times[int(0.95 * len(times)) - 1]:.3f} s   (yardstick: the rows matching read for each job "
              f"before the store, no scoring)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--listings", type=int, default=40)
    parser.add_argument("--consumer", action="store_true", help="also run the job in a real Huey consumer")
    args = parser.parse_args()
    report(run(args.instance, args.listings))
    if args.consumer:
        r = run_consumer(args.instance, args.listings)
        print(f"Huey consumer: {r['executed']}/{r['jobs']} jobs in {r['seconds']:.1f} s = "
              f"{r['per_listing_s'] * 1000:.0f} ms per listing; consumer RSS {r['rss_mib_before']:.0f} MiB before, "
              f"{r['rss_mib_after']:.0f} MiB after; {r['errors']} errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
