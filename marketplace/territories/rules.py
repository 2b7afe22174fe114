"""Pure rules: which places a territory covers."""
from __future__ import annotations

import re

from marketplace.reference import departement_of, distance_km


def parse_codes(raw: str) -> list[str]:
    """Split a list typed by a person: spaces, commas, semicolons or new lines."""
    return [c for c in re.split(r"[\s,;]+", (raw or "").strip().upper()) if c]


def territory_contains(territory, postcode: str, latitude: float | None, longitude: float | None) -> bool:
    if territory.kind == "postcodes":
        return postcode in territory.postcodes.split()
    if territory.kind == "departements":
        return departement_of(postcode) in territory.departements.split()
    if territory.kind == "radius":
        if None in (latitude, longitude, territory.center_latitude, territory.center_longitude, territory.radius_km):
            return False
        d = distance_km(territory.center_latitude, territory.center_longitude, latitude, longitude)
        return d <= territory.radius_km
    return False
