"""Two companies of one territory and the helpers the notification tests share."""
import re

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.notifications.models import Notification
from tests.conftest import SmtpSink, listing_form


@pytest.fixture
def people(make_territory, make_company, make_user):
    """A brewery (trusted: publishes without approval) and a farm, one or two people each, a practitioner."""
    from marketplace.territories.services import set_trusted

    territory = make_territory("Cornouaille", "29900 29000")
    brewery = make_company("Brasserie de l'Odet", "29000")
    farm = make_company("Ferme de Kerlaz", "29900")
    brewer = make_user("brasseur@odet.fr", company=brewery)
    colleague = make_user("compta@odet.fr", company=brewery)
    farmer = make_user("eleveur@kerlaz.fr", company=farm)
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[territory])
    set_trusted(territory, brewery, True, practitioner)
    db.session.commit()
    return {"territory": territory, "brewery": brewery, "farm": farm, "brewer": brewer, "colleague": colleague,
            "farmer": farmer, "practitioner": practitioner}


offer_form = listing_form


def notifications_of(user, kind=None):
    query = sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query).all()


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def unsubscribe_path(message) -> str:
    """The one-click link of a received message, from its List-Unsubscribe header."""
    header = message["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">"), header
    return path_of(header[1:-1])


text = SmtpSink.text
