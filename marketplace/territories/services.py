"""Territory changes and the site ↔ territory membership they imply."""
from __future__ import annotations

import sqlalchemy as sa

from marketplace.accounts.models import (
    PractitionerAssignment,
    Site,
    Territory,
    TrustedCompany,
    User,
)
from marketplace.extensions import db
from marketplace.search.indexing import schedule_site_listings
from marketplace.territories.rules import territory_contains


def place_site(site: Site) -> None:
    """Recompute which territories a site belongs to (after it is created or moved)."""
    territories = db.session.scalars(sa.select(Territory)).all()
    site.territories = [t for t in territories if territory_contains(t, site.postcode, site.latitude, site.longitude)]


def refresh_territory(territory: Territory) -> int:
    """Recompute which sites a territory covers (after its definition changed). Returns the count."""
    sites = db.session.scalars(sa.select(Site)).all()
    territory.sites = [s for s in sites if territory_contains(territory, s.postcode, s.latitude, s.longitude)]
    return len(territory.sites)


def save_territory(territory: Territory, **fields) -> Territory:
    for key, value in fields.items():
        setattr(territory, key, value)
    if territory.id is None:
        db.session.add(territory)
    db.session.flush()
    before = {s.id for s in territory.sites}
    refresh_territory(territory)
    schedule_site_listings(before ^ {s.id for s in territory.sites})  # territories are search filters
    return territory


def assign_practitioner(territory: Territory, user: User) -> bool:
    if any(a.user_id == user.id for a in territory.assignments):
        return False
    territory.assignments.append(PractitionerAssignment(user=user))
    return True


def unassign_practitioner(territory: Territory, user: User) -> None:
    territory.assignments = [a for a in territory.assignments if a.user_id != user.id]


def set_trusted(territory: Territory, company, trusted: bool, actor: User) -> None:
    existing = db.session.get(TrustedCompany, (company.id, territory.id))
    if trusted and existing is None:
        db.session.add(TrustedCompany(company=company, territory=territory, granted_by_id=actor.id))
    elif not trusted and existing is not None:
        db.session.delete(existing)
