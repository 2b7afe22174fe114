"""Auction bid throughput: a live room on a fresh instance served by gunicorn (4 worker processes),
50 companies bidding on the same lot as fast as they can through the JSON API for a fixed time, on
SQLite and on PostgreSQL (a scratch database created and dropped here), side by side in one run.

    .venv/bin/python bench/auction_bench.py [--duration 20] [--bidders 50] [--workers 4]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --no-pg]

Each request is one bid with its own Idempotency-Key (a new connection each time: gunicorn's sync
workers close it). Rate limiting is switched off on the server (MARKETPLACE_RATELIMIT_ENABLED=0):
otherwise each person is held to AUCTION_BID_RATE_LIMIT. The clients run on the same machine."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import Gunicorn, cpu_times, free_port, percentile  # noqa: E402


def scratch_postgres(url: str):
    """A fresh PostgreSQL database beside the one given, dropped afterwards."""
    import sqlalchemy as sa

    base = sa.make_url(url)
    name = f"auction_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings(instance: Path, database_url: str, smtp_port: int) -> dict:
    return {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "SECRET_KEY": "auction-bench",
            "HUEY_IMMEDIATE": True, "RATELIMIT_ENABLED": False, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port,
            "BASE_URL": "http://127.0.0.1"}


def build_room(config: dict, bidders: int) -> dict:
    """Migrate the database, then open a live room with one divisible lot on screen and `bidders`
    companies checked in, each with a member holding an API token."""
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.accounts.models import Territory, User
    from marketplace.api.models import ApiToken
    from marketplace.auctions import services
    from marketplace.companies.services import create_company
    from marketplace.extensions import db
    from marketplace.listings import services as listing_services
    from marketplace.models_base import utcnow
    from marketplace.territories.services import assign_practitioner, save_territory

    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))

        def person(email, company=None):
            user = User(email=email, password_hash="-", full_name=email.split("@")[0], confirmed_at=utcnow())
            db.session.add(user)
            user.company = company
            return user

        territory = save_territory(Territory(), name="Concarneau Cornouaille", postcodes="29900 29000 29910",
                                   departements="", kind="postcodes")
        practitioner = person("anim@cci.fr")
        db.session.flush()
        assign_practitioner(territory, practitioner)
        giver = create_company(None, {"name": "Conserverie du Port"}, {"name": "Siège", "postcode": "29900"})
        alice = person("alice@conserverie.fr", giver)
        listing = listing_services.create(alice, giver, giver.sites[0], {
            "kind": "offer", "title": "Palettes bois 120x80", "description": "Palettes EUR.", "category": "materials",
            "waste_code": "15 01 03", "quantity": Decimal("1000"), "unit": "t", "frequency": "once",
            "price_mode": "negotiable", "unit_price_eur": None, "available_from": None, "available_until": None,
            "expires_on": None})
        listing.status, listing.published_at = "published", utcnow()
        companies, tokens = [], []
        for i in range(bidders):
            company = create_company(None, {"name": f"Entreprise {i:03d}"},
                                     {"name": "Siège", "postcode": ("29000", "29910", "29900")[i % 3]})
            companies.append(company)
            tokens.append(ApiToken.issue(person(f"bidder{i:03d}@example.fr", company), "bench")[1])
        session = services.create_session(practitioner, territory, {
            "title": "Banc d'essai", "mode": "live", "starts_at": utcnow(), "place": "", "is_online": True,
            "description": ""})
        services.invite(practitioner, session, companies)
        lot = services.put_up(alice, session, listing, {"quantity": Decimal("1000"), "allow_partial": True})
        db.session.commit()
        for company in companies:
            services.check_in(practitioner, session.id, company.id, True)
        services.open_session(practitioner, session.id)
        db.session.commit()
        services.present(practitioner, lot.id)
        db.session.commit()
        room = {"lot_id": lot.id, "tokens": tokens, "session_id": session.id,
                "user_ids": [c.members[0].id for c in companies], "practitioner_id": practitioner.id}
        db.session.remove()
        db.engine.dispose()
    return room


def stored_bids(config: dict, lot_id: int) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(config["DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM auction_bid WHERE lot_id = :lot"), {"lot": lot_id}).scalar()
    engine.dispose()
    return count


def start_site(config: dict, workers: int, log: Path) -> Gunicorn:
    """The site under `gunicorn -w N` on the room's database, jobs run in the request (no consumer)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_INSTANCE_PATH=config["INSTANCE_PATH"], MARKETPLACE_DATABASE_URL=config["DATABASE_URL"],
               MARKETPLACE_SECRET_KEY=config["SECRET_KEY"], MARKETPLACE_HUEY_IMMEDIATE="1",
               MARKETPLACE_RATELIMIT_ENABLED="0", MARKETPLACE_MAIL_SERVER="127.0.0.1",
               MARKETPLACE_MAIL_PORT=str(config["MAIL_PORT"]), MARKETPLACE_BASE_URL="http://127.0.0.1")
    return Gunicorn(env, workers, log, ready_path="/sante", timeout=60)


def post_bid(base: str, token: str, lot_id: int, key: str, body: dict) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/lots/{lot_id}/bids", method="POST", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def hammer(base: str, room: dict, warmup: float, duration: float) -> dict:
    """Every bidder bids in a loop; only requests started inside the measured window count."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    start_at = time.monotonic() + warmup
    stop_at = start_at + duration

    def bidder(i: int) -> None:
        rng = random.Random(i)
        n = 0
        while True:
            began = time.monotonic()
            if began >= stop_at:
                return
            n += 1
            body = {"unit_price_eur": f"{rng.uniform(-5, 50):.2f}", "quantity": rng.randint(1, 10)}
            try:
                outcome = str(post_bid(base, room["tokens"][i], room["lot_id"], f"bench-{i}-{n}", body))
            except OSError as exc:
                outcome = type(exc).__name__
            ended = time.monotonic()
            if began >= start_at:
                with lock:
                    statuses[outcome] = statuses.get(outcome, 0) + 1
                    if outcome == "201":
                        latencies.append(ended - began)

    threads = [threading.Thread(target=bidder, args=(i,)) for i in range(len(room["tokens"]))]
    for t in threads:
        t.start()
    time.sleep(max(start_at - time.monotonic(), 0))
    busy0, total0 = cpu_times()
    own0 = time.process_time()
    time.sleep(max(stop_at - time.monotonic(), 0))
    busy1, total1 = cpu_times()
    own = (time.process_time() - own0) / (duration * (os.cpu_count() or 1))
    for t in threads:
        t.join()
    cpu = (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")
    return {"latencies": latencies, "statuses": statuses, "duration": duration, "cpu": cpu,
            "client_cpu": own}


def run_backend(label: str, database_url: str, instance: Path, smtp_port: int, args) -> dict:
    config = settings(instance, database_url, smtp_port)
    started = time.perf_counter()
    room = build_room(config, args.bidders)
    print(f"[{label}] room ready ({args.bidders} companies checked in, one lot) in {time.perf_counter() - started:.1f} s",
          flush=True)
    server = start_site(config, args.workers, instance / "gunicorn.log")
    try:
        result = hammer(server.base, room, args.warmup, args.duration)
    finally:
        server.stop()
    result["stored"] = stored_bids(config, room["lot_id"])
    result["label"] = label
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per database")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    parser.add_argument("--bidders", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("MARKETPLACE_BENCH_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL server where a scratch database may be created and dropped")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    return parser


def run(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark with these command-line options; one result per database: {"label", "latencies"
    (accepted bids, s), "statuses" (outcome: count), "duration", "cpu", "client_cpu", "stored"}."""
    args = build_parser().parse_args(argv)

    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    smtp_port = free_port()
    smtp = Controller(Discard(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    print(f"gunicorn -w {args.workers} --threads 1; {args.bidders} bidders on one lot for {args.duration:.0f} s "
          f"(after {args.warmup:.0f} s warm-up), one bid per request, clients on this machine "
          f"({os.cpu_count()} CPUs).")
    print("Rate limiting disabled on the server (MARKETPLACE_RATELIMIT_ENABLED=0); in production each person "
          "is held to AUCTION_BID_RATE_LIMIT (30 per minute by default).", flush=True)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="auction-bench-") as tmp:
            instance = Path(tmp) / "sqlite"
            instance.mkdir()
            results.append(run_backend("SQLite (WAL)", f"sqlite:///{instance / 'marketplace.db'}", instance,
                                       smtp_port, args))
            if not args.no_pg:
                instance = Path(tmp) / "postgresql"
                instance.mkdir()
                with scratch_postgres(args.pg_url) as url:
                    results.append(run_backend("PostgreSQL", url, instance, smtp_port, args))
    finally:
        smtp.stop()
    return results


def report(results: list[dict]) -> None:
    print()
    print(f"{'':14}{'bids/s':>9}{'accepted':>10}{'stored':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'CPU':>6}{'client':>8}"
          f"  errors")
    for r in results:
        accepted = r["statuses"].get("201", 0)
        errors = {k: v for k, v in r["statuses"].items() if k != "201"}
        lat = r["latencies"]
        print(f"{r['label']:14}{accepted / r['duration']:9.1f}{accepted:10d}{r['stored']:8d}"
              f"{statistics.median(lat) * 1000 if lat else float('nan'):9.0f}{percentile(lat, 95) * 1000:9.0f}"
              f"{max(lat, default=float('nan')) * 1000:9.0f}{r['cpu']:6.0%}{r['client_cpu']:8.0%}  {errors or 'none'}")
    print("stored: every bid row of the lot, warm-up included (never fewer than accepted). "
          "CPU: whole machine (server, database and clients)\nduring the measured window; client: "
          "the share of it spent by this process's bidding threads.")


def main(argv: list[str] | None = None) -> int:
    results = run(argv)
    report(results)
    return 0 if all(set(r["statuses"]) <= {"201"} for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
