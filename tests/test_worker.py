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
