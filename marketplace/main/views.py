from email import policy
from email.parser import BytesParser
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.listings.models import Listing

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    latest = db.session.scalars(
        sa.select(Listing).where(Listing.status == "published").order_by(Listing.published_at.desc()).limit(6)
    ).all()
    counts = dict(
        db.session.execute(
            sa.select(Listing.kind, sa.func.count()).where(Listing.status == "published").group_by(Listing.kind)
        ).all()
    )
    companies = db.session.scalar(sa.select(sa.func.count()).select_from(Company))
    return render_template("main/home.html", latest=latest, counts=counts, companies=companies)


@bp.route("/langue/<code>", methods=["POST"])
def set_language(code):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    target = request.form.get("next") or url_for("main.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.home")
    return redirect(target)


@bp.route("/sante")
def health():
    db.session.execute(sa.text("SELECT 1"))
    return jsonify(status="ok")


def _mail_folder() -> Path:
    if not current_app.config.get("DEV_MAIL_SINK"):
        abort(404)
    return Path(current_app.config["DEV_MAIL_FOLDER"])


def _parse(path: Path):
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return {
        "id": path.stem,
        "to": msg["To"],
        "subject": msg["Subject"],
        "date": msg["Date"],
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
    }


@bp.route("/dev/mail")
def dev_mail():
    """Development only (MARKETPLACE_DEV_MAIL_SINK): the messages the local SMTP sink received."""
    folder = _mail_folder()
    files = sorted(folder.glob("*.eml"), reverse=True)[:100] if folder.exists() else []
    return render_template("main/dev_mail.html", messages=[_parse(p) for p in files])


@bp.route("/dev/mail/<name>")
def dev_mail_message(name):
    folder = _mail_folder()
    path = folder / f"{name}.eml"
    if not name.replace("-", "").isalnum() or not path.exists():
        abort(404)
    return render_template("main/dev_mail_message.html", message=_parse(path))
