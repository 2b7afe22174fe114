"""Scheduled synergy job: every morning, practitioners hear of the next actions due that day or
overdue, once per synergy and due date (the notification's dedup key)."""
from huey import crontab

from marketplace.extensions import db
from marketplace.jobs import app_periodic_task
from marketplace.synergies.services import remind_due_actions


@app_periodic_task(crontab(hour="6", minute="30"))
def remind_synergy_actions() -> int:
    """Huey's clock is UTC: 6:30 UTC is early morning in France, before the 7:00 daily digest."""
    told = remind_due_actions()
    db.session.commit()
    return told
