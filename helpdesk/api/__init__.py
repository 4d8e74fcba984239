"""The HTTP service: an app factory, JSON endpoints and problem+json errors."""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from ..config import Settings
from ..errors import HelpdeskError, problem_body
from ..service import Helpdesk

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
EXTENSION = "helpdesk"
MAX_BODY_BYTES = 64 * 1024


def problem_response(body: dict[str, object]) -> Response:
    status = int(body["status"])  # type: ignore[call-overload]
    payload = json.dumps(body, ensure_ascii=False)
    return Response(payload, status=status, mimetype=PROBLEM_JSON)


def build_app(settings: Settings | None, helpdesk: Helpdesk | None) -> Flask:
    from .routes import api

    settings = settings or Settings.from_env()
    app = Flask("helpdesk")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = helpdesk or Helpdesk(settings)
    app.register_blueprint(api)

    @app.errorhandler(HelpdeskError)
    def _helpdesk_error(error: HelpdeskError) -> Response:
        if error.status >= 500:
            log.warning("%s: %s", error.code, error.detail)
        return problem_response(error.problem())

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
