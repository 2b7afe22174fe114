"""/animation: the practitioner's workspace. The home page lists what waits for them; each part
(moderation, relaunch…) adds its routes to this blueprint from its own module, imported below."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

bp = Blueprint("practitioner", __name__, url_prefix="/animation")


def require_practitioner() -> None:
    """Practitioners (of at least one territory) and administrators only."""
    if not (current_user.is_authenticated and (current_user.is_admin or current_user.territory_ids)):
        abort(403)


@bp.route("")
@login_required
def index():
    require_practitioner()
    from marketplace.practitioner.moderation_queue import scope_of, waiting_counts

    return render_template("practitioner/index.html", moderation_counts=waiting_counts(scope_of(current_user)))


from marketplace.practitioner import relaunch_views as _relaunch_views  # noqa: E402,F401  (dormant ads, relance)
from marketplace.practitioner import moderation as _moderation  # noqa: E402,F401  (moderation queue)
