"""Listing pages: browse, detail, create/edit, status changes, moderation of one listing, photos."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup

from marketplace import labels, reference
from marketplace.accounts.models import Territory
from marketplace.extensions import db
from marketplace.files import is_disk_full
from marketplace.listings import changes as listing_changes_module
from marketplace.listings import pagecache
from marketplace.listings import services
from marketplace.listings.forms import BrowseForm, ListingForm, RejectForm, StatusForm
from marketplace.listings.models import Listing, ListingEvent, ListingPhoto
from marketplace.listings.photos import PhotoError, photo_dir, reencode
from marketplace.listings.queries import BrowseFilters, browse_query, paginate

bp = Blueprint("listings", __name__)


def _listing_or_404(listing_id: int) -> Listing:
    listing = db.get_or_404(Listing, listing_id)
    if not listing.can_view(current_user):
        abort(404)  # do not reveal that a draft exists
    return listing


def _editable(listing_id: int) -> Listing:
    listing = _listing_or_404(listing_id)
    if not listing.can_edit(current_user):
        abort(403)
    return listing


@bp.route("/annonces")
def browse():
    words = (request.args.get("q") or "").strip()
    if words:  # words go to full-text search (analysis, synonyms, typos), with the same filters
        kept = {k: v for k in ("kind", "category", "territory", "postcode", "radius_km") if (v := request.args.get(k))}
        return redirect(url_for("search.index", q=words, **kept))
    territories = db.session.scalars(sa.select(Territory).order_by(Territory.name)).all()
    form = BrowseForm(request.args, territories=territories)
    valid = form.validate()
    filters = BrowseFilters(
        kind=form.kind.data or None,
        category=form.category.data or None,
        territory_id=int(form.territory.data) if form.territory.data else None,
        q=(form.q.data or "").strip() or None,
        postcode=form.postcode.data.strip() if valid and form.postcode.data else None,
        radius_km=form.radius_km.data if valid else None,
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    # Anonymous visitors share the results of a URL for a few seconds (pagecache.py).
    cache = None if current_user.is_authenticated else pagecache.for_app(current_app)
    key = (str(get_locale()), request.query_string)
    results = cache.get(key) if cache else None
    if results is None:
        query, place = browse_query(filters)
        page = paginate(query, page=(form.page.data or 1) if valid else 1,
                        per_page=current_app.config["LISTINGS_PER_PAGE"], session=db.session())
        results = Markup(render_template("listings/_browse_results.html", form=form, page=page, place=place,
                                         args=args))
        if cache:
            cache.put(key, results)
    return render_template("listings/browse.html", form=form, results=results, args=args)


@bp.route("/mes-annonces")
@login_required
def mine():
    if not current_user.company_id:
        flash(_("Rattachez-vous d'abord à une entreprise."), "info")
        return redirect(url_for("companies.create"))
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.company_id == current_user.company_id).order_by(Listing.updated_at.desc())
    ).all()
    groups = {}
    for listing in listings:
        groups.setdefault(listing.status, []).append(listing)
    return render_template("listings/mine.html", groups=groups, total=len(listings))


def _read_photos(form: ListingForm, existing: int = 0) -> list[bytes] | None:
    """Uploaded photos, each validated; None (with a field error) if one is refused."""
    files = [f for f in (form.photos.data or []) if f and f.filename]
    limit = current_app.config["MAX_PHOTOS_PER_LISTING"]
    if existing + len(files) > limit:
        form.photos.errors = [_("%(n)s photos au maximum par annonce.", n=limit)]
        return None
    blobs = []
    for f in files:
        data = f.read()
        if len(data) > current_app.config["MAX_PHOTO_BYTES"]:
            form.photos.errors = [_("« %(name)s » est trop lourde (8 Mo au maximum).", name=f.filename)]
            return None
        try:
            reencode(data, 64)  # cheap proof that it decodes before anything is saved
        except PhotoError as exc:
            form.photos.errors = [_("« %(name)s » : %(reason)s", name=f.filename, reason=str(exc))]
            return None
        blobs.append(data)
    return blobs


def _chosen_site(form: ListingForm):
    return next((s for s in current_user.company.sites if s.id == form.site_id.data), None)


@bp.route("/annonces/nouvelle", methods=["GET", "POST"])
@login_required
def create():
    company = current_user.company
    if company is None:
        flash(_("Créez ou rejoignez d'abord votre entreprise pour publier une annonce."), "info")
        return redirect(url_for("companies.create"))
    kind = request.args.get("kind") if request.args.get("kind") in ("offer", "need") else "offer"
    form = ListingForm(sites=company.sites, kind=kind)
    if form.validate_on_submit():
        blobs = _read_photos(form)
        site = _chosen_site(form)
        if blobs is not None and site is not None:
            listing = services.create(current_user, company, site, form.data)
            if not _added_photos(form, listing, blobs):
                return render_template("listings/form.html", form=form, listing=None), 507
            message, category = _("Brouillon enregistré."), "success"
            if request.form.get("submit_for") == "publish":
                message, category = _submit(listing)
            db.session.commit()
            flash(message, category)
            return redirect(url_for("listings.show", listing_id=listing.id))
    return render_template("listings/form.html", form=form, listing=None), (422 if form.errors else 200)


def _added_photos(form: ListingForm, listing: Listing, blobs: list[bytes]) -> bool:
    """Store the photos; on a full disk, roll everything back (the photos written so far go with it)
    and say so on the form, which keeps what was typed. False then."""
    try:
        services.add_photos(listing, blobs)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        db.session.rollback()
        current_app.logger.error("disk full: photos of a listing not stored (%s)", exc)
        form.photos.errors = [_("Le serveur n'a plus de place pour enregistrer les photos : rien n'a été "
                                "enregistré. Réessayez plus tard, ou enregistrez l'annonce sans photo et "
                                "ajoutez-les ensuite.")]
        return False
    return True


def _publish_message(status: str) -> str:
    if status == "published":
        return _("Annonce publiée.")
    return _("Annonce envoyée à l'animateur·rice du territoire pour validation. Vous serez prévenu par e-mail.")


COMPANY_REFUSED = _l("Votre entreprise a été refusée par l'animateur·rice du territoire : ses annonces ne peuvent "
                     "pas être publiées. L'annonce reste en brouillon.")


def _submit(listing: Listing) -> tuple[str, str]:
    """Send a saved listing for publication: (message, flash category)."""
    try:
        return _publish_message(services.submit(current_user, listing)), "success"
    except services.CompanyRefused:
        return str(COMPANY_REFUSED), "error"


@bp.route("/annonces/<int:listing_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(listing_id):
    listing = _editable(listing_id)
    form = ListingForm(obj=listing, sites=listing.company.sites)
    if request.method == "GET":
        form.site_id.data = listing.site_id
    if form.validate_on_submit():
        blobs = _read_photos(form, existing=len(listing.photos))
        site = _chosen_site(form)
        if blobs is not None and site is not None:
            services.update(current_user, listing, site, form.data)
            if not _added_photos(form, listing, blobs):
                return render_template("listings/form.html", form=form, listing=listing), 507
            message, category = _("Annonce enregistrée."), "success"
            if request.form.get("submit_for") == "publish" and listing.status in ("draft", "expired", "withdrawn"):
                message, category = _submit(listing)
            db.session.commit()
            flash(message, category)
            return redirect(url_for("listings.show", listing_id=listing.id))
    return render_template("listings/form.html", form=form, listing=listing), (422 if form.errors else 200)


@bp.route("/annonces/<int:listing_id>")
def show(listing_id):
    listing = _listing_or_404(listing_id)
    services.record_view(listing, current_user)
    db.session.commit()
    waste = reference.waste_codes().get(listing.waste_code) if listing.waste_code else None
    events = []
    if listing.is_owned_by(current_user) or (current_user.is_authenticated and current_user.moderates_site(listing.site)):
        events = db.session.scalars(
            sa.select(ListingEvent).where(ListingEvent.listing_id == listing.id).order_by(ListingEvent.id.desc())
        ).all()
    conversation = None
    if current_user.is_authenticated and current_user.company_id and not listing.is_owned_by(current_user):
        from marketplace.conversations.models import Conversation

        conversation = db.session.scalar(sa.select(Conversation).where(
            Conversation.listing_id == listing.id, Conversation.responder_company_id == current_user.company_id))
    matches = []
    if events and listing.status == "published":  # same audience as the history: owner and moderators
        from marketplace.matching.services import matches_for

        matches = matches_for(listing)
    nearby = [
        [p.latitude, p.longitude, p.commune.title()]
        for p in reference.nearby_places(listing.site.latitude, listing.site.longitude, 25, limit=150)
    ] if listing.site.latitude is not None else []
    return render_template(
        "listings/show.html", listing=listing, waste=waste, events=events, conversation=conversation,
        reject_form=RejectForm(), status_form=StatusForm(), nearby=nearby, matches=matches,
        can_moderate=listing.can_moderate(current_user), is_owner=listing.is_owned_by(current_user),
    )


@bp.route("/annonces/<int:listing_id>/soumettre", methods=["POST"])
@login_required
def submit(listing_id):
    listing = _editable(listing_id)
    try:
        status = services.submit(current_user, listing)
    except services.TransitionError:
        flash(_("Cette annonce est déjà soumise ou publiée."), "info")
    except services.CompanyRefused:
        flash(str(COMPANY_REFUSED), "error")
    else:
        db.session.commit()
        flash(_publish_message(status), "success")
    return redirect(url_for("listings.show", listing_id=listing.id))


@bp.route("/annonces/<int:listing_id>/statut", methods=["POST"])
@login_required
def change_status(listing_id):
    listing = _listing_or_404(listing_id)
    if not listing.is_owned_by(current_user):
        abort(403)
    form = StatusForm()
    if not form.validate_on_submit() or form.action.data not in services.OWNER_TRANSITIONS:
        abort(400)
    try:
        services.change_status(current_user, listing, form.action.data)
    except services.TransitionError:
        flash(_("Cette action n'est pas possible dans l'état actuel de l'annonce."), "error")
    else:
        db.session.commit()
        flash(_("Statut de l'annonce : %(status)s.", status=labels.STATUSES[listing.status]), "success")
    return redirect(url_for("listings.show", listing_id=listing.id))


def _already_moderated(listing: Listing) -> bool:
    """A second click (or a colleague faster than you) gets an explanation, not an error page."""
    if listing.status != "pending" and current_user.moderates_site(listing.site) and listing.moderated_at:
        flash(_("Cette annonce a déjà été traitée (%(status)s).", status=labels.STATUSES[listing.status]), "info")
        return True
    return False


@bp.route("/annonces/<int:listing_id>/approuver", methods=["POST"])
@login_required
def approve(listing_id):
    listing = _listing_or_404(listing_id)
    if _already_moderated(listing):
        return redirect(url_for("listings.show", listing_id=listing.id))
    if not listing.can_moderate(current_user):
        abort(403)
    try:
        services.approve(current_user, listing)
    except services.CompanyRefused:
        flash(_("L'entreprise de cette annonce a été refusée : l'annonce ne peut pas être publiée."), "error")
        return redirect(url_for("listings.show", listing_id=listing.id))
    db.session.commit()
    flash(_("Annonce approuvée et publiée ; l'entreprise est prévenue."), "success")
    return redirect(url_for("listings.show", listing_id=listing.id))


@bp.route("/annonces/<int:listing_id>/rejeter", methods=["POST"])
@login_required
def reject(listing_id):
    """Request changes (renvoyer pour modification): back to draft with the reason. Refusing for good is on
    the moderation page (practitioner.decide_listing)."""
    listing = _listing_or_404(listing_id)
    if _already_moderated(listing):
        return redirect(url_for("listings.show", listing_id=listing.id))
    if not listing.can_moderate(current_user):
        abort(403)
    form = RejectForm()
    if form.validate_on_submit():
        services.request_changes(current_user, listing, form.reason.data)
        db.session.commit()
        flash(_("Annonce renvoyée à l'entreprise avec votre motif."), "success")
        return redirect(url_for("listings.show", listing_id=listing.id))
    flash(_("Indiquez un motif (5 caractères au moins)."), "error")
    return redirect(url_for("listings.show", listing_id=listing.id))


@bp.route("/annonces/<int:listing_id>/photos/<int:photo_id>/supprimer", methods=["POST"])
@login_required
def delete_photo(listing_id, photo_id):
    listing = _editable(listing_id)
    photo = db.session.get(ListingPhoto, photo_id)
    if photo is None or photo.listing_id != listing.id:
        abort(404)
    services.remove_photo(listing, photo)
    db.session.commit()
    flash(_("Photo supprimée."), "success")
    return redirect(url_for("listings.edit", listing_id=listing.id))


@bp.route("/photos/<filename>")
def photo(filename):
    photo = db.first_or_404(sa.select(ListingPhoto).where(ListingPhoto.filename == filename))
    _listing_or_404(photo.listing_id)
    return send_from_directory(photo_dir(), photo.filename, mimetype="image/jpeg", max_age=3600)


@bp.route("/reference/codes-dechets")
def waste_codes():
    """Waste-code picker: JSON list matching what the user typed."""
    q = request.args.get("q", "")[:80]
    return {
        "results": [
            {"code": w.code, "label": w.description, "hazardous": w.is_hazardous}
            for w in reference.search_waste_codes(q, limit=25)
        ]
    }


@bp.app_template_global()
def listing_changes(event) -> list[tuple[str, str, str]]:
    """(field, before, after) for an edit in a listing's history."""
    return listing_changes_module.describe(event.detail)
