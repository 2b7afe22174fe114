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


def test_signup_sends_confirmation_and_the_link_confirms_and_opens_the_session(client, smtp):
    response = client.post("/compte/inscription", data=dict(SIGNUP))
    assert response.status_code == 302 and "/compte/connexion" in response.location
    assert "Un lien de confirmation vient d&#39;être envoyé à anne@scierie.fr" in client.get(
        response.location).get_data(as_text=True)
    user = db.session.scalar(sa.select(User))
    assert user.email == "anne@scierie.fr" and not user.is_confirmed
    assert user.password_hash.startswith("$argon2")
    # Not confirmed yet: the right password opens no session, and a new link is sent.
    response = client.post("/compte/connexion", data={"email": "anne@scierie.fr", "password": SIGNUP["password"]})
    assert response.status_code == 422 and "Confirmez d&#39;abord votre adresse" in response.get_data(as_text=True)
    first, second = smtp.to("anne@scierie.fr")
    assert "Confirmez" in first["Subject"]
    assert first.get_body(preferencelist=("html",)) is not None  # text + HTML pair
    response = client.get(link_in(first, "confirmer"))
    assert response.status_code == 302 and response.location.endswith("/entreprises/nouvelle")
    assert "Adresse e-mail confirmée" in client.get(response.location).get_data(as_text=True)
    db.session.expire_all()
    assert user.is_confirmed and user.last_login_at is not None
    # A link opens a session once only: the second one (or the first again) leads to the log-in page.
    other = client.application.test_client()
    response = other.get(link_in(second, "confirmer"))
    assert "/compte/connexion" in response.location
    assert other.get("/compte/profil").status_code == 302


def test_signup_through_an_invitation_goes_back_to_it_once_confirmed(app, client, smtp):
    client.post("/compte/inscription?next=/entreprises/invitation/abc", data=dict(SIGNUP))
    [msg] = smtp.to("anne@scierie.fr")
    response = client.get(link_in(msg, "confirmer"))
    assert response.location == "/entreprises/invitation/abc"
    client.post("/compte/deconnexion")
    client.post("/compte/inscription?next=https://evil.example/", data=dict(SIGNUP, email="yann@scierie.fr"))
    [msg] = smtp.to("yann@scierie.fr")
    assert client.get(link_in(msg, "confirmer")).location.endswith("/entreprises/nouvelle")


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


def test_signup_with_an_existing_address_answers_the_same_and_tells_the_owner(client, make_user, smtp):
    owner = make_user("anne@scierie.fr")
    existing = client.post("/compte/inscription", data=dict(SIGNUP))
    new = client.application.test_client().post("/compte/inscription", data=dict(SIGNUP, email="yann@scierie.fr"))
    assert existing.status_code == new.status_code == 302
    assert existing.location == new.location.replace("yann", "anne")
    assert users() == 2  # Yann's account; Anne's is unchanged
    db.session.expire_all()
    assert owner.full_name != SIGNUP["full_name"]
    [told] = smtp.to("anne@scierie.fr")
    assert "déjà un compte" in told["Subject"] and "/compte/mot-de-passe-oublie" in SmtpSink.text(told)
    login(client, owner)  # the password did not change


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


def test_a_new_password_ends_the_other_sessions(app, make_user):
    user = make_user("anne@scierie.fr")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user)
    login(elsewhere, user)
    response = here.post("/compte/profil/mot-de-passe", data={"pw-current_password": PASSWORD,
                                                               "pw-password": "tout-neuf-123", "pw-password_again": "tout-neuf-123"})
    assert response.status_code == 302
    assert here.get("/compte/profil").status_code == 200  # this session goes on
    assert elsewhere.get("/compte/profil").status_code == 302  # the other one is over
    with elsewhere.session_transaction() as session:  # an id without its stamp (or a forged one) is no session
        session["_user_id"] = str(user.id)
    assert elsewhere.get("/compte/profil").status_code == 302
