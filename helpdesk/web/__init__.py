"""The three front ends, served by the same app: the help-center page (/), the embeddable widget
(/widget.js, shown on /demo as a third-party page would embed it) and the agents' console
(/agent, behind an agent credential).

Pages are static HTML plus their scripts and stylesheets (common.js and common.css shared), sent
with a strict Content-Security-Policy: no inline script can run, so even a document that slipped
markup past the front ends' text-only rendering could not execute.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from ..api.auth import require_agent

web = Blueprint("web", __name__, static_folder="static", template_folder="templates")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def _page(template: str, **context: object) -> Response:
    response = Response(render_template(template, **context), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


@web.get("/")
def index() -> ResponseReturnValue:
    """The help-center page: search as you type, and ask."""
    return _page("index.html")


@web.get("/demo")
def demo() -> ResponseReturnValue:
    """A third-party page that embeds the widget with one script tag."""
    return _page("demo.html", widget_url=url_for("web.widget", _external=True))


@web.get("/agent")
def agent() -> ResponseReturnValue:
    """The agents' console: public and internal documents. 401/403 without a credential."""
    require_agent()
    response = _page("agent.html")
    response.headers["Cache-Control"] = "no-store"
    return response


@web.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """No icon (yet); an empty answer keeps browsers from logging a 404 on every page."""
    return "", 204


@web.get("/widget.js")
def widget() -> ResponseReturnValue:
    """The embeddable widget, for any site's <script> tag."""
    assert web.static_folder is not None
    response = send_from_directory(web.static_folder, "widget.js", max_age=300)
    response.mimetype = "application/javascript"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Embedding sites load it cross-origin: that needs no CORS for a <script>, only for the
    # API calls it makes, which HELPDESK_CORS_ORIGINS governs.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
