"""Workshop services: the workshop and its attendees, entries published and matched at once, the
import into a workshop, and the individual reports mailed to a real SMTP server."""
from datetime import date

import pytest
import sqlalchemy as sa

from marketplace.companies.services import add_site, create_company
from marketplace.extensions import db
from marketplace.imports import rows as import_rows
from marketplace.listings.models import Listing, ListingEvent
from marketplace.matching.models import Match
from marketplace.notifications.models import OutgoingEmail
from marketplace.workshops import queries, rules, services
from marketplace.workshops.models import Workshop, WorkshopAttendee, WorkshopListing
from tests.imports.test_rows import GOOD, csv_bytes
from tests.workshops.conftest import FEED, GRAINS, TRUCK, entries


def enter(area, workshop, *pairs, notify=False) -> services.EntryResult:
    attendees = {a.company_id: a for a in queries.entry_attendees(workshop)}
    lines = rules.check_entries(entries(area, *pairs), attendees)
    assert not any(line.errors for line in lines), [line.errors for line in lines]
    result = services.add_entries(area["practitioner"], workshop, lines, notify=notify)
    db.session.commit()
    return result


def count(model, *conditions) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def test_a_workshop_is_created_with_its_attendees(area, workshop):
    assert (workshop.title, workshop.held_on, workshop.place) == (
        "Atelier ressources de Cornouaille", date(2026, 11, 20), "CCI de Quimper")
    assert workshop.territory_id == area["territory"].id and workshop.created_by_id == area["practitioner"].id
    assert workshop.company_ids == {area[k].id for k in ("brewery", "farm", "cannery")}
    assert workshop.is_run_by(area["practitioner"]) and workshop.is_run_by(area["admin"])
    assert not workshop.is_run_by(area["other_practitioner"]) and not workshop.is_run_by(area["anne"])


def test_attendees_with_entries_stay_when_unchecked(area, workshop):
    enter(area, workshop, ("brewery", GRAINS))
    kept = services.set_attendees(area["practitioner"], workshop, [area["farm"]])
    db.session.commit()
    assert kept == [area["brewery"]]
    assert workshop.company_ids == {area["brewery"].id, area["farm"].id}  # the cannery (nothing entered) left


def test_entries_are_published_at_the_site_in_the_territory_linked_and_matched_at_once(area, workshop):
    # A company whose first site is outside the territory: its workshop listing goes to the one inside.
    mill = create_company(None, {"name": "Minoterie de l'Aven"}, {"name": "Siège", "postcode": "56100"})
    inside = add_site(mill, "Moulin", "29910")
    services.add_attendees(workshop, [mill])
    db.session.commit()
    area["mill"] = mill
    result = enter(area, workshop, ("brewery", GRAINS), ("farm", FEED), ("mill", TRUCK))

    grains, feed, truck = result.listings
    assert [listing.status for listing in result.listings] == ["published"] * 3
    assert grains.site_id == area["brewery"].sites[0].id and truck.site_id == inside.id
    assert grains.author_id == area["practitioner"].id and grains.published_at is not None
    assert (grains.quantity, grains.unit, grains.frequency, grains.waste_code) == (2.5, "t", "weekly", "02 07 01")
    assert queries.listing_ids_of(workshop) == {grains.id, feed.id, truck.id}
    event = db.session.scalar(sa.select(ListingEvent).where(ListingEvent.listing_id == grains.id,
                                                            ListingEvent.action == "published"))
    assert event.note == workshop.title and event.actor_id == area["practitioner"].id
    # Matched in the request: the report is ready without waiting for a job.
    assert result.new_matches >= 1
    assert db.session.scalar(sa.select(Match).where(Match.offer_id == grains.id, Match.need_id == feed.id))
    [opportunity] = queries.opportunities(workshop)
    assert (opportunity.offer.id, opportunity.need.id) == (grains.id, feed.id)
    assert opportunity.offer_at_workshop and opportunity.need_at_workshop and opportunity.distance_km > 0


def test_entries_do_not_notify_unless_asked(area, workshop):
    from marketplace.notifications.models import Notification

    enter(area, workshop, ("farm", FEED))
    enter(area, workshop, ("brewery", GRAINS))
    assert count(Notification, Notification.kind == "match") == 0
    enter(area, workshop, ("brewery", {**GRAINS, "title": "Drêches sèches de brasserie"}), notify=True)
    assert count(Notification, Notification.kind == "match", Notification.user_id == area["marc"].id) == 1


def test_an_unchecked_or_foreign_line_is_refused_and_nothing_written(area, workshop):
    line = rules.check_entry(0, {**GRAINS, "company_id": str(area["brewery"].id)},
                             {a.company_id: a for a in queries.entry_attendees(workshop)})
    line.company_id = area["shipyard"].id  # not an attendee
    with pytest.raises(services.WorkshopError):
        services.add_entries(area["practitioner"], workshop, [line])
    db.session.rollback()
    assert count(Listing) == 0 and count(WorkshopListing) == 0


def test_import_into_a_workshop_links_listings_and_registers_companies(area, workshop):
    content = csv_bytes(
        {**GOOD, "ref": "ATL-1", "company_name": "Ferme de Kerlaz", "postcode": "29900", "city": "Concarneau",
         "kind": "need", "title": "Cherche drêches pour l'alimentation animale", "waste_code": ""},
        {**GOOD, "ref": "ATL-2", "company_name": "Brasserie Nouvelle", "postcode": "29000", "city": "Quimper",
         "title": "Drêches de brasserie", "waste_code": "02 07 01", "frequency": "weekly", "quantity": "3"},
        {**GOOD, "ref": "ATL-3", "company_name": "Chantier Naval Lorientais", "postcode": "56100", "city": "Lorient"},
    )
    result = services.import_into(area["practitioner"], workshop, import_rows.parse(content, "atelier.csv"))
    db.session.commit()
    assert (result.report.created, result.report.rejected, result.linked) == (2, 1, 2)
    assert "hors du territoire de l'atelier" in result.report.errors[0].message
    new_brewery = db.session.scalar(sa.select(Listing).where(Listing.ref == "ATL-2")).company
    assert [c.name for c in result.companies_added] == ["Brasserie Nouvelle"]  # the farm already attended
    assert new_brewery.id in workshop.company_ids and area["shipyard"].id not in workshop.company_ids
    assert {listing.status for listing in queries.listings_of(workshop)} == {"published"}
    assert result.new_matches >= 1 and len(queries.opportunities(workshop)) == 1

    # The same file again: listings updated (same ref), never duplicated nor linked twice.
    again = services.import_into(area["practitioner"], workshop, import_rows.parse(content, "atelier.csv"))
    db.session.commit()
    assert (again.report.created, again.report.updated, again.linked) == (0, 2, 0)
    assert count(WorkshopListing) == 2 and count(Listing) == 2


def test_reports_go_to_every_member_of_each_company_with_its_own_opportunities(area, workshop, smtp):
    enter(area, workshop, ("brewery", GRAINS), ("farm", FEED), ("cannery", TRUCK))
    outcome = services.send_reports(area["practitioner"], workshop)
    db.session.commit()

    assert [c.name for c, _ in outcome.sent] == ["Brasserie de l'Odet", "Ferme de Kerlaz"]
    assert [c.name for c in outcome.unreachable] == ["Conserverie du Port"]  # no member
    assert sorted(m["To"] for m in smtp.messages) == ["anne@brasserie.fr", "marc@kerlaz.fr", "paul@brasserie.fr"]
    [to_marc] = smtp.to("marc@kerlaz.fr")
    text = smtp.text(to_marc)
    assert "Atelier ressources de Cornouaille" in to_marc["Subject"]
    assert "Cherche drêches pour l'alimentation animale" in text  # its own want…
    assert "Brasserie de l'Odet" in text and "Drêches de brasserie" in text  # …its partner and the partner's have
    assert "contact@brasserie.fr" in text and "Yann Le Goff" in text  # the partner's contact
    assert "Camion frigorifique" not in text  # nothing of another company's report
    assert f"/animation/ateliers/{workshop.id}/entreprises/{area['farm'].id}" in text
    html = to_marc.get_body(preferencelist=("html",)).get_content()
    assert "Brasserie de l&#39;Odet" in html and "contact@brasserie.fr" in html
    [to_anne] = smtp.to("anne@brasserie.fr")
    assert "Ferme de Kerlaz" in smtp.text(to_anne) and "ferme@kerlaz.fr" in smtp.text(to_anne)

    attendance = db.session.get(WorkshopAttendee, (workshop.id, area["brewery"].id))
    assert attendance.report_sent_at is not None
    assert attendance.report_recipients.split("\n") == ["anne@brasserie.fr", "paul@brasserie.fr"]
    assert workshop.reports_sent_at == attendance.report_sent_at
    assert db.session.get(WorkshopAttendee, (workshop.id, area["cannery"].id)).report_sent_at is None


def test_sending_again_skips_those_already_sent_unless_asked(area, workshop, smtp):
    enter(area, workshop, ("brewery", GRAINS), ("farm", FEED))
    services.send_reports(area["practitioner"], workshop)
    db.session.commit()
    smtp.clear()

    again = services.send_reports(area["practitioner"], workshop)
    db.session.commit()
    assert again.sent == [] and len(again.already_sent) == 2 and smtp.messages == []

    resent = services.send_reports(area["practitioner"], workshop, resend=True)
    db.session.commit()
    assert len(resent.sent) == 2 and len(smtp.messages) == 3
    assert count(OutgoingEmail, OutgoingEmail.kind == "workshop.report") == 6


def test_of_two_senders_at_once_only_one_mails(area, workshop, smtp):
    enter(area, workshop, ("farm", FEED))
    attendance = workshop.attendance_of(area["farm"].id)
    # Another practitioner's send committed between our read and our claim.
    db.session.execute(sa.update(WorkshopAttendee).where(
        WorkshopAttendee.workshop_id == workshop.id, WorkshopAttendee.company_id == area["farm"].id)
        .values(report_sent_at=date(2026, 11, 21)).execution_options(synchronize_session=False))
    assert attendance.report_sent_at is None  # our stale view
    assert services._claim(attendance, services.utcnow()) is False


def test_a_member_without_confirmed_address_gets_the_report_without_contacts(area, workshop, smtp, make_user):
    make_user("nouveau@kerlaz.fr", company=area["farm"], confirmed=False)
    enter(area, workshop, ("brewery", GRAINS), ("farm", FEED))
    services.send_reports(area["practitioner"], workshop)
    db.session.commit()
    [unconfirmed] = smtp.to("nouveau@kerlaz.fr")
    assert "Brasserie de l'Odet" in smtp.text(unconfirmed)
    assert "contact@brasserie.fr" not in smtp.text(unconfirmed)
    assert "contact@brasserie.fr" in smtp.text(smtp.to("marc@kerlaz.fr")[0])


def test_workshops_listed_with_their_figures_only_for_those_who_run_them(area, workshop):
    enter(area, workshop, ("brewery", GRAINS), ("farm", FEED))
    other = services.create_workshop(area["other_practitioner"], area["lorient"], {
        "title": "Atelier de Lorient", "held_on": date(2026, 10, 1)}, [area["shipyard"]])
    db.session.commit()
    [row] = queries.rows_for(area["practitioner"])
    assert (row.workshop.id, row.companies, row.listings, row.opportunities) == (workshop.id, 3, 2, 1)
    assert [r.workshop.id for r in queries.rows_for(area["admin"])] == [workshop.id, other.id]
    assert queries.get_run_by(area["practitioner"], other.id) is None
    assert count(Workshop) == 2
