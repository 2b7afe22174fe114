"""A live room as it really runs: 30 companies on their phones, the projector and the control desk,
all refreshing the way the pages do (phones every 2 s: the lot state and the bid form; projector
every 1 s; desk every 3 s), while the phones bid at a human pace (one bid every 5 to 15 s each).
gunicorn with 4 sync workers on SQLite and on PostgreSQL, side by side; reports the latency of the
refreshes and of the bids and the share of refreshes answered "nothing changed" (204).

    .venv/bin/python bench/room_bench.py [--duration 60] [--phones 30] [--no-pg]

The pages are requested with real session cookies (signed with the instance's secret key), the bids
go through the JSON API. Rate limiting stays on: human bidders stay under AUCTION_BID_RATE_LIMIT."""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from auction_bench import (  # noqa: E402
    build_room,
    post_bid,
    scratch_postgres,
    settings,
    start_site,
)
from benchlib import cpu_times, free_port, percentile  # noqa: E402


def session_cookie(config: dict, user_id: int) -> str:
    """The Flask session cookie a logged-in browser of this user would hold."""
    from marketplace import create_app

    app = create_app(config)
    serializer = app.session_interface.get_signing_serializer(app)
    return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps({'_user_id': str(user_id), '_fresh': True})}"


def get(base: str, path: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(base + path, headers={"Cookie": cookie, "HX-Request": "true"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, ""


def version_of(html: str, default: str) -> str:
    marker = "v="
    at = html.find(marker)
    if at < 0:
        return default
    end = html.find('"', at)
    return html[at + 2:end].split("&")[0]


def run_room(base: str, config: dict, room: dict, phones: int, duration: float) -> dict:
    session = room["session_id"]
    stats = {"poll": [], "bid": [], "statuses": {}, "not_modified": 0, "polls": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def record(kind, began, status):
        with lock:
            stats[kind].append(time.monotonic() - began)
            stats["statuses"][f"{kind} {status}"] = stats["statuses"].get(f"{kind} {status}", 0) + 1
            if kind == "poll":
                stats["polls"] += 1
                stats["not_modified"] += status == 204

    def poller(cookie: str, paths: list[str], every: float, offset: float) -> None:
        time.sleep(offset)
        versions = {p: "" for p in paths}
        while time.monotonic() < stop_at:
            tick = time.monotonic()
            for path in paths:
                began = time.monotonic()
                status, html = get(base, path.format(v=versions[path]), cookie)
                record("poll", began, status)
                if status == 200:
                    versions[path] = version_of(html, versions[path])
            time.sleep(max(0.0, every - (time.monotonic() - tick)))

    def bidder(i: int) -> None:
        rng = random.Random(i)
        n = 0
        time.sleep(rng.uniform(0, 5))
        while time.monotonic() < stop_at:
            n += 1
            began = time.monotonic()
            status = post_bid(base, room["tokens"][i], room["lot_id"], f"room-{i}-{n}",
                              {"unit_price_eur": f"{rng.uniform(-5, 50):.2f}", "quantity": rng.randint(1, 10)})
            record("bid", began, status)
            time.sleep(rng.uniform(5, 15))

    threads = []
    for i in range(phones):
        cookie = session_cookie(config, room["user_ids"][i])
        threads.append(threading.Thread(target=poller, args=(
            cookie, [f"/encheres/{session}/salle/etat?v={{v}}", f"/encheres/{session}/salle/formulaire?lot={room['lot_id']}"],
            2.0, random.uniform(0, 2))))
        threads.append(threading.Thread(target=bidder, args=(i,)))
    desk = session_cookie(config, room["practitioner_id"])
    threads.append(threading.Thread(target=poller, args=(desk, [f"/encheres/{session}/projection/etat?v={{v}}"], 1.0, 0)))
    threads.append(threading.Thread(target=poller, args=(desk, [f"/encheres/{session}/regie"], 3.0, 0.5)))
    busy0, total0 = cpu_times()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy1, total1 = cpu_times()
    stats["cpu"] = (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")
    stats["duration"] = duration
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--phones", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("MARKETPLACE_BENCH_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    smtp_port = free_port()
    smtp = Controller(Discard(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    print(f"A live room: {args.phones} phones + projector + desk for {args.duration:.0f} s, gunicorn -w {args.workers}, "
          f"{os.cpu_count()} CPUs, clients on this machine.", flush=True)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="room-bench-") as tmp:
            backends = [("SQLite (WAL)", None)] + ([] if args.no_pg else [("PostgreSQL", args.pg_url)])
            for label, pg in backends:
                instance = Path(tmp) / label.split()[0].lower()
                instance.mkdir()
                with (scratch_postgres(pg) if pg else _nothing(f"sqlite:///{instance / 'marketplace.db'}")) as url:
                    config = settings(instance, url, smtp_port)
                    config["RATELIMIT_ENABLED"] = True
                    room = build_room(config, args.phones)
                    server = start_site(config, args.workers, instance / "gunicorn.log")
                    try:
                        result = run_room(server.base, config, room, args.phones, args.duration)
                    finally:
                        server.stop()
                    result["label"] = label
                    results.append(result)
    finally:
        smtp.stop()

    print()
    print(f"{'':14}{'refresh/s':>10}{'p50 ms':>8}{'p95 ms':>8}{'204':>6}{'bids':>6}{'bid p50':>9}{'bid p95':>9}"
          f"{'CPU':>6}  other statuses")
    ok = True
    for r in results:
        others = {k: v for k, v in r["statuses"].items() if k not in ("poll 200", "poll 204", "bid 201")}
        ok &= not others
        print(f"{r['label']:14}{r['polls'] / r['duration']:10.1f}{statistics.median(r['poll']) * 1000:8.0f}"
              f"{percentile(r['poll'], 95) * 1000:8.0f}{r['not_modified'] / max(r['polls'], 1):6.0%}"
              f"{len(r['bid']):6d}{statistics.median(r['bid']) * 1000 if r['bid'] else float('nan'):9.0f}"
              f"{percentile(r['bid'], 95) * 1000:9.0f}{r['cpu']:6.0%}  {others or 'none'}")
    print("refresh: every page refresh of phones, projector and desk; 204: share answered 'nothing changed'.")
    return 0 if ok else 1


class _nothing:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main())
