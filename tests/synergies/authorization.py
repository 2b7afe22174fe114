"""The synergy rows of the route × role matrix (tests/test_authorization.py).

World objects added by `setup`: `match` (Alice's published offer × Bob's published need, both in t1,
not yet a synergy), `synergy_t2` (entered by the Lorient practitioner between Carol's company and
another company of t2); `synergy` (from the auction, t1, Alice's and Bob's companies) gets a next
action and declared benefits. The default emission factors are loaded."""
from tests.test_authorization import LOGIN, expect

PRACTITIONERS_ONLY = expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)

GET_ROWS = [
    ("synergies.board", "/synergies/tableau", expect(200, anonymous=LOGIN)),
    ("synergies.board", "/synergies/tableau?territoire={t2.id}&type=ME&origine=manual&moi=1",
     expect(200, anonymous=LOGIN)),
    ("synergies.board", "/synergies/tableau?territoire=abc&type=<b>&origine=x", expect(200, anonymous=LOGIN)),
    ("synergies.create", "/synergies/nouvelle", PRACTITIONERS_ONLY),
    ("synergies.create", "/synergies/nouvelle?annonce={a_published.id}", PRACTITIONERS_ONLY),
    ("synergies.create", "/synergies/nouvelle?annonce=abc", PRACTITIONERS_ONLY),
    ("synergies.show", "/synergies/{synergy_t2.id}",
     expect(404, anonymous=LOGIN, carol=200, other_practitioner=200, admin=200)),
    ("synergies.edit", "/synergies/{synergy.id}/modifier",
     expect(404, anonymous=LOGIN, alice=403, bob=403, practitioner=200, admin=200)),
    ("synergies.edit", "/synergies/{synergy_t2.id}/modifier",
     expect(404, anonymous=LOGIN, carol=403, other_practitioner=200, admin=200)),
    # Declared: the companies involved and the practitioners; verified: the practitioners only.
    ("synergies.benefits", "/synergies/{synergy.id}/benefices/declares",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("synergies.benefits", "/synergies/{synergy.id}/benefices/verifies",
     expect(404, anonymous=LOGIN, alice=403, bob=403, practitioner=200, admin=200)),
    ("synergies.benefits", "/synergies/{synergy.id}/benefices/autre", expect(404, anonymous=LOGIN)),
    ("synergies.benefits", "/synergies/999999/benefices/declares", expect(404, anonymous=LOGIN)),
    ("synergies.emission_factors", "/synergies/facteurs-emission", PRACTITIONERS_ONLY),
    ("synergies.emission_factors", "/synergies/facteurs-emission?code=acier_ferrailles_recyclage", PRACTITIONERS_ONLY),
]

_STAFF_OF_T1 = ["alice", "bob", "carol", "other_practitioner", "outsider"]
POST_ROWS = [
    # other_practitioner may create, but not in t1: the form refuses the territory (422), tested in test_views.
    ("synergies.create", "/synergies/nouvelle",
     {"territory_id": "{t1.id}", "giver_id": "{a.id}", "taker_id": "{b.id}", "title": "Piratée", "kind": "ME",
      "stage": "idea"}, ["alice", "bob", "carol", "outsider"]),
    ("synergies.move", "/synergies/{synergy.id}/etape", {"stage": "implementation"}, _STAFF_OF_T1),
    ("synergies.move", "/synergies/{synergy_t2.id}/etape", {"stage": "discussion"},
     ["alice", "bob", "carol", "practitioner", "outsider"]),
    ("synergies.next_action", "/synergies/{synergy.id}/prochaine-action",
     {"next_action": "Piratée", "next_action_due": "2030-01-01"}, _STAFF_OF_T1),
    ("synergies.edit", "/synergies/{synergy.id}/modifier", {"title": "Piratée", "kind": "ME"}, _STAFF_OF_T1),
    ("synergies.benefits", "/synergies/{synergy.id}/benefices/declares", {"tonnes_reused": "99"},
     ["carol", "other_practitioner", "outsider"]),
    ("synergies.benefits", "/synergies/{synergy.id}/benefices/verifies", {"tonnes_reused": "99"}, _STAFF_OF_T1),
    ("synergies.create_from_match", "/synergies/correspondances/{match.id}", {},
     ["carol", "other_practitioner", "outsider"]),
    ("synergies.create_from_match", "/synergies/correspondances/999999", {},
     ["alice", "bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    ("synergies.emission_factors", "/synergies/facteurs-emission",
     {"key": "piratee", "label": "Piraté", "kg_co2e_per_unit": "1", "unit": "t", "source": "x"},
     ["alice", "bob", "carol", "practitioner", "other_practitioner", "outsider"]),
]


def setup(world):
    from datetime import date
    from decimal import Decimal

    from marketplace.companies.services import create_company
    from marketplace.extensions import db
    from marketplace.matching.models import Match
    from marketplace.synergies import services

    services.load_default_factors()
    world["match"] = Match(offer_id=world["a_published"].id, need_id=world["b_published"].id, score=0.8, reasons=[])
    db.session.add(world["match"])
    d = create_company(None, {"name": "Forges de Lanester"}, {"name": "Usine", "postcode": "56600", "city": None})
    world["synergy_t2"] = services.create_manual(world["other_practitioner"], world["t2"], {
        "title": "Copeaux d'acier", "kind": "ME", "sub_type": "recycling", "giver": world["c"], "taker": d})
    services.set_next_action(world["practitioner"], world["synergy"], "Appeler la brasserie", date(2030, 1, 15))
    services.declare_benefits(world["alice"], world["synergy"], {"tonnes_reused": Decimal("5")})
    db.session.commit()


def url_values(world) -> dict:
    return {"synergy_id": world["synergy"].id, "match_id": world["match"].id, "status": "declares"}


def snapshot(world):
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.synergies.models import EmissionFactor, Synergy, SynergyBenefit, SynergyEvent

    def rows(*columns):
        return db.session.execute(sa.select(*columns).order_by(*columns[:1])).all()

    return {
        "synergies": rows(Synergy.id, Synergy.title, Synergy.stage, Synergy.sub_type, Synergy.next_action,
                          Synergy.next_action_due, Synergy.followed_by_id, Synergy.notes, Synergy.previous_stage,
                          Synergy.stop_reason, Synergy.listing_id, Synergy.need_listing_id),
        "events": db.session.scalar(sa.select(sa.func.count()).select_from(SynergyEvent)),
        "benefits": rows(SynergyBenefit.id, SynergyBenefit.status, SynergyBenefit.tonnes_reused,
                         SynergyBenefit.co2e_tonnes, SynergyBenefit.recorded_at),
        "factors": rows(EmissionFactor.key, EmissionFactor.label, EmissionFactor.kg_co2e_per_unit,
                        EmissionFactor.is_active),
    }
