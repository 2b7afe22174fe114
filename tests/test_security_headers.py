"""Security headers on every kind of response (page, API, static file, error), and the policy's
image sources following the map tile setting."""
from __future__ import annotations

from marketplace.security import content_security_policy


def test_every_response_carries_the_security_headers(app):
    client = app.test_client()
    for path in ("/annonces", "/api/v1/openapi.json", "/static/css/app.css", "/page-qui-n-existe-pas"):
        response = client.get(path)
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP here
        response.close()
    secure = client.get("/annonces", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_images_from_the_configured_tile_server_only():
    assert "img-src 'self' data:;" in content_security_policy("")
    policy = content_security_policy("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "img-src 'self' data: https://*.tile.example.org;" in content_security_policy(
        "https://{s}.tile.example.org/{z}/{x}/{y}.png")


def test_cookies_are_secure_once_the_site_is_served_over_https(monkeypatch, tmp_path):
    from marketplace.config import load_config

    base = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 32}
    plain = load_config({**base, "BASE_URL": "http://127.0.0.1:5000"})
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["REMEMBER_COOKIE_SECURE"] is False
    served = load_config({**base, "BASE_URL": "https://symbiose.example.org"})
    assert served["SESSION_COOKIE_SECURE"] is True and served["REMEMBER_COOKIE_SECURE"] is True
    assert served["SESSION_COOKIE_HTTPONLY"] and served["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("MARKETPLACE_SESSION_COOKIE_SECURE", "false")  # an explicit choice wins
    assert load_config({**base, "BASE_URL": "https://symbiose.example.org"})["SESSION_COOKIE_SECURE"] is False


def test_the_session_cookie_says_secure_over_https(app, make_user):
    from tests.conftest import PASSWORD

    user = make_user("securite@example.org")
    app.config.update(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    client.get("/compte/connexion", base_url="https://localhost")
    # (over HTTPS, Flask-WTF also wants a Referer of the same site)
    response = client.post("/compte/connexion", data={"email": user.email, "password": PASSWORD},
                           base_url="https://localhost", headers={"Referer": "https://localhost/compte/connexion"})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies if c.startswith("session="))
