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
