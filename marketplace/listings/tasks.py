"""Scheduled listing jobs."""
from huey import crontab

from marketplace.extensions import db
from marketplace.jobs import app_periodic_task
from marketplace.listings.services import expire_due


@app_periodic_task(crontab(hour="3", minute="15"))
def expire_listings() -> int:
    count = expire_due()
    db.session.commit()
    return count
