"""Schemathesis against the API's own OpenAPI document (/api/v1/openapi.json), in process through the
WSGI app, with real bearer tokens on a world with data (listings, an auction room with bids, awards and
a synergy, notifications). For every operation of the document, valid and invalid requests alike:
never a 5xx, each answer as the document describes it (status, content type, body schema), requests
that break the schema refused with a 4xx, and a refused request (4xx) or a read writes nothing."""
from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
import sqlalchemy as sa
from flask import g
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.api.openapi import document
from marketplace.extensions import db
from marketplace.listings.models import CATEGORIES, KINDS, PRICE_MODES, UNITS
from tests.auctions.conftest import room  # noqa: F401  (the live room fixture)
from tests.fuzz.conftest import changes, fuzz_settings, snapshot

OPERATIONS = [(path, method.upper()) for path, item in document("http://localhost")["paths"].items()
              for method in item]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
EXAMPLES = 15  # per operation and mode: the whole file stays well under a minute on SQLite


@pytest.fixture
def api_world(room, make_listing, runner):
    """The live room after some business: the first lot closed with two awards (one confirmed, so a
    synergy), a second lot open with a bid, listings of the bidder's company, tokens for the bidder
    and the giver. Returns the tokens and the ids worth aiming at, per path parameter."""
    from marketplace.auctions import services
    from marketplace.auctions.models import AuctionSession, Award, Bid, Lot
    from marketplace.listings.models import Listing
    from marketplace.notifications.models import Notification
    from marketplace.synergies.models import Synergy

    practitioner, alice = room["practitioner"], room["alice"]
    u1, u2, _u3 = room["users"]
    lot = room["lot"]
    services.present(practitioner, lot.id)
    services.place_bid(u1, lot.id, Decimal("5"), Decimal("3"), "Pour nos fûts")
    services.place_bid(u2, lot.id, Decimal("-2.5"), Decimal("2"))
    db.session.commit()
    services.close_lot(practitioner, lot.id)
    db.session.commit()
    first, _second = db.session.scalars(sa.select(Award).where(Award.lot_id == lot.id).order_by(Award.id)).all()
    services.decide_award(alice, first.id, True)
    db.session.commit()
    listing = make_listing(room["giver"], "published", title="Big bags propres", quantity=Decimal("40"), unit="unit")
    second_lot = services.put_up(alice, room["session"], listing, {"quantity": Decimal("40"), "allow_partial": True})
    db.session.commit()
    services.present(practitioner, second_lot.id)
    services.place_bid(u1, second_lot.id, None, Decimal("10"), "Intéressés")
    db.session.commit()
    make_listing(room["bidders"][0], "published", kind="need", title="Cherche fûts inox", waste_code=None)
    make_listing(room["bidders"][0], "draft", title="Drêches de brasserie", waste_code="02 07 01")

    def token(user):
        result = runner.invoke(args=["users", "token", user.email])
        assert result.exit_code == 0, result.output
        return {"Authorization": f"Bearer {result.output.strip()}"}

    def ids(model):
        return db.session.scalars(sa.select(model.id).order_by(model.id)).all()

    targets = {"listing_id": ids(Listing), "session_id": ids(AuctionSession), "lot_id": ids(Lot),
               "bid_id": ids(Bid), "award_id": ids(Award), "synergy_id": ids(Synergy),
               "notification_id": ids(Notification)}
    assert all(targets.values()), targets
    tokens = {"bidder": token(u1), "giver": token(alice)}
    db.session.commit()
    return {"tokens": tokens, "targets": targets}


# Bodies a real client would send, besides whatever the schema allows: random bids are nearly all refused
# (too much, too precise), and a bid or a listing that goes through must be fuzzed too.
_TITLE = st.text(min_size=3, max_size=40).filter(lambda t: len(t.strip()) >= 3)
PLAUSIBLE_BODIES = {
    ("POST", "/lots/{lot_id}/bids"): st.one_of(
        st.fixed_dictionaries({"quantity": st.integers(1, 12), "unit_price_eur": st.decimals(-50, 50, places=2)
                               .map(float)}, optional={"message": st.text(max_size=30)}),
        st.fixed_dictionaries({"quantity": st.integers(1, 12), "interest": st.just(True)})),
    ("POST", "/listings"): st.fixed_dictionaries(
        {"kind": st.sampled_from(KINDS), "title": _TITLE, "category": st.sampled_from(CATEGORIES)},
        optional={"quantity": st.integers(0, 1000), "unit": st.sampled_from(UNITS), "submit": st.booleans(),
                  "price_mode": st.sampled_from(PRICE_MODES), "unit_price_eur": st.floats(-1e4, 1e4)}),
    ("PATCH", "/listings/{listing_id}"): st.fixed_dictionaries(
        {}, optional={"title": _TITLE, "description": st.text(max_size=80), "quantity": st.floats(0, 1e6),
                      "submit": st.booleans()}),
}


def _cases(operation, targets: dict, mode: GenerationMode = GenerationMode.POSITIVE, any_path: bool = True,
           **fixed):
    """Cases of the operation: any path parameter at all, or one aimed at a row that exists."""
    paths = list(operation.path_parameters)
    strategies = [operation.as_strategy(generation_mode=mode, **fixed)] if any_path or not paths else []
    for parameter in paths:
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters={parameter.name: value}, **fixed)
                       for value in targets[parameter.name]]
    return st.one_of(strategies)


def _passes(operation, targets: dict) -> dict:
    """The strategies to run: valid requests, invalid ones (if there is anything to break), plausible ones."""
    takes_input = operation.body or any(True for _ in operation.iter_parameters())
    passes = {"positive": _cases(operation, targets)}
    if takes_input:
        passes["negative"] = _cases(operation, targets, GenerationMode.NEGATIVE)
    plausible = PLAUSIBLE_BODIES.get((operation.method.upper(), operation.path))
    if plausible is not None:
        passes["plausible"] = plausible.flatmap(lambda body: _cases(operation, targets, any_path=False, body=body))
    return passes


def _fuzz(app, operation, strategy, tokens: dict) -> None:
    skip = ("api_token",)  # its last_used_at is written at most every few minutes, by design
    state = {"rows": snapshot(skip=skip)}  # the database as the next request finds it

    @fuzz_settings(EXAMPLES)
    @given(case=strategy, caller=st.sampled_from(sorted(tokens)))
    def check(case, caller):
        headers = tokens[caller]
        with app.app_context():  # a fresh context (and database session) per request, as in production
            for key in list(vars(g)):
                delattr(g, key)
            response = case.call(headers=headers)
        before, state["rows"] = state["rows"], snapshot(skip=skip)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if 400 <= response.status_code < 500 or operation.method.upper() == "GET":
            assert changes(before, state["rows"]) == {}, (
                f"{caller}: {response.status_code} {response.text[:300]}: something was written")

    check()


def test_every_operation_of_the_document(app, api_world):
    """Every operation, valid and invalid requests, as the bidder or the giver (drawn per request);
    every failing operation is reported, not just the first."""
    config = schemathesis.Config.from_dict({"generation": {
        "allow-extra-parameters": False,  # unknown query parameters are ignored, as everywhere on the web
        "with-security-parameters": False,  # the token is the caller's, sent with every request
    }})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    db.session.close()  # the test's session holds nothing while the requests run
    failures = {}
    for path, method in OPERATIONS:
        operation = schema[path][method]
        for name, strategy in _passes(operation, api_world["targets"]).items():
            try:
                _fuzz(app, operation, strategy, api_world["tokens"])
            except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 — reported all together below
                failures[f"{method} {path} ({name})"] = error
    assert not failures, "\n\n".join(f"{name}:\n{error}" for name, error in failures.items())
