"""The workshop rows of the route × role matrix (tests/test_authorization.py).

World objects added by `setup`: `workshop`, run by `practitioner` in t1, attended by Alice's company (a)
and Bob's (b), with Alice's published offer and Bob's published need entered at it."""
from tests.test_authorization import LOGIN, expect

# The list and the new-workshop page: practitioners (of any territory) and administrators.
RUNNERS = expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=200, admin=200)
# A workshop of t1: its practitioners and administrators; another territory's practitioner: 404.
OF_T1 = expect(403, anonymous=LOGIN, practitioner=200, other_practitioner=404, admin=200)
W = "/animation/ateliers/{workshop.id}"

GET_ROWS = [
    ("workshops.index", "/animation/ateliers", RUNNERS),
    ("workshops.create", "/animation/ateliers/nouveau", RUNNERS),
    # Another's territory asked for: one's own territory is shown instead.
    ("workshops.create", "/animation/ateliers/nouveau?territoire={t2.id}", RUNNERS),
    ("workshops.create", "/animation/ateliers/nouveau?territoire=abc", RUNNERS),
    ("workshops.show", W, OF_T1),
    ("workshops.show", "/animation/ateliers/999999",
     expect(403, anonymous=LOGIN, practitioner=404, other_practitioner=404, admin=404)),
    ("workshops.edit", W + "/modifier", OF_T1),
    ("workshops.entry", W + "/saisie", OF_T1),
    ("workshops.import_file", W + "/import", OF_T1),
    ("workshops.report", W + "/rapport", OF_T1),
    # A company's own report: also its members; nobody else's.
    ("workshops.company_report", W + "/entreprises/{a.id}",
     expect(404, anonymous=LOGIN, alice=200, practitioner=200, admin=200)),
    ("workshops.company_report", W + "/entreprises/{b.id}",
     expect(404, anonymous=LOGIN, bob=200, practitioner=200, admin=200)),
    # Carol's company did not attend.
    ("workshops.company_report", W + "/entreprises/{c.id}", expect(404, anonymous=LOGIN)),
    ("workshops.company_report", "/animation/ateliers/999999/entreprises/{a.id}", expect(404, anonymous=LOGIN)),
]

_NOT_OF_T1 = ["alice", "bob", "carol", "other_practitioner", "outsider"]
POST_ROWS = [
    # other_practitioner may create, but not in t1: the form refuses the territory (422), tested in test_views.
    ("workshops.create", "/animation/ateliers/nouveau",
     {"title": "Piraté", "held_on": "2030-01-01", "territory_id": "{t1.id}", "company_ids": "{a.id}"},
     ["alice", "bob", "carol", "outsider"]),
    ("workshops.edit", W + "/modifier", {"title": "Piraté", "held_on": "2030-01-01", "company_ids": "{c.id}"},
     _NOT_OF_T1),
    ("workshops.entry", W + "/saisie",
     {"action": "save", "rows-0-company_id": "{a.id}", "rows-0-kind": "offer", "rows-0-title": "Piratée",
      "rows-0-category": "materials", "rows-0-frequency": "once"}, _NOT_OF_T1),
    ("workshops.import_file", W + "/import", {}, _NOT_OF_T1),
    ("workshops.confirm_import", W + "/import/confirmer", {"token": "A" * 32}, _NOT_OF_T1),
    ("workshops.send_reports", W + "/envoyer", {"resend": "y"}, _NOT_OF_T1),
    ("workshops.send_reports", "/animation/ateliers/999999/envoyer", {},
     ["alice", "bob", "carol", "practitioner", "other_practitioner", "admin", "outsider"]),
]


def setup(world):
    from datetime import date

    from marketplace.extensions import db
    from marketplace.workshops import services
    from marketplace.workshops.models import WorkshopListing

    workshop = services.create_workshop(world["practitioner"], world["t1"], {
        "title": "Atelier de Concarneau", "held_on": date(2026, 11, 20), "place": "CCI"}, [world["a"], world["b"]])
    for listing in (world["a_published"], world["b_published"]):
        db.session.add(WorkshopListing(workshop_id=workshop.id, listing_id=listing.id, source="entry"))
    db.session.commit()
    world["workshop"] = workshop


def url_values(world) -> dict:
    return {"workshop_id": world["workshop"].id}


def snapshot(world):
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.notifications.models import OutgoingEmail
    from marketplace.workshops.models import Workshop, WorkshopAttendee, WorkshopListing

    def rows(*columns):
        return db.session.execute(sa.select(*columns).order_by(*columns[:2])).all()

    return {
        "workshops": rows(Workshop.id, Workshop.title, Workshop.held_on, Workshop.reports_sent_at),
        "attendees": rows(WorkshopAttendee.workshop_id, WorkshopAttendee.company_id, WorkshopAttendee.report_sent_at),
        "entries": rows(WorkshopListing.workshop_id, WorkshopListing.listing_id),
        "listings": db.session.scalar(sa.select(sa.func.count()).select_from(Listing)),
        "report_emails": db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingEmail)
                                           .where(OutgoingEmail.kind == "workshop.report")),
    }
