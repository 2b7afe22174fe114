"""Rate limits, switched on (the other tests run without them): each limited route takes its allowance,
then answers 429 with a clear message, and the refused request changes nothing."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.auctions.models import Bid
from marketplace.extensions import db, limiter
from marketplace.notifications.models import OutgoingEmail
from tests.conftest import CsrfClient, login, open_session


@pytest.fixture
def limited(app):
    """The same database and settings, rate limits on (counted in memory, emptied afterwards)."""
    from marketplace import create_app

    limited = create_app({**{k: app.config[k] for k in (
        "TESTING", "DATABASE_URL", "INSTANCE_PATH", "SECRET_KEY", "HUEY_IMMEDIATE", "MAIL_SERVER", "MAIL_PORT",
        "BASE_URL", "SEARCH_BACKEND", "LISTINGS_PAGE_CACHE_SECONDS")}, "RATELIMIT_ENABLED": True,
        "AUCTION_BID_RATE_LIMIT": "3 per minute"})
    limited.test_client_class = CsrfClient
    limiter.reset()
    try:
        yield limited
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.engine.dispose()


def count(model, *where):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def exhaust(allowed, send):
    """`allowed` requests pass (not 429), the next one is refused with the 429 page; returns it."""
    statuses = [send(i).status_code for i in range(allowed)]
    assert 429 not in statuses, statuses
    refused = send(allowed)
    assert refused.status_code == 429, refused.status_code
    return refused


def assert_clear_page(response):
    page = response.get_data(as_text=True)
    assert "Trop de requêtes" in page or "trop de" in page.lower(), page[:300]


def test_log_in_is_limited_per_machine_whatever_the_address(limited):
    client = limited.test_client()
    refused = exhaust(20, lambda i: client.post("/compte/connexion", data={
        "email": f"essai{i}@scierie.fr", "password": "pas-le-bon-1"}))
    assert_clear_page(refused)


def test_sign_up_is_limited(limited, smtp):
    client = limited.test_client()
    form = {"full_name": "Anne", "password": "bois-et-copeaux-29", "password_again": "bois-et-copeaux-29",
            "accept_terms": "y"}
    assert_clear_page(exhaust(10, lambda i: client.post("/compte/inscription", data={
        **form, "email": f"anne{i}@scierie.fr"})))
    assert count(User) == 10  # the refused one created nothing


def test_password_reset_requests_are_limited(limited, make_user, smtp):
    user = make_user("anne@scierie.fr")
    client = limited.test_client()
    exhaust(5, lambda i: client.post("/compte/mot-de-passe-oublie", data={"email": user.email}))
    assert count(OutgoingEmail) == 5


def test_new_confirmation_links_are_limited(limited, make_user, smtp):
    user = make_user("anne@scierie.fr", confirmed=False)
    client = limited.test_client()
    open_session(client, user)
    exhaust(5, lambda i: client.post("/compte/confirmation/renvoyer"))
    assert count(OutgoingEmail) == 5


def test_bids_in_the_room_are_limited_per_person(limited, world, make_listing):
    from tests.test_authorization import _auctions

    _auctions(world, make_listing)
    lot = world["lot_open"]
    before = count(Bid)
    client = limited.test_client()
    login(client, world["bob"])
    exhaust(3, lambda i: client.post(f"/encheres/lots/{lot.id}/encherir", data={
        "unit_price_eur": str(Decimal("2") + i), "quantity": "5"}))
    assert count(Bid) <= before + 3


def test_the_api_is_limited_per_machine(limited, world):
    from marketplace.api.models import ApiToken

    _, raw = ApiToken.issue(world["alice"], "essai")
    db.session.commit()
    client = limited.test_client()
    refused = exhaust(300, lambda i: client.get("/api/v1/listings", headers={"Authorization": f"Bearer {raw}"}))
    assert refused.get_json()["error"]["code"] == "too_many_requests"
