"""Flask-Mail with a time limit. Flask-Mail opens its SMTP connections without any: a server that
accepts the connection and then stalls (in its greeting, before answering RCPT, after the data) would
hold the worker forever. Here every socket operation gives up after MAIL_TIMEOUT seconds, and a
connection that failed is closed without the QUIT exchange (its server may be the one that stalls),
and a QUIT that fails after the server accepted the messages is not taken for a failed delivery."""
from __future__ import annotations

import smtplib

import flask_mail
from flask import current_app


class TimedConnection(flask_mail.Connection):
    def configure_host(self) -> smtplib.SMTP:
        timeout = current_app.config.get("MAIL_TIMEOUT") or None
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=timeout)
        try:
            host.set_debuglevel(int(self.mail.debug))
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        host, self.host = self.host, None
        if host is None:
            return
        if exc_type is None:
            try:
                host.quit()
                return
            except (OSError, smtplib.SMTPException):
                pass  # the messages were accepted already: a stalled goodbye changes nothing
        host.close()


class TimedMail(flask_mail.Mail):
    """`mail.send(message)` as in Flask-Mail, over a `TimedConnection`."""

    def connect(self) -> TimedConnection:
        app = getattr(self, "app", None) or current_app
        return TimedConnection(app.extensions["mail"])
