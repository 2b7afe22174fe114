"""Browser tests: the real app served over HTTP on a free local port, driven by a headless Chromium
through Playwright. Skipped when Chromium is not installed, unless MARKETPLACE_REQUIRE_BROWSER=1."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


BROWSER_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test of this folder carries the `browser` marker (`-m "not browser"` skips them all)."""
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the `page` fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def live_server(app):
    """The test app served by a threaded Werkzeug server; yields its base URL (no trailing slash)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app.config["BASE_URL"] = base_url
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not installed at {CHROMIUM}: browser tests skipped (apt-get install chromium)"
        if os.environ.get("MARKETPLACE_REQUIRE_BROWSER") == "1":
            pytest.fail(message.replace("skipped", "required by MARKETPLACE_REQUIRE_BROWSER=1"), pytrace=False)
        pytest.skip(reason=message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh French-speaking browser tab whose relative URLs point at the live server.

    Depends on `live_server` so that the tab (and its keep-alive connections) is closed before the
    server stops. On failure, a full-page screenshot goes to test-artifacts/ (gitignored)."""
    context = browser.new_context(base_url=live_server, locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    # Anything the Content-Security-Policy blocks is a bug of the page (an inline script, a foreign
    # resource): every browser test fails on it.
    blocked = []
    tab.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    tab.csp_blocked = blocked  # tests/browser/test_security_headers.py reads and empties it
    try:
        yield tab
        assert blocked == [], blocked
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            try:
                tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.html").write_text(tab.content(), encoding="utf-8")
            except Exception as exc:  # a screenshot must never hide the real failure
                print(f"screenshot failed: {exc}")
        context.close()
