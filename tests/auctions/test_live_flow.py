"""A live room from the first bid to the synergy, through the services."""
from decimal import Decimal

import sqlalchemy as sa


def test_live_room_partial_award_and_follow_up(room, smtp):
    from marketplace.auctions import services
    from marketplace.auctions.models import Award, Lot, LotEvent, Round
    from marketplace.extensions import db
    from marketplace.synergies.models import Synergy

    p, lot = room["practitioner"], room["lot"]
    u1, u2, u3 = room["users"]
    services.present(p, lot.id)
    db.session.commit()
    services.place_bid(u1, lot.id, Decimal("-5.00"), Decimal("4"))
    services.place_bid(u2, lot.id, Decimal("3.50"), Decimal("3"))
    services.place_bid(u3, lot.id, Decimal("3.50"), Decimal("3"))  # same price, later: ranks after u2
    db.session.commit()
    assert services.best_bid(lot).company_id == u2.company_id

    assert services.close_lot(p, lot.id) is True
    db.session.commit()
    assert services.close_lot(p, lot.id) is False  # closing twice changes nothing
    awards = db.session.scalars(sa.select(Award).where(Award.lot_id == lot.id).order_by(Award.id)).all()
    assert [(a.company_id, a.quantity) for a in awards] == [
        (u2.company_id, Decimal("3")), (u3.company_id, Decimal("3")), (u1.company_id, Decimal("4"))]

    services.decide_award(room["alice"], awards[0].id, True)
    services.decide_award(room["alice"], awards[1].id, False, "Trop loin")
    db.session.commit()
    assert services.decide_award(room["alice"], awards[0].id, True) is False
    services.close_room(p, room["session"].id)
    db.session.commit()
    follow_up = db.session.scalar(sa.select(Round).where(Round.kind == "follow_up"))
    assert follow_up is not None and follow_up.mode == "sealed"
    child = db.session.scalar(sa.select(Lot).where(Lot.parent_lot_id == lot.id))
    # not proposed (0) at close; then 3 t declined waits until u1's share is decided
    services.decide_award(room["alice"], awards[2].id, True)
    db.session.commit()
    db.session.refresh(lot)
    children = db.session.scalars(sa.select(Lot).where(Lot.parent_lot_id == lot.id)).all()
    assert sum(c.quantity for c in children) == Decimal("3")
    assert lot.status == "settled" and lot.quantity_remaining == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Synergy)) == 2
    assert services.follow_up_access(children[0], room["provider"]) == "provider"
    assert services.follow_up_access(children[0], room["outsider"]) == "outside"
    assert services.follow_up_access(children[0], room["bidders"][0]) is None
    assert services.follow_up_access(children[0], room["far"]) is None
    events = db.session.scalars(sa.select(LotEvent.action).where(LotEvent.lot_id == lot.id)).all()
    assert events[:2] == ["put_up", "presented"] and "award_confirmed" in events
    assert child is None or child in children
