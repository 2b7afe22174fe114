"""The listing index's results kept a few seconds for anonymous visitors (listings/pagecache.py)."""
from __future__ import annotations

import pytest

from marketplace.listings import pagecache
from tests.conftest import login


@pytest.fixture
def owner(make_territory, make_company, make_user):
    make_territory("Cornouaille", "29900 29000")
    company = make_company("Brasserie de l'Odet", "29000")
    return {"company": company, "user": make_user("brasseur@odet.fr", company=company)}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_anonymous_visitors_share_results_for_a_few_seconds_members_never(app, owner, make_listing):
    app.config["LISTINGS_PAGE_CACHE_SECONDS"] = 10
    cache = pagecache.for_app(app)
    cache.clock = clock = Clock()
    make_listing(owner["company"], title="Fûts de 200 litres")
    visitor = app.test_client()
    assert "Fûts de 200 litres" in visitor.get("/annonces").get_data(as_text=True)

    make_listing(owner["company"], title="Palettes consignées")
    # Within the delay the visitor gets the results rendered a moment ago; the rest of the page is
    # rendered for each request (its own language switch form with its own token).
    page = visitor.get("/annonces").get_data(as_text=True)
    assert "Fûts de 200 litres" in page and "Palettes consignées" not in page
    assert 'name="csrf_token"' in page
    # Other filters, another page or the other language are other entries.
    assert "Palettes consignées" in visitor.get("/annonces?kind=offer").get_data(as_text=True)
    english = app.test_client()
    english.post("/langue/en", data={"next": "/annonces"})
    assert "Palettes consignées" in english.get("/annonces").get_data(as_text=True)
    # A member always sees the current listings (a company that has just published sees its listing).
    member = app.test_client()
    login(member, owner["user"])
    assert "Palettes consignées" in member.get("/annonces").get_data(as_text=True)

    clock.now += 10.5
    assert "Palettes consignées" in visitor.get("/annonces").get_data(as_text=True)


def test_cache_is_bounded_and_off_with_zero(app):
    cache = pagecache.ResultsCache(10, clock=Clock(), max_entries=3)
    for key in "abcd":
        cache.put(key, key.upper())
    assert cache.get("a") is None and [cache.get(k) for k in "bcd"] == ["B", "C", "D"]
    app.config["LISTINGS_PAGE_CACHE_SECONDS"] = 0
    assert pagecache.for_app(app) is None


def test_cache_lets_go_of_expired_pages_as_new_ones_come():
    """A page nobody will be served again does not stay in memory until 512 others push it out."""
    clock = Clock()
    cache = pagecache.ResultsCache(10, clock=clock, max_entries=512)
    for n in range(100):
        cache.put(n, "<li>…</li>" * 100)
        clock.now += 1  # a new URL every second: at most the last 10 s are worth keeping
    assert len(cache._entries) == 10
    assert cache.get(99) is not None and cache.get(89) is None
