"""notify(): the same person is told once per thing; preferences, mutes, "tout couper" and the daily
cap are respected; every notification e-mail carries the one-click unsubscribe headers (RFC 8058)."""
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.extensions import db
from marketplace.notifications import services
from marketplace.notifications.models import Notification, OutgoingEmail
from tests.notifications.conftest import notifications_of, text, unsubscribe_path

LINK = "http://localhost/annonces/1"


def tell(user, key="k1", kind="match", title="Une annonce correspond", listing=None, **kwargs):
    notification = services.notify(user, kind, title, "Pourquoi : mêmes drêches", LINK, key, listing=listing, **kwargs)
    db.session.commit()
    return notification


def test_the_same_person_is_told_once_per_dedup_key(app, people, smtp):
    farmer, brewer = people["farmer"], people["brewer"]
    first = tell(farmer, "match:1:2")
    assert first is not None and first.delivery == "instant" and first.email_id is not None
    assert tell(farmer, "match:1:2") is None
    assert len(notifications_of(farmer)) == 1 and len(smtp.to(farmer.email)) == 1
    assert tell(brewer, "match:1:2") is not None  # the key is per person


def test_a_concurrent_insert_of_the_same_key_is_skipped_not_an_error(app, people, smtp, monkeypatch):
    farmer = people["farmer"]
    assert tell(farmer, "message:7", kind="message") is not None
    # Another transaction told them between our check and our insert: the insert does nothing.
    monkeypatch.setattr(services, "already_told", lambda user_id, key: False)
    assert tell(farmer, "message:7", kind="message") is None
    assert len(notifications_of(farmer)) == 1 and len(smtp.to(farmer.email)) == 1


def test_instant_email_has_the_title_as_subject_and_the_one_click_headers(app, people, smtp):
    farmer = people["farmer"]
    notification = tell(farmer, "match:1:2", title="Drêches à Quimper")
    [message] = smtp.to(farmer.email)
    assert message["Subject"] == "Drêches à Quimper"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<http://localhost/notifications/desabonnement/")
    body = text(message)
    assert "Se désabonner de ces notifications" in body and unsubscribe_path(message) in body
    assert "/notifications/preferences" in body and LINK in body
    html = message.get_body(preferencelist=("html",)).get_content()
    assert unsubscribe_path(message) in html
    email = db.session.get(OutgoingEmail, notification.email_id)
    assert email.state == "sent" and email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_muted_listing_category_and_everything(app, people, make_listing, smtp):
    farmer = people["farmer"]
    dreches = make_listing(people["brewery"], title="Drêches", category="materials")
    forklift = make_listing(people["brewery"], title="Chariot élévateur", category="equipment")
    services.mute_listing(farmer, dreches)
    db.session.commit()
    assert tell(farmer, "a", listing=dreches) is None
    assert tell(farmer, "b", kind="alert", listing=dreches) is None
    assert tell(farmer, "c", listing=forklift) is not None
    assert tell(farmer, "d", listing=forklift, about=dreches) is None  # news about a muted listing
    # Conversations are not news about listings: a listing mute does not silence them.
    assert tell(farmer, "e", kind="message", listing=dreches) is not None

    services.mute_category(farmer, "equipment")
    db.session.commit()
    assert tell(farmer, "f", listing=forklift) is None
    assert tell(farmer, "g", category="equipment") is None

    services.set_everything_off(farmer, True)
    db.session.commit()
    for kind in ("match", "alert", "message", "moderation", "pending"):
        assert tell(farmer, f"h-{kind}", kind=kind) is None
    assert {n.dedup_key for n in notifications_of(farmer)} == {"c", "e"}

    services.set_everything_off(farmer, False)
    db.session.commit()
    assert tell(farmer, "i", kind="message") is not None


def test_kind_off_tells_nothing_and_daily_waits_for_the_digest(app, people, smtp):
    farmer = people["farmer"]
    services.set_mode(farmer, "match", "off")
    db.session.commit()
    assert tell(farmer, "a") is None and notifications_of(farmer) == []
    services.set_mode(farmer, "match", "daily")
    db.session.commit()
    daily = tell(farmer, "b")
    assert daily.delivery == "digest" and daily.email_id is None and daily.digested_at is None
    assert smtp.to(farmer.email) == []
    assert tell(farmer, "c", kind="message").delivery == "instant"  # other kinds keep their mode
    assert len(smtp.to(farmer.email)) == 1


def test_defaults(app, people):
    assert services.modes_for(people["farmer"].id) == {
        "match": "instant", "alert": "daily", "message": "instant", "moderation": "instant", "pending": "instant",
        "auction": "instant", "synergy": "instant"}


def test_daily_cap_sends_the_rest_to_the_digest(app, people, smtp):
    app.config["NOTIFY_DAILY_CAP"] = 3
    farmer = people["farmer"]
    told = [tell(farmer, f"k{i}") for i in range(5)]
    assert [n.delivery for n in told] == ["instant"] * 3 + ["digest"] * 2
    assert len(smtp.to(farmer.email)) == 3
    assert tell(people["brewer"], "k0").delivery == "instant"  # the cap is per person
    for n in told:  # a rolling 24 h window
        n.created_at -= timedelta(hours=25)
    db.session.commit()
    assert tell(farmer, "k9").delivery == "instant"


def test_inactive_people_are_not_told(app, people, smtp):
    farmer = people["farmer"]
    farmer.is_active_account = False
    db.session.commit()
    assert tell(farmer, "a", kind="message") is None and smtp.to(farmer.email) == []


def test_account_emails_are_never_muted(app, client, people, smtp):
    farmer = people["farmer"]
    services.set_everything_off(farmer, True)
    db.session.commit()
    client.post("/compte/mot-de-passe-oublie", data={"email": farmer.email})
    [message] = smtp.to(farmer.email)
    assert message["List-Unsubscribe"] is None


def test_title_and_subject_in_the_recipient_language(app, people, smtp):
    practitioner = people["practitioner"]
    practitioner.locale = "en"
    db.session.commit()
    notification = tell(practitioner, "p", kind="pending", title=_l("Annonce à valider : %(title)s", title="Drêches"))
    assert notification.title == "Listing awaiting approval: Drêches"
    [message] = smtp.to(practitioner.email)
    assert message["Subject"] == "Listing awaiting approval: Drêches"


def test_unread_count_and_mark_all_read(app, people):
    farmer = people["farmer"]
    for i in range(3):
        tell(farmer, f"m{i}", kind="message")
    assert services.unread_count(farmer.id) == 3
    assert services.mark_all_read(farmer) == 3
    db.session.commit()
    assert services.unread_count(farmer.id) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.read_at.is_(None))) == 0
