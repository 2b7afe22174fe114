"""Access rules, generated rather than listed: every route of the site and of the API, for every role,
with the id of every object of the world in each of its URL arguments (so each role meets its own
company's objects and everyone else's). The hand-written matrix (tests/test_authorization.py) says what
each role should get on chosen URLs; this one says what must never happen on any of them:

- reading: no 5xx, and private data never reaches whoever may not see it. Private values are planted
  as "canaries" (a draft's title, a conversation message, a hidden reserve, a sealed bid, contact
  details, a password hash …) and each response is searched for them;
- writing: roles with no rights over Alice's company or the Concarneau territory post to every route
  that acts on an object, with every such object, and the whole database is unchanged afterwards.

The read crawl also checks every form it meets: each free-text field of a POST form says its maximum
length, so the browser stops the typing there rather than the server refusing it (and, on the inline
forms that answer by a redirect, dropping what was typed).
"""
from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.test_authorization import ROLES, as_role, enrich

# URL argument → the table whose ids fill it (every row of it), or fixed values.
TABLE_OF_ARGUMENT = {
    "award_id": "auction_award", "bid_id": "auction_bid", "company_id": "company", "conversation_id": "conversation",
    "listing_id": "listing", "lot_id": "auction_lot", "match_id": "match", "mute_id": "mute",
    "notification_id": "notification", "photo_id": "listing_photo", "round_id": "auction_round",
    "search_id": "saved_search", "session_id": "auction_session", "site_id": "site", "synergy_id": "synergy",
    "territory_id": "territory", "user_id": "user", "workshop_id": "workshop",
}
FIXED_VALUES = {"code": ["en"], "name": ["thesaurus", "uses", "x"], "postcode": ["29900"],
                "status": ["declares", "verifies"], "token": ["forged"], "filename": ["x.jpg"]}
NOT_CRAWLED = {"static", "main.dev_mail", "main.dev_mail_message"}  # files; the development mailbox (404 here)

FORM_RE = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
FIELD_RE = re.compile(r"<(input|textarea)\b([^>]*)>", re.I)
TEXT_TYPES = {"text", "email", "search", "url", "tel", "password"}

EVERYONE = set(ROLES)
LOGGED_IN = EVERYONE - {"anonymous"}


def plant_canaries(world) -> list[tuple[str, re.Pattern, set[str]]]:
    """Private values written into the world: (what, pattern, roles that may see it)."""
    from marketplace.accounts.models import User
    from marketplace.api.models import ApiToken
    from marketplace.auctions import services as auctions
    from marketplace.conversations.models import Message

    def mark(listing, word):
        listing.title = f"{listing.title} {word}"
        listing.description = f"Détail {word}"

    mark(world["a_draft"], "canari-brouillon")
    mark(world["a_pending"], "canari-attente")
    mark(world["c_pending"], "canari-lorient")
    message = db.session.scalars(sa.select(Message).where(
        Message.conversation_id == world["conversation"].id)).first()
    message.body = "Intéressé par vos palettes canari-conversation"
    world["alice_alert"].query = world["alice_alert"].name = "canari-alerte"
    world["synergy_t2"].title = "Copeaux canari-synergie-lorient"
    world["a"].contact_email = "canari-contact@conserverie.fr"
    world["a"].contact_phone = "02 98 61 47 39"
    world["lot_ready"].reserve_unit_price_eur = Decimal("873.19")
    db.session.commit()
    # Carol's company bids in the sealed follow-up round: before it closes, that price is Carol's alone.
    auctions.place_bid(world["carol"], world["lot_follow_up"].id, Decimal("612.47"), Decimal("3"))
    db.session.commit()
    secrets = [u.password_hash for u in db.session.scalars(sa.select(User))]
    secrets += [t.token_hash for t in db.session.scalars(sa.select(ApiToken))]
    return [
        ("a draft listing", re.compile("canari-brouillon"), {"alice"}),
        ("a listing awaiting moderation in Concarneau", re.compile("canari-attente"),
         {"alice", "practitioner", "admin"}),
        ("a listing awaiting moderation in Lorient", re.compile("canari-lorient"),
         {"carol", "other_practitioner", "admin"}),
        ("a conversation's message", re.compile("canari-conversation"), {"alice", "bob"}),
        ("a saved search", re.compile("canari-alerte"), {"alice"}),
        ("a synergy of Lorient", re.compile("canari-synergie-lorient"), {"carol", "other_practitioner", "admin"}),
        ("contact details", re.compile(r"canari-contact@|02 98 61 47 39"), LOGGED_IN),
        ("a hidden reserve", re.compile(r"873[.,]19"), {"alice", "practitioner", "admin"}),
        ("a sealed bid before the round closes", re.compile(r"612[.,]47"), {"carol"}),
        ("password hashes and API token digests", re.compile("|".join(re.escape(s) for s in secrets)), set()),
    ]


@pytest.fixture
def crawled_world(world, make_listing, runner):
    enrich(world, make_listing)
    world["canaries"] = plant_canaries(world)
    world["tokens"] = {}
    for role in LOGGED_IN:
        result = runner.invoke(args=["users", "token", world[role].email])
        assert result.exit_code == 0, result.output
        world["tokens"][role] = result.output.strip()
    return world


def ids(table: str) -> list[int]:
    return list(db.session.scalars(sa.select(sa.column("id")).select_from(sa.table(table)).order_by("id")))


def urls(app, methods: set[str], pools: dict[str, list]) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every rule answering one of `methods`, arguments from `pools`."""
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in NOT_CRAWLED:
            continue
        for method in sorted(rule.methods & methods):
            names = sorted(rule.arguments)
            for values in itertools.product(*(pools[name] for name in names)):
                out.append((rule.endpoint, method, adapter.build(rule.endpoint, dict(zip(names, values)))))
    return out


def all_pools() -> dict[str, list]:
    return {**FIXED_VALUES, **{arg: ids(table) for arg, table in TABLE_OF_ARGUMENT.items()}}


def request(client, role, world, method, path, data=None):
    if path.startswith("/api/"):
        token = world["tokens"].get(role)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.open(path, method=method, headers=headers, json=data if method != "GET" else None)
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data={**(data or {}), "csrf_token": client.csrf_token()})


@pytest.mark.parametrize("role", ROLES)
def test_no_route_shows_a_role_what_it_may_not_see(app, crawled_world, role, record_testsuite_property):
    world = crawled_world
    client = as_role(app.test_client(), world, role)
    canaries = [(what, pattern) for what, pattern, allowed in world["canaries"] if role not in allowed]
    # What the role may see must show somewhere: proof that the canaries are where the pages look.
    unseen = {what: pattern for what, pattern, allowed in world["canaries"] if role in allowed}
    failures, checked = [], 0
    for endpoint, method, path in urls(app, {"GET"}, all_pools()):
        response = request(client, role, world, method, path)
        checked += 1
        if response.status_code >= 500:
            failures.append(f"{path} ({endpoint}): {response.status_code}")
            continue
        body = response.get_data().decode("utf-8", "replace")
        failures += [f"{path} ({endpoint}): field {name!r} has no maxlength" for name in unbounded_fields(body)]
        for what, pattern in canaries:
            if pattern.search(body):
                failures.append(f"{path} ({endpoint}) shows {what} to {role}")
        for what in [what for what, pattern in unseen.items() if pattern.search(body)]:
            del unseen[what]
    record_testsuite_property(f"reads.{role}", checked)  # in the JUnit report: figures of docs/security.md
    assert checked > 250, checked  # the generator really produced the routes × objects
    assert not unseen, f"{role} never saw {', '.join(unseen)}: a canary is not where it was meant to be"
    assert not failures, "\n".join(failures)


def unbounded_fields(html: str) -> list[str]:
    """Names of the free-text fields of the page's POST forms that have no maxlength."""
    found = []
    for form in FORM_RE.findall(html):
        if not re.search(r'method="post"', form[:form.index(">")], re.I):
            continue
        for tag, attrs in FIELD_RE.findall(form):
            kind = re.search(r'\btype="([^"]*)"', attrs)
            if tag.lower() == "input" and (kind.group(1) if kind else "text").lower() not in TEXT_TYPES:
                continue
            if "maxlength=" not in attrs:
                name = re.search(r'\bname="([^"]*)"', attrs)
                found.append(name.group(1) if name else attrs.strip())
    return found


# Routes by which a role legitimately acts on another company's object, tested in their feature's tests
# and in the hand-written matrix: answering a listing, muting it for oneself, bidding where invited.
PUBLIC_ACTIONS = {"conversations.respond", "notifications.mute_listing", "auctions.bid", "api.place_bid",
                  "main.set_language", "accounts.logout"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM = {"title": "Piraté", "description": "Piraté", "body": "Piraté", "message": "Piraté", "reason": "Piraté",
        "name": "Piraté", "content": "a, b", "email": "pirate@example.fr", "decision": "approve",
        "action": "withdraw", "answer": "accept", "unit_price_eur": "9", "quantity": "1", "present": "1",
        "trusted": "1", "stage": "done", "status": "withdrawn", "companies": "1", "lot_ids": "1", "seconds": "10",
        "kind": "offer", "category": "materials", "postcode": "29900", "locale": "en", "open": "1"}


def snapshot() -> dict:
    """Every row of every table."""
    db.session.expire_all()
    out = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = [tuple(row) for row in rows]
    return out


@pytest.mark.parametrize("role", ["anonymous", "outsider", "carol", "other_practitioner"])
def test_no_route_lets_a_role_change_what_is_not_its_own(app, crawled_world, role, record_testsuite_property):
    """Anonymous visitors, a member without company, a member of Lorient and the practitioner of Lorient
    have no rights over Alice's company, Bob's or anything in Concarneau: every write route, with each
    of those objects, leaves the database as it was."""
    world = crawled_world
    client = as_role(app.test_client(), world, role)
    pools = {**all_pools(), **theirs(world, role)}
    if world["tokens"].get(role):  # the API records a token's use at most every few minutes: once, first
        client.get("/api/v1/listings", headers={"Authorization": f"Bearer {world['tokens'][role]}"})
    before = snapshot()
    failures, accepted, tried = [], [], 0
    for endpoint, method, path in urls(app, WRITE_METHODS, pools):
        if endpoint in PUBLIC_ACTIONS or not re.search(r"/\d+(/|$)", path):
            continue  # not acting on an existing object (creating one's own things, tokens, languages)
        response = request(client, role, world, method, path, FORM)
        tried += 1
        if response.status_code >= 500:
            failures.append(f"{method} {path} ({endpoint}): {response.status_code}")
        elif response.status_code < 400 and "/compte/connexion" not in (response.location or ""):
            accepted.append(f"{method} {path} ({endpoint}): {response.status_code}")
    record_testsuite_property(f"writes.{role}", tried)
    assert tried > 200, tried
    assert not failures, "\n".join(failures)
    after = snapshot()
    changed = [name for name in after if after[name] != before[name]]
    assert not changed, f"{role} changed {', '.join(changed)}; requests not refused:\n" + "\n".join(accepted)


def theirs(world, role) -> dict[str, list[int]]:
    """The objects of Alice's and Bob's companies and of the Concarneau territory (none of which the roles
    of the write test may change), by URL argument; the role's own bid and notifications left out."""
    from marketplace.auctions.models import AuctionSession, Award, Bid, Lot, Round
    from marketplace.conversations.models import Conversation
    from marketplace.listings.models import Listing, ListingPhoto
    from marketplace.matching.models import Match
    from marketplace.notifications.models import Mute, Notification, SavedSearch
    from marketplace.synergies.models import Synergy
    from marketplace.workshops.models import Workshop

    companies = [world["a"].id, world["b"].id]
    t1 = world["t1"].id
    user = world.get(role)
    own_company = user.company_id if user is not None else None

    def select(column, *where):
        return list(db.session.scalars(sa.select(column).where(*where).order_by(column)))

    listings = select(Listing.id, Listing.company_id.in_(companies))
    return {
        "company_id": companies, "territory_id": [t1], "user_id": [world["alice"].id, world["practitioner"].id],
        "listing_id": listings, "photo_id": select(ListingPhoto.id, ListingPhoto.listing_id.in_(listings)) or [1],
        "site_id": [site.id for name in ("a", "b") for site in world[name].sites],
        "conversation_id": select(Conversation.id, Conversation.listing_id.in_(listings)),
        "match_id": select(Match.id, Match.offer_id.in_(listings)),
        "synergy_id": select(Synergy.id, Synergy.territory_id == t1),
        "session_id": select(AuctionSession.id, AuctionSession.territory_id == t1),
        "round_id": select(Round.id, Round.session_id.in_(select(AuctionSession.id, AuctionSession.territory_id == t1))),
        "lot_id": select(Lot.id, Lot.listing_id.in_(listings)),
        "bid_id": select(Bid.id, Bid.company_id != own_company) if own_company else select(Bid.id),
        "award_id": select(Award.id),
        "workshop_id": select(Workshop.id, Workshop.territory_id == t1),
        **{arg: select(model.id, model.user_id == world["alice"].id)
           for arg, model in (("notification_id", Notification), ("mute_id", Mute), ("search_id", SavedSearch))},
    }
