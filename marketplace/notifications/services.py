"""Queue e-mails in the outbox, in the caller's transaction; delivery happens after commit."""
from __future__ import annotations

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale

from marketplace.extensions import db
from marketplace.jobs import enqueue_after_commit
from marketplace.notifications.models import OutgoingEmail


def external_url(endpoint: str, **values) -> str:
    """An absolute link for e-mails, also from jobs and commands that have no request."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def queue_email(recipient: str, kind: str, subject: str, template: str, locale: str = "fr", **context) -> OutgoingEmail:
    """Render `email/<template>.txt` and `.html` in the recipient's language and store them for delivery."""
    with force_locale(locale or "fr"):
        context.setdefault("site_name", current_app.config["SITE_NAME"])
        text = render_template(f"email/{template}.txt", subject=subject, **context)
        html = render_template(f"email/{template}.html", subject=subject, **context)
    email = OutgoingEmail(recipient=recipient, kind=kind, subject=str(subject), body_text=text, body_html=html)
    db.session.add(email)
    db.session.flush()

    from marketplace.notifications.tasks import deliver_email

    enqueue_after_commit(db.session(), deliver_email, email.id)
    return email
