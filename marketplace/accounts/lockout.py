"""Per-address log-in lockout. After LOGIN_MAX_FAILURES wrong passwords for one e-mail address within
LOGIN_FAILURE_WINDOW_MINUTES, that address cannot log in for LOGIN_LOCK_MINUTES after the last failure,
even with the right password. The IP rate limit (accounts/views.py) stops one machine trying many
addresses; this stops many machines trying one address.

Nothing here tells whether an account exists: failures are counted for any address, under a keyed
digest, and a locked address gets the same message either way. The owner of a real account is told by
e-mail once, when the lock starts; resetting the password lifts it. Counted in the database, so every
web worker and machine agrees."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from marketplace.accounts.models import LoginFailure
from marketplace.extensions import db
from marketplace.models_base import utcnow

KEEP = timedelta(days=1)  # failures older than this are deleted as new ones are written


def locked_until(failures: list[datetime], now: datetime, max_failures: int, window: timedelta,
                 lock: timedelta) -> datetime | None:
    """The end of the lock given an address's failure times, or None when it may try. A lock starts at a
    failure that is the `max_failures`-th within `window` and lasts `lock`. Attempts refused while locked
    are not failures (their password is never checked), so a lock is never prolonged by them."""
    times = sorted(at for at in failures if at <= now)
    until = None
    for i in range(max_failures - 1, len(times)):
        if times[i] - times[i - max_failures + 1] <= window:
            until = times[i] + lock
    return until if until is not None and now < until else None


def address_digest(email: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def _settings() -> tuple[int, timedelta, timedelta]:
    config = current_app.config
    return (int(config["LOGIN_MAX_FAILURES"]), timedelta(minutes=int(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
            timedelta(minutes=int(config["LOGIN_LOCK_MINUTES"])))


def _failures(digest: str, since: datetime) -> list[datetime]:
    return list(db.session.scalars(sa.select(LoginFailure.created_at).where(
        LoginFailure.address_digest == digest, LoginFailure.created_at >= since)))


def lock_of(email: str, now: datetime | None = None) -> datetime | None:
    """When the address's lock ends, or None if it may try to log in."""
    now = now or utcnow()
    max_failures, window, lock = _settings()
    return locked_until(_failures(address_digest(email), now - window - lock), now, max_failures, window,
                        lock)


def record_failure(email: str, now: datetime | None = None) -> bool:
    """Count a wrong password for the address; True when this failure starts a lock."""
    now = now or utcnow()
    digest = address_digest(email)
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.created_at < now - KEEP))
    db.session.add(LoginFailure(address_digest=digest, created_at=now))
    db.session.flush()
    return lock_of(email, now) is not None


def clear(email: str) -> None:
    """A successful log-in or a new password: the address starts afresh."""
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.address_digest == address_digest(email)))
