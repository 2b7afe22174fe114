"""Creating and moving synergies. Functions take the acting user, flush, never commit."""
from __future__ import annotations

from marketplace.extensions import db
from marketplace.synergies.models import Synergy

# Resource families exchanged as matter or energy (ME); the others share people and means (TH).
ME_CATEGORIES = ("materials", "energy", "water")


def kind_for(category: str) -> str:
    return "ME" if category in ME_CATEGORIES else "TH"


def create_from_award(award, actor) -> Synergy:
    """An auction award the giver confirmed: the two companies now negotiate the exchange."""
    lot = award.lot
    listing = lot.listing
    synergy = Synergy(
        territory_id=lot.round.session.territory_id, title=listing.title, stage="negotiation",
        kind=kind_for(listing.category), origin="auction", giver_company_id=listing.company_id,
        taker_company_id=award.company_id, listing_id=listing.id, award_id=award.id, quantity=award.quantity,
        unit=lot.unit, unit_price_eur=award.unit_price_eur, created_by_id=actor.id if actor else None,
    )
    db.session.add(synergy)
    db.session.flush()
    return synergy
