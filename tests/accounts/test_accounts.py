"""Sign-up with e-mail confirmation, log-in, password reset, profile — through HTTP and a real SMTP server."""
import re

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.extensions import db
from tests.conftest import PASSWORD, SmtpSink, login

SIGNUP = {"full_name": "Anne Le Bihan", "email": "Anne@Scierie.fr", "password": "bois-et-copeaux-29",
          "password_again": "bois-et-copeaux-29", "accept_terms": "y"}


def link_in(msg, path: str) -> str:
    match = re.search(r"http://localhost(/compte/" + path + r"/\S+)", SmtpSink.text(msg))
    assert match, SmtpSink.text(msg)
    return match.group(1)


def users():
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_signup_sends_confirmation_and_link_confirms(client, smtp):
    response = client.post("/compte/inscription", data=dict(SIGNUP))
    assert response.status_code == 302 and response.location.endswith("/entreprises/nouvelle")
    user = db.session.scalar(sa.select(User))
    assert user.email == "anne@scierie.fr" and not user.is_confirmed
    assert user.password_hash.startswith("$argon2")
    [msg] = smtp.to("anne@scierie.fr")
    assert "Confirmez" in msg["Subject"]
    assert msg.get_body(preferencelist=("html",)) is not None  # text + HTML pair
    response = client.get(link_in(msg, "confirmer"), follow_redirects=True)
    assert "Adresse e-mail confirmée" in response.get_data(as_text=True)
    db.session.expire_all()
    assert user.is_confirmed


def test_signup_bad_input_rerenders_with_messages_and_saves_nothing(client, smtp):
    bad = dict(SIGNUP, email="pas-une-adresse", password="court", password_again="autre")
    bad.pop("accept_terms")
    response = client.post("/compte/inscription", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Au moins 10 caractères" in page
    assert "Cochez cette case" in page
    assert 'value="Anne Le Bihan"' in page  # what the user typed is kept
    assert users() == 0 and smtp.messages == []


def test_signup_with_existing_email_is_refused(client, make_user):
    make_user("anne@scierie.fr")
    response = client.post("/compte/inscription", data=dict(SIGNUP))
    assert response.status_code == 422
    assert "Un compte existe déjà" in response.get_data(as_text=True)
    assert users() == 1


def test_login_wrong_password_says_nothing_about_the_account(client, make_user):
    make_user("anne@scierie.fr")
    wrong = client.post("/compte/connexion", data={"email": "anne@scierie.fr", "password": "nope-nope-1"})
    unknown = client.post("/compte/connexion", data={"email": "ghost@scierie.fr", "password": "nope-nope-1"})
    assert wrong.status_code == unknown.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect" in wrong.get_data(as_text=True)
    assert "Adresse e-mail ou mot de passe incorrect" in unknown.get_data(as_text=True)


def test_login_next_only_redirects_inside_the_site(client, make_user):
    user = make_user("anne@scierie.fr")
    response = client.post("/compte/connexion?next=https://evil.example/x",
                           data={"email": user.email, "password": PASSWORD})
    assert response.location == "/"
    client.post("/compte/deconnexion")
    response = client.post("/compte/connexion?next=/mes-annonces", data={"email": user.email, "password": PASSWORD})
    assert response.location == "/mes-annonces"


def test_password_reset_link_works_once(client, make_user, smtp):
    user = make_user("anne@scierie.fr")
    client.post("/compte/mot-de-passe-oublie", data={"email": "ANNE@scierie.fr"})
    client.post("/compte/mot-de-passe-oublie", data={"email": "ghost@scierie.fr"})  # no mail, same answer
    [msg] = smtp.messages
    path = link_in(msg, "reinitialiser")
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "nouveau-mot-2-passe", "password_again": "nouveau-mot-2-passe"})
    assert response.status_code == 302
    assert client.post(path, data={"password": "encore-un-autre-3", "password_again": "encore-un-autre-3"}).status_code == 302
    db.session.expire_all()
    login(client, user, "nouveau-mot-2-passe")


def test_profile_update_and_password_change(client, make_user):
    user = make_user("anne@scierie.fr")
    login(client, user)
    response = client.post("/compte/profil", data={"full_name": "Anne L. B.", "phone": "02 98 00 00 00", "locale": "en"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (user.full_name, user.locale) == ("Anne L. B.", "en")
    assert '<html lang="en">' in client.get("/compte/profil").get_data(as_text=True)
    client.post("/langue/fr")
    bad = client.post("/compte/profil/mot-de-passe", data={"pw-current_password": "faux-faux-1",
                                                           "pw-password": "tout-neuf-123", "pw-password_again": "tout-neuf-123"})
    assert bad.status_code == 422 and "Mot de passe actuel incorrect" in bad.get_data(as_text=True)
    ok = client.post("/compte/profil/mot-de-passe", data={"pw-current_password": PASSWORD,
                                                          "pw-password": "tout-neuf-123", "pw-password_again": "tout-neuf-123"})
    assert ok.status_code == 302


def test_language_switch_to_english_and_back(client):
    client.post("/langue/en", data={"next": "/annonces"})
    page = client.get("/annonces").get_data(as_text=True)
    assert '<html lang="en">' in page
    client.post("/langue/fr", data={"next": "/"})
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)


def test_cli_creates_first_administrator(runner):
    result = runner.invoke(args=["users", "create", "admin@cci.fr", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "Mot de passe :" in result.output
    user = db.session.scalar(sa.select(User).where(User.email == "admin@cci.fr"))
    assert user.is_admin and user.is_confirmed
    again = runner.invoke(args=["users", "create", "admin@cci.fr", "--role", "admin"])
    assert again.exit_code != 0 and "existe déjà" in again.output
