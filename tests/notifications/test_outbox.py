"""The e-mail outbox: with SMTP down nothing is lost; once it is back each message goes exactly once."""
from datetime import timedelta

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.notifications.models import OutgoingEmail
from marketplace.notifications.services import queue_email
from marketplace.notifications.tasks import deliver_due, deliver_email


def queue(n=1):
    for i in range(n):
        queue_email(f"dest{i}@example.fr", "test", f"Sujet {i}", "confirm_email", user=type("U", (), {"full_name": "X"}),
                    link="http://localhost/x")
    db.session.commit()


def test_smtp_down_then_back_delivers_once(app, smtp):
    smtp.stop()
    try:
        queue(3)
        emails = db.session.scalars(sa.select(OutgoingEmail)).all()
        assert [e.state for e in emails] == ["pending"] * 3
        assert all(e.attempts == 1 and "Connection refused" in e.last_error for e in emails)
        assert deliver_due() == 0  # not due yet: back-off
    finally:
        smtp.start()
    for e in emails:
        e.next_attempt_at -= timedelta(hours=1)
    db.session.commit()
    assert deliver_due() == 3
    assert deliver_due() == 0
    for e in emails:
        deliver_email.call_local(e.id)  # a late duplicate job does nothing
    assert sorted(m["To"] for m in smtp.messages) == ["dest0@example.fr", "dest1@example.fr", "dest2@example.fr"]
    db.session.expire_all()
    assert {e.state for e in emails} == {"sent"}


def test_message_is_a_text_and_html_pair(app, smtp):
    queue(1)
    [msg] = smtp.messages
    assert msg.get_body(preferencelist=("plain",)) is not None
    assert msg.get_body(preferencelist=("html",)) is not None
    assert msg["X-Marketplace-Email-Id"]


def test_a_message_is_claimed_by_one_worker_only_and_the_lease_expires(app, smtp):
    from marketplace.notifications.tasks import _claim

    smtp.stop()
    try:
        queue(1)
    finally:
        smtp.start()
    email = db.session.scalars(sa.select(OutgoingEmail)).one()
    assert _claim(email.id) is not None
    assert _claim(email.id) is None  # a second worker (or the sweep) gets nothing
    email.next_attempt_at -= timedelta(minutes=11)  # the first worker died while sending
    db.session.commit()
    assert _claim(email.id) is not None
