"""Dormant ads and their relaunch (relance): the queue, the bulk relaunch and the owner's answers.

A relaunch run mails each person concerned ONE message listing all their dormant listings, each with
signed links that work without logging in: "still available" (renewed), "no longer available"
(withdrawn), "offer it to solution providers" (a sealed follow-up round). A link is single-use: the
answer is stored by a conditional UPDATE (… WHERE answered_at IS NULL), so of two clicks, or two
concurrent requests, exactly one applies. A listing left without answer to two relaunches expires
instead of being relaunched a third time. Functions flush, never commit; the rules are in rules.py."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Site, Territory, User, site_territory
from marketplace.accounts.tokens import make_token, read_token
from marketplace.conversations.models import Conversation
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import RELAUNCH_ANSWERS, Listing, ListingRelaunch
from marketplace.models_base import utcnow
from marketplace.notifications.services import external_url, queue_email
from marketplace.practitioner import rules

TOKEN_PURPOSE = "relaunch"

ANSWER_LABELS = {
    "renewed": _l("Toujours disponible"),
    "withdrawn": _l("Plus disponible"),
    "second_round": _l("Proposer aux apporteurs de solutions"),
}
ANSWER_EXPLANATIONS = {
    "renewed": _l("L'annonce reste en ligne et repart pour une nouvelle période."),
    "withdrawn": _l("L'annonce est retirée : plus personne ne la verra."),
    "second_round": _l("Un deuxième round sous pli s'ouvre pour quelques jours : les apporteurs de solutions "
                       "(recycleurs, valoristes, collecteurs) capables de la prendre sont prévenus et font leur offre."),
}
ANSWER_DONE = {
    "renewed": _l("Merci : l'annonce reste en ligne."),
    "withdrawn": _l("Merci : l'annonce est retirée."),
    "second_round": _l("Merci : l'offre est proposée aux apporteurs de solutions."),
}
# Why a link does nothing (the page says it; nothing is changed).
LINK_PROBLEMS = {
    "invalid": _l("Ce lien est incomplet, a été modifié ou a expiré : rien n'a été changé."),
    "used": _l("Cette relance a déjà reçu une réponse : rien n'a été changé."),
    "not_published": _l("Cette annonce n'est plus en ligne : rien n'a été changé."),
    "not_offerable": _l("Cette annonce ne peut pas être proposée aux apporteurs de solutions : rien n'a été changé."),
}


def link_max_age() -> int:
    return int(current_app.config["RELAUNCH_LINK_MAX_AGE_DAYS"]) * 24 * 3600


def interval_days() -> int:
    """Days an owner has to answer a relaunch before the next one (or expiry); MARKETPLACE_RELAUNCH_INTERVAL_DAYS."""
    return int(current_app.config["RELAUNCH_INTERVAL_DAYS"])


# --- the queue ------------------------------------------------------------------------------------


@dataclass
class DormantAd:
    """A dormant listing as the queue shows it and a relaunch run handles it."""

    listing: Listing
    since: datetime  # last sign of life
    idle_days: int
    after_days: int  # the setting that applies
    value_eur: Decimal | None
    relaunches: list[ListingRelaunch]  # oldest first
    step: str  # rules.RELAUNCH, rules.EXPIRE or rules.WAIT

    @property
    def unanswered(self) -> int:
        return len(rules.unanswered_since(self.since, [_past(r) for r in self.relaunches]))

    @property
    def last_relaunch(self) -> ListingRelaunch | None:
        return self.relaunches[-1] if self.relaunches else None


def _past(relaunch: ListingRelaunch) -> rules.PastRelaunch:
    return rules.PastRelaunch(relaunch.sent_at, relaunch.answered_at)


def _in_territories(territory_ids):
    return Listing.site_id.in_(sa.select(site_territory.c.site_id)
                               .where(site_territory.c.territory_id.in_(list(territory_ids))))


def in_scope(listing_ids: list[int], territory_ids: set[int] | None) -> set[int]:
    """Those of these listings whose site lies in the territories (None: everywhere)."""
    query = sa.select(Listing.id).where(Listing.id.in_(listing_ids))
    if territory_ids is not None:
        query = query.where(_in_territories(territory_ids))
    return set(db.session.scalars(query))


def dormant_ads(territory_ids: set[int] | None = None, days: int | None = None, *, listing_ids=None,
                by_value: bool = False, lock: bool = False, now: datetime | None = None) -> list[DormantAd]:
    """Dormant listings of these territories (None: all), oldest activity first then greatest value
    (`by_value`: value first). `days` overrides the territories' settings; `listing_ids` narrows the
    search; `lock` takes the listings' row locks (PostgreSQL) before a relaunch run decides on them."""
    now = now or utcnow()
    shortest = days if days is not None else min(
        db.session.scalar(sa.select(sa.func.min(Territory.dormant_after_days))) or rules.DEFAULT_DORMANT_DAYS,
        rules.DEFAULT_DORMANT_DAYS)
    cutoff = now - timedelta(days=shortest)
    # A listing dormant under its own setting is dormant under the shortest one: narrow in SQL, decide below.
    recent_talk = sa.select(Conversation.id).where(Conversation.listing_id == Listing.id,
                                                   Conversation.last_message_at > cutoff)
    query = (sa.select(Listing).where(Listing.status == "published", Listing.last_activity_at <= cutoff,
                                      sa.or_(Listing.last_viewed_at.is_(None), Listing.last_viewed_at <= cutoff),
                                      ~recent_talk.exists())
             .options(selectinload(Listing.site).selectinload(Site.territories), selectinload(Listing.company)))
    if territory_ids is not None:
        query = query.where(_in_territories(territory_ids))
    if listing_ids is not None:
        query = query.where(Listing.id.in_(list(listing_ids)))
    if lock:
        query = query.with_for_update(of=Listing)
    candidates = db.session.scalars(query).all()
    if not candidates:
        return []
    ids = [x.id for x in candidates]
    last_talk = dict(db.session.execute(
        sa.select(Conversation.listing_id, sa.func.max(Conversation.last_message_at))
        .where(Conversation.listing_id.in_(ids)).group_by(Conversation.listing_id)).all())
    history = defaultdict(list)
    for relaunch in db.session.scalars(sa.select(ListingRelaunch).where(ListingRelaunch.listing_id.in_(ids))
                                       .order_by(ListingRelaunch.sent_at, ListingRelaunch.id)
                                       .execution_options(populate_existing=lock)):
        history[relaunch.listing_id].append(relaunch)
    ads = []
    interval = interval_days()
    for listing in candidates:
        since = rules.last_activity(listing.last_activity_at, listing.last_viewed_at, last_talk.get(listing.id))
        after = rules.dormant_after_days((t.dormant_after_days for t in listing.site.territories), days)
        if not rules.is_dormant(listing.status, since, after, now):
            continue
        relaunches = history[listing.id]
        ads.append(DormantAd(listing, since, rules.idle_days(since, now), after,
                             rules.value_eur(listing.quantity, listing.unit_price_eur), relaunches,
                             rules.next_step(since, [_past(r) for r in relaunches], now, interval)))
    ads.sort(key=lambda ad: rules.queue_key(ad.since, ad.value_eur, ad.listing.quantity, by_value))
    return ads


# --- relaunch runs -------------------------------------------------------------------------------


def contacts(listing: Listing) -> tuple[User | None, list[User]]:
    """(the author, [the author]) while they are an active member of the company, else (None, every
    active member): who hears about the listing."""
    author = listing.author
    if author is not None and author.company_id == listing.company_id and author.is_active:
        return author, [author]
    return None, sorted((u for u in listing.company.members if u.is_active), key=lambda u: u.id)


def can_offer_to_providers(listing: Listing) -> bool:
    """Only offers go to solution providers, in a session of one of the site's territories."""
    return listing.kind == "offer" and listing.status == "published" and bool(listing.site.territories)


def answers_for(listing: Listing) -> tuple[str, ...]:
    return RELAUNCH_ANSWERS if can_offer_to_providers(listing) else ("renewed", "withdrawn")


def answer_token(relaunch: ListingRelaunch, answer: str, user: User | None) -> str:
    return make_token(TOKEN_PURPOSE, {"r": relaunch.id, "l": relaunch.listing_id, "a": answer,
                                      "u": user.id if user else None})


def answer_link(relaunch: ListingRelaunch, answer: str, user: User | None) -> str:
    return external_url("practitioner.relaunch_answer", token=answer_token(relaunch, answer, user))


@dataclass
class RelaunchReport:
    """What a run did (or, for a dry run, would do)."""

    dry_run: bool
    batch_id: str | None = None
    relaunched: list[Listing] = field(default_factory=list)
    expired: list[Listing] = field(default_factory=list)
    waiting: list[Listing] = field(default_factory=list)
    no_contact: list[Listing] = field(default_factory=list)
    # One message per person: (person, the listings it lists).
    messages: list[tuple[User, list[Listing]]] = field(default_factory=list)


def relaunch(ads: list[DormantAd], actor: User | None = None, dry_run: bool = False,
             now: datetime | None = None) -> RelaunchReport:
    """Relaunch these dormant listings as one batch: expire those with two unanswered relaunches, skip
    those relaunched too recently, record a relaunch for each other one and queue one e-mail per person
    listing all of theirs. A dry run decides the same and writes nothing, sends nothing."""
    now = now or utcnow()
    report = RelaunchReport(dry_run=dry_run, batch_id=None if dry_run else uuid.uuid4().hex)
    by_person: dict[int, tuple[User, list[tuple[Listing, ListingRelaunch | None]]]] = {}
    for ad in ads:
        listing = ad.listing
        if ad.step == rules.WAIT:
            report.waiting.append(listing)
            continue
        if ad.step == rules.EXPIRE:
            if not dry_run:
                listings.expire(actor, listing, note="Deux relances sans réponse")
            report.expired.append(listing)
            continue
        author, people = contacts(listing)
        if not people:
            report.no_contact.append(listing)
            continue
        row = None
        if not dry_run:
            row = ListingRelaunch(listing_id=listing.id, batch_id=report.batch_id, sent_at=now,
                                  sent_by_id=actor.id if actor else None, recipient_id=author.id if author else None,
                                  recipient_emails=", ".join(u.email for u in people))
            db.session.add(row)
        report.relaunched.append(listing)
        for person in people:
            by_person.setdefault(person.id, (person, []))[1].append((listing, row))
    if not dry_run:
        db.session.flush()
    idle = {ad.listing.id: ad.idle_days for ad in ads}
    for person, items in by_person.values():
        report.messages.append((person, [listing for listing, _row in items]))
        if dry_run:
            continue
        entries = [{"listing": listing, "idle_days": idle[listing.id],
                    "url": external_url("listings.show", listing_id=listing.id),
                    "answers": [(ANSWER_LABELS[a], answer_link(row, a, person)) for a in answers_for(listing)]}
                   for listing, row in items]
        queue_email(person.email, "listing.relaunch",
                    _l("Vos annonces sont-elles toujours d'actualité ? (%(n)s)", n=len(entries)), "relaunch",
                    locale=person.locale, user=person, entries=entries, practitioner=actor)
    return report


# --- answers ---------------------------------------------------------------------------------------


@dataclass
class RelaunchLink:
    relaunch: ListingRelaunch
    answer: str
    user: User | None

    @property
    def listing(self) -> Listing:
        return self.relaunch.listing


def read_link(token: str) -> RelaunchLink | None:
    """The relaunch and answer a link stands for; None when it is forged, altered or expired."""
    payload = read_token(TOKEN_PURPOSE, token, link_max_age())
    if not isinstance(payload, dict) or payload.get("a") not in RELAUNCH_ANSWERS:
        return None
    relaunch_id, listing_id, user_id = payload.get("r"), payload.get("l"), payload.get("u")
    if not isinstance(relaunch_id, int) or not isinstance(listing_id, int) or not (
            user_id is None or isinstance(user_id, int)):
        return None
    relaunch = db.session.get(ListingRelaunch, relaunch_id)
    if relaunch is None or relaunch.listing_id != listing_id:
        return None
    return RelaunchLink(relaunch, payload["a"], db.session.get(User, user_id) if user_id else None)


def link_problem(link: RelaunchLink | None) -> str | None:
    """Why this link can do nothing (a LINK_PROBLEMS key), or None."""
    if link is None:
        return "invalid"
    if link.relaunch.is_answered:
        return "used"
    if link.listing.status != "published":
        return "not_published"
    if link.answer not in answers_for(link.listing):
        return "not_offerable"
    return None


def answer(link: RelaunchLink, now: datetime | None = None) -> str | None:
    """Apply the link's answer once: None when done, else the LINK_PROBLEMS key of why not (nothing
    changed then; the caller rolls back). The conditional UPDATE makes the link single-use."""
    problem = link_problem(link)
    if problem:
        return problem
    now = now or utcnow()
    relaunch, listing, actor = link.relaunch, link.listing, link.user
    claimed = db.session.execute(
        sa.update(ListingRelaunch)
        .where(ListingRelaunch.id == relaunch.id, ListingRelaunch.answered_at.is_(None))
        .values(answer=link.answer, answered_at=now, answered_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return "used"
    db.session.refresh(relaunch)
    db.session.refresh(listing)
    if listing.status != "published":
        return "not_published"
    note = "Réponse à la relance"
    try:
        if link.answer == "renewed":
            listings.renew(actor, listing, note=note)
        elif link.answer == "withdrawn":
            listings.change_status(actor, listing, "withdraw")
        else:
            from marketplace.auctions.services import AuctionError, offer_to_providers

            try:
                offer_to_providers(listing, actor)
            except AuctionError:
                return "not_offerable"
            listing.last_activity_at = now
    except listings.TransitionError:
        return "not_published"
    return None


def history(listing: Listing) -> list[ListingRelaunch]:
    """The listing's relaunches, newest first."""
    return db.session.scalars(sa.select(ListingRelaunch).where(ListingRelaunch.listing_id == listing.id)
                              .order_by(ListingRelaunch.sent_at.desc(), ListingRelaunch.id.desc())).all()
