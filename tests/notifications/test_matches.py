"""Match notifications through the real path: a trusted company publishes, the match job runs
(Huey immediate), the other company hears about it once per pair, whatever happens next."""
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.matching.models import Match
from marketplace.matching.tasks import match_listing
from marketplace.notifications import services
from tests.conftest import login
from tests.notifications.conftest import notifications_of, offer_form, path_of, text


def cow_feed_need(make_listing, farm):
    return make_listing(farm, "published", kind="need", title="Aliment pour mes vaches laitières",
                        description="Élevage laitier cherche un coproduit pour l'alimentation animale.",
                        waste_code=None, quantity=2, unit="t", frequency="weekly")


def publish(client, brewer, **overrides):
    login(client, brewer)
    response = client.post("/annonces/nouvelle", data=offer_form(brewer.company.sites[0].id, **overrides))
    assert response.status_code == 302
    return db.session.scalar(sa.select(Listing).order_by(Listing.id.desc()))


def test_same_pair_is_never_told_twice_even_when_matching_runs_again(app, client, people, make_listing, smtp):
    farmer = people["farmer"]
    need = cow_feed_need(make_listing, people["farm"])
    offer = publish(client, people["brewer"])
    [notification] = notifications_of(farmer, "match")
    assert notification.dedup_key == f"match:{offer.id}:{need.id}"
    assert notification.listing_id == need.id  # their listing: the one a mute of theirs would name
    assert path_of(notification.link) == f"/annonces/{offer.id}"
    assert "débouché habituel" in notification.body
    [mail] = smtp.to(farmer.email)
    assert "Drêches de brasserie" in mail["Subject"] and "Aliment pour mes vaches" in text(mail)
    assert "débouché habituel" in text(mail) and mail["List-Unsubscribe"]
    assert notifications_of(people["brewer"], "match") == []  # the publisher is not told about their own

    # The stored match is forgotten (e.g. a vocabulary refresh): the next run finds it "new" again.
    db.session.execute(sa.delete(Match))
    db.session.commit()
    assert match_listing.call_local(offer.id) == 1
    db.session.expire_all()
    assert len(notifications_of(farmer, "match")) == 1 and len(smtp.to(farmer.email)) == 1


def test_a_muted_need_hears_nothing(app, client, people, make_listing, smtp):
    farmer = people["farmer"]
    need = cow_feed_need(make_listing, people["farm"])
    services.mute_listing(farmer, need)
    db.session.commit()
    publish(client, people["brewer"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Match)) == 1  # matched, silently
    assert notifications_of(farmer) == [] and smtp.to(farmer.email) == []


def test_match_notification_in_daily_mode_waits_for_the_digest(app, client, people, make_listing, smtp):
    farmer = people["farmer"]
    services.set_mode(farmer, "match", "daily")
    db.session.commit()
    cow_feed_need(make_listing, people["farm"])
    publish(client, people["brewer"])
    [notification] = notifications_of(farmer, "match")
    assert notification.delivery == "digest" and smtp.to(farmer.email) == []
