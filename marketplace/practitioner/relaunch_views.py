"""Dormant ads: the practitioner's queue and bulk relaunch (/animation/dormantes), and the owner's
answer page (/relance/<token>), public: the signed link stands for the owner, no log-in needed.
GET only shows what the link will do (mail scanners prefetch links); the button POSTs it."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import InputRequired

from marketplace.accounts.models import Territory
from marketplace.companies.forms import MultiCheckboxField
from marketplace.extensions import db
from marketplace.practitioner import relaunch as services
from marketplace.practitioner import rules
from marketplace.practitioner.views import bp, require_practitioner


class RelaunchForm(FlaskForm):
    listing_ids = MultiCheckboxField(_l("Annonces à relancer"), coerce=int, choices=[], validate_choice=False,
                                     validators=[InputRequired(_l("Cochez au moins une annonce."))])
    dry_run = HiddenField()


class AnswerForm(FlaskForm):
    """Only the CSRF token: the answer is in the signed link."""


def _scope() -> set[int] | None:
    """The territories the current user acts on (None: all, for administrators)."""
    return None if current_user.is_admin else current_user.territory_ids


def _territories() -> list[Territory]:
    query = sa.select(Territory).order_by(Territory.name)
    scope = _scope()
    if scope is not None:
        query = query.where(Territory.id.in_(scope))
    return db.session.scalars(query).all()


@bp.route("/dormantes")
@login_required
def dormant():
    """The dormant listings of the practitioner's territories, oldest activity first (or greatest value)."""
    require_practitioner()
    territories = _territories()
    chosen = request.args.get("territory", type=int)
    if chosen not in {t.id for t in territories}:
        chosen = None
    by_value = request.args.get("sort") == "value"
    ads = services.dormant_ads({chosen} if chosen else _scope(), by_value=by_value)
    return render_template("practitioner/dormant.html", ads=ads, territories=territories, chosen=chosen,
                           by_value=by_value, form=RelaunchForm(), interval_days=services.interval_days(), steps=rules)


@bp.route("/dormantes/relancer", methods=["POST"])
@login_required
def relaunch_dormant():
    """Relaunch the checked listings: one e-mail per person; with `dry_run`, only say what would happen."""
    require_practitioner()
    form = RelaunchForm()
    target = url_for("practitioner.dormant", **{k: v for k, v in request.args.items() if k in ("territory", "sort")})
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return redirect(target)
    chosen = set(form.listing_ids.data)
    if services.in_scope(list(chosen), _scope()) != chosen:
        abort(404)  # not a listing of your territories (or no such listing)
    dry_run = bool(form.dry_run.data)
    ads = services.dormant_ads(_scope(), listing_ids=chosen, lock=not dry_run)
    report = services.relaunch(ads, current_user, dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    parts = [
        (_("Simulation : %(n)s annonce(s) seraient relancée(s), %(m)s message(s) envoyé(s) ; %(e)s annonce(s) expireraient.",
           n=len(report.relaunched), m=len(report.messages), e=len(report.expired)) if dry_run else
         _("%(n)s annonce(s) relancée(s) : %(m)s message(s) envoyé(s), un par personne. %(e)s annonce(s) expirée(s) après deux relances sans réponse.",
           n=len(report.relaunched), m=len(report.messages), e=len(report.expired))),
    ]
    if report.waiting:
        parts.append(_("%(n)s annonce(s) relancée(s) il y a moins de %(d)s jours : laissées en attente de réponse.",
                       n=len(report.waiting), d=services.interval_days()))
    if report.no_contact:
        parts.append(_("%(n)s annonce(s) sans personne à prévenir dans l'entreprise.", n=len(report.no_contact)))
    gone = len(chosen) - len(ads)
    if gone:
        parts.append(_("%(n)s annonce(s) ne sont plus dormantes.", n=gone))
    flash(" ".join(parts), "info" if dry_run else "success")
    return redirect(target)


def relaunch_answer(token):
    """GET: what the link will do, and a button; POST (the button): do it, once."""
    link = services.read_link(token)
    problem = services.link_problem(link)
    if problem:
        return _refused(link, problem)
    form = AnswerForm()
    if request.method == "POST" and form.validate_on_submit():
        problem = services.answer(link)
        if problem:
            db.session.rollback()
            return _refused(services.read_link(token), problem)
        db.session.commit()
        return render_template("practitioner/relaunch_done.html", link=link,
                               message=services.ANSWER_DONE[link.answer])
    others = [(services.ANSWER_LABELS[a], url_for("practitioner.relaunch_answer",
                                                  token=services.answer_token(link.relaunch, a, link.user)))
              for a in services.answers_for(link.listing) if a != link.answer]
    return render_template("practitioner/relaunch_answer.html", link=link, form=form, token=token, others=others,
                           label=services.ANSWER_LABELS[link.answer],
                           explanation=services.ANSWER_EXPLANATIONS[link.answer])


def _refused(link, problem: str):
    status = 400 if problem == "invalid" else 409
    return render_template("practitioner/relaunch_invalid.html", link=link, message=services.LINK_PROBLEMS[problem],
                           problem=problem), status


@bp.record_once
def _public_routes(state) -> None:
    """The answer page lives outside /animation: owners, not practitioners, open it."""
    state.app.add_url_rule("/relance/<token>", endpoint="practitioner.relaunch_answer", view_func=relaunch_answer,
                           methods=["GET", "POST"])


@bp.app_template_global()
def listing_relaunches(listing):
    """The listing's relaunches, newest first (its history, for the owner and its moderators)."""
    return services.history(listing)


@bp.app_template_global()
def relaunch_answer_url(relaunch, answer: str) -> str:
    """The owner, logged in, answers a pending relaunch from the listing page: the same confirmation page."""
    return url_for("practitioner.relaunch_answer", token=services.answer_token(relaunch, answer, current_user))


@bp.app_template_global()
def relaunch_answers(listing):
    return [(a, services.ANSWER_LABELS[a]) for a in services.answers_for(listing)]


@bp.app_template_global()
def relaunch_answer_label(answer: str):
    return services.ANSWER_LABELS[answer]
