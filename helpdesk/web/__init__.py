"""The three front ends, served by the same app: the help-center page (/), the embeddable widget
(/widget.js, shown on /demo as a third-party page would embed it) and the agents' console
(/agent, behind an agent credential).

Pages are static HTML plus their scripts and stylesheets (common.js and common.css shared), sent
with a strict Content-Security-Policy: no inline script can run, so even a document that slipped
markup past the front ends' text-only rendering could not execute.
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

from flask import Blueprint, Response, render_template, send_file, url_for
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
    """The embeddable widget, for any site's <script> tag: common.js and widget.js as one script.

    The pages load common.js (the Helpdesk toolkit) with a <script> tag of its own; a third-party
    site gets one tag, so this route joins the two sources, wrapped in one function so that the
    host page sees only window.HelpdeskWidget. Joined here rather than by a bundler (esbuild):
    the test command needs no Node toolchain, the files in static/ stay the very sources served,
    and nothing generated is committed. The text is joined once per process; send_file gives it
    the strong ETag, Last-Modified and conditional (304) answers that a file on disk would get.
    """
    source, etag, modified = _widget_script()
    response = send_file(
        io.BytesIO(source),
        mimetype="application/javascript",
        etag=etag,
        last_modified=modified,
        max_age=300,
        conditional=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Embedding sites load it cross-origin: that needs no CORS for a <script>, only for the
    # API calls it makes, which HELPDESK_CORS_ORIGINS governs.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@functools.cache
def _widget_script() -> tuple[bytes, str, float]:
    """The widget's script (common.js, then widget.js, in one function), its ETag and its mtime."""
    assert web.static_folder is not None
    files = [Path(web.static_folder, name) for name in ("common.js", "widget.js")]
    parts = [f"// ---- {path.name}\n{path.read_text('utf-8')}" for path in files]
    text = (
        "/*! helpdesk widget: an embeddable help-center chat, one file, no dependencies. */\n"
        '(() => {\n"use strict";\n' + "\n".join(parts) + "})();\n"
    )
    source = text.encode("utf-8")
    return source, hashlib.sha256(source).hexdigest()[:32], max(p.stat().st_mtime for p in files)
