"""Shared fixtures: a migrated database (a real SQLite file, or PostgreSQL when
MARKETPLACE_TEST_DATABASE_URL is set), a real SMTP server, factories and a CSRF-aware client."""
from __future__ import annotations

import contextlib
import email
import os
import shutil
import socket
import threading
import uuid
from decimal import Decimal
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

TEST_DATABASE_URL = os.environ.get("MARKETPLACE_TEST_DATABASE_URL")
# The search backend of the tests: PostgreSQL full-text search when the suite runs on PostgreSQL.
TEST_SEARCH_BACKEND = os.environ.get("MARKETPLACE_TEST_SEARCH_BACKEND") or (
    "postgresql" if (TEST_DATABASE_URL or "").startswith("postgres") else "whoosh")
# Keep the developer's instance folder and environment out of the tests.
os.environ["MARKETPLACE_INSTANCE_PATH"] = os.environ.get("PYTEST_INSTANCE_PATH", "/tmp/marketplace-test-instance")
os.environ.pop("MARKETPLACE_DATABASE_URL", None)
os.environ.pop("MARKETPLACE_HUEY_URL", None)
os.environ.pop("MARKETPLACE_HUEY_TABLE_PREFIX", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP ---------------------------------------------------------------------------------------


class SmtpSink:
    """A real SMTP server on a free local port; keeps the messages it receives."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(msg)
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def clear(self):
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture(scope="session")
def smtp_server():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_server):
    if smtp_server.controller is None:
        smtp_server.start()
    smtp_server.clear()
    return smtp_server


# --- database -----------------------------------------------------------------------------------


def _base_config(tmp_path, database_url: str, smtp_port: int) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "HUEY_IMMEDIATE": True,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_TIMEOUT": 5,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://localhost",
        "SEARCH_BACKEND": TEST_SEARCH_BACKEND,
        "LISTINGS_PAGE_CACHE_SECONDS": 0,  # tests/listings/test_page_cache.py turns it on
    }


@contextlib.contextmanager
def _scratch_postgres_database(url: str):
    """A fresh database beside the one given, dropped afterwards: concurrent runs never collide."""
    base = sa.make_url(url)
    name = f"{base.database}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url():
    """None for SQLite (one file per test), else the URL of this run's own PostgreSQL database."""
    if not TEST_DATABASE_URL:
        yield None
        return
    with _scratch_postgres_database(TEST_DATABASE_URL) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory, smtp_server, database_url):
    """Run the real migrations once: into a template SQLite file copied per test, or into PostgreSQL."""
    from flask_migrate import upgrade

    from marketplace import create_app

    folder = tmp_path_factory.mktemp("template")
    url = database_url or f"sqlite:///{folder / 'template.db'}"
    app = create_app(_base_config(folder, url, smtp_server.port))
    with app.app_context():
        upgrade()
        from marketplace.extensions import db

        db.engine.dispose()
    return None if database_url else folder / "template.db"


class CsrfClient(FlaskClient):
    """A test client that sends a valid CSRF token with every POST, unless told `csrf=False`."""

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.get("csrf_token")
        if raw is None:
            self.get("/compte/connexion")
            with self.session_transaction() as session:
                raw = session["csrf_token"]
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args, **kwargs):
        # The test holds an app context open (for `db.session`); requests reuse it, so clear `g`
        # before each one as production would give it a fresh one (locale, current user caches).
        from flask import g, has_app_context

        if has_app_context():
            for key in list(vars(g)):
                delattr(g, key)
        return super().open(*args, **kwargs)

    def post(self, *args, csrf: bool = True, **kwargs):
        if csrf and "json" not in kwargs and kwargs.get("content_type") != "application/json":
            data = kwargs.get("data")
            if data is None:
                data = kwargs["data"] = {}
            if isinstance(data, dict) and "csrf_token" not in data:
                data["csrf_token"] = self.csrf_token()
        return super().post(*args, **kwargs)


@pytest.fixture
def app(migrated_database, database_url, tmp_path, smtp_server):
    from marketplace import create_app
    from marketplace.extensions import db

    if database_url:
        url = database_url
    else:
        path = tmp_path / "test.db"
        shutil.copy(migrated_database, path)
        url = f"sqlite:///{path}"
    app = create_app(_base_config(tmp_path, url, smtp_server.port))
    app.test_client_class = CsrfClient
    with app.app_context():
        yield app
        db.session.remove()
        if database_url:
            tables = ", ".join(f'"{t.name}"' for t in reversed(db.metadata.sorted_tables))
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


# --- job queue ----------------------------------------------------------------------------------

# Tests that need a real queue (a consumer process, or jobs left waiting) use `real_queue`: PostgreSQL
# when the suite runs on PostgreSQL (tables under this run's own prefix in the database given, dropped
# at the end), the queue of MARKETPLACE_TEST_HUEY_URL when set, else a SQLite file. The queue tests
# run every kind whatever the suite's database, on the local PostgreSQL and Redis: an empty Redis
# database among 8–15 claimed by this run and emptied at its end (MARKETPLACE_TEST_REDIS_URL to
# impose one), so that runs side by side never share a queue.
QUEUE_POSTGRES_URL = TEST_DATABASE_URL if (TEST_DATABASE_URL or "").startswith("postgres") else os.environ.get(
    "MARKETPLACE_TEST_QUEUE_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_HUEY_URL = os.environ.get("MARKETPLACE_TEST_HUEY_URL") or (
    QUEUE_POSTGRES_URL if (TEST_DATABASE_URL or "").startswith("postgres") else None)
_REDIS_CLAIM = "marketplace-tests:claimed-by"


class RealQueue:
    """A real queue's settings: `settings` for `marketplace.jobs.configure`, `env` for a consumer."""

    def __init__(self, url: str, table_prefix: str):
        self.url, self.table_prefix = url, table_prefix
        scheme = url.split(":", 1)[0]
        self.kind = "postgresql" if scheme.startswith("postgres") else scheme  # sqlite, redis, postgresql

    @property
    def settings(self) -> dict:
        return {"HUEY_URL": self.url, "HUEY_TABLE_PREFIX": self.table_prefix, "HUEY_IMMEDIATE": False}

    @property
    def env(self) -> dict:
        return {"MARKETPLACE_HUEY_URL": self.url, "MARKETPLACE_HUEY_TABLE_PREFIX": self.table_prefix}


class QueueSpace:
    """This run's corner of the shared servers: a table prefix for PostgreSQL queues, a Redis database
    claimed on first use. `close` drops the tables and gives the database back."""

    def __init__(self):
        self.table_prefix = f"test_jobs_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.postgres_urls: set[str] = set()
        self._redis_url = os.environ.get("MARKETPLACE_TEST_REDIS_URL")
        self._claimed = None

    @property
    def redis_url(self) -> str:
        if self._redis_url is None:
            import redis

            for number in range(15, 7, -1):  # an empty one, or one left by a run that was killed
                client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{number}")
                owner = client.get(_REDIS_CLAIM)
                if owner is not None and not _process_alive(int(owner)):
                    client.eval("if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end",
                                1, _REDIS_CLAIM, owner)
                elif owner is None and client.dbsize():
                    client.close()
                    continue  # somebody's data: not ours to empty
                if client.set(_REDIS_CLAIM, os.getpid(), nx=True, ex=12 * 3600):
                    client.eval("for _, k in ipairs(redis.call('keys', '*')) do "
                                "if k ~= KEYS[1] then redis.call('del', k) end end", 1, _REDIS_CLAIM)
                    self._redis_url, self._claimed = f"redis://127.0.0.1:6379/{number}", client
                    break
                client.close()
            else:
                raise RuntimeError("no Redis database from 8 to 15 is free (empty, or left by a finished run)")
        return self._redis_url

    def url(self, kind: str | None, tmp_path) -> str:
        """`kind`: "sqlite", "redis", "postgresql", or None for the suite's choice (see above)."""
        if kind == "redis":
            return self.redis_url
        url = (QUEUE_POSTGRES_URL if kind == "postgresql"
               else f"sqlite:///{tmp_path / 'jobs.db'}" if kind == "sqlite" or not TEST_HUEY_URL else TEST_HUEY_URL)
        if url.startswith("postgres"):
            self.postgres_urls.add(url)
        return url

    def close(self):
        from marketplace.queue_storage import PostgresQueueStorage

        for url in self.postgres_urls:
            storage = PostgresQueueStorage("marketplace", dsn=url, table_prefix=self.table_prefix)
            storage.drop_tables()
            storage.close()
        if self._claimed is not None:
            self._claimed.flushdb()  # the claim goes with it
            self._claimed.close()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def queue_space():
    space = QueueSpace()
    yield space
    space.close()


@pytest.fixture(scope="session")
def queue_table_prefix(queue_space):
    return queue_space.table_prefix


def make_queue(kind: str | None, tmp_path, space: QueueSpace) -> RealQueue:
    return RealQueue(space.url(kind, tmp_path), space.table_prefix)


@contextlib.contextmanager
def using_queue(app, queue: RealQueue):
    """Point the app's job queue at `queue`, not immediate, empty before and after."""
    from marketplace.jobs import configure, huey

    before = {key: app.config[key] for key in ("HUEY_URL", "HUEY_TABLE_PREFIX", "HUEY_IMMEDIATE")}
    app.config.update(queue.settings)
    configure(app.config)
    huey.storage.flush_all()
    try:
        yield queue
    finally:
        huey.storage.flush_all()
        app.config.update(before)
        configure(app.config)


@pytest.fixture
def real_queue(app, tmp_path, queue_space):
    with using_queue(app, make_queue(None, tmp_path, queue_space)) as queue:
        yield queue


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- factories ----------------------------------------------------------------------------------

PASSWORD = "correct-horse-42"


@pytest.fixture
def make_territory(app):
    from marketplace.accounts.models import Territory
    from marketplace.extensions import db
    from marketplace.territories.services import save_territory

    def make(name="Concarneau Cornouaille", postcodes="29900 29000 29910", **fields):
        fields.setdefault("kind", "postcodes")
        territory = save_territory(Territory(), name=name, postcodes=postcodes,
                                   departements=fields.pop("departements", ""), **fields)
        db.session.commit()
        return territory

    return make


@pytest.fixture
def make_company(app):
    from marketplace.companies.services import create_company
    from marketplace.extensions import db

    def make(name="Conserverie du Port", postcode="29900", city=None, **fields):
        company = create_company(None, {"name": name, **fields}, {"name": "Siège", "postcode": postcode, "city": city})
        db.session.commit()
        return company

    return make


_FACTORY_PASSWORD_HASH: dict[str, str] = {}


@pytest.fixture
def make_user(app, monkeypatch):
    from marketplace.accounts import services as account_services
    from marketplace.accounts.services import create_user
    from marketplace.extensions import db
    from marketplace.territories.services import assign_practitioner

    # Factory users share PASSWORD: hash it once per run (a real argon2 hash, ~0.2 s each) rather
    # than once per user; log-ins still verify it for real.
    real_hash = account_services.hash_password

    def hash_once(password: str) -> str:
        if password != PASSWORD:
            return real_hash(password)
        if password not in _FACTORY_PASSWORD_HASH:
            _FACTORY_PASSWORD_HASH[password] = real_hash(password)
        return _FACTORY_PASSWORD_HASH[password]

    monkeypatch.setattr(account_services, "hash_password", hash_once)
    counter = {"n": 0}

    def make(email=None, company=None, role="member", territories=(), confirmed=True, name=None):
        counter["n"] += 1
        email = email or f"user{counter['n']}@example.fr"
        user = create_user(email, PASSWORD, name or email.split("@")[0].title(), confirmed=confirmed,
                           is_admin=(role == "admin"), company=company)
        for territory in territories:
            assign_practitioner(territory, user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_listing(app):
    from marketplace.extensions import db
    from marketplace.listings import services

    def make(company, status="published", actor=None, **fields):
        data = {
            "kind": "offer", "title": "Palettes bois 120x80", "description": "Palettes EUR en bon état.",
            "category": "materials", "waste_code": "15 01 03", "quantity": Decimal("12"), "unit": "t",
            "frequency": "monthly", "price_mode": "free", "unit_price_eur": None,
            "available_from": None, "available_until": None, "expires_on": None,
        }
        data.update(fields)
        actor = actor or (company.members[0] if company.members else None)
        listing = services.create(actor, company, company.sites[0], data)
        if status != "draft":
            listing.status = status
            if status in ("published", "reserved", "closed"):
                listing.published_at = listing.last_activity_at
        db.session.commit()
        return listing

    return make


def listing_form(site_id, **overrides) -> dict:
    """The listing form's fields as a browser posts them: by default, an offer of brewers' grains to publish."""
    data = {"kind": "offer", "title": "Drêches de brasserie", "description": "Drêches humides après brassage.",
            "category": "materials", "waste_code": "02 07 01", "quantity": "2", "unit": "t", "frequency": "weekly",
            "site_id": str(site_id), "price_mode": "free", "unit_price_eur": "", "available_from": "",
            "available_until": "", "expires_on": "", "submit_for": "publish"}
    data.update(overrides)
    return data


def login(client, user, password=PASSWORD):
    response = client.post("/compte/connexion", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response


def open_session(client, user):
    """A session for `user` without the log-in form: an unconfirmed account can no longer log in, but a
    session opened before confirmation became required (or an address unconfirmed since) may exist."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    client.get("/compte/profil")  # a page with a form: the session gets its CSRF token


@pytest.fixture
def world(make_territory, make_company, make_user, make_listing):
    """Two territories, two companies in the first, one in the second, every role, listings in every state."""
    from marketplace.conversations.services import respond
    from marketplace.extensions import db

    t1 = make_territory("Concarneau Cornouaille", "29900 29000 29910")
    t2 = make_territory("Pays de Lorient", "56100 56600")
    a = make_company("Conserverie du Port", "29900")
    b = make_company("Brasserie de l'Odet", "29000")
    c = make_company("Chantier Naval Lorientais", "56100")
    alice = make_user("alice@conserverie.fr", company=a)
    bob = make_user("bob@brasserie.fr", company=b)
    carol = make_user("carol@chantier.fr", company=c)
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[t1])
    other_practitioner = make_user("anim@lorient.fr", role="practitioner", territories=[t2])
    admin = make_user("admin@eit.fr", role="admin")
    outsider = make_user("nobody@example.fr")  # logged in, no company
    listings = {
        "a_draft": make_listing(a, "draft", title="Brouillon de la conserverie"),
        "a_pending": make_listing(a, "pending", title="Coproduits de poisson"),
        "a_published": make_listing(a, "published", title="Palettes à donner"),
        "b_published": make_listing(b, "published", kind="need", title="Cherche drêches"),
        "c_pending": make_listing(c, "pending", title="Ferraille de chantier"),
    }
    conversation = respond(bob, listings["a_published"], Decimal("3"), "Intéressé par vos palettes.")
    db.session.commit()
    return {
        "t1": t1, "t2": t2, "a": a, "b": b, "c": c,
        "alice": alice, "bob": bob, "carol": carol, "practitioner": practitioner,
        "other_practitioner": other_practitioner, "admin": admin, "outsider": outsider,
        "conversation": conversation, **listings,
    }
