"""Entry point for the job worker: `huey_consumer marketplace.worker.huey`.
Importing the task modules registers every task with the queue."""
from marketplace.auctions import tasks as _auction_tasks  # noqa: F401
from marketplace.jobs import huey  # noqa: F401
from marketplace.listings import tasks as _listing_tasks  # noqa: F401
from marketplace.matching import tasks as _matching_tasks  # noqa: F401
from marketplace.notifications import tasks as _notification_tasks  # noqa: F401
from marketplace.search import tasks as _search_tasks  # noqa: F401
from marketplace.synergies import tasks as _synergy_tasks  # noqa: F401
