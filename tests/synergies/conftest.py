"""Synergy fixtures: the shared `world` (two territories, every role) with a match between Alice's
offer and Bob's need in t1, and the shipped emission factors loaded."""
from __future__ import annotations

import pytest


@pytest.fixture
def factors(app):
    """The shipped emission factors (on PostgreSQL, tests empty every table, factors included)."""
    from marketplace.extensions import db
    from marketplace.synergies.services import load_default_factors

    load_default_factors()
    db.session.commit()


@pytest.fixture
def match(world):
    """Alice's published offer (t1) × Bob's published need (t1)."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.matching.models import Match

    offer, need = world["a_published"], world["b_published"]
    found = db.session.scalar(sa.select(Match).where(Match.offer_id == offer.id, Match.need_id == need.id))
    if found is None:
        found = Match(offer_id=offer.id, need_id=need.id, score=0.82, reasons=[])
        db.session.add(found)
        db.session.commit()
    return found


@pytest.fixture
def manual(world):
    """A synergy entered by t1's practitioner between Alice's and Bob's companies, in discussion."""
    from marketplace.extensions import db
    from marketplace.synergies import services

    synergy = services.create_manual(world["practitioner"], world["t1"], {
        "title": "Drêches pour l'élevage", "kind": "ME", "sub_type": "substitution", "giver": world["b"],
        "taker": world["a"], "stage": "discussion", "is_continuous": True})
    db.session.commit()
    return synergy
