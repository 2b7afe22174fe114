"""Matching runs in a job after a listing is published or edited, never in a request."""
import logging
import threading

from marketplace.extensions import db
from marketplace.jobs import app_task, get_app, huey

log = logging.getLogger(__name__)


@app_task(durable=True, retries=3, retry_delay=30)
def match_listing(listing_id: int, notify: bool = True) -> int:
    """Compute and store the listing's matches; tell the people concerned about the new ones. Durable:
    if its worker dies, the job runs again, and its matches and notifications are committed once."""
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


_warm_up_lock = threading.Lock()
_warm_up_started = False


@huey.on_startup("matching_warm_up")
def _warm_up_when_the_worker_starts():
    """As a consumer starts, read and describe the published listings in the background (once per
    process: its worker threads share the store), so that its first matching jobs need not."""
    global _warm_up_started
    with _warm_up_lock:  # the other worker threads wait for the app, then share it (and its one store)
        if _warm_up_started:
            return
        _warm_up_started = True
        app = get_app()
    threading.Thread(target=_warm_up, args=(app,), name="matching-warm-up", daemon=True).start()


def _warm_up(app):
    from marketplace.matching.services import warm_up

    with app.app_context():
        try:
            log.info("matching: %d published listings read and described", warm_up())
        except Exception:  # the jobs will read the listings themselves
            log.exception("matching warm-up failed")
