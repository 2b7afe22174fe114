"""Page throughput under concurrent load: the site served by gunicorn on a generated instance, hit by
`wrk -t2 -c50 -d20s --latency` on 127.0.0.1 (the listing index /annonces, a search, a listing page, the
listing index again with the anonymous results cache off; with --pg-instance/--pg-url, the search page
and the listing index on PostgreSQL for data and search),
then, with the same gunicorn settings, a minimal Flask page (bench/hello.py): the framework ceiling.
After each load, the memory (VmRSS) of every gunicorn worker.

    .venv/bin/python bench/generate.py --listings 100000 --instance bench/out/100k
    .venv/bin/flask --app wsgi search rebuild      # with MARKETPLACE_INSTANCE_PATH=bench/out/100k
    .venv/bin/python bench/pages_bench.py --instance bench/out/100k [--workers 5] [--duration 20]

Workers: 2 × cores + 1 by default (BENCH_WORKERS or --workers to change), sync, as `gunicorn -w N
wsgi:app` in the deployment guide. wrk runs on the same machine and takes part of the CPU; it counts
a request slower than 2 s as a timeout (an error). Needs wrk (Debian: apt-get install -y wrk).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import Gunicorn, default_workers, instance_env, run_wrk, wrk_path  # noqa: E402

SEARCH = "palettes bois"


def listing_path(instance: Path) -> str:
    """A published listing of the generated data (the middle one)."""
    import sqlite3

    con = sqlite3.connect(Path(instance) / "marketplace.db")
    try:
        count = con.execute("SELECT count(*) FROM listing WHERE status = 'published'").fetchone()[0]
        (listing_id,) = con.execute("SELECT id FROM listing WHERE status = 'published' ORDER BY id LIMIT 1 OFFSET ?",
                                    (count // 2,)).fetchone()
    finally:
        con.close()
    return f"/annonces/{listing_id}"


def _load(server: Gunicorn, name: str, path: str, args) -> dict:
    server.warm_up(path, 3 * args.workers)
    print(f"  wrk {name}: {path} …", end="", flush=True)
    result = run_wrk(server.base + path, threads=args.threads, connections=args.connections, duration=args.duration)
    rss = [r for r in (rss_of(pid) for pid in server.workers()) if r is not None]
    result.update(name=name, path=path, worker_rss_mib=rss)
    p50, p99 = result["latency"].get("p50"), result["latency"].get("p99")
    print(f" {result['requests_per_s']:.1f} req/s, p50 {p50 * 1000 if p50 else float('nan'):.0f} ms, "
          f"p99 {p99 * 1000 if p99 else float('nan'):.0f} ms, {result['errors']} errors, "
          f"workers {statistics.mean(rss) if rss else float('nan'):.0f} MiB", flush=True)
    return result


def rss_of(pid: int):
    from benchlib import rss_mib

    return rss_mib(pid)


def run(instance: Path, workers: int | None = None, duration: float = 20, connections: int = 50, threads: int = 2,
        search: str = SEARCH, postgresql: tuple[Path, str] | None = None) -> dict:
    """{"site": {name: wrk result + worker_rss_mib}, "hello": wrk result, "workers", …}. `postgresql`:
    (instance folder, database URL) of the same data in PostgreSQL (run_all's search-pg step), to load
    the search page and the listing index again with PostgreSQL for data and search."""
    wrk_path()  # fail early when wrk is missing
    instance = Path(instance).resolve()
    args = argparse.Namespace(workers=workers or default_workers(), duration=duration, connections=connections,
                              threads=threads)
    pages = {"index": "/annonces", "search": "/recherche?q=" + quote(search), "listing": listing_path(instance)}
    result = {"workers": args.workers, "duration": duration, "connections": connections, "threads": threads,
              "site": {}}
    print(f"gunicorn -w {args.workers} (sync) on {instance}; wrk -t{threads} -c{connections} -d{duration:g}s",
          flush=True)
    started = time.perf_counter()
    server = Gunicorn(instance_env(instance), args.workers, instance / "gunicorn-bench.log", ready_path="/annonces")
    result["site_start_s"] = time.perf_counter() - started
    try:
        for name, path in pages.items():
            result["site"][name] = _load(server, name, path, args)
    finally:
        server.stop()
    # The listing index again with the anonymous visitors' results cache turned off: every request
    # sorts, counts and renders (what a member, or a URL nobody asked for in the last seconds, costs).
    server = Gunicorn(instance_env(instance, LISTINGS_PAGE_CACHE_SECONDS=0), args.workers,
                      instance / "gunicorn-bench.log", ready_path="/annonces")
    try:
        result["site"]["index-uncached"] = _load(server, "index-uncached", pages["index"], args)
    finally:
        server.stop()
    if postgresql:
        pg_instance, url = Path(postgresql[0]).resolve(), postgresql[1]
        server = Gunicorn(instance_env(pg_instance, DATABASE_URL=url, SEARCH_BACKEND="postgresql"), args.workers,
                          pg_instance / "gunicorn-bench.log", ready_path="/annonces")
        try:
            result["site"]["search-pg"] = _load(server, "search-pg", pages["search"], args)
            result["site"]["index-pg"] = _load(server, "index-pg", pages["index"], args)
        finally:
            server.stop()
    server = Gunicorn(instance_env(instance), args.workers, instance / "gunicorn-hello.log", app="hello:app",
                      cwd=ROOT / "bench", ready_path="/")
    try:
        result["hello"] = _load(server, "hello", "/", args)
    finally:
        server.stop()
    return result


def report(result: dict) -> None:
    print(f"\n{'page':15}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU':>6}{'worker MiB':>12}  path")
    for r in [*result["site"].values(), result["hello"]]:
        lat = r["latency"]
        print(f"{r['name']:15}{r['requests_per_s']:9.1f}{lat.get('p50', float('nan')) * 1000:9.0f}"
              f"{lat.get('p99', float('nan')) * 1000:9.0f}{r['errors']:8d}{(r['cpu'] or 0):6.0%}"
              f"{max(r['worker_rss_mib'], default=float('nan')):12.0f}  {r['path']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=None, help="default: 2 × cores + 1")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pg-instance", type=Path, default=None, help="instance folder of the PostgreSQL copy")
    parser.add_argument("--pg-url", default=None, help="its database, e.g. postgresql+psycopg://…/bench_100k")
    args = parser.parse_args()
    postgresql = (args.pg_instance, args.pg_url) if args.pg_instance and args.pg_url else None
    report(run(args.instance, args.workers, args.duration, args.connections, args.threads, postgresql=postgresql))
    return 0


if __name__ == "__main__":
    sys.exit(main())
