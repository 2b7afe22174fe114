"""The notification centre: the in-app list, preferences and mutes, the one-click unsubscribe link
of e-mails, and saved searches (alertes)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import labels
from marketplace.accounts.models import Territory
from marketplace.extensions import csrf, db
from marketplace.listings.models import Listing
from marketplace.notifications import alerts, services
from marketplace.notifications.forms import (
    MuteCategoryForm,
    PreferencesForm,
    SavedSearchForm,
)
from marketplace.notifications.labels import KIND_LABELS, KIND_SHORT
from marketplace.notifications.models import (
    MUTABLE_KINDS,
    Mute,
    Notification,
    SavedSearch,
)

bp = Blueprint("notifications", __name__)
PER_PAGE = 30
MAX_PAGE = 10_000  # as the listing and search pages


@bp.app_context_processor
def inject_helpers():
    """Lazy helpers for the layout: the unread count costs one COUNT query, only when a page shows it."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        if "unread_notifications" not in g:
            g.unread_notifications = services.unread_count(current_user.id)
        return g.unread_notifications

    def listing_mute(listing) -> Mute | None:
        if not current_user.is_authenticated:
            return None
        return services.listing_mute(current_user.id, listing.id)

    return {"unread_notifications": unread_notifications, "listing_mute": listing_mute}


def _safe_next(default: str) -> str:
    """A same-site path from the form, else `default` (never redirect to another site)."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _own_notification(notification_id: int) -> Notification:
    notification = db.get_or_404(Notification, notification_id)
    if not notification.can_view(current_user):
        abort(404)  # do not reveal that it exists
    return notification


# --- the in-app list ----------------------------------------------------------------------------


@bp.route("/notifications")
@login_required
def index():
    # Clamped: a page past any database integer would overflow the query's OFFSET (a 500).
    number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    page = db.paginate(services.list_query(current_user.id), page=number, per_page=PER_PAGE, error_out=False)
    return render_template("notifications/index.html", page=page, kinds=KIND_SHORT, mutable=MUTABLE_KINDS)


@bp.route("/notifications/<int:notification_id>/lue", methods=["POST"])
@login_required
def mark_read(notification_id):
    """Mark one notification read; with `open`, go on to what it is about."""
    notification = _own_notification(notification_id)
    services.mark_read(notification)
    db.session.commit()
    if request.form.get("open") and notification.path:
        return redirect(notification.path)
    return redirect(_safe_next(url_for("notifications.index")))


@bp.route("/notifications/tout-lu", methods=["POST"])
@login_required
def mark_all_read():
    count = services.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(_("Toutes vos notifications sont marquées comme lues."), "success")
    return redirect(url_for("notifications.index"))


# --- preferences and mutes ----------------------------------------------------------------------


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    current = {**services.modes_for(current_user.id), "everything_off": services.is_everything_off(current_user.id)}
    form = PreferencesForm(data=current)
    if form.validate_on_submit():
        for kind, mode in form.modes().items():
            services.set_mode(current_user, kind, mode)
        services.set_everything_off(current_user, form.everything_off.data)
        db.session.commit()
        flash(_("Préférences enregistrées."), "success")
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form, category_form=MuteCategoryForm(),
                           mutes=services.mutes_of(current_user.id)), (422 if form.errors else 200)


@bp.route("/notifications/preferences/categories", methods=["POST"])
@login_required
def mute_category():
    form = MuteCategoryForm()
    if form.validate_on_submit():
        services.mute_category(current_user, form.category.data)
        db.session.commit()
        flash(_("Vous ne serez plus prévenu des annonces « %(category)s ».",
                category=labels.CATEGORIES_SHORT[form.category.data]), "success")
    else:
        flash(_("Choisissez une catégorie."), "error")
    return redirect(url_for("notifications.preferences"))


@bp.route("/annonces/<int:listing_id>/sourdine", methods=["POST"])
@login_required
def mute_listing(listing_id):
    listing = db.get_or_404(Listing, listing_id)
    if not listing.can_view(current_user):
        abort(404)
    services.mute_listing(current_user, listing)
    db.session.commit()
    flash(_("Vous ne serez plus prévenu pour « %(title)s ».", title=listing.title), "success")
    return redirect(_safe_next(url_for("listings.show", listing_id=listing.id)))


@bp.route("/notifications/sourdines/<int:mute_id>/retirer", methods=["POST"])
@login_required
def unmute(mute_id):
    mute = db.get_or_404(Mute, mute_id)
    if not mute.can_edit(current_user):
        abort(404)
    services.unmute(mute)
    db.session.commit()
    flash(_("Notifications réactivées."), "success")
    return redirect(_safe_next(url_for("notifications.preferences")))


@bp.route("/notifications/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail providers POST without a session; the signed token is the protection
def unsubscribe(token):
    """GET: a confirmation page with one button; POST (that button, or the mail provider's one-click
    request): turn the kind(s) named by the signed token off. No log-in needed."""
    found = services.read_unsubscribe_token(token)
    if found is None:
        return render_template("notifications/unsubscribe_invalid.html"), 400
    user, kinds = found
    described = [KIND_LABELS[k] for k in kinds] if kinds else None
    if request.method == "POST":
        services.unsubscribe(user, kinds)
        db.session.commit()
        return render_template("notifications/unsubscribe_done.html", user=user, kinds=described)
    return render_template("notifications/unsubscribe.html", user=user, kinds=described, token=token)


# --- saved searches (alertes) -------------------------------------------------------------------


def _own_search(search_id: int) -> SavedSearch:
    search = db.get_or_404(SavedSearch, search_id)
    if not search.can_edit(current_user):
        abort(404)
    return search


@bp.route("/alertes")
@login_required
def alerts_index():
    return render_template("notifications/alerts.html", searches=alerts.searches_of(current_user.id))


@bp.route("/alertes/nouvelle", methods=["GET", "POST"])
@login_required
def create_alert():
    """The form, pre-filled from the listing index filters when coming from its "Créer une alerte" button."""
    territories = db.session.scalars(sa.select(Territory).order_by(Territory.name)).all()
    prefill = {key: request.args.get(key) or None for key in ("q", "kind", "category", "territory", "postcode")}
    prefill["radius_km"] = request.args.get("radius_km", 30, type=int)
    form = SavedSearchForm(data=prefill, territories=territories)
    if form.validate_on_submit():
        search = alerts.create_saved_search(current_user, form.saved_search_data())
        db.session.commit()
        flash(_("Alerte « %(name)s » créée : vous serez prévenu des nouvelles annonces qui y répondent.",
                name=search.name), "success")
        return redirect(url_for("notifications.alerts_index"))
    return render_template("notifications/alert_form.html", form=form), (422 if form.errors else 200)


@bp.route("/alertes/<int:search_id>/pause", methods=["POST"])
@login_required
def toggle_alert(search_id):
    """Pause an active alert, resume a paused one."""
    search = _own_search(search_id)
    alerts.set_active(search, not search.active)
    db.session.commit()
    flash(_("Alerte réactivée.") if search.active else _("Alerte en pause."), "success")
    return redirect(url_for("notifications.alerts_index"))


@bp.route("/alertes/<int:search_id>/supprimer", methods=["POST"])
@login_required
def delete_alert(search_id):
    search = _own_search(search_id)
    alerts.delete_saved_search(search)
    db.session.commit()
    flash(_("Alerte supprimée."), "success")
    return redirect(url_for("notifications.alerts_index"))
