"""JSON endpoints: search for the search box, ask for answers, health and readiness."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask.typing import ResponseReturnValue

from ..conversation import valid_id
from ..errors import BadRequest, PayloadTooLarge, UnprocessableRequest
from ..retrieval import Query
from ..service import Helpdesk, SearchHit
from ..spelling import Correction
from ..text import SUPPORTED
from ..types import Answer, Passage

api = Blueprint("api", __name__)

_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_SEARCH_PARAMS = {"q", "k", "product", "language"}
# plan and customer_id are the widget's customer context: accepted and checked now, used by
# personalisation later.
_ASK_FIELDS = {
    "question", "locale", "product", "language", "k", "conversation_id", "plan", "customer_id"
}  # fmt: skip


def _helpdesk() -> Helpdesk:
    helpdesk: Helpdesk = current_app.extensions["helpdesk"]
    return helpdesk


def _question(value: Any, name: str) -> str:
    if value is None:
        raise BadRequest(f"'{name}' is required", code="missing_question")
    if not isinstance(value, str):
        raise UnprocessableRequest(f"'{name}' must be a string", code="bad_question")
    text = value.strip()
    if not text:
        raise BadRequest(f"'{name}' is empty", code="empty_question")
    limit = _helpdesk().settings.max_question_chars
    if len(text) > limit:
        raise PayloadTooLarge(
            f"'{name}' has {len(text)} characters; the limit is {limit}",
            code="question_too_long",
            limit=limit,
        )
    return text


def _k(value: Any, default: int) -> int:
    if value is None:
        return default
    limit = _helpdesk().settings.max_k
    if isinstance(value, int) and not isinstance(value, bool):
        k = value
    elif isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        k = int(value)
    else:
        raise UnprocessableRequest(f"'k' must be a whole number, got {value!r}", code="bad_k")
    if not 1 <= k <= limit:
        raise UnprocessableRequest(f"'k' must be from 1 to {limit}, got {k}", code="bad_k")
    return k


def _choice(value: Any, name: str, allowed: Collection[str]) -> str | None:
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


def _products() -> frozenset[str]:
    return _helpdesk().retriever().snapshot.public_products


def _reject_unknown(keys: set[str], allowed: set[str], what: str) -> None:
    unknown = sorted(keys - allowed)
    if unknown:
        raise BadRequest(
            f"unknown {what} {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}",
            code=f"unknown_{what}",
        )


@api.get("/api/search")
def search() -> ResponseReturnValue:
    """Ranked passages for the help-center search box."""
    args = request.args
    _reject_unknown(set(args), _SEARCH_PARAMS, "parameter")
    question = _question(args.get("q"), "q")
    k = _k(args.get("k"), 10)
    language = _choice(args.get("language"), "language", SUPPORTED)
    product = _choice(args.get("product"), "product", _products()) if args.get("product") else None
    found = _helpdesk().search(Query(question, k=k, product=product, language=language))
    return jsonify(
        {
            "query": question,
            "corrected_query": corrected_query(found.correction),
            "results": [search_result(hit) for hit in found.hits],
        }
    )


def corrected_query(correction: Correction) -> str | None:
    """What was searched instead, when a misspelt word was corrected ("showing results for")."""
    return correction.text if correction.changes else None


def search_result(hit: SearchHit) -> dict[str, Any]:
    """The JSON of one search hit."""
    chunk = hit.passage.chunk
    return {
        "id": chunk.id,
        "title": chunk.title,
        "url": chunk.url,
        "headings": list(chunk.headings),
        "snippet": hit.snippet.text,
        "highlights": [list(span) for span in hit.snippet.highlights],
        "snippet_html": hit.snippet.html,
        "score": round(hit.passage.score, 6),
        "language": chunk.language,
        "product": chunk.product or None,
        "source": chunk.source,
        # More of the same article that matched, each with its heading path and snippet.
        "sections": [
            {
                "id": section.passage.chunk.id,
                "headings": list(section.passage.chunk.headings),
                "snippet": section.snippet.text,
                "highlights": [list(span) for span in section.snippet.highlights],
                "snippet_html": section.snippet.html,
            }
            for section in hit.sections
        ],
    }


@api.get("/api/config")
def config() -> ResponseReturnValue:
    """What a front end needs to know: the contact route, languages and products."""
    return jsonify(
        {
            "contact": _helpdesk().settings.handoff_contact,
            "languages": sorted(SUPPORTED),
            "products": sorted(_products()),
        }
    )


@api.post("/api/feedback")
def feedback() -> ResponseReturnValue:
    """Was this answer helpful? Only a yes/no per conversation: no free text, so no PII."""
    body = _json_body()
    _reject_unknown(set(body), {"conversation_id", "helpful"}, "field")
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not valid_id(conversation_id):
        raise UnprocessableRequest(
            "'conversation_id' must be the id an answer returned", code="bad_conversation_id"
        )
    helpful = body.get("helpful")
    if not isinstance(helpful, bool):
        raise UnprocessableRequest("'helpful' must be true or false", code="bad_helpful")
    _helpdesk().record_feedback(conversation_id, helpful)
    return "", 204


@api.post("/api/ask")
def ask() -> ResponseReturnValue:
    """A grounded, cited answer, or an honest "not covered" with a hand-off offer.

    With ``Accept: text/event-stream`` the answer streams as Server-Sent Events (as from
    ``/api/ask/stream``); otherwise the final answer comes as one JSON object.
    """
    if _wants_stream():
        return _stream()
    helpdesk = _helpdesk()
    query, locale, conversation_id = _ask_request()
    answer = helpdesk.ask(query, locale, conversation_id)
    return jsonify(answer_json(answer, helpdesk.settings.handoff_contact))


@api.post("/api/ask/stream")
def ask_stream() -> ResponseReturnValue:
    """Server-Sent Events: sources, draft, token..., final (see helpdesk.answering.generative)."""
    return _stream()


def _wants_stream() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/event-stream"])
    return best == "text/event-stream"


def _json_body() -> dict[str, Any]:
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


def _ask_request() -> tuple[Query, str | None, str | None]:
    body = _json_body()
    _reject_unknown(set(body), _ASK_FIELDS, "field")
    for name in ("plan", "customer_id"):  # customer context from the widget
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 64):
            raise UnprocessableRequest(
                f"'{name}' must be a string of at most 64 characters", code=f"bad_{name}"
            )
    question = _question(body.get("question"), "question")
    locale = body.get("locale")
    if locale is not None and (not isinstance(locale, str) or not _LOCALE.fullmatch(locale)):
        raise UnprocessableRequest(
            f"'locale' must look like 'ko', 'en' or 'ko-KR', got {locale!r}", code="bad_locale"
        )
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and (
        not isinstance(conversation_id, str) or not valid_id(conversation_id)
    ):
        raise UnprocessableRequest(
            "'conversation_id' must be 8-64 letters, digits, '-' or '_' "
            "(or leave it out and use the one the first answer returns)",
            code="bad_conversation_id",
        )
    language = _choice(body.get("language"), "language", SUPPORTED)
    product = _choice(body.get("product"), "product", _products()) if body.get("product") else None
    k = _k(body.get("k"), _helpdesk().settings.top_k)
    return Query(question, k=k, product=product, language=language), locale, conversation_id


def _stream() -> Response:
    helpdesk = _helpdesk()
    query, locale, conversation_id = _ask_request()
    # waitress tells whether the client is still there; generation stops when it is not.
    gone = request.environ.get("waitress.client_disconnected")
    events = helpdesk.ask_events(query, locale, conversation_id, cancelled=gone)
    # Retrieval runs before the response starts, so a missing index or a bad filter is still
    # a problem+json error rather than a broken stream.
    first = next(events)
    contact = helpdesk.settings.handoff_contact

    def generate() -> Iterator[str]:
        try:
            yield _sse(*_event_json(first, contact))
            for event in events:
                yield _sse(*_event_json(event, contact))
        finally:
            events.close()  # a client that went away stops generation here

    return Response(
        stream_with_context(generate()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event_json(event: tuple[str, Any], contact: str) -> tuple[str, dict[str, Any]]:
    kind, data = event
    if kind == "sources":
        return kind, {"sources": [source_json(i, p) for i, p in enumerate(data, start=1)]}
    if kind == "token":
        return kind, {"text": data}
    return kind, answer_json(data, contact)


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def source_json(number: int, passage: Passage) -> dict[str, Any]:
    chunk = passage.chunk
    return {
        "id": number,
        "title": chunk.title,
        "url": chunk.url,
        "headings": list(chunk.headings),
        "language": chunk.language,
        "source": chunk.source,
    }


def answer_json(answer: Answer, contact: str) -> dict[str, Any]:
    """The public JSON shape of an Answer."""
    body: dict[str, Any] = {
        "answer": answer.text,
        "citations": [
            {
                "id": c.id,
                "title": c.title,
                "url": c.url,
                "snippet": c.snippet,
                "language": c.language,
                "source": c.source,
            }
            for c in answer.citations
        ],
        "grounded": answer.grounded,
        "confidence": answer.confidence,
        "language": answer.language,
        "handoff": answer.handoff,
        "generated_by": answer.generated_by,
        "conversation_id": answer.conversation_id,
        "standalone_question": answer.standalone_question,
        "timings": answer.timings,
    }
    if answer.verification is not None:
        body["verification"] = answer.verification
    if answer.fallback_reason:
        body["fallback_reason"] = answer.fallback_reason
    if answer.handoff:
        body["contact"] = contact
    return body


@api.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up (says nothing about the index)."""
    return jsonify({"status": "ok"})


@api.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The index is loaded and the models are warm; 503 problem+json otherwise."""
    helpdesk = _helpdesk()
    helpdesk.warm_up()
    snapshot = helpdesk.retriever().snapshot
    return jsonify(
        {
            "status": "ready",
            "generation": snapshot.name,
            "chunks": len(snapshot.chunks),
            "embedding_models": snapshot.manifest.get("embedding_models"),
        }
    )
