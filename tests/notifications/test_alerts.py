"""Saved searches (alertes): the pure decision, the pages, and the real publication path."""
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace import reference
from marketplace.extensions import db
from marketplace.notifications import services
from marketplace.notifications.alerts import facts_of, query_units, satisfies
from marketplace.notifications.models import SavedSearch
from marketplace.vocabulary.rules import parse
from marketplace.vocabulary.services import shipped_text
from tests.conftest import login
from tests.notifications.conftest import notifications_of, offer_form, path_of, text

# The pure tests use their own small thesaurus, so that editing the shipped one does not change them.
VOCABULARY = parse(
    "grand récipient vrac souple, grvs, big bag, sac vrac\n"
    "plaque de plâtre, placo, ba13\n"
    "palette, palettes bois\n",
    "drêches => alimentation animale\n",
)
CONCARNEAU = reference.locate("29900")
LORIENT = reference.locate("56100")


def search(query="", kind=None, category=None, territory_id=None, postcode=None, radius_km=None):
    return SimpleNamespace(query=query, kind=kind, category=category, territory_id=territory_id,
                           postcode=postcode, radius_km=radius_km)


def listing(title, description="", kind="offer", category="materials", waste_code=None, territory_ids=(1,),
            place=CONCARNEAU):
    return facts_of(VOCABULARY, kind=kind, category=category, title=title, description=description,
                    waste_code=waste_code, territory_ids=territory_ids,
                    latitude=place.latitude if place else None, longitude=place.longitude if place else None)


def center(postcode):
    place = reference.locate(postcode)
    return (place.latitude, place.longitude)


@pytest.mark.parametrize("query, title, description, waste_code, expected", [
    ("palettes", "Palette bois", "", None, True),  # plural/singular
    ("réfrigérés", "Camion refrigere", "", None, True),  # accents and endings
    ("palettes plastique", "Palettes bois", "", None, False),  # every word is required
    ("camion frigorifique", "Camion", "Caisson frigorifique récent", None, True),  # title or description
    ("palettes bois", "Palettes", "", None, True),  # a thesaurus term: its group says they are the same
    ("big bag", "GRVS propres", "", None, True),  # a synonym of the thesaurus
    ("GRVS", "Lot de big bags", "", None, True),
    ("sacs vrac", "Big bags", "", None, True),  # multi-word term against another multi-word term
    ("big bag", "Sacs de jute", "", None, False),
    ("placo", "Chutes de plaque de plâtre", "", None, True),
    ("emballages bois", "Lot à donner", "", "15 01 03", True),  # the waste-code wording counts
    ("emballages bois", "Lot à donner", "", None, False),
    ("", "N'importe quoi", "", None, True),  # no words: only the filters decide
    ("des pour les", "Palettes", "", None, True),  # stop words only: no word constraint
])
def test_words_and_synonyms(query, title, description, waste_code, expected):
    assert satisfies(search(query), listing(title, description, waste_code=waste_code), VOCABULARY) is expected


def test_the_shipped_thesaurus_is_used_the_same_way():
    shipped = parse(shipped_text("thesaurus"), shipped_text("uses"))
    grvs = facts_of(shipped, kind="offer", category="materials", title="GRVS propres")
    assert satisfies(search("big bag"), grvs, shipped)
    assert not satisfies(search("big bag"), facts_of(shipped, kind="offer", category="materials",
                                                     title="Sacs de jute"), shipped)


def test_query_units_keep_thesaurus_terms_whole():
    assert query_units("big bag propres", VOCABULARY) == [("big", "bag"), ("propr",)]
    assert query_units("", VOCABULARY) == []


@pytest.mark.parametrize("criteria, facts, center_at, expected", [
    ({"kind": "offer"}, {"kind": "offer"}, None, True),
    ({"kind": "need"}, {"kind": "offer"}, None, False),
    ({"category": "materials"}, {"category": "materials"}, None, True),
    ({"category": "energy"}, {"category": "materials"}, None, False),
    ({"territory_id": 1}, {"territory_ids": (1, 2)}, None, True),
    ({"territory_id": 3}, {"territory_ids": (1, 2)}, None, False),
    ({"postcode": "29000", "radius_km": 30}, {"place": CONCARNEAU}, "29000", True),  # ~20 km
    ({"postcode": "29000", "radius_km": 10}, {"place": CONCARNEAU}, "29000", False),
    ({"postcode": "29000", "radius_km": None}, {"place": LORIENT}, "29000", False),  # default 30 km; ~60 km
    ({"postcode": "29000", "radius_km": 100}, {"place": LORIENT}, "29000", True),
    ({"postcode": "29000", "radius_km": 30}, {"place": None}, "29000", False),  # unknown place: not near
])
def test_filters(criteria, facts, center_at, expected):
    facts = listing("Palettes", **facts)
    assert satisfies(search(**criteria), facts, VOCABULARY, center(center_at) if center_at else None) is expected


# --- pages --------------------------------------------------------------------------------------


def test_browse_offers_to_create_an_alert_from_its_filters(app, client, people):
    login(client, people["farmer"])
    page = client.get("/annonces?category=materials&kind=offer&postcode=29000").get_data(as_text=True)
    assert "Créer une alerte" in page
    assert "/alertes/nouvelle?" in page and "category=materials" in page and "postcode=29000" in page
    form = client.get("/alertes/nouvelle?q=big+bag&category=materials&kind=offer&postcode=29000&radius_km=20")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and 'value="big bag"' in html and 'value="29000"' in html
    assert '<option selected value="materials">' in html and 'value="20"' in html


def test_create_list_pause_resume_delete(app, client, people):
    farmer = people["farmer"]
    login(client, farmer)
    empty = client.post("/alertes/nouvelle", data={"q": "", "kind": "offer"})
    assert empty.status_code == 422 and "au moins un filtre" in empty.get_data(as_text=True)
    bad = client.post("/alertes/nouvelle", data={"q": "palettes", "postcode": "99999"})
    assert bad.status_code == 422 and "Code postal inconnu" in bad.get_data(as_text=True)
    assert db.session.scalars(sa.select(SavedSearch)).all() == []

    response = client.post("/alertes/nouvelle", data={"q": "big bag", "category": "materials", "postcode": "29000",
                                                      "radius_km": "25", "territory": str(people["territory"].id)})
    assert response.status_code == 302 and response.location.endswith("/alertes")
    [saved] = db.session.scalars(sa.select(SavedSearch)).all()
    assert (saved.user_id, saved.name, saved.query, saved.category, saved.postcode, saved.radius_km,
            saved.territory_id, saved.active) == (farmer.id, "big bag · Matières · 29000", "big bag", "materials",
                                                  "29000", 25, people["territory"].id, True)
    page = client.get("/alertes").get_data(as_text=True)
    assert "big bag · Matières · 29000" in page and "Mettre en pause" in page

    client.post(f"/alertes/{saved.id}/pause")
    db.session.refresh(saved)
    assert not saved.active and "Réactiver" in client.get("/alertes").get_data(as_text=True)
    client.post(f"/alertes/{saved.id}/pause")
    db.session.refresh(saved)
    assert saved.active

    other = app.test_client()
    login(other, people["brewer"])
    assert other.post(f"/alertes/{saved.id}/supprimer").status_code == 404
    assert other.post(f"/alertes/{saved.id}/pause").status_code == 404
    assert "big bag" not in other.get("/alertes").get_data(as_text=True)
    db.session.refresh(saved)
    assert saved.active

    assert client.post(f"/alertes/{saved.id}/supprimer").status_code == 302
    assert db.session.scalars(sa.select(SavedSearch)).all() == []


# --- the publication path -----------------------------------------------------------------------


def create_alert(app, user, **data):
    client = app.test_client()
    login(client, user)
    assert client.post("/alertes/nouvelle", data=data).status_code == 302
    return db.session.scalar(sa.select(SavedSearch).order_by(SavedSearch.id.desc()))


def publish(app, user, **overrides):
    from marketplace.listings.models import Listing

    client = app.test_client()
    login(client, user)
    response = client.post("/annonces/nouvelle", data=offer_form(user.company.sites[0].id, **overrides))
    assert response.status_code == 302
    return client, db.session.scalar(sa.select(Listing).order_by(Listing.id.desc()))


def test_a_newly_published_listing_notifies_the_alert_owner_once(app, runner, people, smtp):
    farmer = people["farmer"]
    saved = create_alert(app, farmer, q="big bag", category="materials")
    client, offer = publish(app, people["brewer"], title="GRVS propres à donner",
                            description="Une trentaine, lavés.", waste_code="15 01 02")
    [notification] = notifications_of(farmer, "alert")
    assert notification.dedup_key == f"alert:{saved.id}:{offer.id}"
    assert path_of(notification.link) == f"/annonces/{offer.id}" and notification.listing_id == offer.id
    assert "GRVS propres à donner" in notification.title and notification.delivery == "digest"  # alerts: daily
    assert smtp.to(farmer.email) == []

    # Editing the published listing runs matching again (with notifications): still told once.
    client.post(f"/annonces/{offer.id}/modifier", data=offer_form(
        people["brewery"].sites[0].id, title="GRVS propres (30)", description="Lavés.", waste_code="15 01 02",
        submit_for="save"))
    assert len(notifications_of(farmer, "alert")) == 1

    runner.invoke(args=["notifications", "digest"])
    [digest] = smtp.to(farmer.email)
    assert f"http://localhost/annonces/{offer.id}" in text(digest)


def test_instant_alert_email_links_the_listing(app, people, smtp):
    farmer = people["farmer"]
    services.set_mode(farmer, "alert", "instant")
    db.session.commit()
    create_alert(app, farmer, q="drêches", kind="offer")
    _client, offer = publish(app, people["brewer"])
    mails = smtp.to(farmer.email)
    [alert_mail] = [m for m in mails if m["Subject"].startswith("Alerte")]
    assert alert_mail["Subject"] == "Alerte « drêches · Offres » : Drêches de brasserie"
    assert f"http://localhost/annonces/{offer.id}" in text(alert_mail) and alert_mail["List-Unsubscribe"]
    assert "Brasserie de l'Odet" in text(alert_mail)


def test_non_matching_listings_and_own_company_listings_notify_nobody(app, people, smtp):
    farmer, colleague = people["farmer"], people["colleague"]
    create_alert(app, farmer, q="palettes plastique")
    create_alert(app, colleague, q="drêches")  # a brewery colleague: their own company's listing
    create_alert(app, farmer, q="drêches", category="energy")  # the words fit, the category does not
    publish(app, people["brewer"])  # Drêches de brasserie
    assert notifications_of(farmer, "alert") == [] and notifications_of(colleague, "alert") == []


def test_paused_alerts_are_silent_and_several_fitting_alerts_tell_once(app, people):
    farmer = people["farmer"]
    first = create_alert(app, farmer, q="drêches")
    create_alert(app, farmer, q="brasserie", kind="offer")
    paused = create_alert(app, people["practitioner"], q="drêches")
    paused.active = False
    db.session.commit()
    _client, offer = publish(app, people["brewer"])
    [notification] = notifications_of(farmer, "alert")
    assert notification.dedup_key == f"alert:{first.id}:{offer.id}"
    assert notifications_of(people["practitioner"], "alert") == []
