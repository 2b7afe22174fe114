"""Security headers on every response: a Content-Security-Policy without inline scripts (every script
is a file of the site: the pages pass data to them in JSON blocks or data- attributes), no framing, no
MIME sniffing, no referrer to other sites, HSTS over HTTPS. docs/security.md says what each protects."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request


def content_security_policy(tile_url: str = "") -> str:
    """The policy: scripts, styles, fonts and connections from the site only; images from the site,
    data: URIs (Leaflet's icons) and the map tile server when one is configured. Style attributes are
    allowed (htmx's indicator style, a few layout attributes): they cannot run code."""
    images = ["'self'", "data:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.netloc:
            host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
            images.append(f"{parts.scheme}://{host}")
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(images),
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def register(app: Flask) -> None:
    policy = content_security_policy(app.config.get("MAP_TILE_URL") or "")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
