"""Jobs that end timed and sealed lots at the right time, even when nobody is looking: one job per
lot at its end (re-scheduled when a late bid extends it), and a sweep every minute as a safety net."""
from __future__ import annotations

from datetime import datetime, timezone

from huey import crontab

from marketplace.auctions import services
from marketplace.extensions import db
from marketplace.jobs import app_periodic_task, app_task


@app_task(retries=5, retry_delay=10)
def close_lot_job(lot_id: int) -> bool:
    closed = services.close_lot(None, lot_id)
    db.session.commit()
    return closed


def close_lot_at(lot_id: int, eta: datetime) -> None:
    """Schedule the closing job at the lot's end. `eta` is naive UTC; Huey reads a naive eta as the
    server's local time (and drops its microseconds, so the job would run just before the end and
    find the lot not yet due): hand it an aware one."""
    close_lot_job.schedule(args=(lot_id,), eta=eta.replace(tzinfo=timezone.utc))


@app_periodic_task(crontab(minute="*"))
def close_due_lots() -> int:
    closed = 0
    for lot_id in services.due_lot_ids():
        closed += bool(services.close_lot(None, lot_id))
        db.session.commit()
    for round_id in services.due_round_ids():
        services.resolve_round(None, round_id)
        db.session.commit()
    return closed
