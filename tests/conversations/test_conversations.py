"""Answering a listing opens a conversation between the two companies, each message mailed to the other."""
import re

import sqlalchemy as sa

from marketplace.conversations.models import Conversation, Message
from marketplace.extensions import db
from tests.conftest import SmtpSink, login, open_session


def test_respond_opens_conversation_and_mails_owner(app, world, smtp):
    smtp.clear()
    bob_client = app.test_client()
    login(bob_client, world["bob"])
    listing = world["b_published"]  # Bob's own need: he cannot answer it
    assert bob_client.post(f"/annonces/{listing.id}/repondre", data={"message": "moi"}).status_code == 403

    carol = app.test_client()
    login(carol, world["carol"])
    listing = world["a_published"]
    response = carol.post(f"/annonces/{listing.id}/repondre", data={"quantity": "4", "message": "Nous prenons 4 t."})
    assert response.status_code == 302
    conversation = db.session.scalar(sa.select(Conversation).where(Conversation.responder_company_id == world["c"].id))
    [msg] = smtp.to("alice@conserverie.fr")
    text = SmtpSink.text(msg)
    assert "Nous prenons 4 t." in text and "Chantier Naval Lorientais" in text
    path = re.search(r"http://localhost(/messages/\d+)", text).group(1)

    alice = app.test_client()
    login(alice, world["alice"])
    assert "Nous prenons 4 t." in alice.get(path).get_data(as_text=True)
    alice.post(path, data={"body": "Parfait, passez jeudi."})
    [reply] = smtp.to("carol@chantier.fr")
    assert "Parfait, passez jeudi." in SmtpSink.text(reply)
    # Answering again continues the same conversation.
    carol.post(f"/annonces/{listing.id}/repondre", data={"message": "Jeudi 10 h ?"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Conversation).where(
        Conversation.listing_id == listing.id)) == 2  # Bob's (from the fixture) and Carol's
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(
        Message.conversation_id == conversation.id)) == 3
    inbox = alice.get("/messages").get_data(as_text=True)
    assert "Chantier Naval Lorientais" in inbox and "Brasserie de l&#39;Odet" in inbox


def test_empty_reply_is_refused_and_saves_nothing(app, world):
    client = app.test_client()
    login(client, world["alice"])
    before = len(world["conversation"].messages)
    response = client.post(f"/messages/{world['conversation'].id}", data={"body": ""})
    assert response.status_code == 422
    db.session.expire_all()
    assert len(world["conversation"].messages) == before


def test_unconfirmed_user_cannot_respond(app, world, make_user):
    user = make_user("new@chantier.fr", company=world["c"], confirmed=False)
    client = app.test_client()
    open_session(client, user)
    response = client.post(f"/annonces/{world['a_published'].id}/repondre", data={"message": "Bonjour"})
    assert response.status_code == 302
    assert "Confirmez votre adresse" in client.get(response.location).get_data(as_text=True)


def test_owner_marks_listing_reserved_then_closed_after_talks(app, world):
    client = app.test_client()
    login(client, world["alice"])
    listing = world["a_published"]
    client.post(f"/annonces/{listing.id}/statut", data={"action": "reserve"})
    client.post(f"/annonces/{listing.id}/statut", data={"action": "close"})
    db.session.expire_all()
    assert listing.status == "closed"


def test_a_quantity_that_is_no_number_is_refused_not_a_500(app, world):
    carol = app.test_client()
    login(carol, world["carol"])
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Conversation))
    response = carol.post(f"/annonces/{world['a_published'].id}/repondre", data={"quantity": "sNaN",
                                                                                 "message": "Nous prenons tout."})
    assert response.status_code == 422  # was a 500: NumberRange cannot compare a signaling NaN
    assert "Nous prenons tout." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == before
