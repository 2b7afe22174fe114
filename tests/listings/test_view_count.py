"""Views of a listing are counted without counting as an edit (listings.services.record_view)."""
from __future__ import annotations

from marketplace.extensions import db
from tests.conftest import login


def test_views_count_without_moving_the_time_of_the_last_change(app, world):
    listing = world["a_published"]
    changed_at, views = listing.updated_at, listing.view_count
    assert app.test_client().get(f"/annonces/{listing.id}").status_code == 200  # anonymous
    bob = app.test_client()
    login(bob, world["bob"])
    assert bob.get(f"/annonces/{listing.id}").status_code == 200
    db.session.expire_all()
    assert listing.view_count == views + 2
    assert listing.last_viewed_at is not None  # bob's view shows interest
    # matching, the API and the company page read updated_at as the last change of the listing itself
    assert listing.updated_at == changed_at


def test_the_page_shows_the_view_it_counts(app, world):
    """The count is incremented in the database, and the page rendered in the same request sees it."""
    from marketplace.listings import services
    from marketplace.listings.models import Listing

    listing = world["a_published"]
    with app.test_request_context():
        services.record_view(listing, None)
        services.record_view(listing, None)
        assert listing.view_count == 2  # the loaded object follows the UPDATE
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).view_count == 2
