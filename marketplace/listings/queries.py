"""Read-side queries for browsing listings."""
from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy.orm import selectinload

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
    """Public listings matching the filters, newest first (nearest first around a postcode).

    The site is joined only to filter and sort by distance: every listing has one (NOT NULL, ON DELETE
    RESTRICT), and joining it for every published listing before sorting made the page's count and sort
    read the whole site table (100 ms each at 100,000 listings). The cards' site and company are loaded
    for the page's rows only, in two queries, instead of two lazy loads per card."""
    query = (
        sa.select(Listing)
        .where(Listing.status.in_(PUBLIC_STATUSES))
        .options(selectinload(Listing.site), selectinload(Listing.company))
    )
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
        query = query.join(Listing.site).where(Site.latitude.is_not(None), dist2 <= radius * radius).order_by(
            dist2, Listing.published_at.desc()
        )
    else:
        query = query.order_by(Listing.published_at.desc(), Listing.id.desc())
    return query, place


class _PageOfIds(SelectPagination):
    """Sorts and slices the ids only, then loads the page's rows: with the filters and the sort key in an
    index (ix_listing_browse: status, kind, category, published_at), the sort reads the index, not the
    92,000 rows with their descriptions (35 ms → 13 ms at 100,000 listings on SQLite)."""

    def _query_items(self) -> list:
        select = self._query_args["select"]
        session = self._query_args["session"]
        ids = session.scalars(select.with_only_columns(Listing.id).limit(self.per_page).offset(self._query_offset)).all()
        if not ids:
            return []
        rows = {listing.id: listing for listing in session.scalars(
            sa.select(Listing).where(Listing.id.in_(ids)).options(selectinload(Listing.site),
                                                                  selectinload(Listing.company)))}
        return [rows[i] for i in ids if i in rows]


def paginate(query, page: int, per_page: int, session) -> SelectPagination:
    """`db.paginate(query, …, error_out=False)` for a `browse_query`, sorting ids rather than rows."""
    return _PageOfIds(select=query, session=session, page=page, per_page=per_page, max_per_page=None,
                      error_out=False, count=True)
