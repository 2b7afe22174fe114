"""Company pages: creation, profile, sites, colleagues."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import reference
from marketplace.accounts.models import Company, Site
from marketplace.companies import services
from marketplace.companies.forms import (
    CompanyForm,
    InviteForm,
    NewCompanyForm,
    SiteForm,
)
from marketplace.extensions import db, limiter
from marketplace.listings.models import PUBLIC_STATUSES, Listing

bp = Blueprint("companies", __name__, url_prefix="/entreprises")


def _company_or_404(company_id: int) -> Company:
    return db.get_or_404(Company, company_id)


def _editable_company(company_id: int) -> Company:
    company = _company_or_404(company_id)
    if not company.can_edit(current_user):
        abort(403)
    return company


def _site_kwargs(form, prefix: str = "") -> dict:
    return {
        "name": getattr(form, prefix + "name").data,
        "address": form.address.data,
        "postcode": form.postcode.data.strip(),
        "city": form.city.data,
    }


@bp.route("/nouvelle", methods=["GET", "POST"])
@login_required
def create():
    if current_user.company_id:
        flash(_("Vous êtes déjà rattaché à une entreprise."), "info")
        return redirect(url_for("companies.show", company_id=current_user.company_id))
    form = NewCompanyForm()
    if form.validate_on_submit():
        site = _site_kwargs(form, prefix="site_")
        company = services.create_company(current_user, form.data, site)
        db.session.commit()
        if company.review_status == "pending":
            flash(_("Entreprise %(name)s créée. L'animateur·rice du territoire va vérifier sa fiche ; vous pouvez "
                    "déjà préparer votre première annonce.", name=company.name), "success")
        else:
            flash(_("Entreprise %(name)s créée. Vous pouvez publier votre première annonce.", name=company.name),
                  "success")
        return redirect(url_for("companies.show", company_id=company.id))
    return render_template("companies/create.html", form=form), (422 if form.errors else 200)


@bp.route("/<int:company_id>")
def show(company_id):
    company = _company_or_404(company_id)
    if not company.can_view(current_user):
        abort(404)  # a refused company is not shown to others
    statuses = None if company.has_member(current_user) else PUBLIC_STATUSES
    query = sa.select(Listing).where(Listing.company_id == company.id).order_by(Listing.updated_at.desc())
    if statuses:
        query = query.where(Listing.status.in_(statuses))
    listings = db.session.scalars(query.limit(100)).all()
    return render_template(
        "companies/show.html", company=company, listings=listings, invite_form=InviteForm(),
        can_edit=company.can_edit(current_user), show_contacts=company.can_view_contacts(current_user),
        can_review=company.can_review(current_user),
        operations=reference.treatment_operations(),
    )


@bp.route("/<int:company_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(company_id):
    company = _editable_company(company_id)
    form = CompanyForm(obj=company, company_id=company.id)
    if request.method == "GET":
        form.handled_categories.data = company.handled_category_list
        form.treatment_operations.data = company.treatment_operation_list
    if form.validate_on_submit():
        services.update_company(company, form.data)
        db.session.commit()
        flash(_("Entreprise enregistrée."), "success")
        return redirect(url_for("companies.show", company_id=company.id))
    return render_template("companies/edit.html", form=form, company=company), (422 if form.errors else 200)


@bp.route("/<int:company_id>/sites/nouveau", methods=["GET", "POST"])
@login_required
def add_site(company_id):
    company = _editable_company(company_id)
    form = SiteForm()
    if form.validate_on_submit():
        services.add_site(company, **_site_kwargs(form))
        db.session.commit()
        flash(_("Site ajouté."), "success")
        return redirect(url_for("companies.show", company_id=company.id))
    return render_template("companies/site_form.html", form=form, company=company, site=None), (
        422 if form.errors else 200)


def _site_of(company: Company, site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None or site.company_id != company.id:
        abort(404)
    return site


@bp.route("/<int:company_id>/sites/<int:site_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_site(company_id, site_id):
    company = _editable_company(company_id)
    site = _site_of(company, site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit():
        services.update_site(site, **_site_kwargs(form))
        db.session.commit()
        flash(_("Site enregistré."), "success")
        return redirect(url_for("companies.show", company_id=company.id))
    return render_template("companies/site_form.html", form=form, company=company, site=site), (
        422 if form.errors else 200)


@bp.route("/<int:company_id>/sites/<int:site_id>/supprimer", methods=["POST"])
@login_required
def delete_site(company_id, site_id):
    company = _editable_company(company_id)
    site = _site_of(company, site_id)
    try:
        services.remove_site(site)
    except services.SiteInUse:
        flash(_("Ce site porte des annonces ou est le seul site de l'entreprise : il ne peut pas être supprimé."), "error")
    else:
        db.session.commit()
        flash(_("Site supprimé."), "success")
    return redirect(url_for("companies.show", company_id=company.id))


@bp.route("/<int:company_id>/inviter", methods=["POST"])
@login_required
@limiter.limit("20 per hour")
def invite(company_id):
    company = _company_or_404(company_id)
    if not company.has_member(current_user):
        abort(403)
    form = InviteForm()
    if form.validate_on_submit():
        services.invite(company, form.email.data, current_user)
        db.session.commit()
        flash(_("Invitation envoyée à %(email)s.", email=form.email.data), "success")
    else:
        for error in form.email.errors:
            flash(_("Invitation non envoyée : %(error)s", error=error), "error")
    return redirect(url_for("companies.show", company_id=company.id))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitation = services.invitation_for(token)
    if invitation is None:
        flash(_("Cette invitation n'est plus valide : demandez à votre collègue de vous en renvoyer une."), "error")
        return redirect(url_for("main.home"))
    if request.method == "POST" and current_user.is_authenticated:
        services.accept_invitation(invitation, current_user)
        db.session.commit()
        flash(_("Vous avez rejoint %(name)s.", name=invitation.company.name), "success")
        return redirect(url_for("companies.show", company_id=invitation.company_id))
    return render_template("companies/invitation.html", invitation=invitation, token=token)


@bp.route("/communes/<postcode>")
def communes(postcode):
    """Communes of a postcode, for the site forms (fills the commune list as the user types)."""
    return {"communes": reference.communes_for(postcode.strip()[:5])}
