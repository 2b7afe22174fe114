"""One-click unsubscribe (RFC 8058): the link in each notification e-mail works without log-in and,
for the mail provider's POST, without a CSRF token; the signed token is the only key."""
import time

import pytest
from itsdangerous.timed import TimestampSigner

from marketplace.accounts.tokens import make_token
from marketplace.extensions import db
from marketplace.notifications import services
from tests.notifications.conftest import path_of, unsubscribe_path


@pytest.fixture
def mailed(app, people, smtp):
    """The farmer received one instant match e-mail."""
    services.notify(people["farmer"], "match", "Drêches", "", "http://localhost/annonces/1", "match:1:2")
    db.session.commit()
    [message] = smtp.to(people["farmer"].email)
    return message


def test_one_click_post_without_login_or_csrf_token_turns_the_kind_off(app, people, mailed):
    farmer = people["farmer"]
    anonymous = app.test_client()
    response = anonymous.post(unsubscribe_path(mailed), data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert response.status_code == 200
    assert "Désabonnement enregistré" in response.get_data(as_text=True)
    db.session.expire_all()
    assert services.mode_for(farmer.id, "match") == "off"
    assert services.mode_for(farmer.id, "message") == "instant" and not services.is_everything_off(farmer.id)
    assert services.notify(farmer, "match", "Encore", "", "", "match:3:2") is None
    # Clicking twice is harmless.
    assert anonymous.post(unsubscribe_path(mailed), csrf=False).status_code == 200


def test_get_asks_for_confirmation_and_changes_nothing(app, people, mailed):
    response = app.test_client().get(unsubscribe_path(mailed))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Confirmer le désabonnement" in page and "Correspondances avec vos annonces" in page
    assert f'action="{unsubscribe_path(mailed)}"' in page
    assert services.mode_for(people["farmer"].id, "match") == "instant"


def test_all_scope_turns_everything_off(app, people):
    farmer = people["farmer"]
    path = path_of(services.unsubscribe_link(farmer.id, "all"))
    assert "plus aucune notification" in app.test_client().get(path).get_data(as_text=True)
    assert app.test_client().post(path, csrf=False).status_code == 200
    assert services.is_everything_off(farmer.id)


def test_forged_altered_or_expired_links_are_refused_with_a_clear_page(app, people, mailed, monkeypatch):
    farmer = people["farmer"]
    good = unsubscribe_path(mailed)
    prefix = "/notifications/desabonnement/"
    now = time.time()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(now) - 400 * 24 * 3600)
    expired = make_token("unsubscribe", {"u": farmer.id, "k": "match"})
    monkeypatch.undo()
    bad = {
        "forged": prefix + "forged",
        "altered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "other purpose": prefix + make_token("reset", {"u": farmer.id, "k": "match"}),
        "unknown kind": prefix + make_token("unsubscribe", {"u": farmer.id, "k": "newsletter"}),
        "unknown user": prefix + make_token("unsubscribe", {"u": 999999, "k": "match"}),
        "expired": prefix + expired,
    }
    client = app.test_client()
    for name, path in bad.items():
        for method in (client.get, lambda p: client.post(p, csrf=False)):
            response = method(path)
            assert response.status_code == 400, name
            assert "Lien de désabonnement invalide" in response.get_data(as_text=True), name
    db.session.expire_all()
    assert services.modes_for(farmer.id)["match"] == "instant"
