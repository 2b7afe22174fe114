"""Mail delivery throughput: N e-mails (500 by default) written to the outbox as the application writes
them (`queue_email`: rendered in the recipient's language, one row each, a `deliver_email` job queued
after commit), then delivered by a real Huey consumer (`huey_consumer marketplace.worker.huey -w 2
-k thread`, as in production) to a local SMTP server (aiosmtpd on 127.0.0.1, as the tests use).
Yardstick in the same run: the same messages sent with plain smtplib to the same server, one
connection per message (as Flask-Mail does) and, for reference, all over one connection.

    .venv/bin/python bench/mail_bench.py [--count 500] [--consumer-workers 2]
"""
from __future__ import annotations

import argparse
import os
import smtplib
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import Consumer, free_port, instance_env  # noqa: E402


class CountingSink:
    """An SMTP server that accepts and counts messages."""

    def __init__(self):
        self.count = 0
        self.bytes = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.count += 1
            self.bytes += len(envelope.content or b"")
        return "250 OK"


def run(count: int = 500, consumer_workers: int = 2, timeout: float = 300) -> dict:
    from aiosmtpd.controller import Controller

    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    result: dict = {"count": count, "consumer_workers": consumer_workers}
    try:
        with tempfile.TemporaryDirectory(prefix="mail-bench-") as tmp:
            instance = Path(tmp)
            queue_url = f"sqlite:///{instance / 'jobs.db'}"
            settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "HUEY_URL": queue_url,
                        "HUEY_IMMEDIATE": False, "BASE_URL": "http://127.0.0.1", "SECRET_KEY": "mail-bench"}
            os.environ["MARKETPLACE_INSTANCE_PATH"] = str(instance)
            os.environ["MARKETPLACE_HUEY_URL"] = queue_url
            os.environ.pop("MARKETPLACE_DATABASE_URL", None)
            import sqlalchemy as sa
            from flask_mail import Message
            from flask_migrate import upgrade

            from marketplace import create_app
            from marketplace.extensions import db
            from marketplace.jobs import configure
            from marketplace.notifications.models import OutgoingEmail
            from marketplace.notifications.services import queue_email

            app = create_app(settings)
            configure(app.config)
            with app.app_context():
                upgrade(directory=str(ROOT / "migrations"))
            env = instance_env(instance, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, HUEY_URL=queue_url,
                               BASE_URL="http://127.0.0.1", SECRET_KEY="mail-bench")
            consumer = Consumer(env, instance / "consumer.log", workers=consumer_workers)
            try:
                with app.app_context():
                    # one message first, so that the consumer is up (app created, SMTP reached) before the clock
                    queue_email("warmup@example.fr", "account.confirm", "Bienvenue", "confirm_email",
                                user=SimpleNamespace(full_name="Warm Up"), link="http://127.0.0.1/x")
                    db.session.commit()
                    deadline = time.monotonic() + 60
                    while sink.count < 1 and time.monotonic() < deadline and consumer.alive():
                        time.sleep(0.05)
                    if sink.count < 1:
                        raise RuntimeError("the consumer sent nothing within 60 s:\n"
                                           + (instance / "consumer.log").read_text(errors="replace")[-3000:])
                    start = time.perf_counter()
                    for i in range(count):
                        queue_email(f"destinataire{i:04d}@example.fr", "account.confirm",
                                    "Confirmez votre adresse e-mail", "confirm_email",
                                    user=SimpleNamespace(full_name=f"Personne {i:04d}"),
                                    link=f"http://127.0.0.1/compte/confirmer/{i:04d}")
                    queued = time.perf_counter()
                    db.session.commit()  # the deliver_email jobs are enqueued here
                    committed = time.perf_counter()
                    deadline = time.monotonic() + timeout
                    while sink.count < count + 1 and time.monotonic() < deadline and consumer.alive():
                        time.sleep(0.02)
                    delivered = time.perf_counter()
                    result["rss_mib_consumer"] = consumer.rss_mib()
                    states = dict(db.session.execute(sa.select(OutgoingEmail.state, sa.func.count())
                                                     .group_by(OutgoingEmail.state)).all())
                    rows = db.session.scalars(sa.select(OutgoingEmail).where(OutgoingEmail.recipient != "warmup@example.fr")
                                              .order_by(OutgoingEmail.id)).all()
                    sender = app.config["MAIL_DEFAULT_SENDER"]
                    messages = [(row.recipient, Message(subject=row.subject, recipients=[row.recipient],
                                                        body=row.body_text, html=row.body_html, sender=sender,
                                                        extra_headers={"X-Marketplace-Email-Id": str(row.id)}
                                                        ).as_bytes()) for row in rows]
            finally:
                consumer.stop()
            result.update(queue_s=queued - start, commit_s=committed - queued, deliver_s=delivered - committed,
                          received=sink.count - 1, states=states)
            result["emails_per_s"] = result["received"] / (delivered - committed) if delivered > committed else None

            # yardstick: the same bytes through smtplib, a connection per message, then one connection
            before = sink.count
            start = time.perf_counter()
            for recipient, raw in messages:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    smtp.sendmail("no-reply@eit.localhost", [recipient], raw)
            result["smtplib_s"] = time.perf_counter() - start
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                for recipient, raw in messages:
                    smtp.sendmail("no-reply@eit.localhost", [recipient], raw)
            result["smtplib_one_connection_s"] = time.perf_counter() - start
            result["smtplib_received"] = sink.count - before
            result["smtplib_per_s"] = len(messages) / result["smtplib_s"]
            result["smtplib_one_connection_per_s"] = len(messages) / result["smtplib_one_connection_s"]
            result["bytes_per_message"] = sink.bytes / max(sink.count, 1)
    finally:
        controller.stop()
    return result


def report(r: dict) -> None:
    print(f"{r['count']} e-mails: written to the outbox in {r['queue_s']:.1f} s (rendering included), committed in "
          f"{r['commit_s']:.2f} s, delivered by the consumer (-w {r['consumer_workers']}) in {r['deliver_s']:.1f} s "
          f"= {r['emails_per_s']:.0f} e-mails/s; received {r['received']}; outbox states {r['states']}")
    print(f"yardstick, smtplib: {r['smtplib_per_s']:.0f} e-mails/s with a connection per message, "
          f"{r['smtplib_one_connection_per_s']:.0f}/s over one connection "
          f"({r['bytes_per_message'] / 1024:.1f} KiB per message); consumer RSS {r['rss_mib_consumer']:.0f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--consumer-workers", type=int, default=2)
    args = parser.parse_args()
    report(run(args.count, args.consumer_workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
