"""Read-side queries for browsing listings."""
from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from marketplace import reference
from marketplace.accounts.models import Site, site_territory
from marketplace.listings.models import PUBLIC_STATUSES, Listing

KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON_EQUATOR = 111.32


@dataclass
class BrowseFilters:
    kind: str | None = None
    category: str | None = None
    territory_id: int | None = None
    q: str | None = None
    postcode: str | None = None
    radius_km: int | None = None


def squared_distance_expr(latitude: float, longitude: float):
    """Squared distance in km², equirectangular: plain arithmetic, so it runs on SQLite and PostgreSQL
    alike and is accurate to well under 1 % at the scale of a territory."""
    kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(latitude))
    dx = (Site.longitude - longitude) * kx
    dy = (Site.latitude - latitude) * KM_PER_DEG_LAT
    return dx * dx + dy * dy


def browse_query(filters: BrowseFilters):
    query = sa.select(Listing).join(Listing.site).where(Listing.status.in_(PUBLIC_STATUSES))
    if filters.kind:
        query = query.where(Listing.kind == filters.kind)
    if filters.category:
        query = query.where(Listing.category == filters.category)
    if filters.territory_id:
        query = query.where(
            Listing.site_id.in_(
                sa.select(site_territory.c.site_id).where(site_territory.c.territory_id == filters.territory_id)
            )
        )
    if filters.q:
        for word in filters.q.split()[:8]:
            pattern = f"%{word}%"
            query = query.where(sa.or_(Listing.title.ilike(pattern), Listing.description.ilike(pattern)))
    place = reference.locate(filters.postcode) if filters.postcode else None
    if place:
        radius = filters.radius_km or 30
        dist2 = squared_distance_expr(place.latitude, place.longitude)
        query = query.where(Site.latitude.is_not(None), dist2 <= radius * radius).order_by(
            dist2, Listing.published_at.desc()
        )
    else:
        query = query.order_by(Listing.published_at.desc(), Listing.id.desc())
    return query, place
