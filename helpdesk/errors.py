"""One error hierarchy, one error body.

HelpdeskError (status 500, code "internal")
 ├── ConfigError            a setting has a bad value (start-up)
 ├── BadRequest (400)       malformed request: bad JSON, unknown parameter, empty question
 │    └── UnprocessableRequest (422)   well-formed but unacceptable values
 ├── PayloadTooLarge (413)  question or body over the limit
 ├── NotFound (404)         no such conversation or ticket (for this reader)
 │    └── TicketNotFound    no hand-off ticket with that id
 ├── Conflict (409)         the change clashes with the current state
 │    └── TicketConflict    the ticket is claimed by another agent, or already resolved
 ├── IndexNotReady (503)    no index generation yet: run ingest
 ├── IndexModelMismatch (409)  index built with another embedding model
 ├── IngestError            ingest could not run (lock held, nothing ingestable)
 ├── StoreUnavailable (503) the database is down, locked or unreachable
 └── Overloaded (503)       the LLM's queue is full: try again after ``retry_after`` seconds

A question the knowledge base cannot answer is a normal answer that says so, never an error.
"""

from __future__ import annotations

from typing import Any


class HelpdeskError(Exception):
    """Base of every error helpdesk raises on purpose."""

    status = 500
    code = "internal"
    title = "Internal error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem body for this error."""
        return problem_body(self.status, self.title, self.detail, self.code, **self.extra)


class ConfigError(HelpdeskError):
    code = "bad_setting"
    title = "Bad setting"


class BadRequest(HelpdeskError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class UnprocessableRequest(BadRequest):
    status = 422
    code = "unprocessable"
    title = "Unprocessable request"


class Unauthorized(HelpdeskError):
    status = 401
    code = "credential_required"
    title = "Credential required"


class Forbidden(HelpdeskError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class PayloadTooLarge(HelpdeskError):
    status = 413
    code = "too_large"
    title = "Request too large"


class NotFound(HelpdeskError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(HelpdeskError):
    status = 409
    code = "conflict"
    title = "Conflict"


class IndexNotReady(HelpdeskError):
    status = 503
    code = "index_not_ready"
    title = "Index not ready"


class IndexModelMismatch(HelpdeskError):
    status = 409
    code = "embedding_model_mismatch"
    title = "Index built with another embedding model"


class IngestError(HelpdeskError):
    code = "ingest_failed"
    title = "Ingest failed"


class StoreUnavailable(HelpdeskError):
    status = 503
    code = "store_unavailable"
    title = "Storage unavailable"


class Overloaded(HelpdeskError):
    """Too many questions already wait for the model; sent with a Retry-After header."""

    status = 503
    code = "overloaded"
    title = "Busy"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, retry_after=retry_after)
        self.retry_after = retry_after


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    title = "Ticket not found"


class TicketConflict(Conflict):
    code = "ticket_conflict"
    title = "Ticket taken"


def problem_body(status: int, title: str, detail: str, code: str, **extra: Any) -> dict[str, Any]:
    """Build an ``application/problem+json`` body with a machine-readable ``code``."""
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body
