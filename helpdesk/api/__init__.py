"""The HTTP service: an app factory, JSON endpoints and problem+json errors."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from ..config import Settings
from ..errors import HelpdeskError, Unauthorized, problem_body
from ..service import Helpdesk
from .agent import REALM

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
EXTENSION = "helpdesk"
MAX_BODY_BYTES = 64 * 1024
# What other sites' pages may call (the widget's endpoints); everything else is same-origin.
PUBLIC_API = r"/api/(search|ask|ask/stream|feedback|config)"


def problem_response(body: dict[str, object]) -> Response:
    status = int(body["status"])  # type: ignore[call-overload]
    payload = json.dumps(body, ensure_ascii=False)
    return Response(payload, status=status, mimetype=PROBLEM_JSON)


def build_app(settings: Settings | None, helpdesk: Helpdesk | None) -> Flask:
    from flask_cors import CORS

    from ..web import web
    from .agent import agent_api
    from .routes import api

    settings = settings or Settings.from_env()
    # The front ends' files are served by the web blueprint; the app itself has no static folder.
    app = Flask("helpdesk", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = helpdesk or Helpdesk(settings)
    app.register_blueprint(api)
    app.register_blueprint(agent_api)
    app.register_blueprint(web)
    allowed = settings.allowed_origins
    # The widget's calls from the sites in the allow-list; never "*", never with credentials.
    CORS(
        app,
        resources={PUBLIC_API: {"origins": list(allowed)}},
        supports_credentials=False,
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Accept"],
        max_age=600,
    )

    @app.before_request
    def _refuse_other_sites() -> Response | None:
        """A page from a site not in HELPDESK_CORS_ORIGINS gets nothing, not even a run of the
        request (the browser would hide the answer, but the work and the side effects would
        happen). The agents' API accepts its own origin only."""
        origin = request.headers.get("Origin")
        if not origin or not request.path.startswith("/api/"):
            return None
        own = request.host_url.rstrip("/")
        if origin == own:
            return None
        public = re.fullmatch(PUBLIC_API, request.path) is not None
        if public and origin in allowed:
            return None
        detail = f"pages from {origin} may not call this API"
        if public:
            detail += " (add the site to HELPDESK_CORS_ORIGINS to allow it)"
        return problem_response(problem_body(403, "Forbidden", detail, "origin_not_allowed"))

    @app.errorhandler(HelpdeskError)
    def _helpdesk_error(error: HelpdeskError) -> Response:
        if error.status >= 500:
            log.warning("%s: %s", error.code, error.detail)
        response = problem_response(error.problem())
        if isinstance(error, Unauthorized):
            response.headers["WWW-Authenticate"] = REALM
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        status = error.code or 500
        detail = error.description or error.name
        if status == 413:
            code, detail = "too_large", f"the request body is over {MAX_BODY_BYTES} bytes"
        response = problem_response(problem_body(status, error.name, detail, code))
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        body = problem_body(500, "Internal error", "an unexpected error occurred", "internal")
        return problem_response(body)

    return app
