"""The distance prefilters: every point within the radius lies in the box both backends filter on
first, and in one of the grid cells the Whoosh backend searches (pure functions)."""
import math
import random

import pytest

from marketplace.reference import distance_km
from marketplace.search.backends.whoosh_index import GRID, MAX_CELLS, cells_covering, geocells
from marketplace.search.queries import bounding_box


def covering(lat, lon, radius):
    """The cells searched for a radius: those covering the box both backends filter on first."""
    return set(cells_covering(*bounding_box(lat, lon, radius)))


@pytest.mark.parametrize("radius", [1, 5, 10, 30, 80, 200, 500])
def test_points_within_the_radius_are_in_a_searched_cell(radius):
    rng = random.Random(radius)
    for _ in range(300):
        lat, lon = rng.uniform(41.3, 51.1), rng.uniform(-5.2, 9.6)  # mainland France and Corsica
        cells = covering(lat, lon, radius)
        south, west, north, east = bounding_box(lat, lon, radius)
        assert 0 < len(cells) <= max(MAX_CELLS, 300)
        for _ in range(20):
            # a random point at a random bearing, up to the radius
            d, bearing = rng.uniform(0, radius), rng.uniform(0, 2 * math.pi)
            plat = lat + d * math.cos(bearing) / 111.2
            plon = lon + d * math.sin(bearing) / (111.2 * math.cos(math.radians(plat)))
            if distance_km(lat, lon, plat, plon) <= radius:
                assert set(geocells(plat, plon)) & cells  # the Whoosh backend's prefilter
                assert south <= plat <= north and west <= plon <= east  # the PostgreSQL backend's


def test_cells_are_fine_for_small_radii_and_coarse_for_large_ones():
    assert all(c.startswith(GRID[0][0]) for c in covering(47.87, -3.92, 30))
    assert all(c.startswith(GRID[1][0]) for c in covering(47.87, -3.92, 300))
    assert geocells(47.87, -3.92) == ["f478:-40", "c47:-4"]
