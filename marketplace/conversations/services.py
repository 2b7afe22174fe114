"""Answering a listing and replying in its conversation; each message notifies the other company
(in the app, and by e-mail unless they chose otherwise)."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Company, User
from marketplace.conversations.models import Conversation, Message
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.models_base import utcnow
from marketplace.notifications.services import external_url, notify


def find(listing: Listing, company: Company) -> Conversation | None:
    return db.session.scalar(
        sa.select(Conversation).where(Conversation.listing_id == listing.id,
                                      Conversation.responder_company_id == company.id)
    )


def respond(actor: User, listing: Listing, quantity: Decimal | None, body: str) -> Conversation:
    """'Je suis intéressé': opens (or continues) the conversation between the two companies."""
    conversation = find(listing, actor.company)
    if conversation is None:
        conversation = Conversation(listing=listing, responder_company=actor.company, requested_quantity=quantity)
        db.session.add(conversation)
    elif quantity is not None:
        conversation.requested_quantity = quantity
    listing.last_activity_at = utcnow()
    _post(actor, conversation, body, first=True)
    return conversation


def reply(actor: User, conversation: Conversation, body: str) -> Message:
    return _post(actor, conversation, body, first=False)


def _post(actor: User, conversation: Conversation, body: str, first: bool) -> Message:
    message = Message(conversation=conversation, author_id=actor.id, body=body.strip())
    db.session.add(message)
    conversation.last_message_at = utcnow()
    db.session.flush()
    other = conversation.other_company(actor)
    listing = conversation.listing
    subject = (_l("Nouvelle réponse à votre annonce « %(title)s »", title=listing.title) if first
               else _l("Nouveau message : « %(title)s »", title=listing.title))
    link = external_url("conversations.show", conversation_id=conversation.id)
    for user in other.members:
        notify(user, "message", subject, message.body, link, f"message:{message.id}", listing=listing,
               email_template="conversation_message", email_kind="conversation.message",
               actor=actor, message=message, conversation=conversation)
    return message


def for_company(company_id: int) -> list[Conversation]:
    return db.session.scalars(
        sa.select(Conversation).join(Conversation.listing)
        .where(sa.or_(Conversation.responder_company_id == company_id, Listing.company_id == company_id))
        .order_by(Conversation.last_message_at.desc())
    ).all()
