"""Security headers on every response: pages, the widget's script, API answers and errors.

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy`` everywhere;
- no framing (``X-Frame-Options: DENY``, CSP ``frame-ancestors 'none'``) except for /widget.js,
  which other sites load with a script tag, and so the only response that is
  ``Cross-Origin-Resource-Policy: cross-origin`` (everything else is same-origin: the widget's
  API calls are CORS requests, which that header does not block);
- ``Cache-Control: no-store`` on API answers (questions and tickets are nobody's cache's);
- ``Strict-Transport-Security`` on HTTPS requests when HELPDESK_HSTS_MAX_AGE is set.
"""

from __future__ import annotations

from flask import Flask, Response, request

from ..config import Settings

# Pages set their own, stricter policy; this one is for everything that is not a page.
NOTHING_TO_RUN = "default-src 'none'; frame-ancestors 'none'"
EMBEDDED = frozenset({"/widget.js"})
API_PATHS = ("/api/", "/healthz", "/readyz", "/openapi.json")


def init_security_headers(app: Flask, settings: Settings) -> None:
    """Add the headers to every response this app sends."""

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if request.path in EMBEDDED:
            headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
        else:
            headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Content-Security-Policy", NOTHING_TO_RUN)
        if request.path.startswith(API_PATHS):
            headers["Cache-Control"] = "no-store"
        if settings.hsts_max_age and request.is_secure:
            headers["Strict-Transport-Security"] = f"max-age={settings.hsts_max_age}"
        return response
