"""The real worker path, end to end, on each queue storage (SQLite file, Redis, PostgreSQL): a Huey
consumer process with two worker threads picks the matching job from the queue, the need owner's
e-mail goes out through the outbox to the real SMTP server, exactly once; a job scheduled at a lot's
end runs then."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.conftest import listing_form, login, make_queue, using_queue


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def queue(request, app, tmp_path, queue_space):
    with using_queue(app, make_queue(request.param, tmp_path, queue_space)) as queue:
        yield queue


def start_consumer(app, queue, smtp):
    env = dict(os.environ, MARKETPLACE_INSTANCE_PATH=app.config["INSTANCE_PATH"],
               MARKETPLACE_DATABASE_URL=app.config["DATABASE_URL"], **queue.env,
               MARKETPLACE_MAIL_PORT=str(smtp.port), MARKETPLACE_SECRET_KEY=app.config["SECRET_KEY"],
               MARKETPLACE_BASE_URL="http://localhost")
    if app.config.get("SEARCH_BACKEND"):  # the worker writes the index the app reads
        env["MARKETPLACE_SEARCH_BACKEND"] = app.config["SEARCH_BACKEND"]
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "huey_consumer"), "marketplace.worker.huey", "-w", "2", "-k", "thread"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_consumer_matches_and_mails(app, queue, smtp, make_territory, make_company, make_user, make_listing):
    from marketplace.listings.models import Listing
    from marketplace.territories.services import set_trusted

    territory = make_territory("Cornouaille", "29900 29000")
    brewery = make_company("Brasserie de l'Odet", "29000")
    farm = make_company("Ferme de Kerlaz", "29900")
    brewer = make_user("brasseur@odet.fr", company=brewery)
    make_user("eleveur@kerlaz.fr", company=farm)
    make_listing(farm, "published", kind="need", title="Alimentation animale pour vaches laitières", waste_code=None)
    set_trusted(territory, brewery, True, make_user(role="practitioner", territories=[territory]))
    db.session.commit()
    smtp.clear()

    consumer = start_consumer(app, queue, smtp)
    try:
        client = app.test_client()
        login(client, brewer)
        client.post("/annonces/nouvelle", data=listing_form(brewery.sites[0].id, description="Drêches humides."))
        assert db.session.scalar(sa.select(Listing.status).where(Listing.title == "Drêches de brasserie")) == "published"
        assert smtp.to("eleveur@kerlaz.fr") == []  # nothing happened in the request itself
        assert wait_for(lambda: smtp.to("eleveur@kerlaz.fr")), consumer_output(consumer)
        time.sleep(1.5)  # room for a duplicate, if there were one
        assert len(smtp.to("eleveur@kerlaz.fr")) == 1
    finally:
        consumer.terminate()
        consumer.wait(timeout=20)
        consumer.stdout.close()


def consumer_output(consumer) -> str:
    consumer.terminate()
    out, _ = consumer.communicate(timeout=20)
    return out.decode(errors="replace")[-3000:]


def test_consumer_closes_a_sealed_lot_at_its_end(app, queue, smtp, make_territory, make_company, make_user,
                                                make_listing):
    """Nobody is looking: the job scheduled at the lot's end closes it and tells the giver. (Sealed:
    in a timed round the bid below would extend the end by the soft close.)"""
    from datetime import timedelta
    from decimal import Decimal

    from marketplace.auctions import services
    from marketplace.auctions.models import Lot
    from marketplace.models_base import utcnow

    territory = make_territory("Cornouaille", "29900 29000")
    cannery = make_company("Conserverie du Port", "29900")
    brewery = make_company("Brasserie de l'Odet", "29000")
    practitioner = make_user(role="practitioner", territories=[territory])
    alice = make_user("alice@conserverie.fr", company=cannery)
    bob = make_user("bob@brasserie.fr", company=brewery)
    listing = make_listing(cannery, title="Palettes bois", quantity=Decimal("5"), unit="t")
    smtp.clear()

    consumer = None
    try:
        now = utcnow()
        session = services.create_session(practitioner, territory, {
            "title": "Offres sous pli", "mode": "sealed", "starts_at": now - timedelta(minutes=1),
            "closes_at": now + timedelta(seconds=6), "place": "", "is_online": True, "description": ""})
        services.invite(practitioner, session, [brewery])
        lot = services.put_up(alice, session, listing, {"quantity": Decimal("5"), "allow_partial": False})
        db.session.commit()
        services.open_session(practitioner, session.id)
        db.session.commit()  # the closing job is now scheduled in the queue, at the lot's end
        services.place_bid(bob, lot.id, Decimal("-10.00"), Decimal("5"))
        db.session.commit()
        closes_at = db.session.get(Lot, lot.id).closes_at
        consumer = start_consumer(app, queue, smtp)

        def closed():
            db.session.expire_all()
            status = db.session.get(Lot, lot.id).status
            db.session.rollback()
            return status == "closed"

        assert wait_for(closed, timeout=30), consumer_output(consumer)
        closed_at = db.session.get(Lot, lot.id).closed_at
        db.session.rollback()
        assert closes_at <= closed_at < closes_at + timedelta(seconds=10)
        assert wait_for(lambda: smtp.to("alice@conserverie.fr")), consumer_output(consumer)
        assert "confirmez l'attribution" in smtp.to("alice@conserverie.fr")[0]["Subject"]
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(timeout=20)
            consumer.stdout.close()
