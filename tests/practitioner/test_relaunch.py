"""Dormant ads and their relaunch: the rule, the queue per territory, relaunch runs against a real SMTP
server (one message per person), single-use answer links, expiry after two unanswered relaunches, the
dry run and the command line."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingEvent, ListingRelaunch
from marketplace.models_base import utcnow
from marketplace.practitioner import rules
from marketplace.practitioner.rules import EXPIRE, RELAUNCH, WAIT, PastRelaunch
from tests.conftest import SmtpSink, login

NOW = datetime(2026, 6, 1, 12, 0)
LINK = re.compile(r"https?://[^/\s]+(/relance/[^\s\"<]+)")


# --- the rule (pure) --------------------------------------------------------------------------------


def days_ago(n: float, now: datetime = NOW) -> datetime:
    return now - timedelta(days=n)


@pytest.mark.parametrize("settings, override, expected", [
    ([60], None, 60), ([60, 30, 90], None, 30), ([], None, rules.DEFAULT_DORMANT_DAYS), ([60, 30], 10, 10),
    ([], 45, 45),
])
def test_the_smallest_territory_setting_applies_unless_overridden(settings, override, expected):
    assert rules.dormant_after_days(settings, override) == expected


def test_last_activity_is_the_latest_update_view_or_message():
    assert rules.last_activity(days_ago(90)) == days_ago(90)
    assert rules.last_activity(days_ago(90), days_ago(10), None) == days_ago(10)
    assert rules.last_activity(days_ago(90), None, days_ago(5)) == days_ago(5)
    assert rules.last_activity(days_ago(3), days_ago(10), days_ago(5)) == days_ago(3)


@pytest.mark.parametrize("status, idle, days, dormant", [
    ("published", 60, 60, True), ("published", 59.9, 60, False), ("published", 200, 60, True),
    ("published", 31, 30, True), ("reserved", 200, 60, False), ("draft", 200, 60, False),
    ("expired", 200, 60, False), ("withdrawn", 200, 60, False), ("pending", 200, 60, False),
])
def test_only_published_listings_idle_for_the_period_are_dormant(status, idle, days, dormant):
    assert rules.is_dormant(status, days_ago(idle), days, NOW) is dormant


def test_idle_days_are_whole_days_never_negative():
    assert rules.idle_days(days_ago(61.7), NOW) == 61
    assert rules.idle_days(NOW + timedelta(hours=1), NOW) == 0


@pytest.mark.parametrize("relaunches, step", [
    ([], RELAUNCH),
    ([PastRelaunch(days_ago(3))], WAIT),  # the owner still has time to answer
    ([PastRelaunch(days_ago(20))], RELAUNCH),  # second relaunch
    ([PastRelaunch(days_ago(40)), PastRelaunch(days_ago(20))], EXPIRE),
    ([PastRelaunch(days_ago(40)), PastRelaunch(days_ago(2))], WAIT),  # second one just sent: wait for it
    ([PastRelaunch(days_ago(40), answered_at=days_ago(39)), PastRelaunch(days_ago(20))], RELAUNCH),
    # Relaunches before the last sign of life (answered by activity) do not count.
    ([PastRelaunch(days_ago(200)), PastRelaunch(days_ago(150))], RELAUNCH),
])
def test_next_step_expires_after_two_unanswered_relaunches(relaunches, step):
    since = days_ago(100)
    assert rules.next_step(since, relaunches, NOW, interval_days=14) == step


def test_value_counts_a_cost_like_a_price_and_needs_both_numbers():
    assert rules.value_eur(Decimal("10"), Decimal("-25")) == Decimal("250")
    assert rules.value_eur(Decimal("10"), Decimal("3.5")) == Decimal("35.0")
    assert rules.value_eur(None, Decimal("3")) is None
    assert rules.value_eur(Decimal("3"), None) is None


def test_queue_order_oldest_first_then_value_then_quantity():
    ads = {
        "old": (days_ago(200), None, Decimal("1")),
        "mid_cheap": (days_ago(100), Decimal("10"), Decimal("1")),
        "mid_rich": (days_ago(100), Decimal("900"), Decimal("1")),
        "mid_unpriced_big": (days_ago(100), None, Decimal("50")),
        "mid_unpriced_small": (days_ago(100), None, Decimal("5")),
        "recent_rich": (days_ago(61), Decimal("5000"), None),
    }
    by_age = sorted(ads, key=lambda k: rules.queue_key(*ads[k]))
    assert by_age == ["old", "mid_rich", "mid_cheap", "mid_unpriced_big", "mid_unpriced_small", "recent_rich"]
    by_value = sorted(ads, key=lambda k: rules.queue_key(*ads[k], by_value=True))
    assert by_value[:3] == ["recent_rich", "mid_rich", "mid_cheap"]
    assert by_value[3:] == ["mid_unpriced_big", "mid_unpriced_small", "old"]


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def area(make_territory, make_company, make_user, make_listing):
    """Two territories, each with its practitioner. In t1 (Cornouaille): the cannery (Alice, author of
    two dormant offers, and her colleague Anne), the brewery (Bob, one dormant need), a recycler
    (solution provider for materials, within 50 km). In t2 (Lorient): the shipyard's dormant offer."""
    t1 = make_territory("Cornouaille", "29900 29000 29100")
    t2 = make_territory("Pays de Lorient", "56100")
    cannery = make_company("Conserverie du Port", "29900")
    brewery = make_company("Brasserie de l'Odet", "29000")
    shipyard = make_company("Chantier Naval Lorientais", "56100")
    recycling = make_company("Recyclerie Bretonne", "29100", is_solution_provider=True,
                             handled_categories=["materials"], handled_waste_codes="15 01 03")
    alice = make_user("alice@conserverie.fr", company=cannery)
    anne = make_user("anne@conserverie.fr", company=cannery)
    bob = make_user("bob@brasserie.fr", company=brewery)
    carol = make_user("carol@chantier.fr", company=shipyard)
    recycler = make_user("tri@recyclerie.fr", company=recycling)
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[t1])
    lorient = make_user("anim@lorient.fr", role="practitioner", territories=[t2])
    admin = make_user("admin@eit.fr", role="admin")
    pallets = make_listing(cannery, title="Palettes bois 120x80", actor=alice, quantity=Decimal("12"), unit="t",
                           price_mode="priced", unit_price_eur=Decimal("-20"))
    crates = make_listing(cannery, title="Caisses polystyrène", actor=alice, waste_code="15 01 02",
                          quantity=Decimal("3"), unit="m3")
    grains = make_listing(brewery, kind="need", title="Cherche drêches", actor=bob, waste_code=None,
                          quantity=None, unit=None)
    scrap = make_listing(shipyard, title="Ferraille de chantier", actor=carol)
    fresh = make_listing(cannery, title="Filets de pêche", actor=alice)
    backdate(pallets, 90)
    backdate(crates, 120)
    backdate(grains, 70)
    backdate(scrap, 80)
    db.session.commit()
    return {"t1": t1, "t2": t2, "cannery": cannery, "brewery": brewery, "shipyard": shipyard, "recycling": recycling,
            "alice": alice, "anne": anne, "bob": bob, "carol": carol, "recycler": recycler,
            "practitioner": practitioner, "lorient": lorient, "admin": admin, "pallets": pallets, "crates": crates,
            "grains": grains, "scrap": scrap, "fresh": fresh}


def backdate(listing: Listing, days: float) -> None:
    listing.published_at = listing.last_activity_at = utcnow() - timedelta(days=days)
    db.session.commit()


def ids(ads) -> list[int]:
    return [ad.listing.id for ad in ads]


def relaunch_rows(listing=None) -> list[ListingRelaunch]:
    query = sa.select(ListingRelaunch).order_by(ListingRelaunch.id)
    if listing is not None:
        query = query.where(ListingRelaunch.listing_id == listing.id)
    return db.session.scalars(query).all()


def links_in(message) -> list[str]:
    return LINK.findall(SmtpSink.text(message))


def relaunch_as(client, area, listings, dry_run=False):
    data = {"listing_ids": [str(x.id) for x in listings]}
    if dry_run:
        data["dry_run"] = "1"
    return client.post("/animation/dormantes/relancer", data=data)


# --- the rule on the database -------------------------------------------------------------------------


def test_dormant_listings_of_given_territories_oldest_first(area):
    from marketplace.practitioner.relaunch import dormant_ads

    t1, t2 = area["t1"], area["t2"]
    assert ids(dormant_ads({t1.id})) == [area["crates"].id, area["pallets"].id, area["grains"].id]
    assert ids(dormant_ads({t2.id})) == [area["scrap"].id]
    assert ids(dormant_ads(None)) == [area["crates"].id, area["pallets"].id, area["scrap"].id, area["grains"].id]
    assert ids(dormant_ads({t1.id}, days=100)) == [area["crates"].id]  # an explicit period overrides
    ad = dormant_ads({t1.id})[1]
    assert (ad.idle_days, ad.after_days, ad.value_eur, ad.step) == (90, 60, Decimal("240.00"), RELAUNCH)


def test_a_message_or_a_view_by_another_company_wakes_a_listing_up(area, client):
    from marketplace.conversations.services import respond
    from marketplace.practitioner.relaunch import dormant_ads

    respond(area["bob"], area["pallets"], None, "Toujours dispo ?")
    db.session.commit()
    area["pallets"].last_activity_at = utcnow() - timedelta(days=90)  # only the message is recent
    db.session.commit()
    assert area["pallets"].id not in ids(dormant_ads(None))

    client.get(f"/annonces/{area['crates'].id}")  # anonymous: a crawler, a mail scanner… not interest
    assert area["crates"].id in ids(dormant_ads(None))
    login(client, area["carol"])
    client.get(f"/annonces/{area['crates'].id}")
    assert area["crates"].id not in ids(dormant_ads(None))
    assert area["crates"].view_count == 2


def test_views_by_the_owner_or_a_moderator_do_not_count(area, app):
    from marketplace.practitioner.relaunch import dormant_ads

    for user in ("alice", "practitioner", "admin"):
        client = app.test_client()
        login(client, area[user])
        assert client.get(f"/annonces/{area['crates'].id}").status_code == 200
    db.session.expire_all()
    assert area["crates"].id in ids(dormant_ads(None))
    assert area["crates"].view_count == 2  # the moderators' views are counted, not as interest


def test_the_smallest_setting_of_the_site_territories_applies(area, make_territory):
    from marketplace.practitioner.relaunch import dormant_ads

    fresh = area["fresh"]
    backdate(fresh, 40)
    assert fresh.id not in ids(dormant_ads(None))
    make_territory("Concarneau", "29900", dormant_after_days=30)  # the cannery's site is in it too
    assert fresh.id in ids(dormant_ads({area["t1"].id}))


# --- the queue page ---------------------------------------------------------------------------------


def test_the_queue_shows_only_the_practitioners_territories(area, app):
    titles = {key: area[key].title for key in ("pallets", "crates", "grains", "scrap")}

    def page(user, query=""):
        client = app.test_client()
        login(client, area[user])
        response = client.get(f"/animation/dormantes{query}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    mine = page("practitioner")
    assert all(titles[k] in mine for k in ("pallets", "crates", "grains")) and titles["scrap"] not in mine
    assert "Conserverie du Port" in mine and "90 jours" in mine and "240,00" in mine
    assert mine.index(titles["crates"]) < mine.index(titles["pallets"]) < mine.index(titles["grains"])
    by_value = page("practitioner", "?sort=value")
    assert by_value.index(titles["pallets"]) < by_value.index(titles["crates"])

    other = page("lorient")
    assert titles["scrap"] in other and not any(titles[k] in other for k in ("pallets", "crates", "grains"))
    other_asks_t1 = page("lorient", f"?territory={area['t1'].id}")  # not theirs: their own territories
    assert titles["scrap"] in other_asks_t1 and titles["pallets"] not in other_asks_t1

    everything = page("admin")
    assert all(t in everything for t in titles.values())
    only_t2 = page("admin", f"?territory={area['t2'].id}")
    assert titles["scrap"] in only_t2 and titles["pallets"] not in only_t2


def test_members_cannot_see_the_queue(area, app):
    client = app.test_client()
    assert "/compte/connexion" in client.get("/animation/dormantes").location
    login(client, area["alice"])
    assert client.get("/animation/dormantes").status_code == 403
    assert relaunch_as(client, area, [area["pallets"]]).status_code == 403
    assert relaunch_rows() == []


def test_a_practitioner_cannot_relaunch_outside_their_territories(area, app, smtp):
    client = app.test_client()
    login(client, area["lorient"])
    assert relaunch_as(client, area, [area["scrap"], area["pallets"]]).status_code == 404
    assert relaunch_rows() == [] and smtp.messages == []


# --- relaunch runs against a real SMTP server ----------------------------------------------------------


def test_one_message_per_person_listing_all_their_dormant_listings(area, app, smtp):
    client = app.test_client()
    login(client, area["practitioner"])
    listings = [area["pallets"], area["crates"], area["grains"]]
    response = relaunch_as(client, area, listings)
    assert response.status_code == 302
    flashed = client.get(response.location).get_data(as_text=True)
    assert "3 annonce(s) relancée(s) : 2 message(s) envoyé(s)" in flashed

    assert sorted(m["To"] for m in smtp.messages) == ["alice@conserverie.fr", "bob@brasserie.fr"]
    [to_alice] = smtp.to("alice@conserverie.fr")
    body = SmtpSink.text(to_alice)
    assert "Palettes bois 120x80" in body and "Caisses polystyrène" in body and "Cherche drêches" not in body
    assert "Anim" in body  # the practitioner who relaunches
    assert to_alice.get_body(preferencelist=("html",)) is not None
    assert len(links_in(to_alice)) == 6  # offers: still available, no longer available, to solution providers
    [to_bob] = smtp.to("bob@brasserie.fr")
    assert len(links_in(to_bob)) == 2  # a need does not go to solution providers

    rows = relaunch_rows()
    assert len(rows) == 3 and len({r.batch_id for r in rows}) == 1
    assert all(r.sent_by_id == area["practitioner"].id and r.answered_at is None for r in rows)
    assert {r.recipient_emails for r in rows} == {"alice@conserverie.fr", "bob@brasserie.fr"}


def test_when_the_author_has_left_every_active_member_hears(area, app, smtp):
    from marketplace.practitioner.relaunch import dormant_ads, relaunch

    area["alice"].company_id = None
    db.session.commit()
    report = relaunch(dormant_ads(listing_ids=[area["pallets"].id, area["crates"].id]), area["practitioner"])
    db.session.commit()
    assert [m["To"] for m in smtp.messages] == ["anne@conserverie.fr"]
    assert len(links_in(smtp.messages[0])) == 6
    assert [(p.email, len(items)) for p, items in report.messages] == [("anne@conserverie.fr", 2)]
    assert relaunch_rows()[0].recipient_id is None


def answer_links(smtp, address) -> dict[str, str]:
    """The answer links of the last message to `address`, by answer, for its first listing."""
    from marketplace.practitioner.relaunch import read_link

    links = {}
    for path in links_in(smtp.to(address)[-1]):
        link = read_link(path.rsplit("/", 1)[1])
        links.setdefault(link.listing.id, {})[link.answer] = path
    return links


def run_relaunch(area, smtp, listings):
    from marketplace.practitioner.relaunch import dormant_ads, relaunch

    smtp.clear()
    report = relaunch(dormant_ads(listing_ids=[x.id for x in listings]), area["practitioner"])
    db.session.commit()
    return report


def post_answer(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path)


def test_still_available_renews_the_listing_once(area, app, smtp):
    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    link = answer_links(smtp, "alice@conserverie.fr")[pallets.id]["renewed"]
    client = app.test_client()  # not logged in: the signed link is enough

    page = client.get(link)
    assert page.status_code == 200
    assert "Palettes bois 120x80" in page.get_data(as_text=True) and "Toujours disponible" in page.get_data(as_text=True)
    db.session.expire_all()
    assert relaunch_rows()[0].answered_at is None  # a GET (a mail scanner, say) changes nothing

    done = client.post(link)
    assert done.status_code == 200 and "reste en ligne" in done.get_data(as_text=True)
    db.session.expire_all()
    row = relaunch_rows()[0]
    assert (row.answer, row.answered_by_id) == ("renewed", area["alice"].id)
    assert pallets.status == "published" and utcnow() - pallets.last_activity_at < timedelta(minutes=1)
    events = db.session.scalars(sa.select(ListingEvent.action).where(ListingEvent.listing_id == pallets.id)
                                .order_by(ListingEvent.id)).all()
    assert events == ["created", "renewed"]
    renewed_at = pallets.last_activity_at

    again = client.post(link)
    assert again.status_code == 409 and "déjà reçu une réponse" in again.get_data(as_text=True)
    other = answer_links(smtp, "alice@conserverie.fr")[pallets.id]["withdrawn"]
    assert client.get(other).status_code == 409
    assert client.post(other).status_code == 409
    db.session.expire_all()
    assert pallets.status == "published" and pallets.last_activity_at == renewed_at
    assert len(db.session.scalars(sa.select(ListingEvent).where(ListingEvent.listing_id == pallets.id)).all()) == 2


def test_no_longer_available_withdraws_the_listing(area, app, smtp):
    grains = area["grains"]
    run_relaunch(area, smtp, [grains])
    link = answer_links(smtp, "bob@brasserie.fr")[grains.id]["withdrawn"]
    client = app.test_client()
    assert post_answer(client, link).status_code == 200
    db.session.expire_all()
    assert grains.status == "withdrawn"
    assert relaunch_rows(grains)[0].answer == "withdrawn"
    assert client.post(link).status_code == 409


def test_offer_to_solution_providers_opens_a_sealed_follow_up_lot(area, app, smtp):
    from marketplace.auctions.models import Lot

    crates = area["crates"]
    run_relaunch(area, smtp, [crates])
    link = answer_links(smtp, "alice@conserverie.fr")[crates.id]["second_round"]
    smtp.clear()
    client = app.test_client()
    response = post_answer(client, link)
    assert response.status_code == 200 and "apporteurs de solutions" in response.get_data(as_text=True)

    lot = db.session.scalars(sa.select(Lot).where(Lot.listing_id == crates.id)).one()
    round_ = lot.round
    assert (lot.status, lot.parent_lot_id, lot.quantity, lot.unit, lot.allow_partial) == (
        "open", None, Decimal("3"), "m3", True)
    assert (round_.kind, round_.mode, round_.status, round_.number) == ("follow_up", "sealed", "open", 2)
    assert round_.radius_km == app.config["AUCTION_FOLLOW_UP_RADIUS_KM"]
    assert round_.closes_at - round_.opens_at == timedelta(days=app.config["AUCTION_FOLLOW_UP_DAYS"])
    assert lot.closes_at == round_.closes_at
    session = round_.session
    assert (session.status, session.mode, session.territory_id) == ("closed", "sealed", area["t1"].id)
    assert session.title == "Deuxième round : Caisses polystyrène"
    assert crates.status == "published" and relaunch_rows(crates)[0].answer == "second_round"
    # The recycler (materials, 15 01 03, 29100) may take it and is told; the brewery is not a provider.
    assert [m["To"] for m in smtp.messages] == ["tri@recyclerie.fr"]
    assert "Deuxième round" in smtp.messages[0]["Subject"]
    assert client.post(link).status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lot)) == 1


def test_two_unanswered_relaunches_expire_the_listing(area, smtp, runner):
    from marketplace.practitioner.relaunch import dormant_ads

    pallets = area["pallets"]
    assert len(run_relaunch(area, smtp, [pallets]).relaunched) == 1
    again = run_relaunch(area, smtp, [pallets])  # the next day: the owner still has time to answer
    assert (again.relaunched, again.waiting, smtp.messages) == ([], [pallets], [])
    for row in relaunch_rows(pallets):
        row.sent_at -= timedelta(days=15)
    db.session.commit()
    assert len(run_relaunch(area, smtp, [pallets]).relaunched) == 1  # the second relaunch
    for row in relaunch_rows(pallets):
        row.sent_at -= timedelta(days=15)
    db.session.commit()
    assert dormant_ads(listing_ids=[pallets.id])[0].step == EXPIRE

    third = run_relaunch(area, smtp, [pallets])
    assert third.expired == [pallets] and third.relaunched == [] and smtp.messages == []
    db.session.expire_all()
    assert pallets.status == "expired" and len(relaunch_rows(pallets)) == 2
    event = db.session.scalars(sa.select(ListingEvent).where(ListingEvent.listing_id == pallets.id)
                               .order_by(ListingEvent.id.desc())).first()
    assert (event.action, event.from_status, event.to_status) == ("expired", "published", "expired")
    assert "relances" in event.note


def test_an_answered_listing_leaves_the_queue_and_later_starts_the_count_again(area, app, smtp):
    from marketplace.practitioner.relaunch import dormant_ads

    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    for row in relaunch_rows(pallets):
        row.sent_at -= timedelta(days=15)
    db.session.commit()
    run_relaunch(area, smtp, [pallets])  # a second relaunch: now answered
    assert post_answer(app.test_client(), answer_links(smtp, "alice@conserverie.fr")[pallets.id]["renewed"])
    assert dormant_ads(listing_ids=[pallets.id]) == []
    # Forgotten again long after: the first relaunch, unanswered, came before the answer: one fresh relaunch.
    pallets.last_activity_at -= timedelta(days=100)
    for row in relaunch_rows(pallets):
        row.sent_at -= timedelta(days=120)
        row.answered_at = row.answered_at and row.answered_at - timedelta(days=120)
    db.session.commit()
    [ad] = dormant_ads(listing_ids=[pallets.id])
    assert (ad.step, ad.unanswered, len(ad.relaunches)) == (RELAUNCH, 0, 2)


def test_dry_run_sends_nothing_and_changes_nothing(area, app, smtp):
    client = app.test_client()
    login(client, area["practitioner"])
    response = relaunch_as(client, area, [area["pallets"], area["crates"], area["grains"]], dry_run=True)
    assert response.status_code == 302
    assert "Simulation : 3 annonce(s) seraient relancée(s), 2 message(s)" in client.get(
        response.location).get_data(as_text=True)
    assert relaunch_rows() == [] and smtp.messages == []
    assert {x.status for x in (area["pallets"], area["crates"], area["grains"])} == {"published"}


def test_the_history_shows_on_the_listing_page_for_owner_and_moderators(area, app, smtp):
    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    post_answer(app.test_client(), answer_links(smtp, "alice@conserverie.fr")[pallets.id]["renewed"])
    for user, shown in (("alice", True), ("practitioner", True), ("admin", True), ("bob", False), ("lorient", False)):
        client = app.test_client()
        login(client, area[user])
        page = client.get(f"/annonces/{pallets.id}").get_data(as_text=True)
        assert ("Relances" in page and "Toujours disponible" in page) is shown, user


def test_the_owner_answers_a_pending_relaunch_from_the_listing_page(area, app, smtp):
    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    client = app.test_client()
    login(client, area["alice"])
    page = client.get(f"/annonces/{pallets.id}").get_data(as_text=True)
    paths = re.findall(r'href="(/relance/[^"]+)"', page)
    assert len(paths) == 3
    assert client.post(paths[1]).status_code == 200  # "no longer available"
    db.session.expire_all()
    assert pallets.status == "withdrawn"


def test_two_simultaneous_answers_apply_exactly_once(area, app, smtp):
    """Two clicks at the same moment (two colleagues, or a double click): one answer wins, the other is
    refused, whatever the database (the conditional UPDATE on answered_at decides)."""
    import threading

    from marketplace.practitioner import relaunch as services

    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    links = answer_links(smtp, "alice@conserverie.fr")[pallets.id]
    tokens = [links[answer].rsplit("/", 1)[1] for answer in ("renewed", "withdrawn")]
    barrier = threading.Barrier(len(tokens))
    outcomes = {}

    def click(token):
        with app.app_context():
            link = services.read_link(token)
            barrier.wait()
            problem = services.answer(link)
            if problem:
                db.session.rollback()
            else:
                db.session.commit()
            outcomes[link.answer] = problem
            db.session.remove()

    threads = [threading.Thread(target=click, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values(), key=str) == [None, "used"], outcomes
    [winner] = [answer for answer, problem in outcomes.items() if problem is None]
    db.session.expire_all()
    row = relaunch_rows(pallets)[0]
    assert row.answer == winner
    assert pallets.status == ("published" if winner == "renewed" else "withdrawn")


# --- links that do nothing ---------------------------------------------------------------------------


def test_forged_altered_or_expired_links_are_refused(area, app, smtp):
    from marketplace.accounts.tokens import make_token

    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    row = relaunch_rows(pallets)[0]
    client = app.test_client()
    for token in ("forged", make_token("unsubscribe", {"r": row.id, "l": pallets.id, "a": "withdrawn", "u": None}),
                  make_token("relaunch", {"r": row.id, "l": area["crates"].id, "a": "withdrawn", "u": None}),
                  make_token("relaunch", {"r": row.id, "l": pallets.id, "a": "delete", "u": None}),
                  make_token("relaunch", ["not", "a", "dict"])):
        for response in (client.get(f"/relance/{token}"), client.post(f"/relance/{token}")):
            assert response.status_code == 400
            assert "a été modifié ou a expiré" in response.get_data(as_text=True)
    link = answer_links(smtp, "alice@conserverie.fr")[pallets.id]["withdrawn"]
    app.config["RELAUNCH_LINK_MAX_AGE_DAYS"] = -1  # every link is now too old
    assert client.get(link).status_code == 400
    assert client.post(link).status_code == 400
    db.session.expire_all()
    assert pallets.status == "published" and row.answered_at is None


def test_a_link_for_a_listing_no_longer_online_does_nothing(area, app, smtp):
    from marketplace.listings.services import change_status

    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    change_status(area["alice"], pallets, "reserve")
    db.session.commit()
    link = answer_links(smtp, "alice@conserverie.fr")[pallets.id]["withdrawn"]
    response = app.test_client().get(link)
    assert response.status_code == 409 and "plus en ligne" in response.get_data(as_text=True)
    db.session.expire_all()
    assert pallets.status == "reserved" and relaunch_rows(pallets)[0].answered_at is None


def test_the_answer_needs_the_pages_csrf_token(area, app, smtp):
    pallets = area["pallets"]
    run_relaunch(area, smtp, [pallets])
    link = answer_links(smtp, "alice@conserverie.fr")[pallets.id]["renewed"]
    assert app.test_client().post(link, csrf=False).status_code == 400
    db.session.expire_all()
    assert relaunch_rows(pallets)[0].answered_at is None


# --- the command line ---------------------------------------------------------------------------------


def test_command_dry_run_prints_and_sends_nothing(area, runner, smtp):
    result = runner.invoke(args=["listings", "relaunch-dormant", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "[simulation] 4 annonce(s) dormante(s)." in result.output
    assert "« Caisses polystyrène » (Conserverie du Port, 120 j) : relancée" in result.output
    assert "[simulation] message à alice@conserverie.fr : 2 annonce(s)" in result.output
    assert "3 message(s)" in result.output and "rien n'a été envoyé" in result.output
    assert relaunch_rows() == [] and smtp.messages == []


def test_command_relaunches_one_territory(area, runner, smtp):
    result = runner.invoke(args=["listings", "relaunch-dormant", "--territory", "Cornouaille"])
    assert result.exit_code == 0, result.output
    assert "3 annonce(s) ont été relancée(s), 2 message(s)" in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["alice@conserverie.fr", "bob@brasserie.fr"]
    rows = relaunch_rows()
    assert len(rows) == 3 and all(r.sent_by_id is None for r in rows)

    smtp.clear()
    again = runner.invoke(args=["listings", "relaunch-dormant", "--territory", str(area["t1"].id)])
    assert again.exit_code == 0 and "en attente de réponse" in again.output and smtp.messages == []


def test_command_days_option_and_unknown_territory(area, runner, smtp):
    result = runner.invoke(args=["listings", "relaunch-dormant", "--days", "100", "--dry-run"])
    assert "[simulation] 1 annonce(s) dormante(s)." in result.output and "Caisses polystyrène" in result.output
    unknown = runner.invoke(args=["listings", "relaunch-dormant", "--territory", "Atlantide"])
    assert unknown.exit_code != 0 and "Territoire inconnu : Atlantide" in unknown.output
