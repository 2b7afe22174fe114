"""Listings: form validation, photos, the draft → pending → published workflow, owner actions, browsing."""
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from PIL import Image

from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingEvent, ListingPhoto
from tests.conftest import listing_form, login


def form(site_id, **overrides):
    return listing_form(site_id, **{"description": "Drêches humides, 2 t par semaine.", "waste_code": "02 07 04",
                                    **overrides})


def image_bytes(fmt="PNG", size=(64, 48), exif=False):
    buf = io.BytesIO()
    img = Image.new("RGB", size, (30, 120, 70))
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "SecretCamera"  # Make
        img.save(buf, format="JPEG", exif=ex)
    else:
        img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def owner(make_territory, make_company, make_user):
    territory = make_territory("Cornouaille", "29900 29000")
    company = make_company("Brasserie de l'Odet", "29000")
    user = make_user("brasseur@odet.fr", company=company)
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[territory])
    return {"territory": territory, "company": company, "user": user, "practitioner": practitioner}


def listings():
    return db.session.scalars(sa.select(Listing)).all()


def test_create_with_bad_input_keeps_what_was_typed_and_saves_nothing(client, owner):
    login(client, owner["user"])
    site = owner["company"].sites[0].id
    response = client.post("/annonces/nouvelle", data=form(
        site, title="", category="", waste_code="99 99 99", quantity="-3", unit="", price_mode="priced",
        available_from="2026-05-10", available_until="2026-05-01"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Choisissez une catégorie", "Code déchet inconnu", "Indiquez le prix",
                    "La fin de disponibilité précède son début"):
        assert message in page, message
    assert "Drêches humides, 2 t par semaine." in page
    assert listings() == []


@pytest.mark.parametrize("field", ["quantity", "unit_price_eur"])
@pytest.mark.parametrize("value", ["sNaN", "NaN", "-Infinity"])
def test_a_number_that_is_no_number_is_refused_not_a_500(client, owner, field, value):
    login(client, owner["user"])
    response = client.post("/annonces/nouvelle", data=form(owner["company"].sites[0].id, **{
        "price_mode": "priced", "unit_price_eur": "12", field: value}))
    assert response.status_code == 422  # "sNaN" was a 500: NumberRange cannot compare a signaling NaN
    assert "valeur décimale valide" in response.get_data(as_text=True)
    assert listings() == []


def test_site_of_another_company_is_refused(client, owner, make_company):
    other = make_company("Autre", "29900")
    login(client, owner["user"])
    response = client.post("/annonces/nouvelle", data=form(other.sites[0].id))
    assert response.status_code == 422 and listings() == []


def test_publish_goes_to_moderation_then_practitioner_approves(app, client, owner, smtp):
    login(client, owner["user"])
    response = client.post("/annonces/nouvelle", data=form(owner["company"].sites[0].id))
    assert response.status_code == 302
    [listing] = listings()
    assert listing.status == "pending" and listing.waste_code == "02 07 04" and not listing.is_hazardous
    assert "Drêches" not in client.get("/annonces").get_data(as_text=True)  # not public yet
    [note] = smtp.to("anim@cci.fr")
    assert "Annonce à valider" in note["Subject"] and f"/annonces/{listing.id}" in note.get_body(("plain",)).get_content()

    moderator = app.test_client()
    login(moderator, owner["practitioner"])
    page = moderator.get(f"/annonces/{listing.id}").get_data(as_text=True)
    assert "Approuver et publier" in page
    assert moderator.post(f"/annonces/{listing.id}/approuver").status_code == 302
    db.session.expire_all()
    assert listing.status == "published" and listing.published_at and listing.moderated_by_id
    assert [m["Subject"] for m in smtp.to("brasseur@odet.fr")] == ["Votre annonce est publiée"]
    assert "Drêches de brasserie" in app.test_client().get("/annonces").get_data(as_text=True)
    actions = db.session.scalars(sa.select(ListingEvent.action).order_by(ListingEvent.id)).all()
    assert actions == ["created", "submitted", "approved"]
    # A second click is explained, and changes nothing.
    again = moderator.post(f"/annonces/{listing.id}/approuver", follow_redirects=True)
    assert "déjà été traitée" in again.get_data(as_text=True)
    assert len(smtp.to("brasseur@odet.fr")) == 1


def test_reject_sends_reason_and_owner_can_resubmit(app, client, owner, smtp):
    login(client, owner["user"])
    client.post("/annonces/nouvelle", data=form(owner["company"].sites[0].id))
    [listing] = listings()
    moderator = app.test_client()
    login(moderator, owner["practitioner"])
    assert moderator.post(f"/annonces/{listing.id}/rejeter", data={"reason": ""}).status_code == 302
    db.session.expire_all()
    assert listing.status == "pending"  # no reason, nothing changes
    moderator.post(f"/annonces/{listing.id}/rejeter", data={"reason": "Précisez la quantité par semaine."})
    db.session.expire_all()
    assert listing.status == "draft" and listing.rejection_reason == "Précisez la quantité par semaine."
    [msg] = smtp.to("brasseur@odet.fr")
    assert "Précisez la quantité" in msg.get_body(preferencelist=("plain",)).get_content()
    assert "Précisez la quantité" in client.get("/mes-annonces").get_data(as_text=True)
    client.post(f"/annonces/{listing.id}/soumettre")
    db.session.expire_all()
    assert listing.status == "pending" and listing.rejection_reason is None


def test_trusted_company_publishes_directly(client, owner):
    from marketplace.territories.services import set_trusted

    set_trusted(owner["territory"], owner["company"], True, owner["practitioner"])
    db.session.commit()
    login(client, owner["user"])
    client.post("/annonces/nouvelle", data=form(owner["company"].sites[0].id))
    [listing] = listings()
    assert listing.status == "published"


def test_draft_hazardous_negative_price(client, owner):
    login(client, owner["user"])
    client.post("/annonces/nouvelle", data=form(
        owner["company"].sites[0].id, title="Huiles moteur usagées", waste_code="130205", price_mode="priced",
        unit_price_eur="-120.50", unit="t", submit_for="draft"))
    [listing] = listings()
    assert listing.status == "draft"
    assert listing.waste_code == "13 02 05" and listing.is_hazardous
    assert listing.unit_price_eur == Decimal("-120.50")
    page = client.get(f"/annonces/{listing.id}").get_data(as_text=True)
    assert "Déchet dangereux" in page and "Le cédant paie 120,50" in page


def test_photos_are_checked_reencoded_and_limited(app, client, owner):
    login(client, owner["user"])
    site = owner["company"].sites[0].id
    fake = (io.BytesIO(b"<?php echo 'not an image'; ?>"), "photo.jpg")
    response = client.post("/annonces/nouvelle", data=form(site, photos=[fake]), content_type="multipart/form-data")
    assert response.status_code == 422 and "pas une image lisible" in response.get_data(as_text=True)
    assert listings() == []

    good = (io.BytesIO(image_bytes("JPEG", exif=True)), "camera.jpg")
    png = (io.BytesIO(image_bytes("PNG", size=(3000, 2000))), "big.png")
    response = client.post("/annonces/nouvelle", data=form(site, photos=[good, png]), content_type="multipart/form-data")
    assert response.status_code == 302
    [listing] = listings()
    assert len(listing.photos) == 2
    big = next(p for p in listing.photos if p.width == 1600)
    assert big.height == 1067
    served = client.get(f"/photos/{listing.photos[0].filename}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(served.data)) as img:
        assert img.format == "JPEG" and 0x010F not in img.getexif()
    served.close()
    # The pending listing's photo is not public.
    assert app.test_client().get(f"/photos/{listing.photos[0].filename}").status_code == 404

    too_many = [(io.BytesIO(image_bytes()), f"p{i}.png") for i in range(6)]
    response = client.post(f"/annonces/{listing.id}/modifier", data=form(site, photos=too_many),
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "6 photos au maximum" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ListingPhoto)) == 2


def test_owner_status_transitions(client, owner, make_listing):
    listing = make_listing(owner["company"], "published")
    login(client, owner["user"])

    def act(action):
        client.post(f"/annonces/{listing.id}/statut", data={"action": action})
        db.session.expire_all()
        return listing.status

    assert act("reopen") == "published"  # not reserved: refused, unchanged
    assert act("reserve") == "reserved"
    assert act("reopen") == "published"
    assert act("close") == "closed"
    assert act("withdraw") == "closed"
    assert client.post(f"/annonces/{listing.id}/statut", data={"action": "explode"}).status_code == 400


def test_expired_listings_leave_the_index(app, owner, make_listing, runner):
    listing = make_listing(owner["company"], "published", expires_on=date.today() - timedelta(days=1))
    keep = make_listing(owner["company"], "published", title="Toujours là", expires_on=date.today() + timedelta(days=5))
    result = runner.invoke(args=["listings", "expire"])
    assert "1 annonce(s) expirée(s)" in result.output
    db.session.expire_all()
    assert (listing.status, keep.status) == ("expired", "published")


def test_browse_filters_distance_and_pagination(app, make_territory, make_company, make_listing):
    lorient = make_territory("Lorient", "56100")
    concarneau = make_company("Conserverie", "29900")
    quimper = make_company("Brasserie", "29000")
    lorient_co = make_company("Chantier", "56100")
    make_listing(concarneau, title="Coproduits de poisson", category="materials")
    make_listing(quimper, title="Chaleur fatale disponible", category="energy", waste_code=None)
    make_listing(quimper, title="Besoin de palettes", kind="need")
    make_listing(lorient_co, title="Ferraille navale", category="materials")
    make_listing(concarneau, "draft", title="Brouillon caché")
    client = app.test_client()

    def titles(query):
        # Words (q) are redirected to the search page, with the same filters (matches highlighted).
        page = client.get("/annonces" + query, follow_redirects=True).get_data(as_text=True)
        page = re.sub(r"<mark[^>]*>|</mark>", "", page)
        return {t for t in ["Coproduits de poisson", "Chaleur fatale disponible", "Besoin de palettes",
                            "Ferraille navale", "Brouillon caché"] if t in page}

    assert titles("") == {"Coproduits de poisson", "Chaleur fatale disponible", "Besoin de palettes", "Ferraille navale"}
    assert titles("?kind=need") == {"Besoin de palettes"}
    assert titles("?category=energy") == {"Chaleur fatale disponible"}
    assert titles(f"?territory={lorient.id}") == {"Ferraille navale"}
    # Concarneau–Quimper ≈ 20 km, Concarneau–Lorient ≈ 50 km.
    assert titles("?postcode=29900&radius_km=10") == {"Coproduits de poisson"}
    assert titles("?postcode=29900&radius_km=30") == {"Coproduits de poisson", "Chaleur fatale disponible",
                                                      "Besoin de palettes"}
    assert "Ferraille navale" in titles("?postcode=29900&radius_km=70")
    assert titles("?q=poisson") == {"Coproduits de poisson"}
    unknown = client.get("/annonces?postcode=00000").get_data(as_text=True)
    assert "Code postal inconnu" in unknown

    for i in range(25):
        make_listing(quimper, title=f"Lot numéro {i:02d}")
    first = client.get("/annonces").get_data(as_text=True)
    second = client.get("/annonces?page=2").get_data(as_text=True)
    assert first.count('class="card listing-card') == 20
    assert second.count('class="card listing-card') == 9
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_waste_code_picker_finds_by_code_and_by_word(client):
    by_code = client.get("/reference/codes-dechets?q=1501").get_json()["results"]
    assert by_code[0]["code"].startswith("15 01")
    by_word = client.get("/reference/codes-dechets?q=huiles moteur").get_json()["results"]
    assert any(r["code"] == "13 02 05" and r["hazardous"] for r in by_word)



def test_nightly_job_refreshes_the_planner_statistics(app, owner, make_listing):
    """SQLite reads the listing index's newest-first order from ix_listing_published_order only with
    statistics (at 100,000 listings: 30 → 13 ms per page, docs/benchmarks.md): the nightly job gathers
    them again as the data grows. PostgreSQL's autovacuum keeps its own."""
    from marketplace.listings.tasks import refresh_statistics

    make_listing(owner["company"], title="Lot 01")
    if db.engine.dialect.name != "sqlite":
        assert refresh_statistics.call_local() is False
        return
    db.session.execute(sa.text("DELETE FROM sqlite_stat1"))
    db.session.commit()
    assert refresh_statistics.call_local() is True
    stats = dict(db.session.execute(sa.text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'listing'")).all())
    assert stats["ix_listing_published_order"].startswith("1 ")
