"""Workshop pages under /animation/ateliers: the list, a new workshop and its edit, one workshop, the
fast entry table, the spreadsheet import, the collective report, each company's report, and mailing
the reports. Practitioners of the workshop's territory and administrators only (others: 403; another
territory's workshop: 404), except a company's own report, which its members may read too.
Thin: check who asks, call a service, commit, flash, redirect."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.imports import rows as import_rows
from marketplace.imports import uploads
from marketplace.imports.forms import ConfirmForm
from marketplace.practitioner.views import require_practitioner
from marketplace.workshops import queries, rules, services
from marketplace.workshops.forms import EntryForm, NewWorkshopForm, SendForm, WorkshopForm, WorkshopUploadForm
from marketplace.workshops.models import Workshop

bp = Blueprint("workshops", __name__, url_prefix="/animation/ateliers")


def _run_or_404(workshop_id: int) -> Workshop:
    require_practitioner()
    workshop = queries.get_run_by(current_user, workshop_id)
    if workshop is None:
        abort(404)
    return workshop


def _int_arg(value) -> int | None:
    value = str(value or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


@bp.route("")
@login_required
def index():
    require_practitioner()
    return render_template("workshops/index.html", rows=queries.rows_for(current_user))


@bp.route("/nouveau", methods=["GET", "POST"])
@login_required
def create():
    require_practitioner()
    territories = queries.territory_choices(current_user)
    if not territories:
        abort(403)
    wanted = _int_arg(request.form.get("territory_id") or request.args.get("territoire"))
    territory = next((t for t in territories if t.id == wanted), territories[0])
    companies = queries.invitable_companies(territory)
    form = NewWorkshopForm(territories=territories, companies=companies, territory_id=territory.id,
                           held_on=date.today())
    if form.validate_on_submit():
        workshop = services.create_workshop(current_user, territory, form.data, form.chosen(companies))
        db.session.commit()
        flash(_("Atelier créé : saisissez maintenant les offres et les besoins des entreprises."), "success")
        return redirect(url_for("workshops.entry", workshop_id=workshop.id))
    return render_template("workshops/form.html", form=form, workshop=None, territory=territory,
                           territories=territories, companies=companies, locked=set()), \
        (422 if form.errors else 200)


@bp.route("/<int:workshop_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(workshop_id):
    workshop = _run_or_404(workshop_id)
    companies = queries.invitable_companies(workshop.territory, keep=queries.attending(workshop))
    form = WorkshopForm(obj=workshop, companies=companies)
    if request.method == "GET":
        form.company_ids.data = sorted(workshop.company_ids)
    if form.validate_on_submit():
        services.update_workshop(current_user, workshop, form.data)
        kept = services.set_attendees(current_user, workshop, form.chosen(companies))
        db.session.commit()
        flash(_("Atelier enregistré."), "success")
        if kept:
            flash(_("Restent inscrites, car des annonces ont été saisies pour elles : %(names)s.",
                    names=", ".join(c.name for c in kept)), "info")
        return redirect(url_for("workshops.show", workshop_id=workshop.id))
    return render_template("workshops/form.html", form=form, workshop=workshop, territory=workshop.territory,
                           territories=[workshop.territory], companies=companies,
                           locked=services.companies_with_entries(workshop)), (422 if form.errors else 200)


@bp.route("/<int:workshop_id>")
@login_required
def show(workshop_id):
    workshop = _run_or_404(workshop_id)
    report = queries.report(workshop)
    reachable = {c.id: rules.recipients(c.members) for c in report.companies}
    return render_template("workshops/show.html", workshop=workshop, report=report, send_form=SendForm(),
                           reachable=reachable, unreachable=[c for c in report.companies if not reachable[c.id]])


@bp.route("/<int:workshop_id>/saisie", methods=["GET", "POST"])
@login_required
def entry(workshop_id):
    workshop = _run_or_404(workshop_id)
    attendees = queries.entry_attendees(workshop)
    form = EntryForm()
    rows, lines, status = rules.blank_rows(rules.DEFAULT_ROWS), [], 200
    if form.validate_on_submit():
        rows = rules.read_rows(request.form)
        if request.form.get("action") == "more":
            rows += rules.blank_rows(min(rules.MORE_ROWS, rules.MAX_ROWS - len(rows)))
        else:
            lines = rules.check_entries(rows, {a.company_id: a for a in attendees})
            if not lines:
                flash(_("Aucune ligne remplie : rien n'a été enregistré."), "info")
            elif any(line.errors for line in lines):
                status = 422
            else:
                try:
                    result = services.add_entries(current_user, workshop, lines, notify=form.notify.data)
                except services.WorkshopError as exc:  # an attendee changed meanwhile: nothing is kept
                    db.session.rollback()
                    flash(exc.message, "error")
                    return _entry_page(workshop, form, queries.entry_attendees(workshop), rows, {}, 409)
                db.session.commit()
                flash(ngettext("%(num)d annonce publiée pour l'atelier", "%(num)d annonces publiées pour l'atelier",
                               len(result.listings)) + " · " +
                      ngettext("%(num)d nouvelle opportunité trouvée", "%(num)d nouvelles opportunités trouvées",
                               result.new_matches), "success")
                return redirect(url_for("workshops.entry", workshop_id=workshop.id))
    return _entry_page(workshop, form, attendees, rows, {line.index: line.errors for line in lines if line.errors},
                       status)


def _entry_page(workshop, form, attendees, rows, errors, status):
    return render_template("workshops/entry.html", workshop=workshop, form=form, rows=rows, errors=errors,
                           blank=rules.blank_values(), attendees=attendees, max_rows=rules.MAX_ROWS), status


# --- spreadsheet import: the import's own upload → preview → confirm, into the workshop -----------------


@bp.route("/<int:workshop_id>/import", methods=["GET", "POST"])
@login_required
def import_file(workshop_id):
    workshop = _run_or_404(workshop_id)
    form = WorkshopUploadForm()
    if form.validate_on_submit():
        try:
            sheet = uploads.receive(form.file.data)
            token = uploads.keep(sheet)
        except uploads.UploadRefused as refused:
            form.file.errors.append(refused.message)
        else:
            planned = services.plan_import(current_user, workshop, sheet.parsed)
            confirm_form = ConfirmForm(formdata=None, token=token, publish=True,
                                       notify=form.notify.data)
            return render_template("workshops/import_preview.html", workshop=workshop, form=confirm_form,
                                   planned=planned, warnings=sheet.parsed.warnings, filename=sheet.filename,
                                   counts=uploads.counts(planned))
    return render_template("workshops/import.html", workshop=workshop, form=form,
                           columns=import_rows.REQUIRED_COLUMNS, optional_columns=import_rows.OPTIONAL_COLUMNS), \
        (422 if form.errors else 200)


@bp.route("/<int:workshop_id>/import/confirmer", methods=["POST"])
@login_required
def confirm_import(workshop_id):
    workshop = _run_or_404(workshop_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(404)
    try:
        sheet = uploads.take(form.token.data)
    except uploads.UploadRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for("workshops.import_file", workshop_id=workshop.id))
    if sheet is None:
        flash(_("Ce fichier a déjà été importé ou n'est plus disponible : envoyez-le de nouveau."), "info")
        return redirect(url_for("workshops.import_file", workshop_id=workshop.id))
    result = services.import_into(current_user, workshop, sheet.parsed, notify=form.notify.data)
    db.session.commit()
    uploads.discard(form.token.data, sheet.extension)
    return render_template("workshops/import_report.html", workshop=workshop, result=result,
                           report=result.report, filename=sheet.filename)


# --- reports ----------------------------------------------------------------------------------------------


@bp.route("/<int:workshop_id>/rapport")
@login_required
def report(workshop_id):
    workshop = _run_or_404(workshop_id)
    return render_template("workshops/report.html", workshop=workshop, report=queries.report(workshop))


@bp.route("/<int:workshop_id>/entreprises/<int:company_id>")
@login_required
def company_report(workshop_id, company_id):
    """A company's own report: for the workshop's practitioners, and for the company's members."""
    workshop = db.session.get(Workshop, workshop_id)
    company = db.session.get(Company, company_id)
    if workshop is None or company is None or not queries.is_attendee(workshop, company.id):
        abort(404)
    runs = workshop.is_run_by(current_user)
    if not (runs or company.has_member(current_user)):
        abort(404)
    report = queries.report(workshop)
    return render_template("workshops/company_report.html", workshop=workshop, company=company,
                           entries=report.entries_for(company), attendee_ids=report.attendee_ids, runs=runs,
                           attendance=workshop.attendance_of(company.id))


@bp.route("/<int:workshop_id>/envoyer", methods=["POST"])
@login_required
def send_reports(workshop_id):
    workshop = _run_or_404(workshop_id)
    form = SendForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = services.send_reports(current_user, workshop, resend=form.resend.data)
    db.session.commit()
    if outcome.sent:
        flash(ngettext("Rapport envoyé à %(num)d entreprise.", "Rapports envoyés à %(num)d entreprises.",
                       len(outcome.sent)) + " " +
              ngettext("(%(num)d e-mail)", "(%(num)d e-mails)", outcome.emails), "success")
    if outcome.already_sent:
        flash(ngettext("%(num)d entreprise avait déjà reçu son rapport : cochez « Renvoyer » pour le lui envoyer "
                       "de nouveau.", "%(num)d entreprises avaient déjà reçu leur rapport : cochez « Renvoyer » pour "
                       "le leur envoyer de nouveau.", len(outcome.already_sent)), "info")
    if outcome.unreachable:
        flash(_("Sans adresse e-mail de membre, non envoyé : %(names)s.",
                names=", ".join(c.name for c in outcome.unreachable)), "error")
    if not (outcome.sent or outcome.already_sent or outcome.unreachable):
        flash(_("Aucune entreprise inscrite à l'atelier : rien à envoyer."), "info")
    return redirect(url_for("workshops.show", workshop_id=workshop.id))
