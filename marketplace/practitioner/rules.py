"""Dormant ads and their relaunch (relance), as plain functions: no database, unit-tested directly.

A published listing is dormant when nobody touched it for N days: no update by its owner (edits,
status changes, bids: `last_activity_at`), no message in its conversations and no view by a logged-in
member of another company (`last_viewed_at`). N is the territory's setting; a site in several territories
takes the smallest. The practitioner relaunches the owner; a listing left without answer to two
relaunches expires."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

DEFAULT_DORMANT_DAYS = 60
# A relaunch left unanswered this many days may be followed by the next one (or by expiry).
DEFAULT_RELAUNCH_INTERVAL_DAYS = 14
UNANSWERED_RELAUNCHES_BEFORE_EXPIRY = 2

RELAUNCH = "relaunch"
EXPIRE = "expire"
WAIT = "wait"


def dormant_after_days(territory_days: Iterable[int], override: int | None = None) -> int:
    """The idle period that makes a listing dormant: `override` when given (a command-line choice),
    else the smallest setting among the site's territories, else the default."""
    if override is not None:
        return override
    return min(territory_days, default=DEFAULT_DORMANT_DAYS)


def last_activity(updated_at: datetime, viewed_at: datetime | None = None,
                  answered_at: datetime | None = None) -> datetime:
    """The latest sign of life: an update by the owner, a view by someone else, a message."""
    return max(moment for moment in (updated_at, viewed_at, answered_at) if moment is not None)


def idle_days(since: datetime, now: datetime) -> int:
    return max((now - since).days, 0)


def is_dormant(status: str, since: datetime, days: int, now: datetime) -> bool:
    return status == "published" and now - since >= timedelta(days=days)


@dataclass(frozen=True)
class PastRelaunch:
    sent_at: datetime
    answered_at: datetime | None = None


def unanswered_since(since: datetime, relaunches: Iterable[PastRelaunch]) -> list[PastRelaunch]:
    """Relaunches sent after the last sign of life and never answered (an answer, or any activity,
    starts the count again), oldest first."""
    return sorted((r for r in relaunches if r.sent_at >= since and r.answered_at is None), key=lambda r: r.sent_at)


def next_step(since: datetime, relaunches: Iterable[PastRelaunch], now: datetime,
              interval_days: int = DEFAULT_RELAUNCH_INTERVAL_DAYS) -> str:
    """What a relaunch run does to a dormant listing: RELAUNCH it, EXPIRE it (two relaunches went
    unanswered) or WAIT (the last relaunch is recent: the owner still has time to answer)."""
    pending = unanswered_since(since, relaunches)
    if pending and now - pending[-1].sent_at < timedelta(days=interval_days):
        return WAIT
    if len(pending) >= UNANSWERED_RELAUNCHES_BEFORE_EXPIRY:
        return EXPIRE
    return RELAUNCH


def value_eur(quantity: Decimal | None, unit_price_eur: Decimal | None) -> Decimal | None:
    """What is at stake, in euros either way (a cost the giver pays counts as much as a price)."""
    if quantity is None or unit_price_eur is None:
        return None
    return abs(quantity * unit_price_eur)


def queue_key(since: datetime, value: Decimal | None, quantity: Decimal | None, by_value: bool = False):
    """Sort key of the dormant queue: oldest activity first, then the greatest value (listings with a
    price first), then the greatest quantity; `by_value` puts value first and age second."""
    worth = (0 if value is not None else 1, -(value or 0), -(quantity or 0))
    return (*worth, since) if by_value else (since, *worth)
