"""A live auction room ready to run: a territory, its practitioner, a giver with a published offer,
three bidders invited and checked in, a recycler outside the room, a company that was not invited."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest


@pytest.fixture
def room(make_territory, make_company, make_user, make_listing):
    from marketplace.auctions import services
    from marketplace.extensions import db
    from marketplace.models_base import utcnow

    territory = make_territory("Concarneau Cornouaille", "29900 29000 29910 29100")
    giver = make_company("Conserverie du Port", "29900")
    bidders = [make_company(name, postcode) for name, postcode in
               (("Brasserie de l'Odet", "29000"), ("Menuiserie Le Goff", "29910"), ("Jardins de Cornouaille", "29900"))]
    provider = make_company("Recyclerie Bretonne", "29100", is_solution_provider=True,
                            handled_categories=["materials"], handled_waste_codes="15 01 03")
    outsider = make_company("Ferme du Moros", "29900")
    far = make_company("Négoce Lyonnais", "69001", is_solution_provider=True, handled_categories=["materials"])
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[territory])
    alice = make_user("alice@conserverie.fr", company=giver)
    users = [make_user(f"bidder{i}@example.fr", company=c) for i, c in enumerate(bidders)]
    recycler = make_user("tri@recyclerie.fr", company=provider)
    farmer = make_user("ferme@moros.fr", company=outsider)
    lyon = make_user("achat@negoce.fr", company=far)
    listing = make_listing(giver, "published", title="Palettes bois 120x80", quantity=Decimal("10"), unit="t")
    session = services.create_session(practitioner, territory, {
        "title": "Enchères de ressources de Concarneau", "mode": "live", "starts_at": utcnow() + timedelta(hours=1),
        "place": "CCI, Quimper", "is_online": False, "description": ""})
    services.invite(practitioner, session, bidders)
    lot = services.put_up(alice, session, listing, {"quantity": Decimal("10"), "allow_partial": True,
                                                     "min_take": Decimal("2")})
    db.session.commit()
    for company in bidders:
        services.check_in(practitioner, session.id, company.id, True)
    services.open_session(practitioner, session.id)
    db.session.commit()
    return {"territory": territory, "session": session, "lot": lot, "listing": listing, "giver": giver,
            "alice": alice, "bidders": bidders, "users": users, "practitioner": practitioner,
            "provider": provider, "recycler": recycler, "outsider": outsider, "farmer": farmer,
            "far": far, "lyon": lyon}
