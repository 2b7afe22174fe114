"""A few seconds of memory for the listing index as anonymous visitors see it.

The public listing index is the page most visited by people who are not logged in (prospects, search
engines), and the same few URLs are asked again and again. Its results (count, 20 cards, page links)
are the same for all of them, so each web worker keeps the rendered results of a URL and language for
`LISTINGS_PAGE_CACHE_SECONDS` (10 by default; 0 turns it off). The rest of the page (header, form,
CSRF token of the language switch) is rendered for each request. Logged-in members never get cached
results: a company that has just published sees its listing at once; a visitor sees it within the
delay. Bounded: each `put` drops the entries that have expired (all entries live the same time, so
the oldest are at the front), and the oldest go first beyond `MAX_ENTRIES`. Without the first rule,
a worker kept up to 512 expired pages (~7 MB) it would never serve again, growing for as long as
visitors asked for URLs it had not seen: the soak benchmark showed it as 1 MiB/min per worker.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_ENTRIES = 512


class ResultsCache:
    def __init__(self, seconds: float, clock=time.monotonic, max_entries: int = MAX_ENTRIES):
        self.seconds, self.clock, self.max_entries = seconds, clock, max_entries
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            expires, value = hit
            if expires <= self.clock():
                del self._entries[key]
                return None
            return value

    def put(self, key, value) -> None:
        with self._lock:
            now = self.clock()
            self._entries.pop(key, None)
            while self._entries and next(iter(self._entries.values()))[0] <= now:
                self._entries.popitem(last=False)
            self._entries[key] = (now + self.seconds, value)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def for_app(app) -> ResultsCache | None:
    """The app's cache, or None when the setting turns it off."""
    seconds = float(app.config.get("LISTINGS_PAGE_CACHE_SECONDS") or 0)
    if seconds <= 0:
        return None
    cache = app.extensions.get("listings_page_cache")
    if cache is None or cache.seconds != seconds:
        cache = app.extensions["listings_page_cache"] = ResultsCache(seconds)
    return cache
