"""Fault: the SMTP server is slow. A server that stalls longer than MAIL_TIMEOUT (in its greeting,
before answering RCPT, or after taking the data) makes the attempt fail within the time limit: the
message stays pending with the error, and the next attempt, once the server answers again, delivers
it once. Every attempt carries the same Message-ID, so the one case SMTP cannot settle (the server
took the message but its answer never came back) leaves a recognisable copy."""
from __future__ import annotations

import asyncio
import socket
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.notifications.models import OutgoingEmail
from marketplace.notifications.services import queue_email
from marketplace.notifications.tasks import deliver_due
from tests.conftest import SmtpSink

MAIL_TIMEOUT = 1
STALL = 3 * MAIL_TIMEOUT


class StallingSmtp(SmtpSink):
    """A real SMTP server that can be told to stall before answering RCPT, or after storing the data."""

    def __init__(self):
        super().__init__()
        self.stall_in = None  # "RCPT", "DATA" or None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stall_in == "RCPT":
            await asyncio.sleep(STALL)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if self.stall_in == "DATA":
            await asyncio.sleep(STALL)  # the message is taken; the answer comes too late
        return answer


@pytest.fixture
def slow_smtp(app):
    server = StallingSmtp()
    server.start()
    state = app.extensions["mail"]
    port = state.port
    state.port = server.port
    app.config["MAIL_TIMEOUT"] = MAIL_TIMEOUT
    yield server
    state.port = port
    server.stop()


def queue_one() -> OutgoingEmail:
    email = queue_email("dest@example.fr", "test", "Sujet", "confirm_email", user=type("U", (), {"full_name": "X"}),
                        link="http://localhost/x")
    db.session.commit()  # immediate queue: the first attempt is made here
    db.session.refresh(email)
    return email


def make_due(email: OutgoingEmail) -> None:
    email.next_attempt_at = email.next_attempt_at - timedelta(hours=3)
    db.session.commit()


def expected_message_id(email: OutgoingEmail) -> str:
    return f"<outbox.{email.id}.{email.created_at:%Y%m%d%H%M%S}@eit.localhost>"


def test_a_server_that_never_greets_costs_one_timeout_and_the_message_waits(app, slow_smtp):
    with socket.socket() as mute:  # accepts connections (the kernel does), never says a word
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        app.extensions["mail"].port = mute.getsockname()[1]
        # Without a time limit the attempt would wait for ever: here until the server goes (a reset).
        hang_up = threading.Timer(STALL, lambda: mute.shutdown(socket.SHUT_RDWR))
        hang_up.start()
        email = queue_one()
        hang_up.cancel()
        app.extensions["mail"].port = slow_smtp.port
    assert (email.state, email.attempts) == ("pending", 1)
    assert "timed out" in email.last_error

    assert deliver_due() == 0  # back-off: not due yet
    make_due(email)
    assert deliver_due() == 1
    [message] = slow_smtp.messages
    assert message["Message-ID"] == expected_message_id(email)
    db.session.refresh(email)
    assert (email.state, email.attempts, email.last_error) == ("sent", 2, None)
    assert deliver_due() == 0


def test_a_server_stalling_before_rcpt_gets_the_message_once_when_fast_again(app, slow_smtp):
    slow_smtp.stall_in = "RCPT"
    email = queue_one()
    assert (email.state, email.attempts) == ("pending", 1)
    assert "timed out" in email.last_error
    assert slow_smtp.messages == []

    slow_smtp.stall_in = None
    make_due(email)
    assert deliver_due() == 1
    assert deliver_due() == 0
    [message] = slow_smtp.messages
    assert message["Message-ID"] == expected_message_id(email)
    assert db.session.scalar(sa.select(OutgoingEmail.state).where(OutgoingEmail.id == email.id)) == "sent"


def test_an_answer_lost_after_the_data_gives_a_copy_with_the_same_message_id(app, slow_smtp):
    """The limit of SMTP (docs/queue.md): the server has the message, we never heard it say so."""
    slow_smtp.stall_in = "DATA"
    email = queue_one()
    assert (email.state, email.attempts) == ("pending", 1)
    slow_smtp.stall_in = None
    make_due(email)
    assert deliver_due() == 1
    first, second = slow_smtp.messages
    assert first["Message-ID"] == second["Message-ID"] == expected_message_id(email)
