"""The must-hold of auctions under real concurrency: gunicorn with 4 worker processes on the test
database, 50 companies bidding at once over HTTP (with retried requests), ten simultaneous closes,
simultaneous confirmations of every award. No lost or doubled bid, one close, no double award,
quantity never below zero, no 5xx. Runs on SQLite and on PostgreSQL (MARKETPLACE_TEST_DATABASE_URL)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIDDERS = 50
BIDS_EACH = 4
CLOSERS = 10
CONFIRMERS_PER_AWARD = 3


class Server:
    """`gunicorn -w 4 wsgi:app` on a free port, configured like the test app through MARKETPLACE_* variables."""

    def __init__(self, config: dict, smtp_port: int, log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
        env.update(MARKETPLACE_INSTANCE_PATH=config["INSTANCE_PATH"], MARKETPLACE_DATABASE_URL=config["DATABASE_URL"],
                   MARKETPLACE_SECRET_KEY=config["SECRET_KEY"], MARKETPLACE_HUEY_IMMEDIATE="1",
                   MARKETPLACE_RATELIMIT_ENABLED="0", MARKETPLACE_MAIL_SERVER="127.0.0.1",
                   MARKETPLACE_MAIL_PORT=str(smtp_port), MARKETPLACE_BASE_URL=self.base)
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", "4", "--threads", "1", "-b", f"127.0.0.1:{self.port}",
             "--timeout", "60", "wsgi:app"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.output()}")
            try:
                with urllib.request.urlopen(self.base + "/sante", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn not ready after {timeout} s: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()

    def post(self, path: str, token: str, body: dict | None = None, headers: dict | None = None):
        """(status, JSON body or None) of a POST, whatever the status."""
        request = urllib.request.Request(
            self.base + "/api/v1" + path, method="POST", data=json.dumps(body or {}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, {"raw": raw[:500].decode(errors="replace")}


def run_together(jobs: list) -> list:
    """Start every job at the same moment (one thread each) and return their results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:  # surfaced by the assertions below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def build_room(make_territory, make_company, make_user, make_listing):
    """A live room open with one divisible lot of 100 t on screen and 50 companies checked in, each
    with a member holding an API token."""
    from marketplace.accounts.models import User
    from marketplace.api.models import ApiToken
    from marketplace.auctions import services
    from marketplace.companies.services import create_company
    from marketplace.extensions import db
    from marketplace.models_base import utcnow

    territory = make_territory("Concarneau Cornouaille", "29900 29000 29910 29100")
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[territory])
    giver = make_company("Conserverie du Port", "29900")
    alice = make_user("alice@conserverie.fr", company=giver)
    listing = make_listing(giver, "published", title="Palettes bois 120x80", quantity=Decimal("100"), unit="t")
    companies, users = [], []
    for i in range(BIDDERS):
        company = create_company(None, {"name": f"Entreprise {i:02d}"},
                                 {"name": "Siège", "postcode": ("29000", "29910", "29900")[i % 3]})
        companies.append(company)
        # a direct row (no password hashing): the API only needs the token
        user = User(email=f"bidder{i:02d}@example.fr", password_hash="-", full_name=f"Enchérisseur {i:02d}",
                    confirmed_at=utcnow())
        db.session.add(user)
        user.company = company
        users.append(user)
    # One token per concurrent client: requests with the same token queue on its row (last_used_at),
    # which would hide a missing lock on the lot.
    tokens = [ApiToken.issue(u, "concurrency")[1] for u in users]
    second_tokens = [ApiToken.issue(u, "retry")[1] for u in users[:10]]
    practitioner_tokens = [ApiToken.issue(practitioner, f"desk {k}")[1] for k in range(CLOSERS)]
    giver_tokens = [ApiToken.issue(alice, f"giver {k}")[1] for k in range(CONFIRMERS_PER_AWARD)]
    session = services.create_session(practitioner, territory, {
        "title": "Enchères sous charge", "mode": "live", "starts_at": utcnow(), "place": "CCI, Quimper",
        "is_online": False, "description": ""})
    services.invite(practitioner, session, companies)
    lot = services.put_up(alice, session, listing, {"quantity": Decimal("100"), "allow_partial": True})
    db.session.commit()
    for company in companies:
        services.check_in(practitioner, session.id, company.id, True)
    services.open_session(practitioner, session.id)
    db.session.commit()
    services.present(practitioner, lot.id)
    db.session.commit()
    return {"lot_id": lot.id, "tokens": tokens, "second_tokens": second_tokens,
            "companies": [c.id for c in companies], "practitioner": practitioner_tokens, "giver": giver_tokens}


def test_concurrent_bids_close_and_awards(app, smtp, tmp_path, make_territory, make_company, make_user, make_listing):
    from marketplace.auctions import services
    from marketplace.auctions.models import Award, Bid, Lot, LotEvent
    from marketplace.extensions import db
    from marketplace.synergies.models import Synergy

    setup = build_room(make_territory, make_company, make_user, make_listing)
    lot_id = setup["lot_id"]
    db.session.remove()  # nothing of the test's own held open while the server works
    server = Server(app.config, smtp.port, tmp_path / "gunicorn.log")
    try:
        server.wait_ready()

        # 1. fifty companies bid at once; every other bid is sent twice with its key (a retried request)
        def bidder(i):
            rng = random.Random(i)
            token, responses = setup["tokens"][i], []
            for j in range(BIDS_EACH):
                key = f"b{i}-{j}"
                body = {"unit_price_eur": str(rng.randint(-5, 12)), "quantity": rng.randint(1, 10)}
                for _attempt in range(2 if j % 2 else 1):
                    status, data = server.post(f"/lots/{lot_id}/bids", token, body, {"Idempotency-Key": key})
                    responses.append((key, status, data))
            return responses

        # and ten of them also race a duplicate of their first request from another device
        jobs = [lambda i=i: bidder(i) for i in range(BIDDERS)]
        jobs += [lambda i=i: [(f"b{i}-0",) + server.post(
            f"/lots/{lot_id}/bids", setup["second_tokens"][i], {"unit_price_eur": "1", "quantity": 1},
            {"Idempotency-Key": f"b{i}-0"})] for i in range(10)]
        started = time.monotonic()
        results = run_together(jobs)
        bid_seconds = time.monotonic() - started
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, errors
        responses = [r for result in results for r in result]
        statuses = Counter(status for _key, status, _data in responses)
        assert set(statuses) <= {200, 201}, (statuses, [r for r in responses if r[1] not in (200, 201)][:5],
                                             server.output())

        db.session.remove()
        rows = db.session.execute(sa.select(Bid.id, Bid.client_key, Bid.company_id, Bid.status, Bid.unit_price_eur,
                                            Bid.placed_at).where(Bid.lot_id == lot_id)).all()
        by_key = defaultdict(list)
        for row in rows:
            by_key[row.client_key].append(row.id)
        created = {key: data["id"] for key, status, data in responses if status == 201}
        # one 201 per key, one stored row per key, and every retry answered with that same row
        assert Counter(key for key, status, _ in responses if status == 201) == Counter(set(created))
        assert len(created) == BIDDERS * BIDS_EACH == len(rows)
        assert all(len(ids) == 1 for ids in by_key.values()) and set(by_key) == set(created)
        assert {key: ids[0] for key, ids in by_key.items()} == created
        assert all(data["id"] == created[key] for key, status, data in responses if status == 200)
        assert statuses[200] == BIDDERS * BIDS_EACH // 2 + 10
        # each company keeps exactly one active bid, its last one
        active = [r for r in rows if r.status == "active"]
        assert sorted(r.company_id for r in active) == sorted(setup["companies"])
        assert {r.client_key for r in active} == {f"b{i}-{BIDS_EACH - 1}" for i in range(BIDDERS)}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LotEvent).where(
            LotEvent.lot_id == lot_id, LotEvent.action == "bid")) == len(rows)
        # the best bid: the highest price, the earliest of equals
        top = max(r.unit_price_eur for r in active)
        expected = min((r for r in active if r.unit_price_eur == top), key=lambda r: (r.placed_at, r.id))
        lot = db.session.get(Lot, lot_id)
        assert services.best_bid(lot).id == expected.id

        # 2. ten closes at once: one closes, the others find it closed
        closes = run_together([lambda t=t: server.post(f"/lots/{lot_id}/close", t) for t in setup["practitioner"]])
        assert [status for status, _ in closes] == [200] * CLOSERS, (closes, server.output())
        assert sum(data["closed"] for _status, data in closes) == 1
        db.session.remove()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LotEvent).where(
            LotEvent.lot_id == lot_id, LotEvent.action == "closed")) == 1
        awards = db.session.scalars(sa.select(Award).where(Award.lot_id == lot_id).order_by(Award.id)).all()
        assert awards and sum(a.quantity for a in awards) <= Decimal("100")
        award_ids = [a.id for a in awards]

        # 3. every award confirmed by three requests at once: each is decided once
        jobs = [lambda a=a, t=t: (a, *server.post(f"/awards/{a}", t, {"decision": "confirm"}))
                for a in award_ids for t in setup["giver"]]
        decisions = run_together(jobs)
        assert all(status == 200 for _a, status, _data in decisions), (decisions[:5], server.output())
        decided = Counter(a for a, _status, data in decisions if data["decided"])
        assert decided == Counter(award_ids)
        db.session.remove()
        synergies = Counter(db.session.scalars(sa.select(Synergy.award_id).where(Synergy.award_id.in_(award_ids))))
        assert synergies == Counter(award_ids)
        lot = db.session.get(Lot, lot_id)
        confirmed = db.session.scalar(sa.select(sa.func.sum(Award.quantity)).where(
            Award.lot_id == lot_id, Award.status == "confirmed"))
        assert lot.quantity_remaining >= 0
        assert lot.quantity_remaining == lot.quantity - confirmed
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LotEvent).where(
            LotEvent.lot_id == lot_id, LotEvent.action == "award_confirmed")) == len(award_ids)
        print(f"{len(responses)} bid requests in {bid_seconds:.1f} s on {db.engine.dialect.name}")
    finally:
        server.stop()
