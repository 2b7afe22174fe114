"""/animation/moderation: the moderation queue of the practitioner's territories (pending listings and
companies, decisions one at a time or in bulk) and the moderation page of one listing, where the
practitioner may correct it before approving (the history keeps each field's before and after).
Practitioners act only on their territories, administrators everywhere; anything else is 403/404."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from marketplace import labels, reference
from marketplace.accounts.models import Company
from marketplace.companies.forms import MultiCheckboxField
from marketplace.extensions import db
from marketplace.listings import services as listing_services
from marketplace.listings.forms import ListingForm
from marketplace.listings.models import Listing, ListingEvent
from marketplace.practitioner import moderation_queue as queue
from marketplace.practitioner.views import bp, require_practitioner

DECISION_LABELS = {
    "approve": _l("Approuver"),
    "request_changes": _l("Demander des modifications"),
    "reject": _l("Refuser définitivement"),
}
MIN_REASON = 5


class DecisionForm(FlaskForm):
    """Approve; or request changes / refuse, with a reason the owner receives."""

    action = SelectField(_l("Décision"), choices=[(k, v) for k, v in DECISION_LABELS.items()],
                         validators=[InputRequired()])
    reason = TextAreaField(_l("Motif (envoyé à l'entreprise)"), validators=[Optional(), Length(max=2000)])
    back = HiddenField()

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Not an inline validator: Optional() stops the chain when the reason is left empty.
        if valid and self.action.data != "approve" and len((self.reason.data or "").strip()) < MIN_REASON:
            self.reason.errors = [_l("Indiquez un motif (5 caractères au moins) : il est envoyé à l'entreprise.")]
            valid = False
        return valid


class BulkDecisionForm(DecisionForm):
    listing_ids = MultiCheckboxField(_l("Annonces"), coerce=int, choices=[], validate_choice=False)
    company_ids = MultiCheckboxField(_l("Entreprises"), coerce=int, choices=[], validate_choice=False)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if valid and not (self.listing_ids.data or self.company_ids.data):
            self.listing_ids.errors = [_l("Cochez au moins une annonce ou une entreprise.")]
            valid = False
        return valid


class ModerationListingForm(ListingForm):
    """The listing's fields a moderator may correct: neither its site nor its photos."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.site_id
        del self.photos


def _errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _queue_url() -> str:
    """Back to the queue, on the territory it was showing."""
    territory = request.args.get("territory", type=int)
    return url_for("practitioner.moderation", territory=territory) if territory else url_for("practitioner.moderation")


def _moderated_listing(listing_id: int) -> Listing:
    require_practitioner()
    listing = db.session.get(Listing, listing_id)
    if listing is None or not current_user.moderates_site(listing.site):
        abort(404)  # not a listing of your territories
    return listing


def _moderated_company(company_id: int) -> Company:
    require_practitioner()
    company = db.session.get(Company, company_id)
    if company is None or not current_user.moderates_company(company):
        abort(404)
    return company


@bp.route("/moderation")
@login_required
def moderation():
    """Pending listings (longest waiting first) and companies of the practitioner's territories."""
    require_practitioner()
    territories = queue.territories_of(current_user)
    chosen = request.args.get("territory", type=int)
    if chosen not in {t.id for t in territories}:
        chosen = None
    scope = {chosen} if chosen else queue.scope_of(current_user)
    pending = queue.pending_listings(scope)
    companies = queue.pending_companies(scope)
    waiting_per_company: dict[int, int] = {}
    for listing in pending:
        waiting_per_company[listing.company_id] = waiting_per_company.get(listing.company_id, 0) + 1
    return render_template("practitioner/moderation.html", listings=pending, companies=companies,
                           territories=territories, chosen=chosen, form=BulkDecisionForm(),
                           decision_labels=DECISION_LABELS, waiting_per_company=waiting_per_company)


@bp.route("/moderation/decisions", methods=["POST"])
@login_required
def moderate_many():
    """One decision for every checked listing and company, all of the practitioner's territories."""
    require_practitioner()
    form = BulkDecisionForm()
    if not form.validate_on_submit():
        flash(_errors(form), "error")
        return redirect(_queue_url())
    scope = queue.scope_of(current_user)
    listing_ids, company_ids = set(form.listing_ids.data or ()), set(form.company_ids.data or ())
    if (queue.listings_in_scope(listing_ids, scope) != listing_ids
            or queue.companies_in_scope(company_ids, scope) != company_ids):
        abort(404)  # not all of your territories (or no such thing): nothing is done
    report = queue.decide_many(current_user, form.action.data, form.reason.data, listing_ids, company_ids)
    db.session.commit()
    done = {
        "approve": _("%(l)s annonce(s) approuvée(s) et publiée(s), %(c)s entreprise(s) validée(s).",
                     l=len(report.listings), c=len(report.companies)),
        "request_changes": _("%(l)s annonce(s) et %(c)s entreprise(s) renvoyée(s) pour modification avec votre motif.",
                             l=len(report.listings), c=len(report.companies)),
        "reject": _("%(l)s annonce(s) et %(c)s entreprise(s) refusée(s) avec votre motif.",
                    l=len(report.listings), c=len(report.companies)),
    }[form.action.data]
    parts = [done]
    if report.listings or report.companies:
        parts.append(_("Chaque entreprise est prévenue."))
    if report.already:
        parts.append(_("%(n)s déjà traitée(s) entre-temps : rien changé pour elle(s).", n=report.already))
    if report.company_refused:
        parts.append(_("%(n)s annonce(s) d'une entreprise refusée : non publiée(s).", n=report.company_refused))
    flash(" ".join(parts), "success" if (report.listings or report.companies) else "info")
    return redirect(_queue_url())


_LISTING_DONE = {
    "approve": _l("Annonce approuvée et publiée ; l'entreprise est prévenue."),
    "request_changes": _l("Annonce renvoyée à l'entreprise avec votre motif."),
    "reject": _l("Annonce refusée ; l'entreprise est prévenue avec votre motif."),
}
_COMPANY_DONE = {
    "approve": _l("Entreprise validée ; ses membres sont prévenus."),
    "request_changes": _l("Demande de modification envoyée aux membres de l'entreprise avec votre motif."),
    "reject": _l("Entreprise refusée ; ses membres sont prévenus avec votre motif, ses annonces sont retirées."),
}


@bp.route("/moderation/annonces/<int:listing_id>/decision", methods=["POST"])
@login_required
def decide_listing(listing_id):
    listing = _moderated_listing(listing_id)
    form = DecisionForm()
    back = (url_for("listings.show", listing_id=listing.id) if form.back.data == "listing"
            else url_for("practitioner.moderate_listing", listing_id=listing.id) if form.back.data == "edit"
            else _queue_url())
    if not form.validate_on_submit():
        flash(_errors(form), "error")
        return redirect(back)
    outcome = queue.decide_listing(current_user, queue.lock_listing(listing.id), form.action.data, form.reason.data)
    if outcome == queue.DONE:
        db.session.commit()
        flash(str(_LISTING_DONE[form.action.data]), "success")
        return redirect(_queue_url() if form.back.data == "edit" else back)
    db.session.rollback()
    if outcome == queue.COMPANY_REFUSED:
        flash(_("L'entreprise de cette annonce a été refusée : l'annonce ne peut pas être publiée."), "error")
    else:
        flash(_("Cette annonce a déjà été traitée (%(status)s).", status=labels.STATUSES[listing.status]), "info")
    return redirect(back)


@bp.route("/moderation/entreprises/<int:company_id>/decision", methods=["POST"])
@login_required
def decide_company(company_id):
    company = _moderated_company(company_id)
    form = DecisionForm()
    back = url_for("companies.show", company_id=company.id) if form.back.data == "company" else _queue_url()
    if not form.validate_on_submit():
        flash(_errors(form), "error")
        return redirect(back)
    outcome = queue.decide_company(current_user, queue.lock_company(company.id), form.action.data, form.reason.data)
    if outcome == queue.DONE:
        db.session.commit()
        flash(str(_COMPANY_DONE[form.action.data]), "success")
    else:
        db.session.rollback()
        flash(_("Cette entreprise a déjà été examinée."), "info")
    return redirect(back)


@bp.route("/moderation/annonces/<int:listing_id>", methods=["GET", "POST"])
@login_required
def moderate_listing(listing_id):
    """A pending listing, its company and history; the practitioner may correct its fields, then approve
    (or decide with the decision form)."""
    listing = _moderated_listing(listing_id)
    if listing.status != "pending":
        flash(_("Cette annonce n'attend plus de validation (%(status)s).", status=labels.STATUSES[listing.status]),
              "info")
        return redirect(url_for("listings.show", listing_id=listing.id))
    form = ModerationListingForm(obj=listing)
    if form.validate_on_submit():
        listing = queue.lock_listing(listing.id)
        if listing.status != "pending":
            db.session.rollback()
            flash(_("Cette annonce a déjà été traitée (%(status)s).", status=labels.STATUSES[listing.status]), "info")
            return redirect(url_for("listings.show", listing_id=listing.id))
        changes = listing_services.edit_pending(current_user, listing, form.data)
        parts = [ngettext("%(num)d champ corrigé.", "%(num)d champs corrigés.", len(changes)) if changes
                 else _("Aucun champ modifié.")]
        then_approve = request.form.get("then") == "approve"
        if then_approve:
            try:
                listing_services.approve(current_user, listing)
            except listing_services.CompanyRefused:
                then_approve = False
                parts.append(_("L'entreprise de cette annonce a été refusée : l'annonce ne peut pas être publiée."))
            else:
                parts.append(str(_LISTING_DONE["approve"]))
        db.session.commit()
        flash(" ".join(parts), "success")
        return redirect(_queue_url() if then_approve else url_for("practitioner.moderate_listing",
                                                                   listing_id=listing.id))
    events = db.session.scalars(
        sa.select(ListingEvent).where(ListingEvent.listing_id == listing.id).order_by(ListingEvent.id.desc())
    ).all()
    waste = reference.waste_codes().get(listing.waste_code) if listing.waste_code else None
    return render_template("practitioner/moderate_listing.html", listing=listing, form=form, events=events,
                           waste=waste, decision_form=DecisionForm(), decision_labels=DECISION_LABELS,
                           trusted=listing.company.is_trusted_for(listing.site)), (422 if form.errors else 200)
