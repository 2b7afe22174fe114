"""The in-app notification list, the header counter, preferences and mutes — and that nobody can
read or change someone else's."""
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.notifications import services
from marketplace.notifications.models import Mute, Notification
from tests.conftest import login
from tests.notifications.conftest import notifications_of


def tell(user, key, title, kind="message", link="http://localhost/messages/1", listing=None):
    notification = services.notify(user, kind, title, "Bonjour, vos drêches m'intéressent.", link, key,
                                   listing=listing)
    db.session.commit()
    return notification


def test_list_newest_first_unread_highlighted_and_counted_in_the_header(app, client, people):
    farmer = people["farmer"]
    old = tell(farmer, "message:1", "Premier message")
    tell(farmer, "message:2", "Deuxième message")
    tell(people["brewer"], "message:3", "Message pour quelqu'un d'autre")
    old.read_at = old.created_at
    db.session.commit()
    login(client, farmer)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index("Deuxième message") < page.index("Premier message")
    assert "quelqu'un d'autre" not in page
    assert page.count('class="card notification unread"') == 1
    assert 'class="badge unread-count">1<' in client.get("/annonces").get_data(as_text=True)


def test_mark_one_read_then_open_and_mark_all_read(app, client, people):
    farmer = people["farmer"]
    first = tell(farmer, "message:1", "Premier message", link="http://localhost/messages/42")
    second = tell(farmer, "message:2", "Deuxième message")
    third = tell(farmer, "message:3", "Troisième message")
    login(client, farmer)
    response = client.post(f"/notifications/{first.id}/lue", data={"open": "1"})
    assert response.status_code == 302 and response.location == "/messages/42"  # stays on this site
    response = client.post(f"/notifications/{second.id}/lue")
    assert response.status_code == 302 and response.location.endswith("/notifications")
    db.session.expire_all()
    assert first.read_at and second.read_at and not third.read_at
    assert services.unread_count(farmer.id) == 1
    client.post("/notifications/tout-lu")
    assert services.unread_count(farmer.id) == 0
    assert "unread-count" not in client.get("/notifications").get_data(as_text=True)


def test_nobody_reads_or_marks_someone_elses_notifications(app, client, people):
    farmer = people["farmer"]
    notification = tell(farmer, "message:1", "Secret", link="http://localhost/messages/1")
    login(client, people["brewer"])
    assert client.post(f"/notifications/{notification.id}/lue", data={"open": "1"}).status_code == 404
    assert client.post("/notifications/999999/lue").status_code == 404
    client.post("/notifications/tout-lu")  # marks only the brewer's
    assert "Secret" not in client.get("/notifications").get_data(as_text=True)
    db.session.expire_all()
    assert notification.read_at is None


def test_preferences_page_saves_modes_and_everything_off(app, client, people):
    farmer = people["farmer"]
    login(client, farmer)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Un résumé par jour" in page and "Tout couper" in page
    response = client.post("/notifications/preferences", data={
        "match": "daily", "alert": "instant", "message": "instant", "moderation": "off", "pending": "instant"})
    assert response.status_code == 302
    assert services.modes_for(farmer.id) == {
        "match": "daily", "alert": "instant", "message": "instant", "moderation": "off", "pending": "instant",
        "auction": "instant", "synergy": "instant"}
    assert not services.is_everything_off(farmer.id)
    client.post("/notifications/preferences", data={
        "match": "daily", "alert": "instant", "message": "instant", "moderation": "off", "pending": "instant",
        "everything_off": "y"})
    assert services.is_everything_off(farmer.id)
    bad = client.post("/notifications/preferences", data={"match": "sometimes", "alert": "instant",
                                                          "message": "instant", "moderation": "off",
                                                          "pending": "instant"})
    assert bad.status_code == 422 and services.mode_for(farmer.id, "match") == "daily"


def test_mute_a_listing_from_its_page_and_a_category_then_unmute(app, client, people, make_listing):
    farmer = people["farmer"]
    listing = make_listing(people["brewery"], title="Drêches de brasserie")
    owner = app.test_client()
    login(owner, people["brewer"])
    assert "Ne plus être prévenu pour cette annonce" not in owner.get(f"/annonces/{listing.id}").get_data(as_text=True)
    assert "Ne plus être prévenu" not in app.test_client().get(f"/annonces/{listing.id}").get_data(as_text=True)

    login(client, farmer)
    assert "Ne plus être prévenu pour cette annonce" in client.get(f"/annonces/{listing.id}").get_data(as_text=True)
    response = client.post(f"/annonces/{listing.id}/sourdine")
    assert response.status_code == 302 and response.location.endswith(f"/annonces/{listing.id}")
    client.post(f"/annonces/{listing.id}/sourdine")  # twice: still one mute
    [mute] = db.session.scalars(sa.select(Mute).where(Mute.user_id == farmer.id)).all()
    assert mute.listing_id == listing.id
    assert "Réactiver les notifications pour cette annonce" in client.get(f"/annonces/{listing.id}").get_data(as_text=True)
    assert tell(farmer, "alert:1:1", "Alerte", kind="alert", listing=listing) is None

    client.post("/notifications/preferences/categories", data={"category": "energy"})
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Drêches de brasserie" in page and "Catégorie :" in page
    muted = {(m.listing_id, m.category) for m in services.mutes_of(farmer.id)}
    assert muted == {(listing.id, None), (None, "energy")}

    intruder = app.test_client()
    login(intruder, people["brewer"])
    assert intruder.post(f"/notifications/sourdines/{mute.id}/retirer").status_code == 404
    assert client.post(f"/notifications/sourdines/{mute.id}/retirer",
                       data={"next": f"/annonces/{listing.id}"}).location.endswith(f"/annonces/{listing.id}")
    assert {(m.listing_id, m.category) for m in services.mutes_of(farmer.id)} == {(None, "energy")}
    assert tell(farmer, "alert:1:1", "Alerte", kind="alert", listing=listing) is not None


def test_a_draft_cannot_be_muted_by_others(app, client, people, make_listing):
    draft = make_listing(people["brewery"], "draft", title="Brouillon")
    login(client, people["farmer"])
    assert client.post(f"/annonces/{draft.id}/sourdine").status_code == 404
    assert db.session.scalars(sa.select(Mute)).all() == []


def test_conversation_messages_are_notifications(app, client, people, make_listing, smtp):
    """A message appears in the app of every member of the other company and is mailed, once."""
    listing = make_listing(people["brewery"], title="Drêches de brasserie")
    login(client, people["farmer"])
    client.post(f"/annonces/{listing.id}/repondre", data={"message": "Je prends tout", "quantity": "2"})
    for member in (people["brewer"], people["colleague"]):
        [notification] = notifications_of(member, "message")
        assert notification.body == "Je prends tout" and notification.dedup_key.startswith("message:")
        assert "/messages/" in notification.link
        [mail] = smtp.to(member.email)
        assert "Nouvelle réponse à votre annonce" in mail["Subject"] and mail["List-Unsubscribe"]
    assert notifications_of(people["farmer"]) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2


def test_moderation_and_pending_are_notifications(app, client, people, make_company, make_user):
    """Pending listings reach the practitioners, decisions reach the author, in the app too."""
    from marketplace.listings.models import Listing
    from tests.notifications.conftest import offer_form

    company = make_company("Scierie", "29900")
    author = make_user("scieur@scierie.fr", company=company)
    login(client, author)
    client.post("/annonces/nouvelle", data=offer_form(company.sites[0].id, title="Sciure"))
    listing = db.session.scalar(sa.select(Listing).where(Listing.title == "Sciure"))
    assert listing.status == "pending"
    [pending] = notifications_of(people["practitioner"], "pending")
    assert pending.listing_id == listing.id and "Sciure" in pending.title

    moderator = app.test_client()
    login(moderator, people["practitioner"])
    moderator.post(f"/annonces/{listing.id}/rejeter", data={"reason": "Précisez la quantité"})
    [rejected] = notifications_of(author, "moderation")
    assert "Précisez la quantité" in rejected.body
    client.post(f"/annonces/{listing.id}/soumettre")  # resubmitted: the practitioner is told again
    assert len(notifications_of(people["practitioner"], "pending")) == 2
    moderator.post(f"/annonces/{listing.id}/approuver")
    assert [n.title for n in notifications_of(author, "moderation")] == [
        "Votre annonce doit être modifiée", "Votre annonce est publiée"]


def test_a_page_number_past_any_database_integer_shows_an_empty_page(app, client, people):
    tell(people["farmer"], "message:1", "Premier message")
    login(client, people["farmer"])
    for page in ("99999999999999999999", "9223372036854775807", "0", "-3"):
        response = client.get(f"/notifications?page={page}")
        assert response.status_code == 200, page  # was a 500: OverflowError (SQLite), out of range (PostgreSQL)
