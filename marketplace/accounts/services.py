"""Account state changes: sign-up, confirmation, log-in bookkeeping, password changes."""
from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts import lockout
from marketplace.accounts.models import User
from marketplace.accounts.tokens import make_token, read_token
from marketplace.extensions import db
from marketplace.models_base import utcnow
from marketplace.notifications.services import external_url, queue_email

_hasher = PasswordHasher()
# Verifying against this keeps the time of a failed log-in the same whether the e-mail exists or not.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def create_user(email: str, password: str, full_name: str, *, confirmed: bool = False, is_admin: bool = False,
                locale: str = "fr", company=None) -> User:
    user = User(
        email=normalize_email(email),
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        is_admin=is_admin,
        locale=locale,
        confirmed_at=utcnow() if confirmed else None,
        company=company,
    )
    db.session.add(user)
    db.session.flush()
    return user


def sign_up(email: str, password: str, full_name: str, locale: str = "fr", next_path: str | None = None) -> None:
    """Create the account and mail its confirmation link, which opens the first session. For an address
    that already has an account, mail its owner instead (log in, or reset the password): the person
    signing up sees the same answer either way, so sign-up does not tell who is registered."""
    existing = find_user(email)
    if existing is None:
        send_confirmation(create_user(email, password, full_name, locale=locale), next_path)
        return
    hash_password(password)  # the same work as a new account, so the answer takes as long
    if not existing.is_active:
        return
    if not existing.is_confirmed:
        send_confirmation(existing, next_path)
        return
    queue_email(existing.email, "account.exists", _l("Vous avez déjà un compte"), "account_exists",
                locale=existing.locale, user=existing, login_link=external_url("accounts.login", email=existing.email),
                reset_link=external_url("accounts.forgot_password"))


def send_confirmation(user: User, next_path: str | None = None) -> None:
    payload = {"uid": user.id, "email": user.email}
    if next_path:
        payload["next"] = next_path
    token = make_token("confirm", payload)
    queue_email(
        user.email, "account.confirm", _l("Confirmez votre adresse e-mail"), "confirm_email",
        locale=user.locale, user=user, link=external_url("accounts.confirm", token=token),
    )


@dataclass
class Confirmation:
    user: User
    first: bool  # this link confirmed the address (it was not confirmed before)
    next_path: str | None  # where the person was going when they signed up (an invitation, say)


def confirm(token: str) -> Confirmation | None:
    payload = read_token("confirm", token, current_app.config["EMAIL_TOKEN_MAX_AGE"])
    if not payload:
        return None
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email") or not user.is_active:
        return None
    first = user.confirmed_at is None
    if first:
        user.confirmed_at = utcnow()
    return Confirmation(user, first, payload.get("next"))


UNCONFIRMED = "unconfirmed"


def record_login(user: User) -> None:
    user.last_login_at = utcnow()


def log_in(email: str, password: str) -> User | int | str | None:
    """The user when the address and password are right (and the account active and confirmed); None when
    they are not; the minutes left when the address is locked (accounts/lockout.py), the password then not
    even checked; UNCONFIRMED (a new confirmation link sent) when the address is not confirmed yet.
    Failures are counted for any address, so no answer but the last tells whether an account exists, and
    that one only to whoever knows its password."""
    remaining = lockout.lock_of(email)
    if remaining is not None:
        return max(1, math.ceil((remaining - utcnow()).total_seconds() / 60))
    user = find_user(email)
    if check_password(user, password) and user.is_active:
        lockout.clear(email)
        if not user.is_confirmed:
            send_confirmation(user)
            return UNCONFIRMED
        user.last_login_at = utcnow()
        return user
    if lockout.record_failure(email) and user is not None and user.is_active:
        queue_email(user.email, "account.locked", _l("Connexion bloquée après plusieurs échecs"), "account_locked",
                    locale=user.locale, user=user, minutes=current_app.config["LOGIN_LOCK_MINUTES"],
                    link=external_url("accounts.forgot_password"))
    return None


def send_password_reset(email: str) -> None:
    """Mail a reset link if the address is known; say nothing either way (no account enumeration)."""
    user = find_user(email)
    if user is None or not user.is_active:
        return
    token = make_token("reset", {"uid": user.id, "stamp": user.security_stamp})
    queue_email(
        user.email, "account.reset", _l("Réinitialisation de votre mot de passe"), "reset_password",
        locale=user.locale, user=user, link=external_url("accounts.reset_password", token=token),
    )


def user_for_reset(token: str) -> User | None:
    payload = read_token("reset", token, current_app.config["RESET_TOKEN_MAX_AGE"])
    if not payload:
        return None
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.security_stamp != payload.get("stamp"):
        return None  # already used: the stamp moved on with the new password
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    lockout.clear(user.email)
    user.security_stamp += 1
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()  # the reset link proved the address


def update_profile(user: User, full_name: str, phone: str | None, locale: str) -> None:
    user.full_name = full_name.strip()
    user.phone = (phone or "").strip() or None
    user.locale = locale
