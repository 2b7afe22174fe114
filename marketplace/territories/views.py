"""Territories: administrators define them and assign practitioners; practitioners see theirs."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from marketplace import reference
from marketplace.accounts.models import Company, Site, Territory, site_territory
from marketplace.accounts.services import find_user
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.territories import services
from marketplace.territories.forms import AssignPractitionerForm, TerritoryForm

bp = Blueprint("territories", __name__, url_prefix="/territoires")


def _require_admin():
    if not current_user.is_admin:
        abort(403)


def _visible_territory(territory_id: int) -> Territory:
    territory = db.get_or_404(Territory, territory_id)
    if not (current_user.is_admin or territory.id in current_user.territory_ids):
        abort(403)
    return territory


@bp.route("/")
@login_required
def index():
    if not (current_user.is_admin or current_user.is_practitioner):
        abort(403)
    query = sa.select(Territory).order_by(Territory.name)
    if not current_user.is_admin:
        query = query.where(Territory.id.in_(current_user.territory_ids))
    return render_template("territories/index.html", territories=db.session.scalars(query).all())


def _fields(form: TerritoryForm) -> dict:
    fields = {k: form.data[k] for k in ("name", "kind", "postcodes", "departements", "radius_km",
                                         "dormant_after_days", "description")}
    fields["postcodes"] = fields["postcodes"] or ""
    fields["departements"] = fields["departements"] or ""
    fields["description"] = fields["description"] or ""
    center = reference.locate(form.center_postcode.data.strip()) if form.center_postcode.data else None
    fields["center_postcode"] = center.postcode if center else None
    fields["center_latitude"] = center.latitude if center else None
    fields["center_longitude"] = center.longitude if center else None
    return fields


@bp.route("/nouveau", methods=["GET", "POST"])
@login_required
def create():
    _require_admin()
    form = TerritoryForm()
    if form.validate_on_submit():
        if db.session.scalar(sa.select(Territory.id).where(Territory.name == form.name.data.strip())):
            form.name.errors.append(_("Un territoire porte déjà ce nom."))
        else:
            territory = services.save_territory(Territory(), **_fields(form))
            db.session.commit()
            flash(ngettext("Territoire créé : %(num)d site d'entreprise s'y trouve.",
                           "Territoire créé : %(num)d sites d'entreprises s'y trouvent.", len(territory.sites)), "success")
            return redirect(url_for("territories.show", territory_id=territory.id))
    return render_template("territories/form.html", form=form, territory=None), (422 if form.errors else 200)


@bp.route("/<int:territory_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(territory_id):
    _require_admin()
    territory = db.get_or_404(Territory, territory_id)
    form = TerritoryForm(obj=territory)
    if form.validate_on_submit():
        services.save_territory(territory, **_fields(form))
        db.session.commit()
        flash(_("Territoire enregistré."), "success")
        return redirect(url_for("territories.show", territory_id=territory.id))
    return render_template("territories/form.html", form=form, territory=territory), (422 if form.errors else 200)


@bp.route("/<int:territory_id>")
@login_required
def show(territory_id):
    territory = _visible_territory(territory_id)
    companies = db.session.scalars(
        sa.select(Company).join(Site).join(site_territory).where(site_territory.c.territory_id == territory.id)
        .distinct().order_by(Company.name)
    ).all()
    pending = db.session.scalars(
        sa.select(Listing).join(Site).join(site_territory)
        .where(site_territory.c.territory_id == territory.id, Listing.status == "pending")
        .order_by(Listing.submitted_at)
    ).all()
    return render_template(
        "territories/show.html", territory=territory, companies=companies, pending=pending,
        trusted_ids={t.company_id for t in territory.trusts}, assign_form=AssignPractitionerForm(),
    )


@bp.route("/<int:territory_id>/animateurs", methods=["POST"])
@login_required
def assign(territory_id):
    _require_admin()
    territory = db.get_or_404(Territory, territory_id)
    form = AssignPractitionerForm()
    user = find_user(form.email.data) if form.validate_on_submit() else None
    if user is None:
        flash(_("Aucun compte avec cette adresse : la personne doit d'abord créer son compte."), "error")
    elif services.assign_practitioner(territory, user):
        db.session.commit()
        flash(_("%(name)s anime désormais %(territory)s.", name=user.full_name, territory=territory.name), "success")
    else:
        flash(_("Cette personne anime déjà ce territoire."), "info")
    return redirect(url_for("territories.show", territory_id=territory.id))


@bp.route("/<int:territory_id>/animateurs/<int:user_id>/retirer", methods=["POST"])
@login_required
def unassign(territory_id, user_id):
    _require_admin()
    territory = db.get_or_404(Territory, territory_id)
    user = next((a.user for a in territory.assignments if a.user_id == user_id), None)
    if user is None:
        abort(404)
    services.unassign_practitioner(territory, user)
    db.session.commit()
    flash(_("%(name)s n'anime plus ce territoire.", name=user.full_name), "success")
    return redirect(url_for("territories.show", territory_id=territory.id))


@bp.route("/<int:territory_id>/confiance/<int:company_id>", methods=["POST"])
@login_required
def trust(territory_id, company_id):
    territory = _visible_territory(territory_id)
    company = db.get_or_404(Company, company_id)
    if territory.id not in company.territory_ids:
        abort(404)
    trusted = request.form.get("trusted") == "1"
    services.set_trusted(territory, company, trusted, current_user)
    db.session.commit()
    if trusted:
        flash(_("%(name)s publie désormais sans validation préalable.", name=company.name), "success")
    else:
        flash(_("Les annonces de %(name)s seront de nouveau validées avant publication.", name=company.name), "success")
    return redirect(url_for("territories.show", territory_id=territory.id))
