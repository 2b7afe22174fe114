"""Synergy pages: the list a practitioner or a company follows, and one synergy."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from marketplace.extensions import db
from marketplace.synergies.models import Synergy

bp = Blueprint("synergies", __name__, url_prefix="/synergies")


@bp.route("")
@login_required
def index():
    query = sa.select(Synergy).order_by(Synergy.updated_at.desc(), Synergy.id.desc())
    if not current_user.is_admin:
        mine = [Synergy.territory_id.in_(current_user.territory_ids)] if current_user.territory_ids else []
        if current_user.company_id:
            mine += [Synergy.giver_company_id == current_user.company_id,
                     Synergy.taker_company_id == current_user.company_id]
        if not mine:
            return render_template("synergies/index.html", synergies=[])
        query = query.where(sa.or_(*mine))
    return render_template("synergies/index.html", synergies=db.session.scalars(query.limit(500)).all())


@bp.route("/<int:synergy_id>")
@login_required
def show(synergy_id):
    synergy = db.get_or_404(Synergy, synergy_id)
    if not synergy.can_view(current_user):
        abort(404)
    return render_template("synergies/show.html", synergy=synergy)


@bp.app_context_processor
def _template_helpers():
    from marketplace.synergies import labels as synergy_labels

    return {"synergy_labels": synergy_labels}
