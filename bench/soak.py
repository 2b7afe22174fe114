"""Soak: minutes of mixed load against the site as production runs it, then the books are checked.

    make soak                                   # SIZE=10k, MINUTES=10
    .venv/bin/python bench/soak.py --size 10k --minutes 10 [--visitors 10 --members 12] [--pg-url URL]
    .venv/bin/python bench/soak.py --listings 300 --out /tmp/soak --minutes 0.5 --warmup 5   # a quick try

What runs, all on 127.0.0.1:
- gunicorn with the production settings (`-c deploy/gunicorn.conf.py`: sync workers, 2 × cores + 1, one
  thread each; access log) on a fresh copy of the data set's database (bench/out/<size>/, generated
  and cached as `make bench` does) and of its search index; worker recycling (`max_requests`) is
  turned off, since it would hide a leak (`--recycle` keeps it);
- a real job worker (`huey_consumer marketplace.worker.huey -w 4 -k thread`, as the deployment guide
  starts it) for matching, index updates and e-mail; mail goes to a local SMTP sink (aiosmtpd) that
  counts every message and notices one sent twice;
- `--pg-url`: data, search and queue in a scratch PostgreSQL database instead (created, filled with
  the generated listings, dropped at the end).

Who comes (threads, each with its own `requests` session, address and think time between actions):
- visitors (anonymous): the listing index with filters and pages, listing pages, company pages,
  searches with varied words and filters;
- members (logged in through the log-in form): the same, plus posting listings through the real form
  (GET the form, read its CSRF token and site, POST, publish), answering listings ("je suis
  intéressé"), reading their messages, following the live auction room (the phone's refreshes) and
  bidding in it, half through the room's form, half through the JSON API (a token each);
- a practitioner approving the pending listings of the territory from the moderation queue.
Before the load, through the services: a territory around Concarneau, the members' companies there
(one in three trusted: their listings publish at once, the others wait for the practitioner), a few
published listings that every posted one matches, and a live auction session with its lots, the
members' companies invited and checked in, the first lot on screen. Each person keeps a human pace
where the site counts one (bids ≤ 20 a minute, an answer every 2.5 minutes), as nginx would pass
their own addresses (X-Forwarded-For, MARKETPLACE_PROXY_COUNT=1).

Counted: every response. An error is a 5xx, a connection error or timeout, any status other than
the expected one (a 4xx where success is expected), a success page without its success message, a
gunicorn worker that died or a traceback in a log. Per kind of request: count, errors, p50/p95/p99.
Memory: every 10 s the VmRSS of each gunicorn worker and of the consumer; reported after the warm-up
(1 minute): start and end (medians of the first and last minute) and the least-squares slope with
its standard error. Flat = slope ≤ 1 MiB/min (within twice its standard error) and end ≤ start + 10 %
for every process (judged when at least 2 minutes follow the warm-up; see docs/benchmarks.md).
At the end, once the job queue has drained: every posted listing exists once, every approval
published its listing, every accepted bid and every answer is stored once, the queue and the search
index tasks are empty, each published posted listing has its matches, no e-mail is failed or waiting
and the SMTP sink received each sent one exactly once.

Results: printed, and bench/out/<size>/soak.md and soak.json (the run's copy of the data and the
server's and job worker's logs stay in bench/out/<size>/soak-work/ until the next run). Exit status 1
on any error, failed check or memory that is not flat (a gate), 0 otherwise.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from benchlib import (  # noqa: E402
    BIN,
    Consumer,
    Gunicorn,
    copy_sqlite,
    cpu_times,
    default_workers,
    free_port,
    instance_env,
    least_squares_slope,
    percentile,
    rss_mib,
)
from run_all import SIZES, commit_id, in_child  # noqa: E402

PASSWORD = "soak-mot-de-passe-42"
POSTCODES = ("29900", "29000", "29910")  # the soak's territory (Concarneau, Quimper, Trégunc)
SLOPE_LIMIT_MIB_PER_MIN = 1.0
GROWTH_LIMIT = 0.10
MIN_JUDGED_S = 120  # memory after the warm-up needed to judge its trend

# What members post: (kind, title, description, category, waste code, unit). Each has a published
# counterpart ("anchor", the reverse kind) created before the load, so that each must find a match.
POSTS = [
    ("offer", "Drêches de brasserie", "Drêches humides après brassage, pour alimentation animale.", "materials",
     "02 07 01", "t"),
    ("offer", "Palettes bois 120x80", "Palettes EUR en bon état, à enlever sur site.", "materials", "15 01 03", "unit"),
    ("offer", "Big bags GRVS propres", "Grands récipients vrac souples, propres et secs.", "materials", "15 01 02",
     "unit"),
    ("need", "Cherche cartons d'emballage", "Cartons d'emballage propres pour nos expéditions.", "materials",
     "15 01 01", "t"),
    ("need", "Cherche chariot élévateur", "Besoin d'un chariot élévateur (Fenwick) quelques jours.", "equipment",
     "", "day"),
]
ANCHORS = [
    ("need", "Cherche drêches pour alimentation animale", "Élevage cherche des drêches de brasserie.", "materials",
     "02 07 01", "t"),
    ("need", "Recherche palettes bois", "Atelier cherche des palettes bois 120x80 pour réemploi.", "materials",
     "15 01 03", "unit"),
    ("need", "Recherche big bags", "Nous cherchons des GRVS (big bags) pour notre production.", "materials",
     "15 01 02", "unit"),
    ("offer", "Cartons d'emballage", "Cartons d'emballage propres de notre entrepôt.", "materials", "15 01 01", "t"),
    ("offer", "Chariot élévateur disponible", "Chariot élévateur Fenwick à prêter quelques jours.", "equipment",
     "", "day"),
]
LOTS = [("Ferraille de chantier", "17 04 05", "1000"), ("Palettes bois en lot", "15 01 03", "500"),
        ("Cartons en balles", "15 01 01", "300")]
SEARCH_WORDS = ["palettes", "big bag", "placo", "drêches", "chaleur fatale", "ferraille", "palete", "fenwick",
                "cartons", "bois", "plastique", "huiles usagées", "sciure", "verre", "compost", "câbles",
                "transport", "stockage", "solvants", "textile"]
CATEGORIES = ["materials", "energy", "water", "equipment", "space", "logistics", "services", "skills", "staff"]

VISITOR_MIX = {"browse": 35, "listing": 30, "search": 25, "company": 10}
MEMBER_MIX = {"browse": 12, "listing": 14, "search": 12, "company": 4, "room": 16, "bid_api": 9, "bid_form": 9,
              "post": 6, "reply": 5, "inbox": 4}
# Human pace where the site counts: bids (30 a minute per person), answers (30 an hour per address).
COOLDOWN_S = {"bid_api": 3.0, "bid_form": 3.0, "reply": 150.0, "post": 10.0}
# What the report must show happened (the smoke test checks them all).
ACTIONS = ["browse", "listing", "company", "search", "post", "reply", "inbox", "room", "bid_api", "bid_form",
           "approve", "login"]


# --- the world before the load (in a child process: the app reads its settings from the environment) --


def _use_env(env: dict) -> None:
    for key in [k for k in os.environ if k.startswith("MARKETPLACE_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("MARKETPLACE_")})


def build_world(env: dict, members: int, run: str) -> dict:
    """Territory, practitioner, members and their companies, anchors and the live room, through the
    services (jobs they queue wait for the consumer). Returns what the simulated people need."""
    _use_env(env)
    from decimal import Decimal

    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.accounts.models import Company, Site, Territory
    from marketplace.accounts.services import create_user
    from marketplace.api.models import ApiToken
    from marketplace.auctions import services as auctions
    from marketplace.companies.services import create_company
    from marketplace.extensions import db
    from marketplace.listings import services as listings
    from marketplace.listings.models import Listing
    from marketplace.models_base import utcnow
    from marketplace.territories.services import assign_practitioner, save_territory, set_trusted

    app = create_app()
    with app.app_context():
        territory = save_territory(Territory(), name=f"Soak {run} — Concarneau Cornouaille",
                                   postcodes=" ".join(POSTCODES), departements="", kind="postcodes")
        practitioner = create_user(f"animation-{run}@soak.example", PASSWORD, "Animation Soak", confirmed=True)
        assign_practitioner(territory, practitioner)
        giver = create_company(None, {"name": f"Repères {run}"}, {"name": "Siège", "postcode": POSTCODES[0]})
        giver_user = create_user(f"reperes-{run}@soak.example", PASSWORD, "Repères Soak", confirmed=True,
                                 company=giver)
        db.session.flush()
        set_trusted(territory, giver, True, practitioner)
        people = []
        for i in range(members):
            company = create_company(None, {"name": f"Soak {run} entreprise {i:02d}"},
                                     {"name": "Siège", "postcode": POSTCODES[i % len(POSTCODES)]})
            user = create_user(f"membre{i:02d}-{run}@soak.example", PASSWORD, f"Membre {i:02d}", confirmed=True,
                               company=company)
            people.append((user, company, i % 3 == 0))
        db.session.flush()
        for user, company, trusted in people:
            if trusted:
                set_trusted(territory, company, True, practitioner)

        def listing(kind, title, description, category, code, unit, quantity="100"):
            item = listings.create(giver_user, giver, giver.sites[0], {
                "kind": kind, "title": title, "description": description, "category": category,
                "waste_code": code or None, "quantity": Decimal(quantity), "unit": unit, "frequency": "monthly",
                "price_mode": "negotiable", "unit_price_eur": None, "available_from": None,
                "available_until": None, "expires_on": None})
            listings.submit(giver_user, item)  # trusted: published, matched and indexed by the jobs
            return item

        anchors = [listing(*a) for a in ANCHORS]
        lot_listings = [listing("offer", title, f"{title} : lot de la vente.", "materials", code, "t", quantity)
                        for title, code, quantity in LOTS]
        session = auctions.create_session(practitioner, territory, {
            "title": f"Vente soak {run}", "mode": "live", "starts_at": utcnow(), "place": "", "is_online": True,
            "description": "Banc d'endurance."})
        companies = [company for _, company, _ in people]
        auctions.invite(practitioner, session, companies)
        lots = [auctions.put_up(giver_user, session, item, {"quantity": item.quantity, "allow_partial": True})
                for item in lot_listings]
        db.session.commit()
        for company in companies:
            auctions.check_in(practitioner, session.id, company.id, True)
        auctions.open_session(practitioner, session.id)
        db.session.commit()
        auctions.present(practitioner, lots[0].id)
        db.session.commit()
        tokens = [ApiToken.issue(user, "soak")[1] for user, _, _ in people]
        db.session.commit()
        reserved = {a.id for a in anchors} | {x.id for x in lot_listings}
        published = [i for i in db.session.scalars(sa.select(Listing.id).where(Listing.status == "published")
                                                   .order_by(Listing.id)) if i not in reserved]
        in_territory = [i for i in db.session.scalars(
            sa.select(Listing.id).join(Site, Site.id == Listing.site_id)
            .where(Listing.status == "published", Site.postcode.in_(POSTCODES))) if i not in reserved]
        world = {
            "run": run, "territory_id": territory.id, "session_id": session.id, "lot_id": lots[0].id,
            "practitioner": practitioner.email,
            "members": [{"email": u.email, "user_id": u.id, "company_id": c.id, "trusted": t, "token": token}
                        for (u, c, t), token in zip(people, tokens)],
            "published": published, "in_territory": in_territory or published[:50],
            "companies": list(db.session.scalars(sa.select(Company.id).order_by(Company.id))),
            "postcodes": sorted({p for p in db.session.scalars(sa.text("SELECT DISTINCT postcode FROM site LIMIT 300"))}),
            "anchors": [a.id for a in anchors],
        }
        db.session.remove()
        db.engine.dispose()
    return world


# --- the books after the load (a child process too) ---------------------------------------------------


def settle_and_check(env: dict, expected: dict, timeout: float) -> dict:
    """Wait (at most `timeout` s) for the consumer to finish what the load queued, then check the books.
    Returns {"checks": {name: {"ok", "detail"}}, "settle_s", "sent": e-mails sent per the outbox}."""
    _use_env(env)
    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.auctions.models import Bid
    from marketplace.conversations.models import Message
    from marketplace.extensions import db
    from marketplace.jobs import huey
    from marketplace.listings.models import Listing
    from marketplace.matching.models import Match
    from marketplace.notifications.models import OutgoingEmail
    from marketplace.search.models import IndexTask

    app = create_app()
    posted = {int(k): v for k, v in expected["posted"].items()}
    approved = set(expected["approved"])
    started = time.monotonic()

    def unmatched(session) -> list[int]:
        published = [i for i in session.scalars(sa.select(Listing.id).where(Listing.id.in_(list(posted)),
                                                                             Listing.status == "published"))]
        with_match = set(session.scalars(sa.select(Match.offer_id).where(Match.offer_id.in_(published)))) | set(
            session.scalars(sa.select(Match.need_id).where(Match.need_id.in_(published))))
        return sorted(set(published) - with_match)

    def backlog() -> dict:
        with app.app_context():
            state = {
                "queued jobs": huey.pending_count(), "scheduled jobs": huey.scheduled_count(),
                "index tasks": db.session.scalar(sa.select(sa.func.count()).select_from(IndexTask)),
                "e-mails waiting": db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingEmail).where(
                    OutgoingEmail.state.in_(("pending", "sending")))),
                "posted listings without matches": len(unmatched(db.session)),
            }
            db.session.remove()
            return state

    quiet = 0
    while True:
        state = backlog()
        quiet = quiet + 1 if not any(state.values()) else 0
        if quiet >= 3 or time.monotonic() - started > timeout:
            break
        time.sleep(1)
    settle_s = time.monotonic() - started

    checks = {}

    def check(name, ok, detail=""):
        checks[name] = {"ok": bool(ok), "detail": detail}

    with app.app_context():
        s = db.session
        rows = {row.id: row for row in s.scalars(sa.select(Listing).where(Listing.id.in_(list(posted))))}
        missing = [i for i in posted if i not in rows]
        titles = Counter(s.scalars(sa.select(Listing.title).where(Listing.title.in_(list(posted.values())))))
        doubled = [t for t in posted.values() if titles[t] != 1]
        wrong = [i for i, row in rows.items() if row.status not in ("published", "pending")]
        check("every posted listing exists once", not missing and not doubled and not wrong,
              f"{len(posted)} posted; missing {missing[:10]}; not exactly once {doubled[:5]}; "
              f"neither published nor pending {wrong[:10]}")
        statuses = dict(s.execute(sa.select(Listing.id, Listing.status).where(Listing.id.in_(list(approved)))).all())
        unpublished = [i for i in approved if statuses.get(i) != "published"]
        check("every approved listing is published", not unpublished,
              f"{len(approved)} approved; not published {unpublished[:10]}")
        still_pending = sum(1 for row in rows.values() if row.status == "pending")
        api_ids = expected["bids_api"]
        stored_api = set(s.scalars(sa.select(Bid.id).where(Bid.id.in_(api_ids)))) if api_ids else set()
        form_keys = [tuple(x) for x in expected["bids_form"]]
        stored_form = Counter((c, k) for c, k in s.execute(sa.select(Bid.company_id, Bid.client_key).where(
            Bid.lot_id == expected["lot_id"], Bid.client_key.in_([k for _, k in form_keys] or [""]))).all())
        lost_form = [k for k in form_keys if stored_form[k] != 1]
        on_lot = s.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.lot_id == expected["lot_id"]))
        check("every accepted bid is stored once",
              len(stored_api) == len(api_ids) and not lost_form and on_lot == len(api_ids) + len(form_keys),
              f"{len(api_ids)} by the API ({len(stored_api)} found), {len(form_keys)} by the room's form "
              f"({len(form_keys) - len(lost_form)} found once); {on_lot} bid rows on the lot")
        bodies = Counter(s.scalars(sa.select(Message.body).where(Message.body.in_(expected["replies"] or [""]))))
        lost = [b for b in expected["replies"] if bodies[b] != 1]
        check("every answer is stored once", not lost, f"{len(expected['replies'])} answers; not once: {lost[:3]}")
        state = backlog()
        check("the job queue has drained", not state["queued jobs"] and not state["scheduled jobs"],
              f"{state['queued jobs']} queued, {state['scheduled jobs']} scheduled")
        check("the search index is up to date", not state["index tasks"], f"{state['index tasks']} index tasks left")
        left = unmatched(s)
        check("matching ran for every published posted listing", not left,
              f"{sum(1 for r in rows.values() if r.status == 'published')} published; without matches {left[:10]}")
        states = dict(s.execute(sa.select(OutgoingEmail.state, sa.func.count()).group_by(OutgoingEmail.state)).all())
        check("no e-mail failed or left waiting", not states.get("failed") and not state["e-mails waiting"],
              ", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "no e-mail")
        db.session.remove()
        db.engine.dispose()
    return {"checks": checks, "settle_s": settle_s, "sent": states.get("sent", 0), "still_pending": still_pending}


# --- the simulated people -------------------------------------------------------------------------------


class Recorder:
    """Every response, by kind of request; every action; the errors (the first ones in full)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kinds: dict[str, dict] = defaultdict(lambda: {"count": 0, "errors": 0, "latencies": [],
                                                           "statuses": Counter()})
        self.actions: Counter = Counter()
        self.errors: list[str] = []
        self.error_count = 0
        self.posted: dict[int, str] = {}  # listing id: its unique title
        self.owner: dict[int, int] = {}  # listing id: number of the member who posted it
        self.approved: list[int] = []
        self.bids_api: list[int] = []
        self.bids_form: list[tuple[int, str]] = []
        self.replies: list[str] = []
        self.published_posts: list[int] = []  # posted by members and published: others answer them

    def response(self, kind: str, status, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            entry = self.kinds[kind]
            entry["count"] += 1
            entry["latencies"].append(seconds)
            entry["statuses"][str(status)] += 1
            if not ok:
                self._error(entry, f"{kind}: {detail}")

    def fail(self, kind: str, detail: str) -> None:
        """A response with the expected status but not the expected content."""
        with self.lock:
            self._error(self.kinds[kind], f"{kind}: {detail}")

    def _error(self, entry, text):
        entry["errors"] += 1
        self.error_count += 1
        if len(self.errors) < 50:
            self.errors.append(f"{datetime.datetime.now():%H:%M:%S} {text}")

    def action(self, name: str) -> None:
        with self.lock:
            self.actions[name] += 1


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SITE = re.compile(r'<select[^>]*name="site_id"[^>]*>\s*<option[^>]*value="(\d+)"')
BID_FORM = re.compile(r'action="/encheres/lots/(\d+)/encherir"')
CLIENT_KEY = re.compile(r'name="client_key" type="hidden" value="([^"]*)"')
PENDING = re.compile(r'/animation/moderation/annonces/(\d+)"')


def field(pattern: re.Pattern, html: str) -> str | None:
    match = pattern.search(html)
    return match.group(1) if match else None


class Person(threading.Thread):
    """One visitor, member or practitioner: a session, an address, a mix of actions and a think time."""

    def __init__(self, number: int, role: str, base: str, world: dict, recorder: Recorder, stop_at: float,
                 think: tuple[float, float], search_words: list[str], member: dict | None = None, email=None):
        super().__init__(name=f"{role}-{number}", daemon=True)
        import requests

        self.number, self.role, self.base, self.world, self.rec = number, role, base, world, recorder
        self.stop_at, self.think, self.member, self.email = stop_at, think, member, email or (member or {}).get("email")
        self.rng = random.Random(f"{world['run']}:{role}:{number}")
        self.words = search_words
        self.http = requests.Session()
        # As nginx passes the client's address (MARKETPLACE_PROXY_COUNT=1): rate limits count per person.
        self.http.headers.update({"X-Forwarded-For": f"10.{1 + number // 250}.{number % 250}.{7 if role == 'visitor' else 9}",
                                  "Accept-Language": "fr-FR,fr;q=0.9", "User-Agent": "soak/1.0"})
        self.last: dict[str, float] = {}
        self.posts = 0
        self.room_version = ""
        self.exception: BaseException | None = None

    # one request, counted
    def call(self, kind: str, method: str, path: str, expect=(200,), **kwargs):
        import requests

        began = time.monotonic()
        try:
            response = self.http.request(method, self.base + path, allow_redirects=False, timeout=60, **kwargs)
            response.content  # noqa: B018 (read the whole body inside the timing)
        except requests.RequestException as exc:
            self.rec.response(kind, "connection", time.monotonic() - began, False,
                              f"{method} {path}: {type(exc).__name__}: {str(exc)[:160]}")
            return None
        ok = response.status_code in expect
        self.rec.response(kind, response.status_code, time.monotonic() - began, ok,
                          f"{method} {path} → {response.status_code}, expected {'/'.join(map(str, expect))}")
        return response if ok else None

    def follow(self, kind: str, response, pattern: str) -> str | None:
        """The path a 302 sends to, if it matches `pattern`; an error otherwise."""
        location = urlsplit(response.headers.get("Location", "")).path
        if not re.fullmatch(pattern, location):
            self.rec.fail(kind, f"redirected to {location!r}, expected {pattern}")
            return None
        return location

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 (a bug here must show, not end the soak quietly)
            self.exception = exc
            self.rec.fail("client", f"{self.name} stopped: {type(exc).__name__}: {exc}")

    def _run(self) -> None:
        if self.role != "visitor" and not self.log_in():
            return
        mix = {"visitor": VISITOR_MIX, "member": MEMBER_MIX}.get(self.role)
        if mix:
            # Every kind of action early (posts first: the practitioner needs them), then the weighted mix.
            first = [k for k in mix if k != "post"]
            self.rng.shuffle(first)
            plan = (["post"] if "post" in mix else []) + first
        while time.monotonic() < self.stop_at:
            if self.role == "practitioner":
                self.moderate()
            else:
                name = plan.pop(0) if plan else self.pick(mix)
                if name in COOLDOWN_S and time.monotonic() - self.last.get(name, -1e9) < COOLDOWN_S[name]:
                    name = "browse"
                self.last[name] = time.monotonic()
                getattr(self, "do_" + name)()
                self.rec.action(name)
            time.sleep(self.rng.uniform(*self.think))

    def pick(self, mix: dict) -> str:
        return self.rng.choices(list(mix), list(mix.values()))[0]

    def csrf(self, kind: str, html: str) -> str | None:
        token = field(CSRF, html)
        if token is None:
            self.rec.fail(kind, "no CSRF token in the form")
        return token

    def log_in(self) -> bool:
        page = self.call("login", "GET", "/compte/connexion")
        token = page is not None and self.csrf("login", page.text)
        if not token:
            return False
        done = self.call("login", "POST", "/compte/connexion", expect=(302,),
                         data={"csrf_token": token, "email": self.email, "password": PASSWORD})
        self.rec.action("login")
        return done is not None

    # reading
    def do_browse(self) -> None:
        params = {}
        if self.rng.random() < 0.5:
            params["kind"] = self.rng.choice(["offer", "need"])
        if self.rng.random() < 0.4:
            params["category"] = self.rng.choice(CATEGORIES)
        if self.rng.random() < 0.2:
            params["territory"] = self.world["territory_id"]
        if self.rng.random() < 0.15:
            params["postcode"] = self.rng.choice(self.world["postcodes"])
            params["radius_km"] = self.rng.choice([10, 30, 50, 100])
        if self.rng.random() < 0.5:
            params["page"] = self.rng.randint(2, 12)
        self.call("browse", "GET", "/annonces", params=params)

    def do_listing(self) -> None:
        with self.rec.lock:
            posted = list(self.rec.published_posts[-50:])
        pool = posted if posted and self.rng.random() < 0.2 else self.world["published"]
        self.call("listing", "GET", f"/annonces/{self.rng.choice(pool)}")

    def do_company(self) -> None:
        self.call("company", "GET", f"/entreprises/{self.rng.choice(self.world['companies'])}")

    def do_search(self) -> None:
        params = {"q": self.rng.choice(self.words)}
        if self.rng.random() < 0.3:
            params["kind"] = self.rng.choice(["offer", "need"])
        if self.rng.random() < 0.2:
            params["category"] = self.rng.choice(CATEGORIES)
        if self.rng.random() < 0.1:
            params["hazardous"] = self.rng.choice(["0", "1"])
        if self.rng.random() < 0.15:
            params["postcode"] = self.rng.choice(self.world["postcodes"])
            params["radius_km"] = self.rng.choice([20, 50, 100])
        if self.rng.random() < 0.15:
            params["page"] = 2
        self.call("search", "GET", "/recherche", params=params)

    def do_inbox(self) -> None:
        self.call("inbox", "GET", "/messages")

    # members
    def do_post(self) -> None:
        page = self.call("post form", "GET", "/annonces/nouvelle")
        if page is None:
            return
        token, site = self.csrf("post form", page.text), field(SITE, page.text)
        if not token or not site:
            if token:
                self.rec.fail("post form", "no site to choose in the form")
            return
        kind, title, description, category, code, unit = POSTS[(self.number + self.posts) % len(POSTS)]
        self.posts += 1
        title = f"{title} — soak {self.world['run']} {self.number:02d}-{self.posts:03d}"
        data = {"csrf_token": token, "kind": kind, "title": title, "description": description, "category": category,
                "waste_code": code, "quantity": str(self.rng.randint(1, 50)), "unit": unit, "frequency": "monthly",
                "site_id": site, "price_mode": "free", "unit_price_eur": "", "available_from": "",
                "available_until": "", "expires_on": "", "submit_for": "publish"}
        done = self.call("post", "POST", "/annonces/nouvelle", expect=(302,), data=data)
        path = done is not None and self.follow("post", done, r"/annonces/(\d+)")
        if not path:
            return
        listing_id = int(path.rsplit("/", 1)[1])
        with self.rec.lock:
            self.rec.posted[listing_id] = title
            self.rec.owner[listing_id] = self.number
        shown = self.call("listing", "GET", path)
        expected = "Annonce publiée." if self.member["trusted"] else "pour validation"  # (no quote: escaped)
        if shown is not None and expected not in shown.text:
            self.rec.fail("post", f"{path}: no « {expected} » after posting")
        elif shown is not None and self.member["trusted"]:
            with self.rec.lock:
                self.rec.published_posts.append(listing_id)

    def do_reply(self) -> None:
        with self.rec.lock:
            others = [i for i in self.rec.published_posts[-50:] if self.rec.owner.get(i) != self.number]
        listing_id = self.rng.choice(others) if others and self.rng.random() < 0.6 else self.rng.choice(
            self.world["in_territory"])
        page = self.call("reply form", "GET", f"/annonces/{listing_id}/repondre")
        token = page is not None and self.csrf("reply form", page.text)
        if not token:
            return
        body = f"Bonjour, nous sommes intéressés (soak {self.world['run']}, {self.name}, {uuid.uuid4().hex[:10]})."
        done = self.call("reply", "POST", f"/annonces/{listing_id}/repondre", expect=(302,),
                         data={"csrf_token": token, "quantity": str(self.rng.randint(1, 5)), "message": body})
        path = done is not None and self.follow("reply", done, r"/messages/(\d+)")
        if not path:
            return
        with self.rec.lock:
            self.rec.replies.append(body)
        shown = self.call("conversation", "GET", path)
        if shown is not None and "Message envoyé" not in shown.text:
            self.rec.fail("reply", f"{path}: no « Message envoyé » after answering")

    def do_room(self) -> None:
        """The phone's refreshes: the lot's state and the bid form, a few times (every 2 s on a phone)."""
        session, lot = self.world["session_id"], self.world["lot_id"]
        for _ in range(self.rng.randint(1, 3)):
            state = self.call("room refresh", "GET", f"/encheres/{session}/salle/etat", expect=(200, 204),
                              params={"v": self.room_version}, headers={"HX-Request": "true"})
            if state is not None and state.status_code == 200:
                found = re.search(r"[?&]v=([^\"&]+)", state.text)
                self.room_version = found.group(1) if found else self.room_version
            self.call("room refresh", "GET", f"/encheres/{session}/salle/formulaire", expect=(200, 204),
                      params={"lot": lot}, headers={"HX-Request": "true"})
            time.sleep(0.2)

    def do_bid_form(self) -> None:
        session = self.world["session_id"]
        page = self.call("room", "GET", f"/encheres/{session}/salle")
        if page is None:
            return
        token, lot, key = self.csrf("room", page.text), field(BID_FORM, page.text), field(CLIENT_KEY, page.text)
        if not token or not lot or not key:
            if token:
                self.rec.fail("room", "no bid form in the room page")
            return
        data = {"csrf_token": token, "client_key": key, "next": f"/encheres/{session}/salle",
                "unit_price_eur": f"{self.rng.uniform(-5, 50):.2f}", "quantity": str(self.rng.randint(1, 10)),
                "message": ""}
        done = self.call("bid (room form)", "POST", f"/encheres/lots/{lot}/encherir", expect=(302,), data=data)
        path = done is not None and self.follow("bid (room form)", done, rf"/encheres/{session}/salle")
        if not path:
            return
        shown = self.call("room", "GET", path)
        if shown is not None and "Enchère enregistrée." not in shown.text:
            self.rec.fail("bid (room form)", "no « Enchère enregistrée. » after bidding")
        elif shown is not None:
            with self.rec.lock:
                self.rec.bids_form.append((self.member["company_id"], key))

    def do_bid_api(self) -> None:
        body = {"unit_price_eur": f"{self.rng.uniform(-5, 50):.2f}", "quantity": self.rng.randint(1, 10)}
        done = self.call("bid (API)", "POST", f"/api/v1/lots/{self.world['lot_id']}/bids", expect=(201,), json=body,
                         headers={"Authorization": f"Bearer {self.member['token']}",
                                  "Idempotency-Key": uuid.uuid4().hex})
        if done is not None:
            with self.rec.lock:
                self.rec.bids_api.append(done.json()["id"])

    # practitioner
    def moderate(self) -> None:
        queue = self.call("moderation queue", "GET", "/animation/moderation")
        pending = PENDING.findall(queue.text) if queue is not None else []
        if not pending:
            self.rec.action("browse")
            return self.do_browse() if self.rng.random() < 0.5 else self.do_search()
        listing_id = int(self.rng.choice(pending))
        page = self.call("listing", "GET", f"/annonces/{listing_id}")
        token = page is not None and self.csrf("listing", page.text)
        if not token:
            return
        done = self.call("approve", "POST", f"/annonces/{listing_id}/approuver", expect=(302,),
                         data={"csrf_token": token})
        path = done is not None and self.follow("approve", done, rf"/annonces/{listing_id}")
        if not path:
            return
        shown = self.call("listing", "GET", path)
        if shown is not None and "Annonce approuvée et publiée" not in shown.text:
            self.rec.fail("approve", f"{path}: no « Annonce approuvée et publiée » after approving")
        elif shown is not None:
            with self.rec.lock:
                self.rec.approved.append(listing_id)
                if listing_id in self.rec.posted:
                    self.rec.published_posts.append(listing_id)
            self.rec.action("approve")


# --- memory ---------------------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Every `every` seconds: VmRSS of each gunicorn worker (named by the order they were found: a new
    pid is a new worker) and of the consumer, the load average and the machine's CPU use."""

    def __init__(self, server: Gunicorn, consumer: Consumer, every: float, started: float):
        super().__init__(name="sampler", daemon=True)
        self.server, self.consumer, self.every, self.started = server, consumer, every, started
        self.samples: list[dict] = []
        self.names: dict[int, str] = {}
        self.stopping = threading.Event()
        self.first_workers = set(server.workers())

    def name_of(self, pid: int) -> str:
        if pid not in self.names:
            self.names[pid] = f"web worker {len(self.names) + 1}"
        return self.names[pid]

    def sample(self) -> None:
        rss = {}
        for pid in self.server.workers():
            value = rss_mib(pid)
            if value is not None:
                rss[self.name_of(pid)] = value
        if (value := self.consumer.rss_mib()) is not None:
            rss["consumer"] = value
        busy, total = cpu_times()
        self.samples.append({"t": time.monotonic() - self.started, "rss_mib": rss,
                             "load": float(Path("/proc/loadavg").read_text().split()[0]), "cpu": (busy, total)})

    def run(self) -> None:
        for pid in sorted(self.first_workers):
            self.name_of(pid)
        while True:
            self.sample()
            if self.stopping.wait(self.every):
                self.sample()
                return

    def restarted(self) -> list[str]:
        return [name for pid, name in self.names.items() if pid not in self.first_workers]


def memory_summary(samples: list[dict], warmup: float, judged: bool) -> dict:
    """Per process: RSS at the start (median of the first minute after the warm-up) and at the end
    (median of the last minute), the least-squares slope over every sample after the warm-up (MiB per
    minute), and whether it is flat. Medians, because a process running jobs in threads swings by
    ±10 % from one sample to the next: a single high sample must not decide."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for sample in samples:
        if sample["t"] >= warmup:
            for name, value in sample["rss_mib"].items():
                series[name].append((sample["t"] / 60, value))
    result = {}
    for name, points in sorted(series.items(), key=lambda kv: (kv[0] == "consumer", kv[0])):
        start = statistics.median(v for t, v in points if t < points[0][0] + 1)
        end = statistics.median(v for t, v in points if t > points[-1][0] - 1)
        slope = least_squares_slope(points) if len(points) >= 3 else None
        error = slope_standard_error(points, slope) if slope is not None else None
        # Growing: a slope above the limit by more than twice its standard error (the job worker's RSS
        # swings by ±15 MiB between samples, so its slope over 9 minutes is known to ±0.5 MiB/min; the
        # web workers' to ±0.05), or an end above the start by more than GROWTH_LIMIT.
        flat = (slope is not None and slope - 2 * error <= SLOPE_LIMIT_MIB_PER_MIN
                and end <= start * (1 + GROWTH_LIMIT)) if judged else None
        result[name] = {"start_mib": start, "end_mib": end, "slope_mib_per_min": slope, "slope_se": error,
                        "samples": len(points), "max_mib": max(v for _, v in points), "flat": flat}
    return result


def slope_standard_error(points: list[tuple[float, float]], slope: float) -> float:
    """Standard error of a least-squares slope, from the scatter of the points around the line."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    residuals = sum((y - mean_y - slope * (x - mean_x)) ** 2 for x, y in points)
    return (residuals / (n - 2) / sum((x - mean_x) ** 2 for x, _ in points)) ** 0.5


# --- running it -----------------------------------------------------------------------------------------


class SmtpSink:
    """Counts messages and notices one delivered twice (same X-Marketplace-Email-Id)."""

    def __init__(self):
        self.count = 0
        self.ids: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        found = re.search(rb"X-Marketplace-Email-Id: *(\d+)", envelope.content or b"")
        with self.lock:
            self.count += 1
            if found:
                self.ids[int(found.group(1))] += 1
        return "250 OK"


def scratch_database(base_url: str, run: str) -> str:
    import sqlalchemy as sa

    url = sa.make_url(base_url).set(database=f"soak_{run}")
    admin = sa.create_engine(sa.make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    import sqlalchemy as sa

    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def flask(env: dict, *args: str, log: Path) -> None:
    with open(log, "ab") as out:
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, stdout=out,
                       stderr=subprocess.STDOUT, check=True, timeout=3600)


def prepare(args, out: Path, work: Path, run: str, smtp_port: int) -> tuple[dict, str | None]:
    """The data (generated once into `out`, or into a scratch PostgreSQL database), a fresh copy of it
    in `work` with its search index. Returns (environment of the servers, scratch database URL)."""
    import run_all

    settings = {"BASE_URL": "http://127.0.0.1", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port,
                "PROXY_COUNT": 1, "HUEY_URL": f"sqlite:///{work / 'jobs.db'}"}
    if args.pg_url:
        url = scratch_database(args.pg_url, run)
        in_child(generate_into, str(work), args.count, args.seed, url)
        settings.update(DATABASE_URL=url, SEARCH_BACKEND="postgresql", HUEY_URL=url, HUEY_TABLE_PREFIX="soak_queue")
        env = instance_env(work, **settings)
        flask(env, "search", "rebuild", log=work / "prepare.log")
        return env, url
    in_child(run_all.step_generate, str(out), args.count, args.seed)
    index = out / "search-index"
    if not index.exists():
        print("search index: building it once for this data set (flask search rebuild)…", flush=True)
        flask(instance_env(out), "search", "rebuild", log=out / "soak-prepare.log")
    copy_sqlite(out / "marketplace.db", work / "marketplace.db")
    shutil.copy(out / "secret_key", work / "secret_key")
    generation = index.resolve()
    shutil.copytree(generation, work / generation.name)
    os.symlink(generation.name, work / "search-index")
    return instance_env(work, **settings), None


def generate_into(instance: str, count: int, seed: int, url: str) -> dict:
    import generate

    return generate.ensure_data(Path(instance), count, seed=seed, database_url=url)


def log_problems(path: Path, markers: tuple[str, ...]) -> list[str]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line[:300] for line in lines if any(m in line for m in markers)]


def run(args) -> dict:
    from aiosmtpd.controller import Controller

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = out / "soak-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    run_id = f"{os.getpid()}{uuid.uuid4().hex[:4]}"
    sink = SmtpSink()
    smtp_port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    meta = {"started": datetime.datetime.now().isoformat(timespec="seconds"), "commit": commit_id(),
            "machine": f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}",
            "command": "bench/soak.py " + " ".join(args.argv), "listings": args.count,
            "database": "PostgreSQL (data, search, queue)" if args.pg_url else "SQLite (WAL), Whoosh, SQLite queue",
            "workers": args.workers, "visitors": args.visitors, "members": args.members, "practitioners": 1,
            "minutes": args.minutes, "warmup_s": args.warmup, "think_s": list(args.think),
            "sample_every_s": args.sample_every,
            "recycle": args.recycle, "loadavg_before": Path("/proc/loadavg").read_text().split()[:3]}
    scratch = None
    server = consumer = None
    try:
        t0 = time.perf_counter()
        env, scratch = prepare(args, out, work, run_id, smtp_port)
        world = in_child(build_world, env, args.members, run_id)
        meta["prepare_s"] = round(time.perf_counter() - t0, 1)
        print(f"prepared in {meta['prepare_s']:.0f} s: {len(world['published'])} published listings, "
              f"{args.members} members, live room {world['session_id']} (lot {world['lot_id']})", flush=True)
        consumer = Consumer(env, work / "consumer.log", workers=4)
        options = ("-c", str(ROOT / "deploy" / "gunicorn.conf.py")) + (() if args.recycle else ("--max-requests", "0"))
        server = Gunicorn(env, args.workers, work / "gunicorn.log", ready_path="/sante", options=options)
        print(f"gunicorn -c deploy/gunicorn.conf.py -w {args.workers} on {server.base}; consumer -w 4; SMTP sink "
              f":{smtp_port}; {args.visitors} visitors, {args.members} members, 1 practitioner for "
              f"{args.minutes:g} min", flush=True)
        recorder = Recorder()
        words = SEARCH_WORDS + [w for w in _vocabulary_words() if len(w) > 3]
        started = time.monotonic()
        stop_at = started + args.minutes * 60
        people = [Person(i, "visitor", server.base, world, recorder, stop_at, args.think, words)
                  for i in range(args.visitors)]
        people += [Person(args.visitors + i, "member", server.base, world, recorder, stop_at, args.think, words,
                          member=m) for i, m in enumerate(world["members"])]
        people.append(Person(args.visitors + args.members, "practitioner", server.base, world, recorder, stop_at,
                             args.think, words, email=world["practitioner"]))
        sampler = Sampler(server, consumer, args.sample_every, started)
        sampler.start()
        busy0, total0 = cpu_times()
        for person in people:
            person.start()
            time.sleep(0.05)
        progress_every = 60 if args.minutes >= 3 else 10
        while time.monotonic() < stop_at:
            time.sleep(min(progress_every, max(stop_at - time.monotonic(), 0)))
            with recorder.lock:
                done = sum(k["count"] for k in recorder.kinds.values())
            rss = sampler.samples[-1]["rss_mib"] if sampler.samples else {}
            print(f"  {time.monotonic() - started:5.0f} s: {done} requests, {recorder.error_count} errors; RSS "
                  + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()), flush=True)
        for person in people:
            person.join(timeout=120)
        elapsed = time.monotonic() - started
        busy1, total1 = cpu_times()
        sampler.stopping.set()
        sampler.join()
        print(f"load over after {elapsed:.0f} s; waiting for the job worker to finish…", flush=True)
        expected = {"posted": recorder.posted, "approved": recorder.approved, "bids_api": recorder.bids_api,
                    "bids_form": recorder.bids_form, "replies": recorder.replies, "lot_id": world["lot_id"]}
        books = in_child(settle_and_check, env, expected, args.settle_timeout)
        server_alive = server.process.poll() is None and consumer.alive()
    finally:
        if server is not None:
            server.stop()
        if consumer is not None:
            consumer.stop()
        smtp.stop()
        if scratch:
            drop_database(scratch)

    checks = books["checks"]
    doubles = [i for i, n in sink.ids.items() if n > 1]
    checks["the SMTP sink received every sent e-mail once"] = {
        "ok": sink.count == books["sent"] and not doubles,
        "detail": f"{books['sent']} sent per the outbox, {sink.count} received, sent twice: {doubles[:10]}"}
    restarted = sampler.restarted()
    checks["no web worker died or was replaced"] = {"ok": not restarted and server_alive,
                                                    "detail": ", ".join(restarted) or "none"}
    web_problems = log_problems(work / "gunicorn.log", ("Traceback", "[ERROR]", "[CRITICAL]", "WORKER TIMEOUT"))
    job_problems = log_problems(work / "consumer.log", ("Unhandled exception", "Traceback"))
    checks["no error in the server and job worker logs"] = {
        "ok": not web_problems and not job_problems,
        "detail": f"gunicorn {len(web_problems)}, consumer {len(job_problems)}: "
                  + " | ".join((web_problems + job_problems)[:3])}

    judged = args.minutes * 60 - args.warmup >= MIN_JUDGED_S
    memory = memory_summary(sampler.samples, args.warmup, judged)
    loads = [s["load"] for s in sampler.samples]
    meta.update(elapsed_s=round(elapsed, 1), settle_s=round(books["settle_s"], 1),
                loadavg_during={"min": min(loads), "mean": round(sum(loads) / len(loads), 2), "max": max(loads)},
                cpu_busy=round((busy1 - busy0) / (total1 - total0), 3) if total1 > total0 else None,
                still_pending=books["still_pending"], memory_judged=judged)
    kinds = {}
    for name, k in sorted(recorder.kinds.items()):
        lat = k["latencies"]
        kinds[name] = {"count": k["count"], "errors": k["errors"], "statuses": dict(k["statuses"]),
                       "p50_ms": percentile(lat, 50) * 1000 if lat else None,
                       "p95_ms": percentile(lat, 95) * 1000 if lat else None,
                       "p99_ms": percentile(lat, 99) * 1000 if lat else None}
    total = sum(k["count"] for k in kinds.values())
    result = {
        "meta": meta, "requests": total, "requests_per_s": total / elapsed if elapsed else None,
        "errors": recorder.error_count, "error_samples": recorder.errors, "kinds": kinds,
        "actions": dict(recorder.actions), "posted": len(recorder.posted), "approved": len(recorder.approved),
        "bids": {"api": len(recorder.bids_api), "form": len(recorder.bids_form)}, "replies": len(recorder.replies),
        "emails": {"received": sink.count, "sent": books["sent"]},
        "checks": checks, "memory": memory, "samples": sampler.samples,
        "client_exceptions": [p.name for p in people if p.exception is not None],
    }
    memory_ok = all(m["flat"] is not False for m in memory.values())
    result["passed"] = not recorder.error_count and all(c["ok"] for c in checks.values()) and memory_ok
    result["verdict"] = verdict_text(result)
    return result


def _vocabulary_words() -> list[str]:
    import generate

    resources, outlets = generate.vocabulary_terms()
    return resources[::7] + outlets[::7]


def verdict_text(result: dict) -> str:
    failed = [name for name, c in result["checks"].items() if not c["ok"]]
    grown = [name for name, m in result["memory"].items() if m["flat"] is False]
    parts = [f"{result['errors']} errors" if result["errors"] else "0 errors"]
    parts.append(f"checks failed: {', '.join(failed)}" if failed else "every check passed")
    if not result["meta"]["memory_judged"]:
        parts.append(f"memory not judged (less than {MIN_JUDGED_S} s after the warm-up)")
    else:
        parts.append(f"memory growing: {', '.join(grown)}" if grown else "memory flat")
    return ("PASSED: " if result["passed"] else "FAILED: ") + "; ".join(parts)


# --- the report -----------------------------------------------------------------------------------------


def _ms(value) -> str:
    return "" if value is None else f"{value:,.0f}"


def report_markdown(r: dict) -> str:
    m = r["meta"]
    load = m["loadavg_during"]
    lines = [
        f"# Soak, {m['listings']:,} listings, {m['minutes']:g} minutes", "",
        f"{m['started']} · {m['machine']} · commit {m['commit']} · `{m['command']}`", "",
        f"{m['database']}; gunicorn `-c deploy/gunicorn.conf.py -w {m['workers']}` (sync, 1 thread"
        f"{', worker recycling as deployed' if m['recycle'] else ', no worker recycling'}), a Huey consumer "
        f"`-w 4 -k thread`, an SMTP sink; {m['visitors']} visitors, {m['members']} members and 1 practitioner, "
        f"think time {m['think_s'][0]:g}–{m['think_s'][1]:g} s. Load average during the run: "
        f"{load['min']:.2f}–{load['max']:.2f} (mean {load['mean']:.2f}; {m['loadavg_before'][0]} before it); "
        f"machine CPU {m['cpu_busy']:.0%} busy.", "",
        f"**{r['verdict']}**", "",
        f"{r['requests']:,} requests in {m['elapsed_s']:.0f} s ({r['requests_per_s']:.1f}/s); {r['posted']} "
        f"listings posted, {r['approved']} approved ({m['still_pending']} still pending at the end), "
        f"{r['bids']['api'] + r['bids']['form']} bids ({r['bids']['api']} API, {r['bids']['form']} room form), "
        f"{r['replies']} answers, {r['emails']['received']} e-mails received; the job worker finished "
        f"{m['settle_s']:.0f} s after the load.", "",
        "| request | count | errors | p50 ms | p95 ms | p99 ms | statuses |", "|---|---|---|---|---|---|---|",
    ]
    for name, k in r["kinds"].items():
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(k["statuses"].items()))
        lines.append(f"| {name} | {k['count']:,} | {k['errors']} | {_ms(k['p50_ms'])} | {_ms(k['p95_ms'])} | "
                     f"{_ms(k['p99_ms'])} | {statuses} |")
    lines += ["", "Actions: " + ", ".join(f"{a} {r['actions'].get(a, 0):,}" for a in ACTIONS), "",
              f"| process | RSS after warm-up (MiB) | at the end | max | slope (MiB/min) | flat? |",
              "|---|---|---|---|---|---|"]
    for name, mem in r["memory"].items():
        flat = {True: "yes", False: "NO", None: "not judged"}[mem["flat"]]
        slope = "" if mem["slope_mib_per_min"] is None else \
            f"{mem['slope_mib_per_min']:+.2f} ± {mem['slope_se']:.2f}"
        lines.append(f"| {name} | {mem['start_mib']:.1f} | {mem['end_mib']:.1f} | {mem['max_mib']:.1f} | {slope} "
                     f"| {flat} |")
    lines += ["", f"Flat: slope ≤ {SLOPE_LIMIT_MIB_PER_MIN:g} MiB/min within twice its standard error (least "
                  f"squares over the samples taken every {m.get('sample_every_s', 10):g} s after the "
                  f"{m['warmup_s']:g} s warm-up; ± one standard error shown) and end ≤ start + {GROWTH_LIMIT:.0%} "
                  "(start, end: medians of the first and the last minute).", "",
              "| check | ok? | detail |", "|---|---|---|"]
    for name, c in r["checks"].items():
        lines.append(f"| {name} | {'yes' if c['ok'] else 'NO'} | {c['detail']} |")
    if r["error_samples"]:
        lines += ["", "First errors:", ""] + [f"- {e}" for e in r["error_samples"][:20]]
    return "\n".join(lines) + "\n"


def report_text(r: dict) -> str:
    out = [f"{'request':22}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"]
    for name, k in r["kinds"].items():
        out.append(f"{name:22}{k['count']:8d}{k['errors']:8d}{_ms(k['p50_ms']):>9}{_ms(k['p95_ms']):>9}"
                   f"{_ms(k['p99_ms']):>9}")
    out.append(f"{'all':22}{r['requests']:8d}{r['errors']:8d}   {r['requests_per_s']:.1f} requests/s")
    out.append("")
    out.append(f"{'process':16}{'start MiB':>10}{'end MiB':>9}{'MiB/min':>13}  flat")
    for name, mem in r["memory"].items():
        slope = "" if mem["slope_mib_per_min"] is None else \
            f"{mem['slope_mib_per_min']:+.2f}±{mem['slope_se']:.2f}"
        out.append(f"{name:16}{mem['start_mib']:10.1f}{mem['end_mib']:9.1f}{slope:>13}  "
                   f"{ {True: 'yes', False: 'NO', None: 'not judged'}[mem['flat']]}")
    out.append("")
    for name, c in r["checks"].items():
        out.append(f"{'ok ' if c['ok'] else 'NO '} {name}: {c['detail']}")
    if r["error_samples"]:
        out += ["", "first errors:"] + [f"  {e}" for e in r["error_samples"][:10]]
    out += ["", r["verdict"]]
    return "\n".join(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="10k", help="data set (bench/out/<size>/, as make bench)")
    parser.add_argument("--listings", type=int, default=None, help="another number of listings (with --out)")
    parser.add_argument("--out", type=Path, default=None, help="data and results folder (default bench/out/<size>)")
    parser.add_argument("--seed", type=int, default=29900)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=60, help="seconds before memory is taken as the start")
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 2.5), metavar=("MIN", "MAX"),
                        help="seconds each person waits between two actions")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default 2 × cores + 1)")
    parser.add_argument("--recycle", action="store_true", help="keep the deployed max_requests worker recycling")
    parser.add_argument("--sample-every", type=float, default=10)
    parser.add_argument("--settle-timeout", type=float, default=300,
                        help="seconds the job worker gets to finish after the load")
    parser.add_argument("--pg-url", default=None,
                        help="PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres): data, "
                             "search and queue in a scratch database there, generated for this run and dropped")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    args.count = args.listings or SIZES[args.size]
    args.out = (args.out or BENCH / "out" / args.size).resolve()
    args.workers = args.workers or default_workers()
    result = run(args)
    (args.out / "soak.json").write_text(json.dumps(result, indent=1, default=str))
    (args.out / "soak.md").write_text(report_markdown(result))
    print()
    print(report_text(result))
    print(f"\nWritten: {args.out / 'soak.md'} and {args.out / 'soak.json'}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
