"""Settings: safe development defaults, each overridable by a MARKETPLACE_* environment variable."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

PREFIX = "MARKETPLACE_"


class Defaults:
    """Development defaults. Paths that depend on the instance folder are filled in by `load_config`."""

    SECRET_KEY = None  # generated once per instance folder, see `_secret_key`
    DATABASE_URL = None  # default: SQLite file in the instance folder
    # Seconds a statement waits for a lock another connection holds (SQLite's busy timeout, PostgreSQL's
    # lock_timeout) before the request answers 503 "database busy, try again" (a job is retried). Keep
    # it below the web server's timeout (deploy/gunicorn.conf.py: 60 s).
    DATABASE_BUSY_TIMEOUT = 30
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024  # a form with several photos
    MAX_PHOTO_BYTES = 8 * 1024 * 1024
    MAX_PHOTOS_PER_LISTING = 6
    PHOTO_MAX_SIDE = 1600

    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 8025
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Plateforme EIT <no-reply@eit.localhost>"
    MAIL_TIMEOUT = 10
    MAIL_SUPPRESS_SEND = False  # tests talk to a real SMTP server too

    # The dev SMTP sink (`make run`) writes each message here and the page /dev/mail lists them.
    DEV_MAIL_SINK = False

    SITE_NAME = "Symbiose"
    BASE_URL = "http://127.0.0.1:5000"

    BABEL_DEFAULT_LOCALE = "fr"
    LANGUAGES = ["fr", "en"]
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: no lost forms after a long pause

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure cookies (sent over HTTPS only): on by themselves when BASE_URL is https://…; set either
    # explicitly to decide otherwise.
    SESSION_COOKIE_SECURE = None
    REMEMBER_COOKIE_SECURE = None
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Reverse proxies in front of the app (nginx: 1): their X-Forwarded-For/-Proto/-Host are trusted, so
    # that client addresses (rate limits), https links and secure cookies are right. 0: none trusted.
    PROXY_COUNT = 0
    REMEMBER_COOKIE_HTTPONLY = True

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    # Per-address log-in lockout (accounts/lockout.py): after LOGIN_MAX_FAILURES wrong passwords for one
    # address within LOGIN_FAILURE_WINDOW_MINUTES, it cannot log in for LOGIN_LOCK_MINUTES.
    LOGIN_MAX_FAILURES = 10
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_LOCK_MINUTES = 15

    HUEY_IMMEDIATE = False
    # Default: SQLite file in the instance folder. Several consumers: redis://host:6379/0 or
    # postgresql://user@host/db (tables HUEY_TABLE_PREFIX_task, …, created on first use). docs/queue.md
    HUEY_URL = None
    HUEY_TABLE_PREFIX = "huey_queue"
    # A durable job (matching) not done this long after it was queued is queued again (doubling at
    # each try): its worker died, or it waited longer in the queue, and then the copy ends at once.
    JOB_LEASE_MINUTES = 15

    EMAIL_TOKEN_MAX_AGE = 3 * 24 * 3600  # confirmation and invitation links
    RESET_TOKEN_MAX_AGE = 2 * 3600
    UNSUBSCRIBE_TOKEN_MAX_AGE = 365 * 24 * 3600  # one-click unsubscribe links in notification e-mails
    NOTIFY_DAILY_CAP = 20  # instant notification e-mails per person per rolling 24 h; beyond, the daily digest

    LISTINGS_PER_PAGE = 20
    # Seconds a web worker keeps the listing index's results as anonymous visitors see them (0: off).
    LISTINGS_PAGE_CACHE_SECONDS = 10
    SEARCH_BACKEND = "whoosh"  # or "postgresql" (full-text search in the PostgreSQL database): docs/search.md
    # Optional tile server for maps, e.g. "https://tile.openstreetmap.org/{z}/{x}/{y}.png".
    # Empty by default: nothing is loaded from outside; maps show communes as points.
    MAP_TILE_URL = ""
    MAP_TILE_ATTRIBUTION = ""

    # Auctions. Timed lots: a bid in the last SOFT_CLOSE_MINUTES pushes the end EXTENSION_MINUTES after
    # it, at most MAX_EXTENSION_MINUTES past the scheduled end. Live rooms: "dernières enchères" countdown.
    AUCTION_SOFT_CLOSE_MINUTES = 2
    AUCTION_EXTENSION_MINUTES = 2
    AUCTION_MAX_EXTENSION_MINUTES = 30
    AUCTION_LAST_CALL_SECONDS = 30
    # Follow-up rounds (deuxième round): sealed bids until this many days, providers within this radius.
    AUCTION_FOLLOW_UP_DAYS = 4
    AUCTION_FOLLOW_UP_RADIUS_KM = 50
    # Dormant-ad relaunch: days an owner has to answer before the next relaunch (or expiry), and
    # how long the one-click answer links stay valid.
    RELAUNCH_INTERVAL_DAYS = 14
    RELAUNCH_LINK_MAX_AGE_DAYS = 90

    # Bids per person per minute (the room's phones and the API alike).
    AUCTION_BID_RATE_LIMIT = "30 per minute"


# Settings whose default (None) means "decide from the other settings"; given, they are booleans.
AUTO_BOOLEANS = {"SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"}


def _coerce(raw: str, current):
    """Turn an environment string into the type of the default it overrides."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if current is None and raw.strip()[:1] in ("[", "{"):
        return json.loads(raw)
    return raw


def _secret_key(instance: Path) -> str:
    """A random key kept in the instance folder, so sessions survive restarts without a committed secret."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def instance_path() -> Path:
    return Path(os.environ.get(PREFIX + "INSTANCE_PATH", "instance")).resolve()


def load_config(overrides: dict | None = None) -> dict:
    """Defaults, then MARKETPLACE_* environment variables, then explicit overrides (tests)."""
    config = {k: v for k, v in vars(Defaults).items() if k.isupper()}
    for key, raw in os.environ.items():
        if key.startswith(PREFIX) and key != PREFIX + "INSTANCE_PATH":
            name = key[len(PREFIX):]
            config[name] = _coerce(raw, False if name in AUTO_BOOLEANS else config.get(name))
    config.update(overrides or {})

    instance = Path(config.get("INSTANCE_PATH") or instance_path())
    config["INSTANCE_PATH"] = str(instance)
    instance.mkdir(parents=True, exist_ok=True)
    config.setdefault("UPLOAD_FOLDER", str(instance / "uploads"))
    config.setdefault("DEV_MAIL_FOLDER", str(instance / "mail"))
    config.setdefault("SEARCH_INDEX_PATH", str(instance / "search-index"))
    https = str(config.get("BASE_URL") or "").startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if config.get(name) is None:
            config[name] = https
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'marketplace.db'}"
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if not config.get("HUEY_URL"):
        config["HUEY_URL"] = f"sqlite:///{instance / 'jobs.db'}"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _secret_key(instance)
    if config["DATABASE_URL"].startswith("sqlite"):
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": config["DATABASE_BUSY_TIMEOUT"]}})
    else:
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    return config
