"""Workshop state changes: the workshop and its attendees, the listings entered (typed or imported),
and the individual reports mailed to each attending company.

Listings entered at a workshop are published at once: the practitioner typed them with the company
in the room, so there is nothing left to moderate. Their matches are computed here, in the request,
rather than in the usual job, so that the reports are complete as soon as the entry is saved.
Functions take the acting user, flush but never commit: the caller commits once."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Company, User
from marketplace.extensions import db
from marketplace.imports import services as import_services
from marketplace.imports.rows import ParsedFile
from marketplace.listings import services as listing_services
from marketplace.listings.models import Listing, ListingEvent
from marketplace.matching.services import refresh_matches
from marketplace.models_base import utcnow
from marketplace.notifications.services import external_url, queue_email
from marketplace.workshops import queries, rules
from marketplace.workshops.models import Workshop, WorkshopAttendee, WorkshopListing

WORKSHOP_FIELDS = ("title", "held_on", "place", "notes")


class WorkshopError(Exception):
    """The action cannot be done; `message` says why, in the user's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- the workshop and who attended ----------------------------------------------------------------


def _apply(workshop: Workshop, data: dict) -> None:
    for name in WORKSHOP_FIELDS:
        if name in data:
            value = data[name]
            setattr(workshop, name, value.strip() if isinstance(value, str) else (value or ""))


def create_workshop(actor: User, territory, data: dict, companies: list[Company] = ()) -> Workshop:
    """A new workshop of `territory` (which the caller has checked the actor runs), with its attendees."""
    workshop = Workshop(territory_id=territory.id, territory=territory, created_by_id=actor.id)
    _apply(workshop, data)
    db.session.add(workshop)
    add_attendees(workshop, companies)
    db.session.flush()
    return workshop


def update_workshop(actor: User, workshop: Workshop, data: dict) -> None:
    _apply(workshop, data)


def add_attendees(workshop: Workshop, companies) -> list[Company]:
    """Add the companies not attending yet; returns those added."""
    known = workshop.company_ids
    added = []
    for company in companies:
        if company.id in known:
            continue
        workshop.attendances.append(WorkshopAttendee(company_id=company.id, company=company))
        known.add(company.id)
        added.append(company)
    return added


def companies_with_entries(workshop: Workshop) -> set[int]:
    return set(db.session.scalars(
        sa.select(Listing.company_id).join(WorkshopListing, WorkshopListing.listing_id == Listing.id)
        .where(WorkshopListing.workshop_id == workshop.id)))


def set_attendees(actor: User, workshop: Workshop, companies: list[Company]) -> list[Company]:
    """Make `companies` the attendees. A company whose listings were entered at the workshop stays
    (its listings and opportunities belong to the workshop's reports): those are returned."""
    wanted = {company.id for company in companies}
    entered = companies_with_entries(workshop)
    kept = []
    for attendance in list(workshop.attendances):
        if attendance.company_id in wanted:
            continue
        if attendance.company_id in entered:
            kept.append(attendance.company)
        else:
            workshop.attendances.remove(attendance)
    add_attendees(workshop, companies)
    db.session.flush()
    return kept


# --- listings entered at the workshop ----------------------------------------------------------------


@dataclass
class EntryResult:
    listings: list[Listing] = field(default_factory=list)
    new_matches: int = 0


def _link(actor: User, workshop: Workshop, listing: Listing, source: str) -> bool:
    if db.session.get(WorkshopListing, (workshop.id, listing.id)) is not None:
        return False
    db.session.add(WorkshopListing(workshop_id=workshop.id, listing_id=listing.id, source=source,
                                   added_by_id=actor.id))
    return True


def _publish(actor: User, workshop: Workshop, listing: Listing) -> None:
    """Published on the practitioner's word: they entered it with the company at the workshop."""
    before, now = listing.status, utcnow()
    listing.status = "published"
    listing.submitted_at = listing.submitted_at or now
    listing.published_at = now
    listing.last_activity_at = now
    listing.rejection_reason = None
    db.session.add(ListingEvent(listing_id=listing.id, actor_id=actor.id, action="published", from_status=before,
                                to_status=listing.status, note=workshop.title))


def _match(listings: list[Listing], notify: bool) -> int:
    """Compute and store the matches of these listings now; tell the people concerned if `notify`
    (as the matching job would have), else leave it to the workshop's reports. Returns the new matches."""
    from marketplace.notifications.alerts import notify_saved_searches
    from marketplace.notifications.matches import notify_new_matches

    found = 0
    for listing in listings:
        if listing.status != "published":
            continue
        new = refresh_matches(listing)
        found += len(new)
        if notify:
            notify_new_matches(listing, new)
            notify_saved_searches(listing)
    return found


def add_entries(actor: User, workshop: Workshop, lines: list[rules.EntryLine], notify: bool = False) -> EntryResult:
    """Create, publish and link the listings of checked entry rows (`rules.check_entries` without errors),
    each at its company's first site in the workshop's territory; then find their matches."""
    result = EntryResult()
    attending = workshop.company_ids
    for line in lines:
        if line.row is None or line.errors or line.company_id not in attending:
            raise WorkshopError(_l("Ligne %(number)s non vérifiée : rien n'a été enregistré.", number=line.number))
        company = db.session.get(Company, line.company_id)
        site = queries.site_in(company, workshop.territory)
        if site is None or company.is_rejected:
            raise WorkshopError(_l("Ligne %(number)s : l'entreprise ne peut pas publier dans ce territoire.",
                                   number=line.number))
        listing = listing_services.create(actor, company, site, line.row.listing_data())
        _publish(actor, workshop, listing)
        _link(actor, workshop, listing, "entry")
        result.listings.append(listing)
    db.session.flush()
    result.new_matches = _match(result.listings, notify)
    return result


def plan_import(actor: User, workshop: Workshop, parsed: ParsedFile) -> list[import_services.PlannedLine]:
    """The preview of a workshop import (nothing written): the import's own plan, with the lines outside
    the workshop's territory refused."""
    rules.keep_within(parsed, [workshop.territory])
    return import_services.plan(parsed, actor)


@dataclass
class ImportResult:
    report: import_services.ImportReport
    linked: int = 0
    companies_added: list[Company] = field(default_factory=list)
    new_matches: int = 0


def import_into(actor: User, workshop: Workshop, parsed: ParsedFile, notify: bool = False) -> ImportResult:
    """Run the spreadsheet import (same checks, same writing, idempotent on `ref`) restricted to the
    workshop's territory and publishing what it creates; link every listing it created or updated to
    the workshop, add their companies to the attendees, and find their matches now."""
    rules.keep_within(parsed, [workshop.territory])
    report = import_services.import_rows(parsed, actor=actor, publish=True, notify=False)
    result = ImportResult(report)
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.id.in_(report.listing_ids or [0])).order_by(Listing.id)).all()
    for listing in listings:
        result.linked += _link(actor, workshop, listing, "import")
    result.companies_added = add_attendees(workshop, {listing.company_id: listing.company
                                                      for listing in listings}.values())
    db.session.flush()
    result.new_matches = _match(listings, notify)
    return result


# --- the individual reports, by e-mail ---------------------------------------------------------------


@dataclass
class SendOutcome:
    sent: list[tuple[Company, list[str]]] = field(default_factory=list)
    unreachable: list[Company] = field(default_factory=list)
    already_sent: list[Company] = field(default_factory=list)

    @property
    def emails(self) -> int:
        return sum(len(addresses) for _company, addresses in self.sent)


def _claim(attendance: WorkshopAttendee, now: datetime) -> bool:
    """Mark the company's report as sent with one conditional UPDATE: of two practitioners sending at
    once, exactly one mails it (the other finds the date changed under it)."""
    previous = attendance.report_sent_at
    unchanged = (WorkshopAttendee.report_sent_at.is_(None) if previous is None
                 else WorkshopAttendee.report_sent_at == previous)
    result = db.session.execute(
        sa.update(WorkshopAttendee)
        .where(WorkshopAttendee.workshop_id == attendance.workshop_id,
               WorkshopAttendee.company_id == attendance.company_id, unchanged)
        .values(report_sent_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


def send_reports(actor: User, workshop: Workshop, resend: bool = False) -> SendOutcome:
    """Mail each attending company its own report (to each of its active members, in their language).
    A company already sent its report is skipped unless `resend`; one without any member address is
    listed as unreachable and can be sent to later, once it has one."""
    outcome = SendOutcome()
    report = queries.report(workshop)
    now = utcnow()
    for company in report.companies:
        attendance = workshop.attendance_of(company.id)
        if attendance.report_sent_at is not None and not resend:
            outcome.already_sent.append(company)
            continue
        people = rules.recipients(company.members)
        if not people:
            outcome.unreachable.append(company)
            continue
        if not _claim(attendance, now):
            outcome.already_sent.append(company)
            continue
        entries = report.entries_for(company)
        link = external_url("workshops.company_report", workshop_id=workshop.id, company_id=company.id)
        for user in people:
            queue_email(user.email, "workshop.report",
                        _l("Vos opportunités de l'atelier « %(title)s »", title=workshop.title), "workshop_report",
                        locale=user.locale, user=user, viewer=user, workshop=workshop, company=company,
                        entries=entries, practitioner=actor, report_link=link,
                        listing_url=lambda listing_id: external_url("listings.show", listing_id=listing_id))
        attendance.report_sent_at = now
        attendance.report_recipients = "\n".join(user.email for user in people)
        outcome.sent.append((company, [user.email for user in people]))
    if outcome.sent:
        workshop.reports_sent_at = now
    db.session.flush()
    return outcome
