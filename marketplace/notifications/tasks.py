"""Delivery of the outbox: one job per message, retried with back-off; a periodic sweep re-queues
what a lost job or a long SMTP outage left pending. A message marked sent is never sent again.
Every morning, the daily digest groups what people chose to hear about once a day."""
from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app
from flask_mail import Message
from huey import crontab

from marketplace.extensions import db, mail
from marketplace.jobs import app_periodic_task, app_task
from marketplace.models_base import utcnow
from marketplace.notifications.models import OutgoingEmail

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most 2 hours between tries."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 120))


def message_id(email: OutgoingEmail, sender: str) -> str:
    """The message's Message-ID, the same at every attempt. A server that took the message but whose
    answer never reached us (a time-out after the data) gets it again at the next attempt: SMTP cannot
    tell us, but the copy carries the same Message-ID, which mail clients and servers recognise."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<outbox.{email.id}.{email.created_at:%Y%m%d%H%M%S}@{domain}>"


def send_now(email: OutgoingEmail) -> bool:
    """Try once; record the outcome on the row. True when the SMTP server accepted the message."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = Message(
        subject=email.subject,
        recipients=[email.recipient],
        body=email.body_text,
        html=email.body_html,
        sender=sender,
        extra_headers={"X-Marketplace-Email-Id": str(email.id), **(email.extra_headers or {})},
    )
    message.msgId = message_id(email, sender)
    email.attempts += 1
    try:
        mail.send(message)
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        email.next_attempt_at = utcnow() + backoff(email.attempts)
        email.state = "failed" if email.attempts >= MAX_ATTEMPTS else "pending"
        log.warning("mail %s to %s not sent (attempt %s): %s", email.id, email.recipient, email.attempts, exc)
        return False
    email.state = "sent"
    email.sent_at = utcnow()
    email.last_error = None
    return True


CLAIM_MINUTES = 10


def _claim(email_id: int) -> OutgoingEmail | None:
    """Take a message with one atomic UPDATE, committed before sending: of two workers (the job and the
    sweep, say) exactly one wins, on SQLite as on PostgreSQL. The claim is a lease: if the worker dies
    while sending, the message is picked up again once the lease has run out."""
    now = utcnow()
    result = db.session.execute(
        sa.update(OutgoingEmail)
        .where(OutgoingEmail.id == email_id, sa.or_(
            OutgoingEmail.state == "pending",
            sa.and_(OutgoingEmail.state == "sending", OutgoingEmail.next_attempt_at <= now)))
        .values(state="sending", next_attempt_at=now + timedelta(minutes=CLAIM_MINUTES))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(OutgoingEmail, email_id)


@app_task()
def deliver_email(email_id: int) -> bool:
    email = _claim(email_id)
    if email is None:
        return False
    sent = send_now(email)
    db.session.commit()
    return sent


def deliver_due(limit: int = 200) -> int:
    """Send every pending message whose next attempt is due. Returns how many went out."""
    ids = db.session.scalars(
        sa.select(OutgoingEmail.id)
        .where(OutgoingEmail.state.in_(("pending", "sending")), OutgoingEmail.next_attempt_at <= utcnow())
        .order_by(OutgoingEmail.id)
        .limit(limit)
    ).all()
    sent = 0
    for email_id in ids:
        email = _claim(email_id)
        if email is not None and send_now(email):
            sent += 1
        db.session.commit()
    return sent


@app_periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    return deliver_due()


@app_periodic_task(crontab(hour="7", minute="0"))
def daily_digest() -> int:
    """One e-mail per person with their notifications left for the digest (Huey's clock: UTC)."""
    from marketplace.notifications.digest import send_digests

    return send_digests()
