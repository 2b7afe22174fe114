"""The daily digest: one e-mail per person with what they chose to hear about once a day; running
it again sends nothing more."""
from datetime import datetime

from marketplace.extensions import db
from marketplace.notifications import services
from marketplace.notifications.tasks import daily_digest
from tests.notifications.conftest import notifications_of, text, unsubscribe_path


def tell(user, key, kind, title):
    notification = services.notify(user, kind, title, "", f"http://localhost/annonces/{len(key)}", key)
    db.session.commit()
    return notification


def test_digest_groups_into_one_email_per_person_and_is_idempotent(app, runner, people, smtp):
    farmer, brewer = people["farmer"], people["brewer"]
    services.set_mode(farmer, "match", "daily")
    db.session.commit()
    tell(farmer, "match:1:2", "match", "Drêches de brasserie")
    tell(farmer, "match:3:2", "match", "Pain invendu")
    tell(farmer, "alert:1:5", "alert", "Alerte « big bag » : GRVS propres")
    tell(farmer, "message:1", "message", "Nouveau message")  # instant: not in the digest
    tell(brewer, "alert:2:6", "alert", "Alerte « palettes » : Palettes")
    smtp.clear()

    result = runner.invoke(args=["notifications", "digest"])
    assert result.exit_code == 0, result.output
    assert "2 résumé(s)" in result.output
    [mail] = smtp.to(farmer.email)
    assert mail["Subject"] == "Votre résumé du jour : 3 notifications"
    body = text(mail)
    for title in ("Drêches de brasserie", "Pain invendu", "Alerte « big bag » : GRVS propres"):
        assert title in body
    assert "Nouveau message" not in body
    assert "Correspondances avec vos annonces" in body and "Alertes (recherches enregistrées)" in body
    assert body.index("Drêches de brasserie") < body.index("Alerte « big bag »")  # grouped by kind
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and unsubscribe_path(mail) in body
    [brewer_mail] = smtp.to(brewer.email)
    assert brewer_mail["Subject"] == "Votre résumé du jour : 1 notification"
    digested = [n for n in notifications_of(farmer) if n.delivery == "digest"]
    assert len(digested) == 3 and all(n.digested_at and n.email_id for n in digested)

    smtp.clear()
    again = runner.invoke(args=["notifications", "digest"])
    assert "0 résumé(s)" in again.output and smtp.messages == []

    tell(farmer, "alert:1:9", "alert", "Alerte « big bag » : Big bags neufs")  # a new one: next digest
    assert daily_digest.call_local() == 1
    [mail] = smtp.to(farmer.email)
    assert "Big bags neufs" in text(mail) and "Pain invendu" not in text(mail)


def test_digest_runs_every_morning(app):
    task = daily_digest.task_class()
    assert task.validate_datetime(datetime(2026, 11, 24, 7, 0))
    assert not task.validate_datetime(datetime(2026, 11, 24, 8, 0))
    assert not task.validate_datetime(datetime(2026, 11, 24, 7, 1))


def test_digest_respects_what_changed_since(app, people, make_listing, smtp):
    farmer = people["farmer"]
    listing = make_listing(people["brewery"], title="GRVS propres")
    tell(farmer, "alert:1:1", "alert", "Première")
    services.notify(farmer, "alert", "Deuxième", "", "http://localhost/annonces/1", "alert:1:2", listing=listing)
    services.mute_listing(farmer, listing)
    db.session.commit()
    assert daily_digest.call_local() == 1
    [mail] = smtp.to(farmer.email)
    assert "Première" in text(mail) and "Deuxième" not in text(mail)

    smtp.clear()
    tell(farmer, "alert:1:3", "alert", "Troisième")
    services.set_mode(farmer, "alert", "off")
    db.session.commit()
    assert daily_digest.call_local() == 0 and smtp.messages == []
    assert all(n.digested_at for n in notifications_of(farmer))  # dropped, not kept for later


def test_one_click_from_the_digest_turns_off_the_kinds_it_contains(app, people, smtp):
    farmer = people["farmer"]
    services.set_mode(farmer, "match", "daily")
    db.session.commit()
    tell(farmer, "match:1:2", "match", "Drêches")
    tell(farmer, "alert:1:5", "alert", "GRVS")
    daily_digest.call_local()
    [mail] = smtp.to(farmer.email)
    response = app.test_client().post(unsubscribe_path(mail), data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert response.status_code == 200
    assert services.modes_for(farmer.id) == {
        "match": "off", "alert": "off", "message": "instant", "moderation": "instant", "pending": "instant",
        "auction": "instant", "synergy": "instant"}
