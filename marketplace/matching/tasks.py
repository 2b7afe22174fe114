"""Matching runs in a job after a listing is published or edited, never in a request."""
from marketplace.extensions import db
from marketplace.jobs import app_task


@app_task(retries=3, retry_delay=30)
def match_listing(listing_id: int, notify: bool = True) -> int:
    """Compute and store the listing's matches; tell the people concerned about the new ones."""
    from marketplace.listings.models import Listing
    from marketplace.matching.services import refresh_matches

    listing = db.session.get(Listing, listing_id)
    if listing is None:
        return 0
    new = refresh_matches(listing)
    if notify and new:
        from marketplace.notifications.matches import notify_new_matches

        notify_new_matches(listing, new)
    if notify:
        from marketplace.notifications.alerts import notify_saved_searches

        notify_saved_searches(listing)
    db.session.commit()
    return len(new)
