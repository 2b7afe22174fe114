"""Telling people things. `queue_email` is the low-level outbox writer (account e-mails use it
directly: they are not notifications and can never be muted). `notify` is how everything else is
told: it writes the in-app notification, respects the person's preferences and mutes, never tells
the same person twice about the same thing, and queues the e-mail now or leaves it for the daily
digest. Everything happens in the caller's transaction; delivery runs after commit."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql, sqlite

from marketplace.accounts.tokens import make_token, read_token
from marketplace.extensions import db
from marketplace.jobs import enqueue_after_commit
from marketplace.models_base import utcnow
from marketplace.notifications.models import (
    DEFAULT_MODES,
    KINDS,
    MODES,
    MUTABLE_KINDS,
    Mute,
    Notification,
    NotificationPreference,
    NotificationSettings,
    OutgoingEmail,
)

ALL = "all"  # unsubscribe token scope: every kind ("tout couper")


def external_url(endpoint: str, **values) -> str:
    """An absolute link for e-mails, also from jobs and commands that have no request."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def queue_email(recipient: str, kind: str, subject: str, template: str, locale: str = "fr",
                extra_headers: dict | None = None, **context) -> OutgoingEmail:
    """Render `email/<template>.txt` and `.html` in the recipient's language and store them for delivery."""
    with force_locale(locale or "fr"):
        # A lazy string, translated into the recipient's language, on one line: a title typed with a
        # line break (an API call, an imported cell) made Flask-Mail refuse the header, for ever.
        subject = " ".join(str(subject).split())
        context.setdefault("site_name", current_app.config["SITE_NAME"])
        text = render_template(f"email/{template}.txt", subject=subject, **context)
        html = render_template(f"email/{template}.html", subject=subject, **context)
    email = OutgoingEmail(recipient=recipient, kind=kind, subject=subject[:255], body_text=text, body_html=html,
                          extra_headers=extra_headers or None)
    db.session.add(email)
    db.session.flush()

    from marketplace.notifications.tasks import deliver_email

    enqueue_after_commit(db.session(), deliver_email, email.id)
    return email


# --- preferences and mutes ----------------------------------------------------------------------


def mode_for(user_id: int, kind: str) -> str:
    preference = db.session.get(NotificationPreference, (user_id, kind))
    return preference.mode if preference else DEFAULT_MODES[kind]


def modes_for(user_id: int) -> dict[str, str]:
    saved = dict(db.session.execute(
        sa.select(NotificationPreference.kind, NotificationPreference.mode).where(NotificationPreference.user_id == user_id)
    ).all())
    return {kind: saved.get(kind, DEFAULT_MODES[kind]) for kind in KINDS}


def set_mode(user, kind: str, mode: str) -> None:
    if kind not in KINDS or mode not in MODES:
        raise ValueError(f"{kind}: {mode}")
    preference = db.session.get(NotificationPreference, (user.id, kind))
    if preference is None:
        preference = NotificationPreference(user_id=user.id, kind=kind)
        db.session.add(preference)
    preference.mode = mode


def is_everything_off(user_id: int) -> bool:
    settings = db.session.get(NotificationSettings, user_id)
    return bool(settings and settings.everything_off)


def set_everything_off(user, value: bool) -> None:
    settings = db.session.get(NotificationSettings, user.id)
    if settings is None:
        settings = NotificationSettings(user_id=user.id)
        db.session.add(settings)
    settings.everything_off = bool(value)


def is_muted(user_id: int, listing_ids=(), categories=()) -> bool:
    conditions = []
    if listing_ids:
        conditions.append(Mute.listing_id.in_(list(listing_ids)))
    if categories:
        conditions.append(Mute.category.in_(list(categories)))
    if not conditions:
        return False
    return db.session.scalar(
        sa.select(Mute.id).where(Mute.user_id == user_id, sa.or_(*conditions)).limit(1)
    ) is not None


def listing_mute(user_id: int, listing_id: int) -> Mute | None:
    return db.session.scalar(sa.select(Mute).where(Mute.user_id == user_id, Mute.listing_id == listing_id))


def mute_listing(user, listing) -> Mute:
    """No more news about this listing (matches, alerts). Muting twice changes nothing."""
    mute = listing_mute(user.id, listing.id)
    if mute is None:
        mute = Mute(user_id=user.id, listing_id=listing.id)
        db.session.add(mute)
        db.session.flush()
    return mute


def mute_category(user, category: str) -> Mute:
    mute = db.session.scalar(sa.select(Mute).where(Mute.user_id == user.id, Mute.category == category))
    if mute is None:
        mute = Mute(user_id=user.id, category=category)
        db.session.add(mute)
        db.session.flush()
    return mute


def unmute(mute: Mute) -> None:
    db.session.delete(mute)


def mutes_of(user_id: int) -> list[Mute]:
    return db.session.scalars(sa.select(Mute).where(Mute.user_id == user_id).order_by(Mute.created_at, Mute.id)).all()


# --- one-click unsubscribe (RFC 8058) -----------------------------------------------------------


def unsubscribe_link(user_id: int, kinds: str) -> str:
    """A signed link that turns `kinds` (one kind, several joined by commas, or "all") off, without log-in."""
    return external_url("notifications.unsubscribe", token=make_token("unsubscribe", {"u": user_id, "k": kinds}))


def unsubscribe_headers(link: str) -> dict:
    return {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def read_unsubscribe_token(token: str):
    """(user, kinds) where kinds is a list of kinds or None for everything; None when the link is forged,
    altered, expired or names an account that no longer exists."""
    from marketplace.accounts.models import User

    payload = read_token("unsubscribe", token, current_app.config["UNSUBSCRIBE_TOKEN_MAX_AGE"])
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int) or not isinstance(payload.get("k"), str):
        return None
    user = db.session.get(User, payload["u"])
    if user is None:
        return None
    if payload["k"] == ALL:
        return user, None
    kinds = payload["k"].split(",")
    if not kinds or any(k not in KINDS for k in kinds):
        return None
    return user, kinds


def unsubscribe(user, kinds: list[str] | None) -> None:
    if kinds is None:
        set_everything_off(user, True)
        return
    for kind in kinds:
        set_mode(user, kind, "off")


# --- notify -------------------------------------------------------------------------------------


def instant_emails_today(user_id: int) -> int:
    """Instant notification e-mails queued for this person in the last 24 hours (the daily cap)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.delivery == "instant",
            Notification.created_at >= utcnow() - timedelta(hours=24))
    )


def _insert_once(values: dict) -> int | None:
    """Insert the notification unless (user, dedup_key) exists; the id, or None when it already did.

    INSERT … ON CONFLICT DO NOTHING rather than a SAVEPOINT around a plain INSERT: with Python's
    sqlite3 driver a SAVEPOINT that opens the transaction commits on release, before the caller's
    commit (and so survives the caller's rollback). ON CONFLICT is atomic on SQLite and PostgreSQL."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (insert(Notification).values(**values)
                 .on_conflict_do_nothing(index_elements=["user_id", "dedup_key"])
                 .returning(Notification.id))
    return db.session.scalar(statement)


def already_told(user_id: int, dedup_key: str) -> bool:
    return db.session.scalar(sa.select(Notification.id).where(
        Notification.user_id == user_id, Notification.dedup_key == dedup_key)) is not None


def notify(user, kind: str, title, body, link: str, dedup_key: str, listing=None, category: str | None = None,
           email_template: str = "notification", *, about=None, email_kind: str | None = None,
           **email_context) -> Notification | None:
    """Tell `user` something, once per `dedup_key`. Returns the notification, or None when skipped:
    already told, kind set to off, everything off, or (for news about listings) the listing or its
    category muted. `listing` is the listing the notification belongs to; `about`, another listing
    the news concerns (both are checked against mutes). Title and body may be lazy strings: they
    are stored in the recipient's language. The e-mail (subject = title) goes now when the kind is
    "instant" and the daily cap is not reached, otherwise in the next daily digest."""
    if kind not in KINDS:
        raise ValueError(kind)
    if user is None or not user.is_active or is_everything_off(user.id):
        return None
    mode = mode_for(user.id, kind)
    if mode == "off":
        return None
    if kind in MUTABLE_KINDS:
        concerned = [x for x in (listing, about) if x is not None]
        categories = {category} if category else {x.category for x in concerned}
        if is_muted(user.id, {x.id for x in concerned}, categories):
            return None
    if already_told(user.id, dedup_key):
        return None

    locale = user.locale or "fr"
    with force_locale(locale):
        title_text, body_text = str(title)[:255], str(body or "")
    delivery = "instant" if mode == "instant" else "digest"
    if delivery == "instant" and instant_emails_today(user.id) >= current_app.config["NOTIFY_DAILY_CAP"]:
        delivery = "digest"
    notification_id = _insert_once({
        "user_id": user.id, "kind": kind, "title": title_text, "body": body_text, "link": link or "",
        "listing_id": listing.id if listing is not None else None, "dedup_key": dedup_key, "delivery": delivery,
    })
    if notification_id is None:  # told by a concurrent transaction in the meantime
        return None
    notification = db.session.get(Notification, notification_id)
    if delivery == "instant":
        unsubscribe = unsubscribe_link(user.id, kind)
        context = {"user": user, "listing": listing, "link": link, "title": title_text, "body": body_text,
                   "unsubscribe_link": unsubscribe, "preferences_link": external_url("notifications.preferences")}
        context.update(email_context)
        email = queue_email(user.email, email_kind or f"notification.{kind}", title_text, email_template,
                            locale=locale, extra_headers=unsubscribe_headers(unsubscribe), **context)
        notification.email_id = email.id
    return notification


# --- the in-app list ----------------------------------------------------------------------------


def unread_count(user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))


def list_query(user_id: int):
    return (sa.select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user) -> int:
    result = db.session.execute(
        sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount
