"""The Content-Security-Policy in a real Chromium: a script injected into a page (as a stored XSS would
be) does not run, and the browser reports it; the site's own scripts run (every other browser test
fails on any blocked resource)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_an_injected_inline_script_does_not_run(page):
    page.goto("/annonces")
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__injected = true';
        document.body.appendChild(s);
    }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__injected === undefined")
    assert any("inline script" in message for message in page.csp_blocked), page.csp_blocked
    page.csp_blocked.clear()
    # The site's own script did run (htmx is loaded from the site).
    assert page.evaluate("typeof window.htmx") == "object"
