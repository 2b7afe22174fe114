"""Telling people about new matches: the members of the other company hear about the new listing,
once per offer/need pair (however often matching runs), unless they muted it."""
from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.matching.explain import reasons_text
from marketplace.notifications.services import external_url, notify


def notify_new_matches(listing, matches) -> int:
    """Notify the other side of each new match of `listing`; returns how many people were notified."""
    told = 0
    link = external_url("listings.show", listing_id=listing.id)
    for match in matches:
        theirs = match.other(listing)
        reasons = list(match.reasons or [])
        body = LazyString(lambda reasons=reasons: " · ".join(reasons_text(reasons)))
        for user in theirs.company.members:
            if notify(user, "match", _l("Une annonce correspond à la vôtre : %(title)s", title=listing.title), body,
                      link, f"match:{match.offer_id}:{match.need_id}", listing=theirs, about=listing,
                      email_template="match_new", email_kind="match.new",
                      new_listing=listing, yours=theirs, reasons=reasons):
                told += 1
    return told
