"""The practitioner workspace's rows of the route × role matrix (tests/test_authorization.py)."""
from tests.test_authorization import LOGIN, expect

GET_ROWS = [
    ("practitioner.index", "/animation", expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200,
                                                 admin=200)),
]
POST_ROWS = []


# --- dormant ads and their relaunch (tests/practitioner/test_relaunch.py) ------------------------------
# Each part chains to the setup/snapshot/url_values defined above it, so that parts append independently.
_previous_setup = globals().get("setup")
_previous_snapshot = globals().get("snapshot")
_previous_url_values = globals().get("url_values")


def setup(world):
    """`dormant_listing`: Alice's offer in t1, idle for 90 days, relaunched once by `practitioner`
    (`relaunch`, unanswered); `relaunch_token`: its "still available" link as mailed to Alice."""
    if _previous_setup:
        _previous_setup(world)
    from datetime import timedelta
    from decimal import Decimal

    from marketplace.extensions import db
    from marketplace.listings import services
    from marketplace.listings.models import ListingRelaunch
    from marketplace.models_base import utcnow
    from marketplace.practitioner.relaunch import answer_token

    alice, a = world["alice"], world["a"]
    listing = services.create(alice, a, a.sites[0], {
        "kind": "offer", "title": "Fûts métalliques", "description": "Fûts de 200 L vides.", "category": "materials",
        "quantity": Decimal("40"), "unit": "unit", "frequency": "once", "price_mode": "free"})
    listing.status = "published"
    listing.published_at = listing.last_activity_at = utcnow() - timedelta(days=90)
    relaunch = ListingRelaunch(listing_id=listing.id, batch_id="matrix", sent_at=utcnow() - timedelta(days=1),
                               sent_by_id=world["practitioner"].id, recipient_id=alice.id, recipient_emails=alice.email)
    db.session.add(relaunch)
    db.session.commit()
    world.update(dormant_listing=listing, relaunch=relaunch, relaunch_token=answer_token(relaunch, "renewed", alice))


def snapshot(world):
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.listings.models import ListingRelaunch
    from marketplace.notifications.models import OutgoingEmail

    mine = {
        "relaunches": db.session.execute(sa.select(ListingRelaunch.id, ListingRelaunch.answer,
                                                   ListingRelaunch.answered_at).order_by(ListingRelaunch.id)).all(),
        "dormant_listing": (world["dormant_listing"].status, world["dormant_listing"].last_activity_at),
        "relaunch_emails": db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingEmail)
                                             .where(OutgoingEmail.kind == "listing.relaunch")),
    }
    return [_previous_snapshot(world), mine] if _previous_snapshot else mine


def url_values(world):
    values = _previous_url_values(world) if _previous_url_values else {}
    return {**values, "token": world["relaunch_token"]}


GET_ROWS += [
    ("practitioner.dormant", "/animation/dormantes",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    ("practitioner.dormant", "/animation/dormantes?territory={t1.id}&sort=value",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    ("practitioner.dormant", "/animation/dormantes?territory=abc&sort=x",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    # Public: the signed link stands for the owner. GET only shows the confirmation page.
    ("practitioner.relaunch_answer", "/relance/{relaunch_token}", expect(200)),
    ("practitioner.relaunch_answer", "/relance/forged-token", expect(400)),
    # The listing page shows its relaunches to its owner and moderators.
    ("listings.show", "/annonces/{dormant_listing.id}", expect(200)),
]
POST_ROWS += [
    ("practitioner.relaunch_dormant", "/animation/dormantes/relancer", {"listing_ids": "{dormant_listing.id}"},
     ["alice", "bob", "carol", "other_practitioner", "outsider"]),
    ("practitioner.relaunch_dormant", "/animation/dormantes/relancer", {"listing_ids": "999999"},
     ["alice", "bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
]


# --- the moderation queue (tests/practitioner/test_moderation.py) --------------------------------------
_previous_setup_moderation = globals().get("setup")
_previous_snapshot_moderation = globals().get("snapshot")


def setup(world):  # noqa: F811  (chains to the part above)
    """`pending_company_t1` (Quimper) and `pending_company_t2` (Lorient) wait for review;
    `refused_company` (Concarneau) was refused by `practitioner`: its page is for its moderators only."""
    if _previous_setup_moderation:
        _previous_setup_moderation(world)
    from marketplace.companies.services import create_company
    from marketplace.extensions import db
    from marketplace.models_base import utcnow

    def company(name, postcode, status):
        created = create_company(None, {"name": name}, {"name": "Siège", "postcode": postcode})
        created.review_status = status
        if status != "pending":
            created.review_note, created.reviewed_at = "Doublon d'une entreprise existante", utcnow()
            created.reviewed_by_id = world["practitioner"].id
        return created

    world["pending_company_t1"] = company("Menuiserie Nouvelle", "29000", "pending")
    world["pending_company_t2"] = company("Fonderie Nouvelle", "56100", "pending")
    world["refused_company"] = company("Société Fantôme", "29900", "rejected")
    db.session.commit()


def snapshot(world):  # noqa: F811
    import sqlalchemy as sa

    from marketplace.accounts.models import Company
    from marketplace.extensions import db
    from marketplace.listings.models import Listing, ListingEvent
    from marketplace.notifications.models import Notification, OutgoingEmail

    def count(model, *conditions):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))

    mine = {
        "companies": db.session.execute(sa.select(Company.id, Company.review_status, Company.review_note,
                                                  Company.reviewed_at).order_by(Company.id)).all(),
        "pending_listings": db.session.execute(
            sa.select(Listing.id, Listing.status, Listing.title, Listing.rejection_reason, Listing.moderated_at)
            .where(Listing.id.in_([world["a_pending"].id, world["c_pending"].id])).order_by(Listing.id)).all(),
        "listing_events": count(ListingEvent),
        "moderation_notifications": count(Notification, Notification.kind.in_(("moderation", "pending"))),
        "moderation_emails": count(OutgoingEmail, OutgoingEmail.kind.like("listing.%") | OutgoingEmail.kind.like(
            "company.%")),
    }
    return [_previous_snapshot_moderation(world), mine] if _previous_snapshot_moderation else mine


GET_ROWS += [
    ("practitioner.moderation", "/animation/moderation",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    # Another's territory in the filter shows one's own territories.
    ("practitioner.moderation", "/animation/moderation?territory={t2.id}",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    ("practitioner.moderation", "/animation/moderation?territory=abc",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)),
    ("practitioner.moderate_listing", "/animation/moderation/annonces/{a_pending.id}",
     expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=404, admin=200)),
    ("practitioner.moderate_listing", "/animation/moderation/annonces/{c_pending.id}",
     expect(403, anonymous=LOGIN, practitioner=404, other_practitioner=200, admin=200)),
    # No longer pending: its moderators are sent to the listing's page.
    ("practitioner.moderate_listing", "/animation/moderation/annonces/{a_published.id}",
     expect(403, anonymous=LOGIN, practitioner=302, other_practitioner=404, admin=302)),
    ("practitioner.moderate_listing", "/animation/moderation/annonces/999999",
     expect(403, anonymous=LOGIN, practitioner=404, other_practitioner=404, admin=404)),
    ("companies.show", "/entreprises/{pending_company_t1.id}", expect(200)),
    ("companies.show", "/entreprises/{refused_company.id}", expect(404, practitioner=200, admin=200)),
]
_MEMBERS = ["alice", "bob", "carol", "outsider"]
POST_ROWS += [
    ("practitioner.moderate_many", "/animation/moderation/decisions",
     {"action": "approve", "listing_ids": "{a_pending.id}"}, _MEMBERS + ["other_practitioner"]),
    ("practitioner.moderate_many", "/animation/moderation/decisions",
     {"action": "reject", "reason": "Hors sujet", "listing_ids": "{c_pending.id}"}, _MEMBERS + ["practitioner"]),
    ("practitioner.moderate_many", "/animation/moderation/decisions",
     {"action": "reject", "reason": "Doublon", "company_ids": "{pending_company_t2.id}"}, _MEMBERS + ["practitioner"]),
    ("practitioner.moderate_many", "/animation/moderation/decisions",
     {"action": "approve", "company_ids": "{pending_company_t1.id}"}, _MEMBERS + ["other_practitioner"]),
    ("practitioner.moderate_many", "/animation/moderation/decisions", {"action": "approve", "listing_ids": "999999"},
     _MEMBERS + ["practitioner", "other_practitioner", "admin"]),
    ("practitioner.decide_listing", "/animation/moderation/annonces/{a_pending.id}/decision", {"action": "approve"},
     _MEMBERS + ["other_practitioner"]),
    ("practitioner.decide_listing", "/animation/moderation/annonces/{c_pending.id}/decision",
     {"action": "request_changes", "reason": "Précisez la quantité"}, _MEMBERS + ["practitioner"]),
    ("practitioner.decide_listing", "/animation/moderation/annonces/999999/decision", {"action": "approve"},
     _MEMBERS + ["practitioner", "other_practitioner", "admin"]),
    ("practitioner.decide_company", "/animation/moderation/entreprises/{pending_company_t1.id}/decision",
     {"action": "approve"}, _MEMBERS + ["other_practitioner"]),
    ("practitioner.decide_company", "/animation/moderation/entreprises/{pending_company_t2.id}/decision",
     {"action": "reject", "reason": "Doublon"}, _MEMBERS + ["practitioner"]),
    ("practitioner.decide_company", "/animation/moderation/entreprises/{refused_company.id}/decision",
     {"action": "approve"}, _MEMBERS + ["other_practitioner"]),
    ("practitioner.moderate_listing", "/animation/moderation/annonces/{a_pending.id}",
     {"title": "Piratée", "kind": "offer", "category": "materials", "frequency": "once", "price_mode": "free",
      "then": "approve"}, _MEMBERS + ["other_practitioner"]),
    ("practitioner.moderate_listing", "/animation/moderation/annonces/{c_pending.id}",
     {"title": "Piratée", "kind": "offer", "category": "materials", "frequency": "once", "price_mode": "free",
      "then": "approve"}, _MEMBERS + ["practitioner"]),
]
