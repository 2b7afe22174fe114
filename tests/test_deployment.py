"""Behind a reverse proxy: with PROXY_COUNT set, the forwarded scheme, host and client address are
trusted (links in pages are https, rate limits see the real client); without it, they are ignored."""
from tests.conftest import _base_config


def _probe(app, tmp_path, smtp_server, **extra):
    from flask import request, url_for

    from marketplace import create_app

    # A second app on the test database (the probe reads nothing from it).
    other = create_app({**_base_config(tmp_path, app.config["DATABASE_URL"], smtp_server.port), **extra})

    def probe():
        return f"{request.remote_addr} {url_for('main.home', _external=True)}"

    other.add_url_rule("/probe", "probe", probe)
    return other.test_client().get("/probe", headers={
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "eit.example.org"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)


def test_forwarded_headers_are_trusted_only_behind_a_declared_proxy(app, tmp_path, smtp_server):
    assert _probe(app, tmp_path, smtp_server, PROXY_COUNT=1) == "203.0.113.7 https://eit.example.org/"
    assert _probe(app, tmp_path, smtp_server) == "127.0.0.1 http://localhost/"
