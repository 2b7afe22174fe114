"""Auction pages: sessions, the live room (control desk, projector, bidders' phones), lots, bids,
awards, follow-up rounds. Thin: check who asks, call a service, commit, flash, redirect."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts.models import Company, Territory
from marketplace.auctions import queries, services
from marketplace.auctions.forms import (
    AwardForm,
    BidForm,
    CheckInForm,
    ConsentForm,
    InviteForm,
    LastCallForm,
    LotForm,
    RelaunchForm,
    RetractForm,
    SessionForm,
    to_local,
)
from marketplace.auctions.models import (
    AuctionSession,
    Award,
    Bid,
    Lot,
    LotEvent,
    Round,
    lot_can_view,
    lot_shows_all_bids,
    lot_shows_best_price,
    lot_shows_reserve,
)
from marketplace.auctions.services import AuctionError
from marketplace.extensions import db, limiter

bp = Blueprint("auctions", __name__, url_prefix="/encheres")


def _bid_limit() -> str:
    return current_app.config["AUCTION_BID_RATE_LIMIT"]


def _bidder_key() -> str:
    return f"user:{current_user.get_id()}" if current_user.is_authenticated else (request.remote_addr or "")


def _session_or_404(session_id: int) -> AuctionSession:
    session = db.get_or_404(AuctionSession, session_id)
    if not session.can_view(current_user):
        abort(404)
    return session


def _run_or_403(session_id: int) -> AuctionSession:
    session = _session_or_404(session_id)
    if not session.is_run_by(current_user):
        abort(403)
    return session


def _lot_or_404(lot_id: int) -> Lot:
    lot = db.get_or_404(Lot, lot_id)
    if not lot_can_view(lot, current_user):
        abort(404)
    return lot


def _lot_run_or_403(lot_id: int) -> Lot:
    lot = _lot_or_404(lot_id)
    if not lot.round.session.is_run_by(current_user):
        abort(403)
    return lot


def _done(ok_message: str | None, target: str):
    """Commit and go back, or roll back and say why the action was refused."""
    db.session.commit()
    if ok_message:
        flash(ok_message, "success")
    return redirect(target)


def _refused(error: AuctionError, target: str):
    db.session.rollback()
    flash(error.message, "error")
    return redirect(target)


def _back(default: str) -> str:
    """Where a room action returns to: the page it came from when it is one of ours."""
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


# --- sessions --------------------------------------------------------------------------------------


@bp.route("")
@login_required
def index():
    sessions = queries.sessions_for(current_user)
    follow_up_lots = queries.open_follow_up_lots_for(current_user)
    return render_template("auctions/index.html", sessions=sessions, follow_up_lots=follow_up_lots,
                           can_create=bool(current_user.is_admin or current_user.territory_ids))


def _territories_run_by_user() -> list[Territory]:
    query = db.select(Territory).order_by(Territory.name)
    if not current_user.is_admin:
        query = query.where(Territory.id.in_(current_user.territory_ids or {0}))
    return db.session.scalars(query).all()


@bp.route("/nouvelle", methods=["GET", "POST"])
@login_required
def create():
    territories = _territories_run_by_user()
    if not territories:
        abort(403)
    form = SessionForm(territories=territories)
    if form.validate_on_submit():
        territory = next(t for t in territories if t.id == form.territory_id.data)
        session = services.create_session(current_user, territory, form.data_for_service())
        return _done(_("Session créée : invitez les entreprises et ajoutez les lots."),
                     url_for("auctions.show", session_id=session.id))
    return render_template("auctions/form.html", form=form, session=None)


@bp.route("/<int:session_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(session_id):
    session = _run_or_403(session_id)
    if session.status != "draft":
        flash(_("La session a déjà commencé : elle ne se modifie plus."), "error")
        return redirect(url_for("auctions.show", session_id=session.id))
    territories = [session.territory]
    form = SessionForm(territories=territories, obj=session if request.method == "GET" else None)
    if request.method == "GET":
        form.territory_id.data = session.territory_id
        form.starts_at.data = to_local(session.starts_at)
        form.closes_at.data = to_local(session.main_round.closes_at)
    if form.validate_on_submit():
        try:
            services.update_session(current_user, session, form.data_for_service())
        except AuctionError as error:
            return _refused(error, url_for("auctions.show", session_id=session.id))
        return _done(_("Session mise à jour."), url_for("auctions.show", session_id=session.id))
    return render_template("auctions/form.html", form=form, session=session)


@bp.route("/<int:session_id>")
@login_required
def show(session_id):
    session = _session_or_404(session_id)
    runs = session.is_run_by(current_user)
    invite_form = InviteForm(companies=queries.companies_to_invite(session)) if runs else None
    offers = queries.offers_to_put_up(session, current_user) if session.status in ("draft", "open") else []
    unclaimed = [lot for r in session.rounds for lot in r.lots if lot.status == "unclaimed"]
    relaunch_form = RelaunchForm(lots=unclaimed, radius_km=2 * current_app.config["AUCTION_FOLLOW_UP_RADIUS_KM"],
                                 days=2 * current_app.config["AUCTION_FOLLOW_UP_DAYS"]) if runs and unclaimed else None
    return render_template("auctions/show.html", session=session, runs=runs, invite_form=invite_form,
                           offers=offers, relaunch_form=relaunch_form, participant=session.participant(
                               current_user.company_id), best=_best_prices(session))


def _best_prices(session: AuctionSession) -> dict[int, Bid | None]:
    return {lot.id: (services.best_bid(lot) if lot_shows_best_price(lot) else None)
            for r in session.rounds for lot in r.lots if lot.status in ("open", "closed", "settled", "unclaimed")}


@bp.route("/<int:session_id>/invitations", methods=["POST"])
@login_required
def invite(session_id):
    session = _run_or_403(session_id)
    form = InviteForm(companies=queries.companies_to_invite(session))
    target = url_for("auctions.show", session_id=session.id)
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.companies.errors) or _("Choisissez au moins une entreprise."), "error")
        return redirect(target)
    companies = [db.session.get(Company, cid) for cid in form.companies.data]
    try:
        added = services.invite(current_user, session, companies)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("%(n)s entreprise(s) invitée(s).", n=added), target)


@bp.route("/<int:session_id>/participants/<int:company_id>/retirer", methods=["POST"])
@login_required
def remove_participant(session_id, company_id):
    session = _run_or_403(session_id)
    target = url_for("auctions.show", session_id=session.id)
    try:
        services.remove_participant(current_user, session, company_id)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Invitation retirée."), target)


@bp.route("/<int:session_id>/participants/<int:company_id>/presence", methods=["POST"])
@login_required
def check_in(session_id, company_id):
    session = _run_or_403(session_id)
    form = CheckInForm()
    target = _back(url_for("auctions.show", session_id=session.id))
    if not form.validate_on_submit() or db.session.get(Company, company_id) is None:
        abort(400)
    try:
        services.check_in(current_user, session.id, company_id, form.present.data == "1")
    except AuctionError as error:
        return _refused(error, target)
    return _done(None, target)


@bp.route("/<int:session_id>/ouvrir", methods=["POST"])
@login_required
def open_session(session_id):
    session = _run_or_403(session_id)
    target = url_for("auctions.control" if session.is_live else "auctions.show", session_id=session.id)
    try:
        services.open_session(current_user, session.id)
    except AuctionError as error:
        return _refused(error, url_for("auctions.show", session_id=session.id))
    return _done(_("La session est ouverte."), target)


@bp.route("/<int:session_id>/clore", methods=["POST"])
@login_required
def close_room(session_id):
    session = _run_or_403(session_id)
    target = url_for("auctions.show", session_id=session.id)
    try:
        services.close_room(current_user, session.id)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Salle close. Les quantités restantes partent en deuxième round."), target)


@bp.route("/<int:session_id>/relance", methods=["POST"])
@login_required
def relaunch(session_id):
    session = _run_or_403(session_id)
    unclaimed = [lot for r in session.rounds for lot in r.lots if lot.status == "unclaimed"]
    form = RelaunchForm(lots=unclaimed)
    target = url_for("auctions.show", session_id=session.id)
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "error")
        return redirect(target)
    try:
        round_ = services.relaunch(current_user, form.lot_ids.data, form.radius_km.data, form.days.data)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Nouveau round ouvert : les apporteurs de solutions concernés sont prévenus."),
                 url_for("auctions.round", round_id=round_.id))


# --- the live room ------------------------------------------------------------------------------------


@bp.route("/<int:session_id>/regie")
@login_required
def control(session_id):
    session = _run_or_403(session_id)
    lot = queries.current_lot(session)
    return render_template("auctions/control.html", session=session, lot=lot,
                           bids=services.active_bids(lot.id) if lot else [], last_call_form=LastCallForm())


@bp.route("/<int:session_id>/projection")
@login_required
def projector(session_id):
    session = _session_or_404(session_id)
    return render_template("auctions/projector.html", session=session, **_room_state(session))


@bp.route("/<int:session_id>/projection/etat")
@login_required
def projector_state(session_id):
    session = _session_or_404(session_id)
    if request.args.get("v") == queries.room_version(session):
        return "", 204  # nothing moved: HTMX keeps the screen as it is
    return render_template("auctions/_projector_state.html", session=session, **_room_state(session))


@bp.route("/<int:session_id>/salle")
@login_required
def room(session_id):
    session = _session_or_404(session_id)
    state = _room_state(session)
    return render_template("auctions/room.html", session=session, bid_form=_bid_form(state["lot"]),
                           refusal=_refusal(state["lot"]), **state)


@bp.route("/<int:session_id>/salle/etat")
@login_required
def room_state(session_id):
    session = _session_or_404(session_id)
    if request.args.get("v") == queries.room_version(session):
        return "", 204
    return render_template("auctions/_room_state.html", session=session, **_room_state(session))


@bp.route("/<int:session_id>/salle/formulaire")
@login_required
def room_form(session_id):
    """The phone's bid form, replaced only when another lot comes on screen (never while typing)."""
    session = _session_or_404(session_id)
    lot = queries.current_lot(session)
    if request.args.get("lot") == str(lot.id if lot else ""):
        return "", 204
    return render_template("auctions/_room_form.html", session=session, lot=lot, bid_form=_bid_form(lot),
                           refusal=_refusal(lot))


def _room_state(session: AuctionSession) -> dict:
    lot = queries.current_lot(session)
    best = services.best_bid(lot) if lot and lot_shows_best_price(lot) else None
    bid_count = len(services.active_bids(lot.id)) if lot else 0
    mine = None
    if lot and current_user.company_id:
        mine = next((b for b in services.active_bids(lot.id) if b.company_id == current_user.company_id), None)
    return {"lot": lot, "best": best, "bid_count": bid_count, "mine": mine, "version": queries.room_version(session)}


def _refusal(lot: Lot | None) -> str | None:
    return services.bidding_access(current_user, lot) if lot is not None else None


def _bid_form(lot: Lot | None) -> BidForm | None:
    if (lot is None or lot.status != "open" or not current_user.is_authenticated
            or services.bidding_access(current_user, lot)):
        return None
    form = BidForm(formdata=None)
    form.client_key.data = secrets.token_urlsafe(16)
    if not lot.allow_partial:
        form.quantity.data = lot.quantity_remaining
    return form


# --- lots ------------------------------------------------------------------------------------------------


@bp.route("/<int:session_id>/lots/nouveau", methods=["GET", "POST"])
@login_required
def put_up(session_id):
    session = db.get_or_404(AuctionSession, session_id)
    if not (session.can_view(current_user) or _gives_in_territory(session)):
        abort(404)
    offers = queries.offers_to_put_up(session, current_user)
    if not offers and request.method == "GET":
        flash(_("Aucune offre publiée de ce territoire ne peut être mise en lot."), "info")
        return redirect(url_for("auctions.show", session_id=session.id))
    form = LotForm(listings=offers)
    if request.method == "GET" and request.args.get("listing", type=int):
        form.listing_id.data = request.args.get("listing", type=int)
        chosen = next((x for x in offers if x.id == form.listing_id.data), None)
        if chosen is not None and chosen.quantity:
            form.quantity.data = chosen.quantity
    if form.validate_on_submit():
        listing = next(x for x in offers if x.id == form.listing_id.data)
        try:
            lot = services.put_up(current_user, session, listing, form.data_for_service())
        except AuctionError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            message = (_("Lot ajouté.") if lot.status != "awaiting_consent"
                       else _("Lot proposé : le cédant doit donner son accord."))
            return _done(message, url_for("auctions.show", session_id=session.id))
    return render_template("auctions/lot_form.html", form=form, session=session)


def _gives_in_territory(session: AuctionSession) -> bool:
    """A company of the territory may put its own offer up in a session it is not invited to."""
    if not current_user.company_id or session.status not in ("draft", "open"):
        return False
    return session.territory_id in current_user.company.territory_ids


@bp.route("/lots/<int:lot_id>")
@login_required
def lot(lot_id):
    lot = _lot_or_404(lot_id)
    sees_all = lot_shows_all_bids(lot, current_user)
    bids = [b for b in lot.bids if sees_all or b.company_id == current_user.company_id]
    best = services.best_bid(lot) if lot_shows_best_price(lot) else None
    return render_template(
        "auctions/lot.html", lot=lot, bids=bids, sees_all=sees_all, best=best, bid_form=_bid_form(lot),
        bid_refusal=services.bidding_access(current_user, lot) if lot.status == "open" else None,
        shows_reserve=lot_shows_reserve(lot, current_user), runs=lot.round.session.is_run_by(current_user),
        gives=lot.is_given_by(current_user), retract_form=RetractForm(), consent_form=ConsentForm(),
        award_form=AwardForm(), children=lot.children,
    )


@bp.route("/lots/<int:lot_id>/historique")
@login_required
def lot_history(lot_id):
    lot = _lot_or_404(lot_id)
    if not (lot.round.session.is_run_by(current_user) or (lot.is_given_by(current_user) and lot.status != "open")):
        abort(403)
    events = db.session.scalars(db.select(LotEvent).where(LotEvent.lot_id == lot.id).order_by(LotEvent.id)).all()
    # Sealed bids stay hidden from everyone, the practitioner included, until the lot closes.
    return render_template("auctions/lot_history.html", lot=lot, events=events,
                           sealed=lot.round.is_sealed and lot.status == "open")


@bp.route("/lots/<int:lot_id>/encherir", methods=["POST"])
@login_required
@limiter.limit(_bid_limit, key_func=_bidder_key)
def bid(lot_id):
    lot = _lot_or_404(lot_id)
    form = BidForm()
    target = _back(url_for("auctions.lot", lot_id=lot.id))
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "error")
        return redirect(target)
    try:
        _bid, created = services.place_bid(current_user, lot.id, form.price(), form.quantity.data,
                                           form.message.data or "", form.client_key.data or None)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Enchère enregistrée.") if created else _("Cette enchère était déjà enregistrée."), target)


@bp.route("/offres/<int:bid_id>/retrait", methods=["POST"])
@login_required
def retract_bid(bid_id):
    bid = db.get_or_404(Bid, bid_id)
    if bid.company_id != current_user.company_id:
        abort(404)
    form = RetractForm()
    target = url_for("auctions.lot", lot_id=bid.lot_id)
    if not form.validate_on_submit():
        flash(_("Indiquez le motif du retrait : erreur de saisie ou lot modifié.") if form.reason.errors
              else " ".join(str(e) for errs in form.errors.values() for e in errs), "error")
        return redirect(target)
    try:
        services.retract_bid(current_user, bid.id, form.reason.data, form.note.data or "")
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Enchère retirée ; le retrait est consigné."), target)


@bp.route("/lots/<int:lot_id>/accord", methods=["POST"])
@login_required
def consent(lot_id):
    lot = _lot_or_404(lot_id)
    if not lot.is_given_by(current_user):
        abort(403)
    form = ConsentForm()
    target = url_for("auctions.lot", lot_id=lot.id)
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "error")
        return redirect(target)
    try:
        services.answer_consent(current_user, lot.id, form.answer.data == "accept", form.reserve_unit_price_eur.data)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Réponse enregistrée."), target)


@bp.route("/lots/<int:lot_id>/retirer", methods=["POST"])
@login_required
def withdraw_lot(lot_id):
    lot = _lot_or_404(lot_id)
    if not (lot.is_given_by(current_user) or lot.round.session.is_run_by(current_user)):
        abort(403)
    target = url_for("auctions.show", session_id=lot.round.session_id)
    try:
        services.withdraw_lot(current_user, lot.id)
    except AuctionError as error:
        return _refused(error, url_for("auctions.lot", lot_id=lot.id))
    return _done(_("Lot retiré."), target)


@bp.route("/lots/<int:lot_id>/presenter", methods=["POST"])
@login_required
def present(lot_id):
    lot = _lot_run_or_403(lot_id)
    target = _back(url_for("auctions.control", session_id=lot.round.session_id))
    try:
        services.present(current_user, lot.id)
    except AuctionError as error:
        return _refused(error, target)
    return _done(None, target)


@bp.route("/lots/<int:lot_id>/dernieres-encheres", methods=["POST"])
@login_required
def last_call(lot_id):
    lot = _lot_run_or_403(lot_id)
    form = LastCallForm()
    target = _back(url_for("auctions.control", session_id=lot.round.session_id))
    if not form.validate_on_submit():
        flash(_("Durée invalide (de 5 à 600 secondes)."), "error")
        return redirect(target)
    try:
        services.last_call(current_user, lot.id, form.seconds.data)
    except AuctionError as error:
        return _refused(error, target)
    return _done(None, target)


@bp.route("/lots/<int:lot_id>/clore", methods=["POST"])
@login_required
def close_lot(lot_id):
    lot = _lot_run_or_403(lot_id)
    target = _back(url_for("auctions.control", session_id=lot.round.session_id))
    closed = services.close_lot(current_user, lot.id)
    return _done(_("Résultat enregistré.") if closed else _("Ce lot était déjà clos."), target)


@bp.route("/lots/<int:lot_id>/annuler-cloture", methods=["POST"])
@login_required
def undo_close(lot_id):
    lot = _lot_run_or_403(lot_id)
    target = _back(url_for("auctions.control", session_id=lot.round.session_id))
    try:
        services.undo_close(current_user, lot.id)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Clôture annulée : le lot reprend les enchères."), target)


@bp.route("/lots/<int:lot_id>/clore-sans-preneur", methods=["POST"])
@login_required
def close_unclaimed(lot_id):
    lot = _lot_run_or_403(lot_id)
    target = url_for("auctions.show", session_id=lot.round.session_id)
    try:
        services.close_unclaimed(current_user, lot.id)
    except AuctionError as error:
        return _refused(error, target)
    return _done(_("Lot clos sans preneur."), target)


@bp.route("/attributions/<int:award_id>", methods=["POST"])
@login_required
def decide_award(award_id):
    award = db.get_or_404(Award, award_id)
    lot = _lot_or_404(award.lot_id)
    if not lot.is_given_by(current_user):
        abort(403)
    form = AwardForm()
    target = url_for("auctions.lot", lot_id=lot.id)
    if not form.validate_on_submit():
        if set(form.errors) != {"reason"}:
            abort(400)  # no decision, or a stale form
        flash(" ".join(str(e) for e in form.reason.errors), "error")  # a reason too long: say so
        return redirect(target)
    decided = services.decide_award(current_user, award.id, form.decision.data == "confirm", form.reason.data or "")
    if not decided:
        db.session.rollback()
        flash(_("Cette attribution a déjà été décidée."), "info")
        return redirect(target)
    message = (_("Attribution confirmée : la synergie est créée pour le suivi.") if form.decision.data == "confirm"
               else _("Attribution déclinée."))
    return _done(message, target)


# --- follow-up rounds ----------------------------------------------------------------------------------


@bp.route("/rounds")
@login_required
def rounds():
    return render_template("auctions/rounds.html", rounds=queries.follow_up_rounds_for(current_user),
                           lots=queries.open_follow_up_lots_for(current_user))


@bp.route("/rounds/<int:round_id>")
@login_required
def round(round_id):
    round_ = db.get_or_404(Round, round_id)
    lots = [lot for lot in round_.lots if lot_can_view(lot, current_user)]
    if not lots and not round_.session.is_run_by(current_user):
        abort(404)
    return render_template("auctions/round.html", round=round_, lots=lots,
                           runs=round_.session.is_run_by(current_user),
                           best={lot.id: services.best_bid(lot) for lot in lots if lot_shows_best_price(lot)})


@bp.route("/offres-de-mon-entreprise")
@login_required
def my_bids():
    """The company's bids across sessions and rounds, with their outcome."""
    if not current_user.company_id:
        return redirect(url_for("auctions.index"))
    bids = db.session.scalars(db.select(Bid).where(Bid.company_id == current_user.company_id)
                              .order_by(Bid.placed_at.desc()).limit(200)).all()
    awards = db.session.scalars(db.select(Award).where(Award.company_id == current_user.company_id)).all()
    return render_template("auctions/my_bids.html", bids=bids, awards={a.bid_id: a for a in awards})


@bp.app_context_processor
def _template_helpers():
    from marketplace.auctions import labels as auction_labels
    from marketplace.models_base import utcnow

    return {"auction_labels": auction_labels, "auction_messages": services.MESSAGES,
            "now_iso": lambda: utcnow().isoformat(timespec="seconds"),
            "auction_sessions_for": queries.sessions_taking_lots}
