"""Errors as RFC 9457 problem details (``application/problem+json``), for every route."""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from ..errors import HelpdeskError, Overloaded, Unauthorized, problem_body
from .auth import REALM

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024


def problem_response(body: dict[str, object]) -> Response:
    status = int(body["status"])  # type: ignore[call-overload]
    payload = json.dumps(body, ensure_ascii=False)
    return Response(payload, status=status, mimetype=PROBLEM_JSON)


def register_error_handlers(app: Flask) -> None:
    """Our errors, Werkzeug's HTTP errors and anything unexpected, all as problem+json."""

    @app.errorhandler(HelpdeskError)
    def _helpdesk_error(error: HelpdeskError) -> Response:
        if error.status >= 500:
            log.warning("%s: %s", error.code, error.detail)
        response = problem_response(error.problem())
        if isinstance(error, Unauthorized):
            response.headers["WWW-Authenticate"] = REALM
        if isinstance(error, Overloaded):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        status = error.code or 500
        detail = error.description or error.name
        if status == 413:
            code, detail = "too_large", f"the request body is over {MAX_BODY_BYTES} bytes"
        if status == 429:  # flask-limiter's; it adds Retry-After and X-RateLimit-* itself
            code = "rate_limited"
            detail = f"too many requests (the limit is {detail}); retry after Retry-After seconds"
        response = problem_response(problem_body(status, error.name, detail, code))
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        body = problem_body(500, "Internal error", "an unexpected error occurred", "internal")
        return problem_response(body)
