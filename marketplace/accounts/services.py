"""Account state changes: sign-up, confirmation, log-in bookkeeping, password changes."""
from __future__ import annotations

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

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


def sign_up(email: str, password: str, full_name: str, locale: str = "fr") -> User:
    user = create_user(email, password, full_name, locale=locale)
    send_confirmation(user)
    return user


def send_confirmation(user: User) -> None:
    token = make_token("confirm", {"uid": user.id, "email": user.email})
    queue_email(
        user.email, "account.confirm", _l("Confirmez votre adresse e-mail"), "confirm_email",
        locale=user.locale, user=user, link=external_url("accounts.confirm", token=token),
    )


def confirm(token: str) -> User | None:
    payload = read_token("confirm", token, current_app.config["EMAIL_TOKEN_MAX_AGE"])
    if not payload:
        return None
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        return None
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
    return user


def record_login(user: User) -> None:
    user.last_login_at = utcnow()


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
    user.security_stamp += 1
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()  # the reset link proved the address


def update_profile(user: User, full_name: str, phone: str | None, locale: str) -> None:
    user.full_name = full_name.strip()
    user.phone = (phone or "").strip() or None
    user.locale = locale
