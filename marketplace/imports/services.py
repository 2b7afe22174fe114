"""Writing an import: companies found (by name and postcode) or created, listings created or updated
by their `ref`, so that importing the same file twice never duplicates anything.

Every line is checked before anything is written (`plan`); each good line is then written inside
its own SAVEPOINT, so a database error on one line leaves nothing of that line behind and the other
lines are still imported. Functions flush but do not commit: the caller commits once."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from marketplace import reference
from marketplace.accounts.models import Company, Site, User
from marketplace.companies.services import create_company
from marketplace.extensions import db
from marketplace.imports.rows import (
    ImportRow,
    Line,
    ParsedFile,
    RowError,
    in_territories,
)
from marketplace.listings import services as listing_services
from marketplace.listings.models import Listing, ListingEvent
from marketplace.models_base import savepoint, utcnow

log = logging.getLogger(__name__)

SITE_NAME = "Site principal"  # name of the first site of a company created by an import
# An import publishes drafts and listings waiting for approval; it never revives a listing that its
# company reserved, closed or withdrew, nor one that expired.
PUBLISHABLE = ("draft", "pending")
# Where `marketplace.jobs.enqueue_after_commit` keeps the jobs to start once the transaction commits.


@dataclass
class PlannedLine:
    """What confirming the import will do with one line: "new", "update" or "error" (with reasons)."""

    line: Line
    status: str
    errors: list[RowError] = field(default_factory=list)
    listing: Listing | None = None
    site: Site | None = None  # the existing site the listing goes to; None: a company to create
    new_company: bool = False

    @property
    def row(self) -> ImportRow | None:
        return self.line.row


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    listing_ids: list[int] = field(default_factory=list)
    companies_created: int = 0
    published: bool = False
    # False: the import asked that nobody be told about these listings (see `after_import`).
    notify: bool = True

    @property
    def rejected(self) -> int:
        """Lines refused, each counted once however many reasons it has."""
        return len({error.line for error in self.errors})


def after_import(listing_ids: list[int], notify: bool) -> None:
    """Called once per import with every listing created or updated, before the caller commits:
    the published ones are matched after the commit, and their takers told unless `notify` is False."""
    if not listing_ids:
        return
    published = db.session.scalars(
        sa.select(Listing).where(Listing.id.in_(listing_ids), Listing.status == "published")).all()
    for listing in published:
        listing_services.schedule_matching(listing, notify=notify)


def name_key(name: str) -> str:
    """A company name as compared by imports: case, accents, punctuation and spacing ignored."""
    text = reference.fold(name).replace("œ", "oe").replace("æ", "ae")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def find_site(company_name: str, postcode: str) -> Site | None:
    """The site at that postcode of the company with that name, if the company is known."""
    key = name_key(company_name)
    sites = db.session.scalars(
        sa.select(Site).join(Site.company).where(Site.postcode == postcode).order_by(Site.id)
    ).all()
    return next((site for site in sites if name_key(site.company.name) == key), None)


def restricted_territories(actor: User | None):
    """The territories an actor may import into; None when unrestricted (no actor, or an administrator)."""
    if actor is None or actor.is_admin:
        return None
    return [assignment.territory for assignment in actor.assignments]


def _existing_listings(refs: list[str]) -> dict[str, Listing]:
    found = {}
    for start in range(0, len(refs), 500):
        chunk = refs[start:start + 500]
        found.update({listing.ref: listing for listing in db.session.scalars(
            sa.select(Listing).where(Listing.ref.in_(chunk)))})
    return found


def _lines_of(rows: ParsedFile | Iterable[ImportRow]) -> tuple[list[Line], list[str]]:
    if isinstance(rows, ParsedFile):
        return rows.lines, list(rows.warnings)
    return [Line(row.line, {"ref": row.ref, "title": row.title, "company_name": row.company_name}, row)
            for row in rows], []


def plan(rows: ParsedFile | Iterable[ImportRow], actor: User | None = None) -> list[PlannedLine]:
    """Check every line against the database without writing anything: the preview of an import."""
    lines, _warnings = _lines_of(rows)
    territories = restricted_territories(actor)
    valid = [line.row for line in lines if line.row is not None and not line.errors]
    existing = _existing_listings([row.ref for row in valid])
    wanted_sirets = sorted({row.siret for row in valid if row.siret})
    siret_owner = {c.siret: c for c in db.session.scalars(
        sa.select(Company).where(Company.siret.in_(wanted_sirets)))} if wanted_sirets else {}
    new_companies: dict[tuple[str, str], int] = {}  # (name key, postcode) → first line creating it
    new_sirets: dict[str, tuple[tuple[str, str], int]] = {}
    planned = []
    for line in lines:
        row = line.row
        if row is None or line.errors:
            planned.append(PlannedLine(line, "error", list(line.errors)))
            continue
        errors: list[RowError] = []
        refuse = _refuser(errors, row.line)
        if territories is not None and not in_territories(row, territories):
            refuse("postcode", _("code postal %(postcode)s hors de vos territoires : vous ne pouvez importer "
                                 "que des entreprises situées dans les territoires que vous animez",
                                 postcode=row.postcode))
        site = find_site(row.company_name, row.postcode)
        listing = existing.get(row.ref)
        if listing is not None:
            if site is None or site.company_id != listing.company_id:
                refuse("ref", _("la référence « %(ref)s » est déjà celle d'une annonce de « %(company)s » "
                                "(%(postcode)s) : changez la référence, ou écrivez le nom et le code postal de "
                                "cette entreprise", ref=row.ref, company=listing.company.name,
                                postcode=listing.site.postcode))
            elif territories is not None and not actor.moderates_site(listing.site):
                refuse("ref", _("la référence « %(ref)s » désigne une annonce hors de vos territoires : "
                                "changez la référence", ref=row.ref))
            elif listing.site.postcode == row.postcode:
                site = listing.site  # the company may have several sites at that postcode: keep this one
        if site is not None and site.company.is_rejected:
            refuse("company_name", _("« %(company)s » a été refusée par l'animation du territoire : ses annonces ne "
                                "peuvent pas être importées (voyez la file de modération si c'est une erreur)",
                                company=site.company.name))
        key = (name_key(row.company_name), row.postcode)
        if site is None and row.siret:
            owner = siret_owner.get(row.siret)
            if owner is not None:
                refuse("siret", _("le SIRET %(siret)s est déjà celui de « %(company)s » : corrigez le SIRET, "
                                  "ou écrivez le nom exact de cette entreprise et le code postal d'un de ses sites",
                                  siret=row.siret, company=owner.name))
            elif row.siret in new_sirets and new_sirets[row.siret][0] != key:
                refuse("siret", _("le SIRET %(siret)s est déjà donné ligne %(first)s à une autre entreprise : "
                                  "un SIRET désigne un seul établissement", siret=row.siret,
                                  first=new_sirets[row.siret][1]))
        if errors:
            planned.append(PlannedLine(line, "error", errors))
            continue
        new_company = site is None and key not in new_companies
        if site is None:
            new_companies.setdefault(key, row.line)
            if row.siret:
                new_sirets.setdefault(row.siret, (key, row.line))
        planned.append(PlannedLine(line, "update" if listing else "new", [], listing, site, new_company))
    return planned


def _refuser(errors: list[RowError], number: int) -> Callable[[str, str], None]:
    return lambda column, message: errors.append(RowError(number, column, message))


def _line_savepoint():
    """One SAVEPOINT per line: a line the database refuses leaves nothing behind, the others stay."""
    return savepoint()


def _publish(listing: Listing, actor: User | None) -> None:
    before, now = listing.status, utcnow()
    listing.status = "published"
    listing.submitted_at = listing.submitted_at or now
    listing.published_at = now
    listing.last_activity_at = now
    listing.rejection_reason = None
    db.session.add(ListingEvent(listing_id=listing.id, actor_id=actor.id if actor else None, action="imported",
                                from_status=before, to_status=listing.status))


def _write(planned: PlannedLine, actor: User | None, publish: bool) -> tuple[Listing, bool, bool]:
    """Create or update one listing (and its company if needed): (listing, created, company created)."""
    row = planned.row
    site = planned.site or find_site(row.company_name, row.postcode)  # an earlier line may have created it
    company_created = site is None
    if site is None:
        company = create_company(None, {"name": row.company_name, "siret": row.siret, "contact_email": row.email},
                                 {"name": SITE_NAME, "postcode": row.postcode, "city": row.city})
        site = company.sites[0]
    if planned.listing is None:
        listing = listing_services.create(actor, site.company, site, row.listing_data())
        listing.ref = row.ref
    else:
        listing = planned.listing
        listing_services.update(actor, listing, site, row.listing_data(), rematch=False)  # see after_import
    if publish and listing.status in PUBLISHABLE:
        _publish(listing, actor)
    db.session.flush()
    return listing, planned.listing is None, company_created


def import_rows(rows: ParsedFile | Iterable[ImportRow], actor: User | None = None, publish: bool = False,
                notify: bool = True, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import checked rows (a `ParsedFile`, whose refused lines are reported, or plain `ImportRow`s).

    New listings stay drafts unless `publish`; `notify=False` is passed on to `after_import`. An actor
    who is neither an administrator nor absent may only import into the territories they animate.
    `progress(done, total)` is called after each line written."""
    lines, warnings = _lines_of(rows)
    report = ImportReport(warnings=warnings, published=publish, notify=notify)
    planned = plan(ParsedFile(lines, warnings), actor)
    todo = [p for p in planned if p.status != "error"]
    for p in planned:
        report.errors.extend(p.errors)
    _write_all(todo, actor, publish, report, progress)
    report.errors.sort(key=lambda error: error.line)
    after_import(report.listing_ids, notify)
    return report


def _write_all(todo: list[PlannedLine], actor: User | None, publish: bool, report: ImportReport,
               progress: Callable[[int, int], None] | None) -> None:
    for done, item in enumerate(todo, start=1):
        try:
            with _line_savepoint():
                listing, created, company_created = _write(item, actor, publish)
        except SQLAlchemyError as exc:
            log.warning("import line %s (ref %s) refused by the database: %s", item.row.line, item.row.ref, exc)
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
            report.errors.append(RowError(item.row.line, "", _(
                "refusée par la base de données (%(reason)s) : rien n'a été enregistré pour cette ligne",
                reason=reason)))
        else:
            report.listing_ids.append(listing.id)
            report.companies_created += company_created
            if created:
                report.created += 1
            else:
                report.updated += 1
        if progress is not None:
            progress(done, len(todo))
