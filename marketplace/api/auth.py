"""Bearer-token authentication for the API (no cookies, so no CSRF: the API is exempt from it)."""
from __future__ import annotations

import functools
from datetime import timedelta

import sqlalchemy as sa
from flask import g, request

from marketplace.api.errors import ApiError
from marketplace.api.models import ApiToken, digest
from marketplace.extensions import db
from marketplace.models_base import utcnow

LAST_USED_RESOLUTION = timedelta(minutes=5)


def token_user():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == digest(token.strip()), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.is_active:
        return None
    now = utcnow()
    # Written at most every few minutes: a write on every call would make each API request (reads
    # included) hold SQLite's write lock until it ends, queueing concurrent callers behind one another.
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row.user


def require_token(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        user = token_user()
        if user is None:
            raise ApiError(401, "unauthorized", "Jeton d'API manquant ou invalide : en-tête Authorization: Bearer <jeton>.")
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper
