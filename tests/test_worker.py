"""The real worker path, end to end: a Huey consumer process picks the matching job from the queue
file, the need owner's e-mail goes out through the outbox to the real SMTP server, exactly once."""
import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.jobs import configure
from tests.conftest import listing_form, login


def wait_for(predicate, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_consumer_matches_and_mails(app, tmp_path, smtp, make_territory, make_company, make_user, make_listing):
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

    queue_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    original = dict(HUEY_URL=app.config["HUEY_URL"], HUEY_IMMEDIATE=True)
    configure({"HUEY_URL": queue_url, "HUEY_IMMEDIATE": False})
    env = dict(os.environ, MARKETPLACE_INSTANCE_PATH=app.config["INSTANCE_PATH"],
               MARKETPLACE_DATABASE_URL=app.config["DATABASE_URL"], MARKETPLACE_HUEY_URL=queue_url,
               MARKETPLACE_MAIL_PORT=str(smtp.port), MARKETPLACE_SECRET_KEY=app.config["SECRET_KEY"],
               MARKETPLACE_BASE_URL="http://localhost")
    consumer = subprocess.Popen(
        [str(Path(sys.executable).parent / "huey_consumer"), "marketplace.worker.huey", "-w", "2", "-k", "thread"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
        configure(original)


def consumer_output(consumer) -> str:
    consumer.terminate()
    out, _ = consumer.communicate(timeout=20)
    return out.decode(errors="replace")[-3000:]


def test_consumer_closes_a_sealed_lot_at_its_end(app, tmp_path, smtp, make_territory, make_company, make_user,
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

    queue_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    original = dict(HUEY_URL=app.config["HUEY_URL"], HUEY_IMMEDIATE=True)
    configure({"HUEY_URL": queue_url, "HUEY_IMMEDIATE": False})
    env = dict(os.environ, MARKETPLACE_INSTANCE_PATH=app.config["INSTANCE_PATH"],
               MARKETPLACE_DATABASE_URL=app.config["DATABASE_URL"], MARKETPLACE_HUEY_URL=queue_url,
               MARKETPLACE_MAIL_PORT=str(smtp.port), MARKETPLACE_SECRET_KEY=app.config["SECRET_KEY"],
               MARKETPLACE_BASE_URL="http://localhost")
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
        db.session.commit()  # the closing job is now scheduled in the queue file, at the lot's end
        services.place_bid(bob, lot.id, Decimal("-10.00"), Decimal("5"))
        db.session.commit()
        closes_at = db.session.get(Lot, lot.id).closes_at
        consumer = subprocess.Popen(
            [str(Path(sys.executable).parent / "huey_consumer"), "marketplace.worker.huey", "-w", "2", "-k", "thread"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

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
        configure(original)
