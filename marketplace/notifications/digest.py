"""The daily digest: one e-mail per person grouping the notifications left for it (kinds set to
"daily", and instant ones past the daily cap). Idempotent: each notification is digested once,
claimed by an UPDATE … WHERE digested_at IS NULL so that two runs at once cannot both send it."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_ngettext

from marketplace.extensions import db
from marketplace.models_base import utcnow
from marketplace.notifications import services
from marketplace.notifications.labels import KIND_LABELS
from marketplace.notifications.models import KINDS, MUTABLE_KINDS, Notification


def _due(user_id: int | None = None):
    query = sa.select(Notification).where(Notification.delivery == "digest", Notification.digested_at.is_(None))
    return query.where(Notification.user_id == user_id) if user_id is not None else query


def send_digests() -> int:
    """Send every person's digest; returns how many e-mails were queued. Commits per person."""
    user_ids = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.delivery == "digest", Notification.digested_at.is_(None))
        .distinct().order_by(Notification.user_id)
    ).all()
    sent = 0
    for user_id in user_ids:
        sent += digest_for(user_id)
        db.session.commit()
    return sent


def _still_wanted(user, rows: list[Notification]) -> list[Notification]:
    """Preferences and mutes may have changed since the notifications were written."""
    if user is None or not user.is_active or services.is_everything_off(user.id):
        return []
    modes = services.modes_for(user.id)
    mutes = services.mutes_of(user.id)
    muted_listings = {m.listing_id for m in mutes if m.listing_id}
    muted_categories = {m.category for m in mutes if m.category}
    wanted = []
    for n in rows:
        if modes[n.kind] == "off":
            continue
        if n.kind in MUTABLE_KINDS and (n.listing_id in muted_listings or (
                n.listing is not None and n.listing.category in muted_categories)):
            continue
        wanted.append(n)
    return wanted


def digest_for(user_id: int) -> int:
    """Queue one person's digest (1) or nothing (0). The caller commits."""
    from marketplace.accounts.models import User

    rows = db.session.scalars(_due(user_id).order_by(Notification.created_at, Notification.id)).all()
    if not rows:
        return 0
    now = utcnow()
    claimed = db.session.execute(
        sa.update(Notification).where(Notification.id.in_([n.id for n in rows]), Notification.digested_at.is_(None))
        .values(digested_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != len(rows):  # another run took them
        db.session.rollback()
        return 0
    user = db.session.get(User, user_id)
    wanted = _still_wanted(user, rows)
    if not wanted:
        return 0
    kinds = sorted({n.kind for n in wanted}, key=KINDS.index)
    groups = [(KIND_LABELS[kind], [n for n in wanted if n.kind == kind]) for kind in kinds]
    unsubscribe = services.unsubscribe_link(user.id, ",".join(kinds))
    subject = lazy_ngettext("Votre résumé du jour : %(num)d notification",
                            "Votre résumé du jour : %(num)d notifications", len(wanted))
    email = services.queue_email(
        user.email, "notification.digest", subject, "digest", locale=user.locale,
        extra_headers=services.unsubscribe_headers(unsubscribe), user=user, groups=groups, count=len(wanted),
        link=services.external_url("notifications.index"), unsubscribe_link=unsubscribe,
        preferences_link=services.external_url("notifications.preferences"),
    )
    for n in wanted:
        n.email_id = email.id
    return 1
