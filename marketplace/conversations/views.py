"""Answer a listing; read and continue the conversations of one's company."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.conversations import services
from marketplace.conversations.forms import ReplyForm, RespondForm
from marketplace.conversations.models import Conversation
from marketplace.extensions import db, limiter
from marketplace.listings.models import Listing

bp = Blueprint("conversations", __name__)


@bp.route("/annonces/<int:listing_id>/repondre", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per hour", methods=["POST"])
def respond(listing_id):
    listing = db.get_or_404(Listing, listing_id)
    if not listing.can_view(current_user):
        abort(404)
    if not current_user.company_id:
        flash(_("Rattachez-vous d'abord à une entreprise pour répondre."), "info")
        return redirect(url_for("companies.create"))
    if not current_user.is_confirmed:
        flash(_("Confirmez votre adresse e-mail pour répondre aux annonces (lien reçu par e-mail)."), "error")
        return redirect(url_for("listings.show", listing_id=listing.id))
    if current_user.company.is_rejected:
        flash(_("Votre entreprise a été refusée par l'animation du territoire : elle ne peut pas répondre aux "
                "annonces. Contactez l'animateur·rice si c'est une erreur."), "error")
        return redirect(url_for("listings.show", listing_id=listing.id))
    if not listing.can_respond(current_user):
        abort(403)
    form = RespondForm()
    if form.validate_on_submit():
        conversation = services.respond(current_user, listing, form.quantity.data, form.message.data)
        db.session.commit()
        flash(_("Message envoyé à %(name)s.", name=listing.company.name), "success")
        return redirect(url_for("conversations.show", conversation_id=conversation.id))
    return render_template("conversations/respond.html", form=form, listing=listing), (422 if form.errors else 200)


@bp.route("/messages")
@login_required
def inbox():
    conversations = services.for_company(current_user.company_id) if current_user.company_id else []
    return render_template("conversations/inbox.html", conversations=conversations)


@bp.route("/messages/<int:conversation_id>", methods=["GET", "POST"])
@login_required
def show(conversation_id):
    conversation = db.get_or_404(Conversation, conversation_id)
    if not conversation.can_view(current_user):
        abort(404)
    form = ReplyForm()
    if form.validate_on_submit():
        services.reply(current_user, conversation, form.body.data)
        db.session.commit()
        flash(_("Message envoyé."), "success")
        return redirect(url_for("conversations.show", conversation_id=conversation.id))
    return render_template("conversations/show.html", conversation=conversation, form=form,
                           other=conversation.other_company(current_user)), (422 if form.errors else 200)
