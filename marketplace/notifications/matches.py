"""Telling people about new matches. (Placeholder until the notification centre lands: e-mail the
members of the other company once per pair, through the outbox.)"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.matching.explain import reasons_text
from marketplace.notifications.services import external_url, queue_email


def notify_new_matches(listing, matches) -> int:
    sent = 0
    for match in matches:
        other = match.other(listing)
        for user in other.company.members:
            if not user.is_active:
                continue
            queue_email(user.email, "match.new", _l("Une annonce correspond à la vôtre : %(title)s", title=listing.title),
                        "match_new", locale=user.locale, user=user, listing=listing, yours=other,
                        match_reasons=reasons_text(match.reasons),
                        link=external_url("listings.show", listing_id=listing.id))
            sent += 1
    return sent
