"""Synergy pages: the list and the board by stage, one synergy with its history and the forms to move
it, plan its next action and record its benefits; a new synergy; "nous sommes en discussion" on a
match; the emission-factor table. Thin: check who asks, call a service, commit, flash, redirect."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.matching.models import Match
from marketplace.synergies import queries, rules, services
from marketplace.synergies.forms import (
    BenefitForm,
    EditForm,
    EmissionFactorForm,
    MoveForm,
    NextActionForm,
    SynergyForm,
)
from marketplace.synergies.models import EmissionFactor, Synergy, SynergyEvent
from marketplace.synergies.services import SynergyError

bp = Blueprint("synergies", __name__, url_prefix="/synergies")

# URL words for the two benefit statuses.
BENEFIT_STATUS_SLUGS = {"declares": "declared", "verifies": "verified"}


def _synergy_or_404(synergy_id: int) -> Synergy:
    synergy = db.get_or_404(Synergy, synergy_id)
    if not synergy.can_view(current_user):
        abort(404)
    return synergy


def _managed_or_403(synergy_id: int) -> Synergy:
    synergy = _synergy_or_404(synergy_id)
    if not synergy.can_manage(current_user):
        abort(403)
    return synergy


def _refused(error: SynergyError, target: str):
    db.session.rollback()
    flash(error.message, "error")
    return redirect(target)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


@bp.route("")
@login_required
def index():
    query = queries.visible(current_user, sa.select(Synergy).order_by(Synergy.updated_at.desc(), Synergy.id.desc()))
    synergies = db.session.scalars(query.limit(500)).all() if query is not None else []
    return render_template("synergies/index.html", synergies=synergies,
                           can_create=bool(current_user.is_admin or current_user.territory_ids))


@bp.route("/tableau")
@login_required
def board():
    """Columns by stage, with filters; each card shows the companies and the next action (late in red)."""
    filters = {"territory_id": _int_arg("territoire"), "kind": request.args.get("type") or None,
               "origin": request.args.get("origine") or None,
               "followed_by_id": current_user.id if request.args.get("moi") else None}
    synergies = queries.filtered(current_user, **filters)
    columns = {stage: [s for s in synergies if s.stage == stage] for stage in rules.STAGES}
    groups = {group: sum(len(columns[s]) for s in stages) for group, stages in rules.REPORTING_GROUPS.items()}
    verified = services.benefit_totals([s.id for s in synergies], "verified")
    return render_template("synergies/board.html", columns=columns, groups=groups, filters=filters,
                           territories=queries.territories_seen_by(current_user), today=services.local_today(),
                           verified=verified, count=len(synergies),
                           can_create=bool(current_user.is_admin or current_user.territory_ids))


@bp.route("/nouvelle", methods=["GET", "POST"])
@login_required
def create():
    territories = queries.territories_run_by(current_user)
    if not territories:
        abort(403)
    companies = queries.companies_for(territories) if not current_user.is_admin else db.session.scalars(
        sa.select(Company).order_by(Company.name)).all()
    form = SynergyForm(territories=territories, companies=companies)
    listing = queries.listing_for_new(current_user, form.listing_id.data or request.args.get("annonce"))
    if request.method == "GET" and listing is not None:
        form.listing_id.data = str(listing.id)
        form.title.data = listing.title
        form.kind.data = services.kind_for(listing.category)
        form.is_continuous.data = listing.frequency not in (None, "once")
        if listing.kind == "offer":
            form.giver_id.data = listing.company_id
        else:
            form.taker_id.data = listing.company_id
    if form.validate_on_submit():
        territory = next(t for t in territories if t.id == form.territory_id.data)
        data = {"title": form.title.data, "kind": form.kind.data, "sub_type": form.sub_type.data or None,
                "is_continuous": form.is_continuous.data, "giver": db.session.get(Company, form.giver_id.data),
                "taker": db.session.get(Company, form.taker_id.data), "listing": listing,
                "quantity": form.quantity.data, "unit": form.unit.data or None, "stage": form.stage.data,
                "next_action": form.next_action.data, "next_action_due": form.next_action_due.data,
                "notes": form.notes.data}
        try:
            synergy = services.create_manual(current_user, territory, data)
        except SynergyError as error:
            db.session.rollback()
            field = form.sub_type if error.code == "bad_sub_type" else form.territory_id
            field.errors = [*field.errors, error.message]
        else:
            db.session.commit()
            flash(_("Synergie enregistrée."), "success")
            return redirect(url_for("synergies.show", synergy_id=synergy.id))
    return render_template("synergies/form.html", form=form, listing=listing, synergy=None), \
        (422 if form.errors else 200)


@bp.route("/<int:synergy_id>")
@login_required
def show(synergy_id):
    synergy = _synergy_or_404(synergy_id)
    manages = synergy.can_manage(current_user)
    move_form = next_form = None
    if manages:
        move_form = MoveForm(targets=rules.allowed_targets(synergy.stage, previous=synergy.previous_stage,
                                                           may_reopen=True))
        next_form = NextActionForm(data={"next_action": synergy.next_action,
                                         "next_action_due": synergy.next_action_due})
    events = db.session.scalars(sa.select(SynergyEvent).where(SynergyEvent.synergy_id == synergy.id)
                                .order_by(SynergyEvent.id.desc())).all()
    return render_template("synergies/show.html", synergy=synergy, manages=manages, move_form=move_form,
                           next_form=next_form, events=events, today=services.local_today(),
                           can_declare=synergy.can_declare(current_user), can_verify=synergy.can_verify(current_user))


@bp.route("/<int:synergy_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(synergy_id):
    synergy = _managed_or_403(synergy_id)
    practitioners = synergy.territory.practitioners if synergy.territory else []
    form = EditForm(obj=synergy if request.method == "GET" else None, practitioners=practitioners)
    if request.method == "GET":
        form.followed_by_id.data = synergy.followed_by_id or 0
        form.sub_type.data = synergy.sub_type or ""
        form.unit.data = synergy.unit or ""
    if form.validate_on_submit():
        try:
            services.update(current_user, synergy, form.data_for_service())
        except SynergyError as error:
            return _refused(error, url_for("synergies.edit", synergy_id=synergy.id))
        db.session.commit()
        flash(_("Synergie mise à jour."), "success")
        return redirect(url_for("synergies.show", synergy_id=synergy.id))
    return render_template("synergies/form.html", form=form, synergy=synergy, listing=None), \
        (422 if form.errors else 200)


@bp.route("/<int:synergy_id>/etape", methods=["POST"])
@login_required
def move(synergy_id):
    synergy = _managed_or_403(synergy_id)
    form = MoveForm()
    target = url_for("synergies.show", synergy_id=synergy.id)
    if not form.validate_on_submit():
        flash(_("Choisissez une étape."), "error")
        return redirect(target)
    try:
        services.move(current_user, synergy, form.stage.data, form.reason.data or None, form.note.data or "")
    except SynergyError as error:
        return _refused(error, target)
    db.session.commit()
    flash(_("Étape mise à jour."), "success")
    return redirect(target)


@bp.route("/<int:synergy_id>/prochaine-action", methods=["POST"])
@login_required
def next_action(synergy_id):
    synergy = _managed_or_403(synergy_id)
    form = NextActionForm()
    target = url_for("synergies.show", synergy_id=synergy.id)
    if not form.validate_on_submit():
        flash(" ".join(str(e) for f in form for e in f.errors) or _("Formulaire invalide."), "error")
        return redirect(target)
    try:
        services.set_next_action(current_user, synergy, form.next_action.data, form.next_action_due.data)
    except SynergyError as error:
        return _refused(error, target)
    db.session.commit()
    flash(_("Prochaine action enregistrée."), "success")
    return redirect(target)


@bp.route("/<int:synergy_id>/benefices/<status>", methods=["GET", "POST"])
@login_required
def benefits(synergy_id, status):
    """Declared benefits (a company involved or the practitioner), verified ones (the practitioner)."""
    synergy = _synergy_or_404(synergy_id)
    if status not in BENEFIT_STATUS_SLUGS:
        abort(404)
    status = BENEFIT_STATUS_SLUGS[status]
    if not (synergy.can_declare(current_user) if status == "declared" else synergy.can_verify(current_user)):
        abort(403)
    factors = services.active_factors()
    form = BenefitForm(factors=factors)
    if request.method == "GET":
        # Verification starts from what was declared.
        current = synergy.benefit(status) or (synergy.benefit("declared") if status == "verified" else None)
        if current is not None:
            form = BenefitForm(obj=current, factors=factors)
            form.emission_factor.data = current.emission_factor_key or ""
            form.co2e_basis.data = current.co2e_basis or ""
    if form.validate_on_submit():
        factor = services.factor_by_key(form.emission_factor.data)
        try:
            if form.emission_factor.data and factor is None:
                raise SynergyError("factor_unknown")
            services.record_benefits(current_user, synergy, status, form.figures(), factor=factor,
                                     basis=form.co2e_basis.data or None, note=form.note.data or "")
        except SynergyError as error:
            db.session.rollback()
            form.emission_factor.errors = [error.message]
        else:
            db.session.commit()
            flash(_("Bénéfices vérifiés enregistrés.") if status == "verified" else
                  _("Bénéfices déclarés enregistrés."), "success")
            return redirect(url_for("synergies.show", synergy_id=synergy.id))
    return render_template("synergies/benefits.html", synergy=synergy, form=form, status=status), \
        (422 if form.errors else 200)


@bp.route("/correspondances/<int:match_id>", methods=["POST"])
@login_required
def create_from_match(match_id):
    """"Nous sommes en discussion": either company of a match, or a practitioner, records the exchange."""
    match = db.get_or_404(Match, match_id)
    if not services.can_create_from_match(match, current_user):
        abort(404)
    synergy, created = services.create_from_match(current_user, match)
    db.session.commit()
    flash(_("Synergie enregistrée : l'animation du territoire suit l'échange.") if created
          else _("Cette mise en relation est déjà suivie comme synergie."), "success" if created else "info")
    return redirect(url_for("synergies.show", synergy_id=synergy.id))


@bp.route("/facteurs-emission", methods=["GET", "POST"])
@login_required
def emission_factors():
    """The emission-factor table: practitioners read it, administrators edit it."""
    if not (current_user.is_admin or current_user.territory_ids):
        abort(403)
    form = None
    if current_user.is_admin:
        factor = services.factor_by_key(request.args.get("code")) if request.method == "GET" else None
        form = EmissionFactorForm(obj=factor)
        if form.validate_on_submit():
            factor, created = services.save_factor(current_user, {
                "key": form.key.data, "label": form.label.data, "kg_co2e_per_unit": form.kg_co2e_per_unit.data,
                "unit": form.unit.data, "source": form.source.data, "is_active": form.is_active.data})
            db.session.commit()
            flash(_("Facteur « %(key)s » ajouté.", key=factor.key) if created
                  else _("Facteur « %(key)s » mis à jour.", key=factor.key), "success")
            return redirect(url_for("synergies.emission_factors"))
    elif request.method == "POST":
        abort(403)
    factors = db.session.scalars(sa.select(EmissionFactor).order_by(EmissionFactor.is_active.desc(),
                                                                    EmissionFactor.unit.desc(),
                                                                    EmissionFactor.label)).all()
    return render_template("synergies/emission_factors.html", factors=factors, form=form), \
        (422 if form is not None and form.errors else 200)


@bp.app_context_processor
def _template_helpers():
    from marketplace.synergies import labels as synergy_labels

    return {"synergy_labels": synergy_labels, "synergies_by_pair": queries.synergies_by_pair}
