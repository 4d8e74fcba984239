"""What the JSON endpoints accept: each request checked field by field, into a typed request.

The public endpoints and the agents' endpoints take the same fields, with two differences: an
agent may narrow search to one audience of documents (``audience``: all, public or internal),
and the widget may send the customer's ``context`` (product, plan, locale, customer_id; the
older top-level ``plan`` and ``customer_id`` still work). A bad field is a problem+json error
naming it, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from ..conversation import valid_id
from ..errors import BadRequest, PayloadTooLarge, UnprocessableRequest
from ..service import Helpdesk
from ..text import SUPPORTED
from ..types import CustomerContext, Query, Reader

_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
SEARCH_PARAMS = frozenset({"q", "k", "product", "language", "surface", "mode"})
# "typing": the cheap search of a box that searches while the customer types; "full" on Enter.
SEARCH_MODES = ("full", "typing")
# The front ends' anonymous visitor id (one per browser, kept in its localStorage).
VISITOR_HEADER = "X-Helpdesk-Visitor"
ASK_FIELDS = frozenset(
    {"question", "locale", "product", "language", "k", "conversation_id", "context", "surface"}
)
# The customer context's fields; plan and customer_id are also read from the top level.
CONTEXT_FIELDS = frozenset({"product", "plan", "locale", "customer_id"})
LEGACY_CONTEXT_FIELDS = frozenset({"plan", "customer_id"})
# Where a question was asked (for the record): the front ends say which they are.
SURFACES = ("widget", "help", "api")
FEEDBACK_REASONS = ("wrong", "incomplete", "not_my_question", "other")
MAX_COMMENT_CHARS = 1000
MAX_HANDOFF_MESSAGE_CHARS = 2000
TICKET_STATUSES = ("open", "claimed", "resolved", "all")
# An agent's choice of documents: what both audiences hold, or one of them only.
AUDIENCES = ("all", "public", "internal")


@dataclass(frozen=True)
class SearchRequest:
    query: Query
    k: int  # results to return (the query may ask for more, to filter some out)
    only: str | None = None  # an agent's choice: documents of this audience only
    surface: str = "api"
    mode: str = "full"


@dataclass(frozen=True)
class AskRequest:
    query: Query
    locale: str | None = None
    conversation_id: str | None = None
    context: CustomerContext = CustomerContext()  # noqa: RUF009 (frozen, so immutable)
    surface: str = "api"


@dataclass(frozen=True)
class FeedbackRequest:
    conversation_id: str
    helpful: bool
    answer_id: str | None = None
    reason: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    answer_id: str | None = None
    message: str | None = None


def search_request(args: Mapping[str, Any], helpdesk: Helpdesk, agent: bool) -> SearchRequest:
    """``GET /api/search`` or ``/api/agent/search`` query parameters."""
    reject_unknown(set(args), SEARCH_PARAMS | ({"audience"} if agent else set()), "parameter")
    text = question(args.get("q"), "q", helpdesk.settings.max_question_chars)
    k = whole_k(args.get("k"), 10, helpdesk.settings.max_k)
    reader, only = _reader(args, agent)
    # Documents of one audience only are picked after retrieval: ask for more so k survive.
    want = k * 3 if only == "internal" else k
    query = _query(text, want, reader, args, helpdesk)
    surface = "agent" if agent else choice(args.get("surface"), "surface", SURFACES) or "api"
    mode = choice(args.get("mode"), "mode", SEARCH_MODES) or "full"
    return SearchRequest(query, k, only, surface, mode)


def visitor_id() -> str | None:
    """The anonymous visitor id the front end sends in X-Helpdesk-Visitor (None without)."""
    value = request.headers.get(VISITOR_HEADER, "").strip()
    if not value:
        return None
    if not valid_id(value):
        raise UnprocessableRequest(
            f"the {VISITOR_HEADER} header must be 8-64 letters, digits, '-' or '_'",
            code="bad_visitor_id",
        )
    return value


def ask_request(body: Mapping[str, Any], helpdesk: Helpdesk, agent: bool) -> AskRequest:
    """``POST /api/ask`` or ``/api/agent/ask`` JSON body. An agent's answer draws on the public
    documents, or on the public and internal ones (``audience`` public, or all / internal)."""
    extra = {"audience"} if agent else LEGACY_CONTEXT_FIELDS
    reject_unknown(set(body), ASK_FIELDS | extra, "field")
    context = customer_context(body)
    text = question(body.get("question"), "question", helpdesk.settings.max_question_chars)
    locale = _locale(body.get("locale"), "locale")
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and (
        not isinstance(conversation_id, str) or not valid_id(conversation_id)
    ):
        raise UnprocessableRequest(
            "'conversation_id' must be 8-64 letters, digits, '-' or '_' "
            "(or leave it out and use the one the first answer returns)",
            code="bad_conversation_id",
        )
    k = whole_k(body.get("k"), helpdesk.settings.top_k, helpdesk.settings.max_k)
    reader, _ = _reader(body, agent)
    surface = "agent" if agent else choice(body.get("surface"), "surface", SURFACES) or "api"
    query = _query(text, k, reader, body, helpdesk)
    return AskRequest(query, locale, conversation_id, context, surface)


def customer_context(body: Mapping[str, Any]) -> CustomerContext:
    """The ``context`` object (and the older top-level ``plan`` and ``customer_id``)."""
    given = body.get("context")
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise UnprocessableRequest(
            "'context' must be an object with product, plan, locale or customer_id",
            code="bad_context",
        )
    reject_unknown(set(given), CONTEXT_FIELDS, "context field")
    values = {name: body[name] for name in LEGACY_CONTEXT_FIELDS if body.get(name) is not None}
    values.update({k: v for k, v in given.items() if v is not None})
    for name, value in values.items():
        if not isinstance(value, str) or len(value) > 64:
            raise UnprocessableRequest(
                f"'{name}' must be a string of at most 64 characters", code=f"bad_{name}"
            )
    locale = _locale(values.get("locale"), "context.locale")
    product = values.get("product", "").strip().lower() or None
    plan = values.get("plan", "").strip().lower() or None
    return CustomerContext(product, plan, locale, values.get("customer_id", "").strip() or None)


def feedback_request(body: Mapping[str, Any]) -> FeedbackRequest:
    """``POST /api/feedback``: which answer, whether it helped, and (optionally) why not."""
    reject_unknown(
        set(body), {"conversation_id", "answer_id", "helpful", "reason", "comment"}, "field"
    )
    conversation_id = _conversation_id(body)
    answer_id = _optional_id(body, "answer_id")
    helpful = body.get("helpful")
    if not isinstance(helpful, bool):
        raise UnprocessableRequest("'helpful' must be true or false", code="bad_helpful")
    reason = choice(body.get("reason"), "reason", FEEDBACK_REASONS)
    comment = _free_text(body.get("comment"), "comment", MAX_COMMENT_CHARS)
    return FeedbackRequest(conversation_id, helpful, answer_id, reason, comment)


def handoff_request(body: Mapping[str, Any]) -> HandoffRequest:
    """``POST /api/handoff``: the conversation to hand over, and the customer's note."""
    reject_unknown(set(body), {"conversation_id", "answer_id", "message"}, "field")
    return HandoffRequest(
        _conversation_id(body),
        _optional_id(body, "answer_id"),
        _free_text(body.get("message"), "message", MAX_HANDOFF_MESSAGE_CHARS),
    )


def reply_text(body: Mapping[str, Any]) -> str:
    """An agent's reply on a ticket."""
    reject_unknown(set(body), {"text"}, "field")
    text = _free_text(body.get("text"), "text", MAX_HANDOFF_MESSAGE_CHARS)
    if text is None:
        raise BadRequest("'text' is required: the reply to send", code="empty_reply")
    return text


def _conversation_id(body: Mapping[str, Any]) -> str:
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not valid_id(conversation_id):
        raise UnprocessableRequest(
            "'conversation_id' must be the id an answer returned", code="bad_conversation_id"
        )
    return conversation_id


def _optional_id(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not valid_id(value):
        raise UnprocessableRequest(
            f"'{name}' must be the id an answer returned", code=f"bad_{name}"
        )
    return value


def _free_text(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnprocessableRequest(f"'{name}' must be a string", code=f"bad_{name}")
    text = value.strip()
    if len(text) > limit:
        raise PayloadTooLarge(
            f"'{name}' has {len(text)} characters; the limit is {limit}",
            code=f"{name}_too_long",
            limit=limit,
        )
    return text or None


def _locale(value: Any, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not _LOCALE.fullmatch(value)):
        raise UnprocessableRequest(
            f"'{name}' must look like 'ko', 'en' or 'ko-KR', got {value!r}", code="bad_locale"
        )
    return value


def products(helpdesk: Helpdesk, reader: Reader) -> frozenset[str]:
    """The products a reader's documents name (a filter must be one of them)."""
    snapshot = helpdesk.retriever().snapshot
    return snapshot.products if reader == "agent" else snapshot.public_products


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise BadRequest(
            "send the question as JSON (Content-Type: application/json)", code="bad_json"
        )
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("the request body is not valid JSON", code="bad_json")
    if not isinstance(body, dict):
        raise BadRequest("the JSON body must be an object with a 'question'", code="bad_json")
    return body


def question(value: Any, name: str, limit: int) -> str:
    if value is None:
        raise BadRequest(f"'{name}' is required", code="missing_question")
    if not isinstance(value, str):
        raise UnprocessableRequest(f"'{name}' must be a string", code="bad_question")
    text = value.strip()
    if not text:
        raise BadRequest(f"'{name}' is empty", code="empty_question")
    if len(text) > limit:
        raise PayloadTooLarge(
            f"'{name}' has {len(text)} characters; the limit is {limit}",
            code="question_too_long",
            limit=limit,
        )
    return text


def whole_k(value: Any, default: int, limit: int) -> int:
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        k = value
    elif isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        k = int(value)
    else:
        raise UnprocessableRequest(f"'k' must be a whole number, got {value!r}", code="bad_k")
    if not 1 <= k <= limit:
        raise UnprocessableRequest(f"'k' must be from 1 to {limit}, got {k}", code="bad_k")
    return k


def choice(value: Any, name: str, allowed: Collection[str]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in allowed:
        shown = ", ".join(sorted(allowed)) or "(none in this index)"
        raise UnprocessableRequest(
            f"unknown {name} {value!r}; known: {shown}",
            code=f"unknown_{name}",
            allowed=sorted(allowed),
        )
    return value


def reject_unknown(keys: set[str], allowed: Collection[str], what: str) -> None:
    unknown = sorted(keys - set(allowed))
    if unknown:
        raise BadRequest(
            f"unknown {what} {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}",
            code=f"unknown_{what.replace(' ', '_')}",
        )


def _reader(values: Mapping[str, Any], agent: bool) -> tuple[Reader, str | None]:
    """Who reads, and an agent's choice of one audience of documents (None: all)."""
    if not agent:
        return "public", None
    audience = choice(values.get("audience"), "audience", AUDIENCES) or "all"
    if audience == "public":
        return "public", "public"  # what a customer would see
    return "agent", None if audience == "all" else "internal"


def _query(
    text: str, k: int, reader: Reader, values: Mapping[str, Any], helpdesk: Helpdesk
) -> Query:
    language = choice(values.get("language"), "language", SUPPORTED)
    product = None
    if values.get("product"):
        product = choice(values.get("product"), "product", products(helpdesk, reader))
    return Query(text, k=k, reader=reader, product=product, language=language)
