"""Who may see and do what: every route × every role, on a world with data in every state.
403/404 for what is not yours, 302 to the log-in page for anonymous visitors, never 500."""
import importlib
import re
from pathlib import Path

import pytest

from tests.conftest import login

ROLES = ["anonymous", "alice", "bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]
LOGIN = "login"  # anonymous → redirected to the log-in page


@pytest.fixture(autouse=True)
def notification_centre(request):
    """Alice's notification (Bob's message in `world`), saved search and category mute, for the matrices;
    then auctions in t1 (see _auctions)."""
    if "world" not in request.fixturenames:
        return
    enrich(request.getfixturevalue("world"), request.getfixturevalue("make_listing"))


def enrich(world, make_listing):
    """Add to `world` what the matrices use: Alice's notification centre, the auctions, and the objects
    of each feature's tests/<feature>/authorization.py."""
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.notifications.alerts import create_saved_search
    from marketplace.notifications.models import Notification
    from marketplace.notifications.services import mute_category

    alice = world["alice"]
    world["alice_notification"] = db.session.scalar(sa.select(Notification).where(Notification.user_id == alice.id))
    world["alice_alert"] = create_saved_search(alice, {"query": "drêches"})
    world["alice_mute"] = mute_category(alice, "energy")
    db.session.commit()
    _auctions(world, make_listing)
    for extension in EXTENSIONS:
        if hasattr(extension, "setup"):
            extension.setup(world)


def _auctions(world, make_listing):
    """Auctions run by `practitioner` in t1, Alice's company giving, Bob's company bidding:
    - `auction`: a live room, open, Bob checked in. Lots: `lot_sold` (closed, award confirmed: `synergy`),
      `lot_proposed` (closed, `award_proposed` waiting for Alice), `lot_consent` (put up by the practitioner,
      awaiting Alice's consent), `lot_open` (on screen, Bob's `auction_bid`), `lot_ready` (not presented);
    - `auction_closed`: a room closed with nothing sold: its lot went to the sealed follow-up round
      `auction_round` (`lot_follow_up`, open to companies outside that room within 50 km: Bob's, Carol's);
    - `auction_draft`: a session in preparation, Bob's company invited."""
    from datetime import timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from marketplace.auctions import services
    from marketplace.auctions.models import Lot, Round
    from marketplace.extensions import db
    from marketplace.models_base import utcnow
    from marketplace.synergies.models import Synergy

    practitioner, alice, bob, t1 = world["practitioner"], world["alice"], world["bob"], world["t1"]

    def session(title, mode="live"):
        return services.create_session(practitioner, t1, {
            "title": title, "mode": mode, "starts_at": utcnow() + timedelta(hours=1), "place": "CCI Quimper",
            "is_online": False, "description": ""})

    def offer(title):
        return make_listing(world["a"], "published", title=title, quantity=Decimal("5"), unit="t")

    room = session("Enchères de Concarneau")
    services.invite(practitioner, room, [world["b"]])
    lots = {name: services.put_up(alice, room, offer(title), {"quantity": Decimal("5")})
            for name, title in (("lot_sold", "Filets de pêche"), ("lot_proposed", "Bidons vides"),
                                ("lot_open", "Caisses polystyrène"), ("lot_ready", "Cordages"))}
    lots["lot_consent"] = services.put_up(practitioner, room, offer("Chutes de bois"), {"quantity": Decimal("5")})
    db.session.commit()
    services.check_in(practitioner, room.id, world["b"].id, True)
    services.open_session(practitioner, room.id)
    db.session.commit()
    for name in ("lot_sold", "lot_proposed"):
        services.present(practitioner, lots[name].id)
        services.place_bid(bob, lots[name].id, Decimal("2.00"), Decimal("5"))
        services.close_lot(practitioner, lots[name].id)
        db.session.commit()
    services.decide_award(alice, lots["lot_sold"].awards[0].id, True)
    services.present(practitioner, lots["lot_open"].id)
    world["auction_bid"], _ = services.place_bid(bob, lots["lot_open"].id, Decimal("1.50"), Decimal("5"))
    db.session.commit()

    closed = session("Salle de Quimper")
    services.put_up(alice, closed, offer("Sacs de jute"), {"quantity": Decimal("3")})
    db.session.commit()
    services.open_session(practitioner, closed.id)
    services.close_room(practitioner, closed.id)
    db.session.commit()

    draft = session("Session de juin")
    services.invite(practitioner, draft, [world["b"]])
    db.session.commit()

    world.update(lots, auction=room, auction_closed=closed, auction_draft=draft)
    world["award_proposed"] = lots["lot_proposed"].awards[0]
    world["auction_round"] = db.session.scalar(sa.select(Round).where(Round.session_id == closed.id,
                                                                      Round.kind == "follow_up"))
    world["lot_follow_up"] = db.session.scalar(sa.select(Lot).where(Lot.round_id == world["auction_round"].id))
    world["synergy"] = db.session.scalars(sa.select(Synergy)).one()


def expect(default, **overrides):
    return {role: overrides.get(role, default) for role in ROLES}


# (endpoint, path template, expected status per role). Path fields come from the `world` fixture.
GET_MATRIX = [
    ("main.home", "/", expect(200)),
    ("main.health", "/sante", expect(200)),
    ("listings.browse", "/annonces", expect(200)),
    # Words go to the search page, with the same filters.
    ("listings.browse", "/annonces?kind=offer&category=materials&territory={t1.id}&postcode=29000&radius_km=20&q=palettes", expect(302)),
    ("listings.browse", "/annonces?postcode=99999&page=abc", expect(200)),
    ("listings.show", "/annonces/{a_draft.id}", expect(404, alice=200)),
    ("listings.show", "/annonces/{a_pending.id}", expect(404, alice=200, practitioner=200, admin=200)),
    ("listings.show", "/annonces/{c_pending.id}", expect(404, carol=200, other_practitioner=200, admin=200)),
    ("listings.show", "/annonces/{a_published.id}", expect(200)),
    ("listings.show", "/annonces/999999", expect(404)),
    ("listings.edit", "/annonces/{a_draft.id}/modifier", expect(404, anonymous=LOGIN, alice=200)),
    ("listings.edit", "/annonces/{a_pending.id}/modifier",
     expect(404, anonymous=LOGIN, alice=200, practitioner=403, admin=403)),
    ("listings.edit", "/annonces/{a_published.id}/modifier", expect(403, anonymous=LOGIN, alice=200)),
    ("listings.create", "/annonces/nouvelle", expect(200, anonymous=LOGIN, practitioner=302,
                                                      other_practitioner=302, admin=302, outsider=302)),
    ("listings.mine", "/mes-annonces", expect(200, anonymous=LOGIN, practitioner=302, other_practitioner=302,
                                               admin=302, outsider=302)),
    ("listings.photo", "/photos/missing.jpg", expect(404)),
    ("listings.waste_codes", "/reference/codes-dechets?q=bois", expect(200)),
    ("conversations.inbox", "/messages", expect(200, anonymous=LOGIN)),
    ("conversations.show", "/messages/{conversation.id}", expect(404, anonymous=LOGIN, alice=200, bob=200)),
    ("conversations.respond", "/annonces/{a_published.id}/repondre",
     expect(200, anonymous=LOGIN, alice=403, practitioner=302, other_practitioner=302, admin=302, outsider=302)),
    ("conversations.respond", "/annonces/{a_draft.id}/repondre", expect(404, anonymous=LOGIN, alice=403)),
    ("companies.show", "/entreprises/{a.id}", expect(200)),
    ("companies.show", "/entreprises/999999", expect(404)),
    ("companies.create", "/entreprises/nouvelle", expect(200, anonymous=LOGIN, alice=302, bob=302, carol=302)),
    ("companies.edit", "/entreprises/{a.id}/modifier", expect(403, anonymous=LOGIN, alice=200, admin=200)),
    ("companies.add_site", "/entreprises/{a.id}/sites/nouveau", expect(403, anonymous=LOGIN, alice=200, admin=200)),
    ("companies.edit_site", "/entreprises/{a.id}/sites/{a.sites[0].id}/modifier",
     expect(403, anonymous=LOGIN, alice=200, admin=200)),
    ("companies.edit_site", "/entreprises/{a.id}/sites/{b.sites[0].id}/modifier",
     expect(403, anonymous=LOGIN, alice=404, admin=404)),
    ("companies.accept_invitation", "/entreprises/invitation/forged-token", expect(302)),
    ("companies.communes", "/entreprises/communes/29900", expect(200)),
    ("territories.index", "/territoires/", expect(403, anonymous=LOGIN, practitioner=200,
                                                   other_practitioner=200, admin=200)),
    ("territories.create", "/territoires/nouveau", expect(403, anonymous=LOGIN, admin=200)),
    ("territories.show", "/territoires/{t1.id}", expect(403, anonymous=LOGIN, practitioner=200, admin=200)),
    ("territories.show", "/territoires/{t2.id}", expect(403, anonymous=LOGIN, other_practitioner=200, admin=200)),
    ("territories.edit", "/territoires/{t1.id}/modifier", expect(403, anonymous=LOGIN, admin=200)),
    ("imports.upload", "/import/", expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    ("accounts.signup", "/compte/inscription", expect(302, anonymous=200)),
    ("accounts.login", "/compte/connexion", expect(302, anonymous=200)),
    ("accounts.forgot_password", "/compte/mot-de-passe-oublie", expect(200)),
    ("accounts.reset_password", "/compte/reinitialiser/forged", expect(302)),
    ("accounts.confirm", "/compte/confirmer/forged", expect(302)),
    ("accounts.profile", "/compte/profil", expect(200, anonymous=LOGIN)),
    ("main.dev_mail", "/dev/mail", expect(404)),
    ("vocabulary.index", "/vocabulaire/", expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200,
                                                 admin=200)),
    ("vocabulary.edit", "/vocabulaire/thesaurus", expect(403, anonymous=LOGIN, practitioner=200,
                                                         other_practitioner=200, admin=200)),
    ("main.dev_mail_message", "/dev/mail/x", expect(404)),
    ("search.index", "/recherche", expect(200)),
    ("search.index", ("/recherche?q=palettes&kind=offer&category=materials&chapter=15&territory={t1.id}"
                      "&hazardous=0&postcode=29000&radius_km=20&sort=distance&page=1"), expect(200)),
    ("search.index", "/recherche?q=<script>&postcode=99999&radius_km=abc&page=abc&kind=x&sort=x", expect(200)),
    ("notifications.index", "/notifications", expect(200, anonymous=LOGIN)),
    ("notifications.preferences", "/notifications/preferences", expect(200, anonymous=LOGIN)),
    ("notifications.alerts_index", "/alertes", expect(200, anonymous=LOGIN)),
    ("notifications.create_alert", "/alertes/nouvelle?q=palettes&kind=offer&territory={t1.id}",
     expect(200, anonymous=LOGIN)),
    ("notifications.unsubscribe", "/notifications/desabonnement/forged", expect(400)),
    # Auctions (data in `_auctions`): practitioners of t1 and administrators run them; invited companies
    # and givers see them; follow-up lots, also the companies allowed to bid there.
    ("auctions.index", "/encheres", expect(200, anonymous=LOGIN)),
    ("auctions.create", "/encheres/nouvelle",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    ("auctions.show", "/encheres/{auction.id}", expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200,
                                                       admin=200)),
    ("auctions.show", "/encheres/{auction_closed.id}",
     expect(404, anonymous=LOGIN, alice=200, practitioner=200, admin=200)),
    ("auctions.show", "/encheres/{auction_draft.id}", expect(404, anonymous=LOGIN, practitioner=200, admin=200)),
    ("auctions.show", "/encheres/999999", expect(404, anonymous=LOGIN)),
    ("auctions.edit", "/encheres/{auction_draft.id}/modifier",
     expect(404, anonymous=LOGIN, practitioner=200, admin=200)),
    ("auctions.edit", "/encheres/{auction.id}/modifier",  # open: no more changes
     expect(404, anonymous=LOGIN, alice=403, bob=403, practitioner=302, admin=302)),
    ("auctions.control", "/encheres/{auction.id}/regie",
     expect(404, anonymous=LOGIN, alice=403, bob=403, practitioner=200, admin=200)),
    ("auctions.projector", "/encheres/{auction.id}/projection",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("auctions.projector_state", "/encheres/{auction.id}/projection/etat?v=0",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("auctions.room", "/encheres/{auction.id}/salle",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("auctions.room_state", "/encheres/{auction.id}/salle/etat",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("auctions.room_form", "/encheres/{auction.id}/salle/formulaire",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("auctions.room_form", "/encheres/{auction_draft.id}/salle/formulaire",
     expect(404, anonymous=LOGIN, practitioner=200, admin=200)),
    # Bob's company has no offer to put up: sent back to the session.
    ("auctions.put_up", "/encheres/{auction.id}/lots/nouveau",
     expect(404, anonymous=LOGIN, alice=200, bob=302, practitioner=200, admin=200)),
    ("auctions.lot", "/encheres/lots/{lot_open.id}", expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200,
                                                            admin=200)),
    ("auctions.lot", "/encheres/lots/{lot_consent.id}",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("auctions.lot", "/encheres/lots/{lot_follow_up.id}",
     expect(404, anonymous=LOGIN, alice=200, bob=200, carol=200, practitioner=200, admin=200)),
    ("auctions.lot", "/encheres/lots/999999", expect(404, anonymous=LOGIN)),
    ("auctions.lot_history", "/encheres/lots/{lot_proposed.id}/historique",
     expect(404, anonymous=LOGIN, alice=200, bob=403, practitioner=200, admin=200)),
    ("auctions.lot_history", "/encheres/lots/{lot_open.id}/historique",  # the giver: once the lot is closed
     expect(404, anonymous=LOGIN, alice=403, bob=403, practitioner=200, admin=200)),
    ("auctions.rounds", "/encheres/rounds", expect(200, anonymous=LOGIN)),
    ("auctions.round", "/encheres/rounds/{auction_round.id}",
     expect(404, anonymous=LOGIN, alice=200, bob=200, carol=200, practitioner=200, admin=200)),
    ("auctions.round", "/encheres/rounds/{auction.main_round.id}",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("auctions.my_bids", "/encheres/offres-de-mon-entreprise",
     expect(302, anonymous=LOGIN, alice=200, bob=200, carol=200)),
    ("synergies.index", "/synergies", expect(200, anonymous=LOGIN)),
    ("synergies.show", "/synergies/{synergy.id}",
     expect(404, anonymous=LOGIN, alice=200, bob=200, practitioner=200, admin=200)),
    ("synergies.show", "/synergies/999999", expect(404, anonymous=LOGIN)),
]

# POST routes a role must NOT be able to use on another's object: (endpoint, path, data, roles refused).
FORBIDDEN_POSTS = [
    ("listings.approve", "/annonces/{a_pending.id}/approuver", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("listings.reject", "/annonces/{a_pending.id}/rejeter", {"reason": "Photo manquante"},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("listings.submit", "/annonces/{a_draft.id}/soumettre", {}, ["bob", "practitioner", "admin"]),
    ("listings.change_status", "/annonces/{a_published.id}/statut", {"action": "withdraw"},
     ["bob", "carol", "practitioner", "admin"]),
    ("listings.edit", "/annonces/{a_published.id}/modifier", {"title": "Piraté"}, ["bob", "practitioner", "admin"]),
    ("listings.delete_photo", "/annonces/{a_published.id}/photos/1/supprimer", {}, ["bob", "practitioner"]),
    ("companies.edit", "/entreprises/{a.id}/modifier", {"name": "Piraté"}, ["bob", "practitioner"]),
    ("companies.add_site", "/entreprises/{a.id}/sites/nouveau", {"name": "X", "postcode": "29900"},
     ["bob", "practitioner"]),
    ("companies.delete_site", "/entreprises/{a.id}/sites/{a.sites[0].id}/supprimer", {}, ["bob", "practitioner"]),
    ("companies.invite", "/entreprises/{a.id}/inviter", {"email": "x@example.fr"}, ["bob", "practitioner", "admin"]),
    ("conversations.show", "/messages/{conversation.id}", {"body": "Intrusion"},
     ["carol", "practitioner", "admin", "outsider"]),
    ("conversations.respond", "/annonces/{a_published.id}/repondre", {"message": "Moi-même"}, ["alice"]),
    ("imports.upload", "/import/", {}, ["alice", "bob", "carol", "outsider"]),
    ("imports.confirm", "/import/confirmer", {"token": "A" * 32}, ["alice", "bob", "carol", "outsider"]),
    ("territories.create", "/territoires/nouveau", {"name": "X", "kind": "postcodes", "postcodes": "29900",
                                                    "dormant_after_days": "60"}, ["alice", "practitioner"]),
    ("territories.edit", "/territoires/{t1.id}/modifier", {"name": "X"}, ["alice", "practitioner"]),
    ("territories.assign", "/territoires/{t1.id}/animateurs", {"email": "bob@brasserie.fr"},
     ["alice", "practitioner"]),
    ("territories.unassign", "/territoires/{t1.id}/animateurs/{practitioner.id}/retirer", {},
     ["alice", "practitioner", "other_practitioner"]),
    ("territories.trust", "/territoires/{t1.id}/confiance/{a.id}", {"trusted": "1"},
     ["alice", "bob", "other_practitioner"]),
    ("vocabulary.edit", "/vocabulaire/thesaurus", {"content": "a, b"}, ["alice", "practitioner", "outsider"]),
    ("vocabulary.reset", "/vocabulaire/uses/retablir", {}, ["alice", "practitioner", "outsider"]),
    ("notifications.mark_read", "/notifications/{alice_notification.id}/lue", {"open": "1"},
     ["bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    ("notifications.toggle_alert", "/alertes/{alice_alert.id}/pause", {},
     ["bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    ("notifications.delete_alert", "/alertes/{alice_alert.id}/supprimer", {},
     ["bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    ("notifications.unmute", "/notifications/sourdines/{alice_mute.id}/retirer", {},
     ["bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    ("notifications.mute_listing", "/annonces/{a_draft.id}/sourdine", {},
     ["bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    # Own data only (nothing of anyone else's to refuse): anonymous visitors go to the log-in page.
    ("notifications.mark_all_read", "/notifications/tout-lu", {}, []),
    ("notifications.mute_category", "/notifications/preferences/categories", {"category": "water"}, []),
    # Auctions: running a session is for practitioners of t1 and administrators.
    ("auctions.create", "/encheres/nouvelle",
     {"title": "Piratée", "territory_id": "{t1.id}", "mode": "live", "starts_at": "2031-04-02T09:00",
      "place": "Ici"}, ["alice", "bob", "carol", "outsider"]),
    ("auctions.edit", "/encheres/{auction_draft.id}/modifier",
     {"title": "Piratée", "territory_id": "{t1.id}", "mode": "live", "starts_at": "2031-04-02T09:00",
      "place": "Ici"}, ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.invite", "/encheres/{auction_draft.id}/invitations", {"companies": "{a.id}"},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.remove_participant", "/encheres/{auction_draft.id}/participants/{b.id}/retirer", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.check_in", "/encheres/{auction.id}/participants/{b.id}/presence", {"present": "0"},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.open_session", "/encheres/{auction_draft.id}/ouvrir", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.close_room", "/encheres/{auction.id}/clore", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.relaunch", "/encheres/{auction_closed.id}/relance",
     {"lot_ids": "{lot_follow_up.id}", "radius_km": "200", "days": "8"},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.present", "/encheres/lots/{lot_ready.id}/presenter", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.last_call", "/encheres/lots/{lot_open.id}/dernieres-encheres", {"seconds": "10"},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.close_lot", "/encheres/lots/{lot_open.id}/clore", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.undo_close", "/encheres/lots/{lot_proposed.id}/annuler-cloture", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.close_unclaimed", "/encheres/lots/{lot_follow_up.id}/clore-sans-preneur", {},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    # Lots: the giver puts up its own offers, consents, decides awards; a practitioner may withdraw too.
    ("auctions.put_up", "/encheres/{auction.id}/lots/nouveau", {"listing_id": "{a_published.id}", "quantity": "1"},
     ["carol", "other_practitioner", "outsider"]),
    ("auctions.withdraw_lot", "/encheres/lots/{lot_ready.id}/retirer", {},
     ["bob", "carol", "other_practitioner", "outsider"]),
    ("auctions.consent", "/encheres/lots/{lot_consent.id}/accord", {"answer": "accept"},
     ["bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    ("auctions.decide_award", "/encheres/attributions/{award_proposed.id}", {"decision": "confirm"},
     ["bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
    # Bids: only on a lot one may see; a bid is retracted by its own company only.
    ("auctions.bid", "/encheres/lots/{lot_open.id}/encherir", {"unit_price_eur": "9", "quantity": "5"},
     ["carol", "other_practitioner", "outsider"]),
    ("auctions.retract_bid", "/encheres/offres/{auction_bid.id}/retrait", {"reason": "typo"},
     ["alice", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
]


# Feature packages add their own rows next to their tests, in tests/<feature>/authorization.py. Such a
# module may define: setup(world) (adds its objects to the world, commits), GET_ROWS and POST_ROWS
# (rows shaped like GET_MATRIX and FORBIDDEN_POSTS above), url_values(world) (a dict: URL argument →
# value, for the CSRF test) and snapshot(world) (what a refused post must leave unchanged).
EXTENSIONS = [importlib.import_module(f"tests.{path.parent.name}.authorization")
              for path in sorted(Path(__file__).parent.glob("*/authorization.py"))]
# (imported here, after `expect`, which they use: `from tests.test_authorization import LOGIN, expect`)
for _extension in EXTENSIONS:
    GET_MATRIX += getattr(_extension, "GET_ROWS", [])
    FORBIDDEN_POSTS += getattr(_extension, "POST_ROWS", [])


def fill(template: str, world) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(eval(m.group(1), {}, world)), template)


def as_role(client, world, role):
    if role != "anonymous":
        login(client, world[role])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_get_routes_for_every_role(app, world, role):
    client = as_role(app.test_client(), world, role)
    failures = []
    for endpoint, template, expected in GET_MATRIX:
        path = fill(template, world)
        response = client.get(path)
        want = expected[role]
        if want == LOGIN:
            ok = response.status_code == 302 and "/compte/connexion" in response.location
        else:
            ok = response.status_code == want
        if not ok:
            failures.append(f"{role} GET {path} ({endpoint}): {response.status_code}, expected {want}")
    assert not failures, "\n".join(failures)


def _snapshot(world):
    from marketplace.extensions import db
    from marketplace.notifications import services

    db.session.expire_all()
    return {
        "a_pending": world["a_pending"].status, "a_draft": world["a_draft"].status,
        "a_published": (world["a_published"].status, world["a_published"].title),
        "a_name": world["a"].name, "a_sites": len(world["a"].sites),
        "messages": len(world["conversation"].messages),
        "t1": (world["t1"].name, len(world["t1"].assignments), len(world["t1"].trusts)),
        "alice_centre": (world["alice_notification"].read_at, world["alice_alert"].active,
                         len(services.mutes_of(world["alice"].id))),
        "auctions": _auction_snapshot(),
        "extensions": [extension.snapshot(world) for extension in EXTENSIONS if hasattr(extension, "snapshot")],
    }


def _auction_snapshot():
    """Every auction row that a refused post could have touched, down to the lock versions."""
    import sqlalchemy as sa

    from marketplace.auctions.models import AuctionSession, Award, Bid, Lot, LotEvent, Participant, Round
    from marketplace.extensions import db
    from marketplace.synergies.models import Synergy

    def rows(*columns):
        return db.session.execute(sa.select(*columns).order_by(*columns[:1])).all()

    return {
        "sessions": rows(AuctionSession.id, AuctionSession.title, AuctionSession.status, AuctionSession.version,
                         AuctionSession.current_lot_id),
        "participants": rows(Participant.session_id, Participant.company_id, Participant.checked_in_at),
        "rounds": rows(Round.id, Round.status, Round.closes_at, Round.radius_km),
        "lots": rows(Lot.id, Lot.status, Lot.quantity_remaining, Lot.reserve_unit_price_eur, Lot.closes_at,
                     Lot.version),
        "bids": rows(Bid.id, Bid.status),
        "awards": rows(Award.id, Award.status),
        "events": db.session.scalar(sa.select(sa.func.count()).select_from(LotEvent)),
        "synergies": rows(Synergy.id, Synergy.stage),
    }


@pytest.mark.parametrize("role", ["anonymous", "alice", "bob", "carol", "practitioner", "other_practitioner",
                                  "admin", "outsider"])
def test_forbidden_posts_are_refused_and_change_nothing(app, world, role):
    client = as_role(app.test_client(), world, role)
    before = _snapshot(world)
    failures = []
    for endpoint, template, data, refused in FORBIDDEN_POSTS:
        if role not in refused and role != "anonymous":
            continue
        path = fill(template, world)
        response = client.post(path, data={k: fill(v, world) for k, v in data.items()})
        if role == "anonymous":
            ok = response.status_code == 302 and "/compte/connexion" in response.location
        else:
            ok = response.status_code in (403, 404)
        if not ok:
            failures.append(f"{role} POST {path} ({endpoint}): {response.status_code}")
    assert not failures, "\n".join(failures)
    assert _snapshot(world) == before


def test_every_route_is_in_the_matrix(app):
    """A new route must be added to the matrices above (so its access rules are tested)."""
    covered = {e for e, _, _ in GET_MATRIX} | {e for e, *_ in FORBIDDEN_POSTS} | {
        # POST-only routes open to anyone logged in (own account / language) or tested in their own files:
        "main.set_language", "accounts.logout", "accounts.resend_confirmation", "accounts.change_password",
        "static",
    } | {  # the JSON API authenticates by bearer token only: tests/api/ checks every endpoint's rights
        e for e in (rule.endpoint for rule in app.url_map.iter_rules()) if e.startswith("api.")
    }
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - covered == set()


def test_every_post_without_csrf_token_is_refused(app, world):
    """Log in as a user who could do almost anything, then post to every POST route without a token."""
    client = app.test_client()
    login(client, world["alice"])
    refused = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint.startswith("api."):
            continue  # the API takes no cookies (bearer token only), so CSRF cannot apply: tests/api checks it
        if rule.endpoint == "notifications.unsubscribe":
            # RFC 8058 one-click unsubscribe: mail providers POST without a session or token; the signed
            # link is the protection (tests/notifications/test_unsubscribe.py).
            continue
        extra = {}
        for extension in EXTENSIONS:
            if hasattr(extension, "url_values"):
                extra.update(extension.url_values(world))
        values = {}
        for arg in rule.arguments:
            values[arg] = extra[arg] if arg in extra else {
                "listing_id": world["a_published"].id, "company_id": world["a"].id, "site_id": world["a"].sites[0].id,
                "territory_id": world["t1"].id, "user_id": world["practitioner"].id, "photo_id": 1,
                "conversation_id": world["conversation"].id, "code": "en", "token": "x", "name": "thesaurus",
                "notification_id": world["alice_notification"].id, "search_id": world["alice_alert"].id,
                "mute_id": world["alice_mute"].id, "session_id": world["auction"].id,
                "lot_id": world["lot_open"].id, "bid_id": world["auction_bid"].id,
                "award_id": world["award_proposed"].id,
            }[arg]
        path = app.url_map.bind("localhost").build(rule.endpoint, values)
        response = client.post(path, data={"title": "x", "body": "x", "email": "x@example.fr"}, csrf=False)
        if response.status_code != 400:
            refused.append(f"{rule.endpoint} {path}: {response.status_code}")
    assert not refused, "POST accepted without CSRF token:\n" + "\n".join(refused)
