"""The per-address log-in lockout: many wrong passwords lock the address, with the same words whether an
account exists or not; the owner is told once; the lock ends by itself or with a new password."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts import lockout
from marketplace.accounts.models import LoginFailure
from marketplace.extensions import db
from marketplace.models_base import utcnow
from tests.conftest import PASSWORD, SmtpSink, login

LOCKED = "Trop de tentatives de connexion pour cette adresse"


def test_lock_rule():
    now = utcnow()
    window, lock = timedelta(minutes=15), timedelta(minutes=15)
    nine = [now - timedelta(minutes=i) for i in range(9)]
    assert lockout.locked_until(nine, now, 10, window, lock) is None
    ten = nine + [now - timedelta(minutes=9)]
    assert lockout.locked_until(ten, now, 10, window, lock) == now + lock  # the newest failure is now
    assert lockout.locked_until(ten, now + timedelta(minutes=14), 10, window, lock) == now + lock
    assert lockout.locked_until(ten, now + lock, 10, window, lock) is None
    old = nine + [now - timedelta(minutes=16)]  # outside the window: only nine count
    assert lockout.locked_until(old, now, 10, window, lock) is None


@pytest.fixture
def three_tries(app):
    app.config.update(LOGIN_MAX_FAILURES=3)


def attempt(client, email, password="pas-le-bon-1"):
    return client.post("/compte/connexion", data={"email": email, "password": password})


def test_wrong_passwords_lock_the_address_and_the_message_reveals_nothing(app, client, make_user, smtp, three_tries):
    owner = make_user("anne@scierie.fr")
    for email in ("anne@scierie.fr", "personne@scierie.fr"):
        answers = [attempt(app.test_client(), email) for _ in range(3)]
        assert all(a.status_code == 422 and "mot de passe incorrect" in a.get_data(as_text=True) for a in answers)
        locked = attempt(app.test_client(), email, PASSWORD)  # even the right password: the address is locked
        assert locked.status_code == 422
        assert LOCKED in locked.get_data(as_text=True) and "15 minutes" in locked.get_data(as_text=True)
    # The same answers for an account and for no account; only the real owner gets an e-mail, once.
    [told] = smtp.messages
    assert told["To"] == "anne@scierie.fr" and "bloquée" in told["Subject"]
    assert "/compte/mot-de-passe-oublie" in SmtpSink.text(told)
    assert LOCKED in attempt(client, "ANNE@Scierie.FR").get_data(as_text=True)  # the same address, however typed
    assert len(smtp.messages) == 1
    # Stored as keyed digests: the table does not list addresses.
    digests = set(db.session.scalars(sa.select(LoginFailure.address_digest)))
    assert len(digests) == 2 and not any("scierie" in d for d in digests)
    assert owner.last_login_at is None


def test_the_lock_ends_by_itself(app, client, make_user, three_tries):
    owner = make_user("anne@scierie.fr")
    for _ in range(3):
        attempt(client, owner.email)
    assert LOCKED in attempt(client, owner.email, PASSWORD).get_data(as_text=True)
    db.session.execute(sa.update(LoginFailure).values(created_at=LoginFailure.created_at - timedelta(minutes=16)))
    db.session.commit()
    login(client, owner)  # and a successful log-in forgets the failures
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0


def test_a_new_password_lifts_the_lock(app, client, make_user, smtp, three_tries):
    owner = make_user("anne@scierie.fr")
    for _ in range(3):
        attempt(client, owner.email)
    client.post("/compte/mot-de-passe-oublie", data={"email": owner.email})
    [reset] = [m for m in smtp.to(owner.email) if "Réinitialisation" in m["Subject"]]
    path = SmtpSink.text(reset).split("http://localhost", 1)[1].split()[0]
    client.post(path, data={"password": "nouveau-mot-2-passe", "password_again": "nouveau-mot-2-passe"})
    login(client, owner, "nouveau-mot-2-passe")


def test_failures_older_than_a_day_are_deleted(app, make_user, three_tries):
    with app.test_request_context():
        lockout.record_failure("a@x.fr", utcnow() - timedelta(days=2))
        lockout.record_failure("b@x.fr")
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 1
