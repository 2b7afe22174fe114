"""The import service: companies found or created, listings created or updated by ref, each line
written whole or not at all, publishing, territories, the after-import hook."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.imports import rows, services
from marketplace.listings.models import Listing, ListingEvent
from tests.imports.test_rows import GOOD, csv_bytes


def parsed(*lines, columns=rows.COLUMNS):
    return rows.parse(csv_bytes(*[{**GOOD, **line} for line in lines], columns=columns), "import.csv")


def listing(ref) -> Listing | None:
    return db.session.scalar(sa.select(Listing).where(Listing.ref == ref))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_creates_companies_and_listings_then_updates_them_by_ref(app):
    first = services.import_rows(parsed(
        {"ref": "A", "siret": "73282932000074", "email": "contact@conserverie.fr"},
        {"ref": "B", "kind": "need", "title": "Cherche cartons", "waste_code": "", "price_eur": "-5"},
        {"ref": "C", "company_name": "Brasserie de l'Odet", "postcode": "29000", "city": "", "price_eur": "0"},
    ))
    db.session.commit()
    assert (first.created, first.updated, first.rejected, first.companies_created) == (3, 0, 0, 2)
    a, b, c = listing("A"), listing("B"), listing("C")
    assert a.company_id == b.company_id != c.company_id
    assert a.status == b.status == c.status == "draft" and a.author_id is None
    assert a.company.siret == "73282932000074" and a.company.contact_email == "contact@conserverie.fr"
    assert a.site.postcode == "29900" and a.site.city == "Concarneau" and a.site.territories == []
    assert c.site.city == "Quimper"  # filled in from the postcode table
    assert (b.price_mode, b.unit_price_eur, c.price_mode) == ("priced", Decimal("-5.00"), "free")
    assert a.waste_code == "15 01 03" and b.waste_code is None

    second = services.import_rows(parsed(
        {"ref": "A", "title": "Palettes 80x120 (corrigé)", "quantity": "3,5"},
        {"ref": "B", "kind": "need", "title": "Cherche cartons", "waste_code": "", "price_eur": "-5"},
        {"ref": "C", "company_name": "BRASSERIE DE L’ODET", "postcode": "29000", "price_eur": "0"},
    ))
    db.session.commit()
    assert (second.created, second.updated, second.rejected, second.companies_created) == (0, 3, 0, 0)
    assert count(Listing) == 3 and count(Company) == 2
    db.session.expire_all()
    assert listing("A").title == "Palettes 80x120 (corrigé)" and listing("A").quantity == Decimal("3.5")
    assert listing("A").id == a.id
    actions = db.session.scalars(sa.select(ListingEvent.action).where(ListingEvent.listing_id == a.id)).all()
    assert actions == ["created", "edited"]


def test_existing_company_is_matched_by_folded_name_and_postcode(app, make_company):
    existing = make_company("Société Écorces & Fils", "29900", siret="35600000000048")
    report = services.import_rows(parsed(
        {"ref": "A", "company_name": "SOCIETE ecorces et fils", "siret": "73282932000074"},  # not the same name
        {"ref": "B", "company_name": "société  écorces & fils", "siret": "73282932000074"},
        {"ref": "C", "company_name": "Société Écorces & Fils", "postcode": "29000"},  # another place
    ))
    db.session.commit()
    assert report.rejected == 0 and report.companies_created == 2
    assert listing("B").company_id == existing.id and listing("B").site_id == existing.sites[0].id
    assert existing.siret == "35600000000048"  # an import never rewrites a known company
    assert listing("A").company_id != existing.id and listing("A").company.siret == "73282932000074"
    assert listing("C").company_id not in (existing.id, listing("A").company_id)


def test_database_checks_refuse_lines_with_reasons(app, make_company, make_listing):
    other = make_company("Chantier Naval", "56100", siret="35600000000048")
    taken = make_listing(other, "published")
    taken.ref = "TAKEN"
    db.session.commit()
    report = services.import_rows(parsed(
        {"ref": "TAKEN"},  # the ref of another company's listing
        {"ref": "S1", "company_name": "Nouvelle", "siret": "35600000000048"},  # SIRET of a known company
        {"ref": "S2", "company_name": "Une", "siret": "73282932000074"},
        {"ref": "S3", "company_name": "Deux", "siret": "73282932000074"},  # same SIRET, another new company
        {"ref": "S4", "company_name": "Une", "siret": "73282932000074"},  # same new company again: fine
    ))
    db.session.commit()
    assert (report.created, report.rejected) == (2, 3)
    messages = {e.line: e.message for e in report.errors}
    assert "déjà celle d'une annonce de « Chantier Naval » (56100)" in messages[2]
    assert "déjà celui de « Chantier Naval »" in messages[3]
    assert "déjà donné ligne 4" in messages[5]
    assert listing("S1") is None and listing("S3") is None
    assert listing("S2").company_id == listing("S4").company_id
    db.session.expire_all()
    assert taken.company_id == other.id and taken.title == "Palettes bois 120x80"


def test_publish_sets_published_and_records_an_imported_event(app, make_user, make_territory):
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[make_territory()])
    report = services.import_rows(parsed({"ref": "P"}), actor=practitioner, publish=True)
    db.session.commit()
    p = listing("P")
    assert report.published and p.status == "published" and p.published_at and p.author_id == practitioner.id
    event = db.session.scalar(sa.select(ListingEvent).where(ListingEvent.listing_id == p.id,
                                                            ListingEvent.action == "imported"))
    assert (event.actor_id, event.from_status, event.to_status) == (practitioner.id, "draft", "published")


def test_publish_never_revives_a_withdrawn_listing_and_updates_keep_the_status(app):
    services.import_rows(parsed({"ref": "W"}, {"ref": "K"}), publish=True)
    listing("W").status = "withdrawn"
    db.session.commit()
    services.import_rows(parsed({"ref": "W"}, {"ref": "K", "title": "Nouveau titre"}), publish=True)
    services.import_rows(parsed({"ref": "K", "title": "Encore"}))
    db.session.commit()
    assert listing("W").status == "withdrawn" and listing("K").status == "published"


def test_practitioner_imports_only_in_their_territories(app, make_user, make_territory):
    cornouaille = make_territory("Cornouaille", "29900 29000")
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[cornouaille])
    admin = make_user("admin@eit.fr", role="admin")
    lines = ({"ref": "IN"}, {"ref": "OUT", "postcode": "56100", "city": "Lorient"})
    report = services.import_rows(parsed(*lines), actor=practitioner)
    assert (report.created, report.rejected) == (1, 1)
    [error] = report.errors
    assert error.line == 3 and error.field == "postcode" and "hors de vos territoires" in error.message
    assert services.import_rows(parsed(*lines), actor=admin).rejected == 0


def test_a_database_error_leaves_nothing_of_that_line(app, monkeypatch):
    real_create = services.listing_services.create

    def failing_create(actor, company, site, data):
        created = real_create(actor, company, site, data)
        if data["title"] == "Boum":
            raise sa.exc.IntegrityError("INSERT …", {}, Exception("contrainte violée"))
        return created

    monkeypatch.setattr(services.listing_services, "create", failing_create)
    report = services.import_rows(parsed(
        {"ref": "A"}, {"ref": "B", "title": "Boum", "company_name": "Fantôme", "postcode": "29000"}, {"ref": "C"},
    ))
    assert (report.created, report.rejected) == (2, 1)
    [error] = report.errors
    assert error.line == 3 and "contrainte violée" in error.message
    assert listing("B") is None and db.session.scalar(sa.select(Company).where(Company.name == "Fantôme")) is None
    db.session.rollback()  # nothing was committed behind the caller's back, line by line
    assert count(Listing) == 0 and count(Company) == 0


def test_jobs_queued_by_lines_start_after_the_commit_only(app, monkeypatch):
    """Savepoints send commit/rollback events too: the jobs of good lines must neither start before the
    real commit nor be forgotten when a later line fails."""
    from marketplace.jobs import enqueue_after_commit

    started = []
    real_create = services.listing_services.create

    def create_and_queue(actor, company, site, data):
        created = real_create(actor, company, site, data)
        enqueue_after_commit(db.session(), lambda title: started.append(title), data["title"])
        if data["title"] == "Boum":
            raise sa.exc.IntegrityError("INSERT …", {}, Exception("contrainte violée"))
        return created

    monkeypatch.setattr(services.listing_services, "create", create_and_queue)
    enqueue_after_commit(db.session(), lambda title: started.append(title), "before the import")
    report = services.import_rows(parsed({"ref": "A", "title": "Une"}, {"ref": "B", "title": "Boum"},
                                         {"ref": "C", "title": "Trois"}))
    assert report.created == 2 and started == []
    db.session.commit()
    assert started == ["before the import", "Une", "Trois"]


def test_after_import_hook_gets_the_listings_and_the_notify_flag(app, monkeypatch):
    calls = []
    monkeypatch.setattr(services, "after_import", lambda ids, notify: calls.append((ids, notify)))
    report = services.import_rows(parsed({"ref": "A"}, {"ref": "B"}, {"ref": "C", "category": "x"}), notify=False)
    assert calls == [(report.listing_ids, False)] and len(report.listing_ids) == 2 and not report.notify
    assert services.after_import.__module__  # the real hook is a plain function
    monkeypatch.undo()
    assert services.after_import([1], True) is None


def test_progress_callback_and_plain_rows(app):
    progress = []
    rows_only = parsed({"ref": "A"}, {"ref": "B"}).rows
    report = services.import_rows(rows_only, progress=lambda done, total: progress.append((done, total)))
    assert report.created == 2 and progress == [(1, 2), (2, 2)]


def test_plan_shows_what_would_happen_without_writing(app, make_company):
    make_company("Conserverie du Port", "29900")
    services.import_rows(parsed({"ref": "A"}))
    db.session.commit()
    planned = services.plan(parsed({"ref": "A"}, {"ref": "B", "company_name": "Neuve"}, {"ref": "C", "unit": "x"}))
    assert [(p.status, p.new_company) for p in planned] == [("update", False), ("new", True), ("error", False)]
    assert count(Listing) == 1 and count(Company) == 1


@pytest.mark.parametrize("name, same", [
    ("Brasserie de l'Odet", True), ("brasserie de l’odet", True), ("BRASSERIE  DE L ODET", True),
    ("Brasserie de l'Aven", False),
])
def test_name_key(name, same):
    assert (services.name_key(name) == services.name_key("Brasserie de l'Odet")) is same


def test_lines_of_a_refused_company_are_refused(app):
    services.import_rows(parsed({"ref": "R1"}), publish=True)
    company = listing("R1").company
    company.review_status = "rejected"
    db.session.commit()
    report = services.import_rows(parsed({"ref": "R1", "title": "Autre titre"}, {"ref": "R2"}), publish=True)
    db.session.commit()
    assert (report.created, report.updated, report.rejected) == (0, 0, 2)
    assert all(e.field == "company_name" and "refusée par l'animation" in e.message for e in report.errors)
    assert listing("R2") is None and listing("R1").title != "Autre titre"
