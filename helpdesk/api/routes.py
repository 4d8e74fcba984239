"""JSON endpoints: search and ask for the public (the search box and the widget) and for support
agents (behind a credential, over public and internal documents), plus config, feedback, health
and readiness. Search and ask are implemented once, for either reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask.typing import ResponseReturnValue

from ..errors import UnprocessableRequest
from ..experiments import VARIANTS_EXTENSION, Variants
from ..service import Helpdesk
from ..store import AuditEntry
from ..text import SUPPORTED, redact
from ..types import Passage, SearchHit, Sources
from .auth import agent_name, require_agent
from .requests import (
    TICKET_STATUSES,
    ask_request,
    choice,
    feedback_request,
    handoff_request,
    json_body,
    products,
    reject_unknown,
    reply_text,
    search_request,
    visitor_id,
)
from .responses import (
    answer_json,
    corrected_query,
    handoff_json,
    search_result,
    sse,
    ticket_json,
    ticket_status_json,
    ticket_summary_json,
)

api = Blueprint("api", __name__)
# Same origin only: these endpoints never get CORS headers (see helpdesk.app).
agent_api = Blueprint("agent_api", __name__)


def _helpdesk() -> Helpdesk:
    helpdesk: Helpdesk = current_app.extensions["helpdesk"]
    return helpdesk


def _serving(agent: bool) -> tuple[str, Helpdesk, str | None]:
    """The experiment variant and help desk that serve this request, and the visitor id.

    A customer's visitor id picks their variant (the same one on every request); agents are
    not part of experiments and always get the base settings."""
    visitor = visitor_id()
    variants: Variants | None = current_app.extensions.get(VARIANTS_EXTENSION)
    if agent or variants is None:
        return "", _helpdesk(), visitor
    variant, helpdesk = variants.for_visitor(visitor)
    return variant, helpdesk, visitor


@agent_api.before_request
def _guard() -> None:
    require_agent()


# -- search and ask, for either reader -------------------------------------------------------


def _search(agent: bool) -> ResponseReturnValue:
    variant, helpdesk, visitor = _serving(agent)
    searched = search_request(request.args, helpdesk, agent)
    found = helpdesk.search(
        searched.query,
        surface=searched.surface,
        visitor=visitor,
        variant=variant,
        mode=searched.mode,
    )
    hits = [h for h in found.hits if searched.only in (None, h.passage.chunk.audience)]
    if agent:
        _audit("search", searched.query.text, _shown(hits[: searched.k]))
    body = {
        "query": searched.query.text,
        "corrected_query": corrected_query(found.correction),
        "results": [search_result(hit, audience=agent) for hit in hits[: searched.k]],
    }
    if agent:
        body["audience"] = searched.only or "all"
    return jsonify(body)


def _ask(agent: bool, stream: bool) -> ResponseReturnValue:
    """The final answer as one JSON object, or every event as Server-Sent Events."""
    variant, helpdesk, visitor = _serving(agent)
    asked = ask_request(json_body(), helpdesk, agent)
    contact = helpdesk.settings.handoff_contact
    context, surface = asked.context, asked.surface
    if not stream:
        answer = helpdesk.ask(
            asked.query,
            asked.locale,
            asked.conversation_id,
            context=context,
            surface=surface,
            visitor=visitor,
            variant=variant,
        )
        if agent:
            _audit("ask", asked.query.text, answer.passages[: _sources_shown(helpdesk)])
        return jsonify(answer_json(answer, contact, audience=agent))
    # waitress tells whether the client is still there; generation stops when it is not.
    gone = request.environ.get("waitress.client_disconnected")
    events = helpdesk.ask_events(
        asked.query,
        asked.locale,
        asked.conversation_id,
        cancelled=gone,
        context=context,
        surface=surface,
        visitor=visitor,
        variant=variant,
    )
    # Retrieval runs before the response starts, so a missing index or a bad filter is still
    # a problem+json error rather than a broken stream.
    first = next(events)
    if agent and isinstance(first, Sources):
        _audit("ask", asked.query.text, first.passages)

    def generate() -> Iterator[str]:
        try:
            yield sse(first, contact, audience=agent)
            for event in events:
                yield sse(event, contact, audience=agent)
        finally:
            events.close()  # a client that went away stops generation here

    return Response(
        stream_with_context(generate()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _shown(hits: Iterable[SearchHit]) -> list[Passage]:
    """Every passage a search response shows: each hit's and its sections'."""
    return [p for h in hits for p in (h.passage, *(s.passage for s in h.sections))]


def _sources_shown(helpdesk: Helpdesk) -> int:
    """How many passages an answer's sources event carries (see Helpdesk.ask_events)."""
    return max(helpdesk.settings.llm_passages, 3)


def _audit(action: str, target: str, passages: Iterable[Passage] = ()) -> None:
    """Record an agent's read in the audit log (search and ask: only when internal documents
    were read). Queued, so it never slows the request; without a store, nothing."""
    documents = [
        {"chunk_id": p.chunk.id, "source": p.chunk.source}
        for p in passages
        if p.chunk.audience != "public"
    ]
    if action in ("search", "ask") and not documents:
        return
    store = _helpdesk().store()
    if store is not None:
        # A question may carry a customer's personal data: stored redacted, like turns.
        entry = AuditEntry(datetime.now(UTC), agent_name(), action, redact(target)[:200], documents)
        store.record_audit(entry)


def _wants_stream() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/event-stream"])
    return best == "text/event-stream"


# -- the public API --------------------------------------------------------------------------


@api.get("/api/search")
def search() -> ResponseReturnValue:
    """Ranked articles for the help-center search box."""
    return _search(agent=False)


@api.post("/api/ask")
def ask() -> ResponseReturnValue:
    """A grounded, cited answer, or an honest "not covered" with a hand-off offer.

    With ``Accept: text/event-stream`` the answer streams as Server-Sent Events (as from
    ``/api/ask/stream``); otherwise the final answer comes as one JSON object.
    """
    return _ask(agent=False, stream=_wants_stream())


@api.post("/api/ask/stream")
def ask_stream() -> ResponseReturnValue:
    """Server-Sent Events: sources, draft, token..., final (see helpdesk.answering.generative)."""
    return _ask(agent=False, stream=True)


@api.get("/api/config")
def config() -> ResponseReturnValue:
    """What a front end needs to know: the contact route, languages and products."""
    helpdesk = _helpdesk()
    return jsonify(
        {
            "contact": helpdesk.settings.handoff_contact,
            "languages": sorted(SUPPORTED),
            "products": sorted(products(helpdesk, "public")),
        }
    )


@api.post("/api/feedback")
def feedback() -> ResponseReturnValue:
    """Was this answer helpful, and if not, why. A thumbs down offers a person."""
    given = feedback_request(json_body())
    variant, helpdesk, visitor = _serving(agent=False)
    offer = helpdesk.record_feedback(
        given.conversation_id,
        given.helpful,
        answer_id=given.answer_id,
        reason=given.reason,
        comment=given.comment,
        visitor=visitor,
        variant=variant,
    )
    return jsonify({"recorded": True, "offer_handoff": offer})


@api.post("/api/handoff")
def handoff() -> ResponseReturnValue:
    """Hand the conversation to a person: a ticket with the context packet for the agent."""
    variant, helpdesk, visitor = _serving(agent=False)
    given = handoff_request(json_body())
    ticket = helpdesk.handoff(
        given.conversation_id,
        answer_id=given.answer_id,
        message=given.message,
        visitor=visitor,
        variant=variant,
    )
    body = handoff_json(ticket, ticket.language)
    return jsonify(body), 201, {"Location": f"/api/handoff/{ticket.id}"}


@api.get("/api/handoff/<ticket_id>")
def handoff_status(ticket_id: str) -> ResponseReturnValue:
    """A customer's ticket: its status and the agents' replies (with its conversation_id)."""
    reject_unknown(set(request.args), {"conversation_id"}, "parameter")
    conversation_id = request.args.get("conversation_id", "")
    ticket = _helpdesk().ticket_for(ticket_id, conversation_id)
    return jsonify(ticket_status_json(ticket))


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
    store = helpdesk.store()
    return jsonify(
        {
            "status": "ready",
            "generation": snapshot.name,
            # Which process answered: with several workers, each reports its own generation.
            "pid": os.getpid(),
            "chunks": len(snapshot.chunks),
            "embedding_models": snapshot.manifest.get("embedding_models"),
            # Writes queued, written, retried and dropped: a database that is away shows here,
            # while answers go on.
            "store": store.stats if store is not None else None,
        }
    )


# -- the agents' API: public and internal documents ------------------------------------------


@agent_api.get("/api/agent/config")
def agent_config() -> ResponseReturnValue:
    return jsonify(
        {"products": sorted(products(_helpdesk(), "agent")), "languages": sorted(SUPPORTED)}
    )


@agent_api.get("/api/agent/search")
def agent_search() -> ResponseReturnValue:
    """Search over what agents may read; ``audience`` narrows it to public or internal."""
    return _search(agent=True)


@agent_api.post("/api/agent/ask")
def agent_ask() -> ResponseReturnValue:
    """An answer from public and internal documents (``audience=public``: public only)."""
    return _ask(agent=True, stream=_wants_stream())


# -- the agents' tickets ---------------------------------------------------------------------


@agent_api.get("/api/agent/tickets")
def agent_tickets() -> ResponseReturnValue:
    """Hand-off tickets, newest first: ``status`` open, claimed, resolved or all (default)."""
    reject_unknown(set(request.args), {"status"}, "parameter")
    status = choice(request.args.get("status"), "status", TICKET_STATUSES) or "all"
    store = _helpdesk().require_store()
    tickets = store.tickets(None if status == "all" else status)
    _audit("tickets", status)
    return jsonify({"tickets": [ticket_summary_json(t) for t in tickets]})


@agent_api.get("/api/agent/tickets/<ticket_id>")
def agent_ticket(ticket_id: str) -> ResponseReturnValue:
    """One ticket with its context packet and replies."""
    ticket = _helpdesk().require_store().ticket(ticket_id)
    _audit("ticket", ticket_id)
    return jsonify(ticket_json(ticket))


@agent_api.post("/api/agent/tickets/<ticket_id>/claim")
def agent_claim(ticket_id: str) -> ResponseReturnValue:
    """Take the ticket (409 when another agent holds it)."""
    reject_unknown(set(_optional_json()), set(), "field")
    ticket = _helpdesk().require_store().claim(ticket_id, agent_name())
    _audit("claim", ticket_id)
    return jsonify(ticket_json(ticket))


@agent_api.post("/api/agent/tickets/<ticket_id>/reply")
def agent_reply(ticket_id: str) -> ResponseReturnValue:
    """Answer the customer: recorded with the ticket, shown in their chat."""
    text = reply_text(json_body())
    ticket = _helpdesk().require_store().reply(ticket_id, agent_name(), text)
    _audit("reply", ticket_id)
    return jsonify(ticket_json(ticket))


@agent_api.post("/api/agent/tickets/<ticket_id>/resolve")
def agent_resolve(ticket_id: str) -> ResponseReturnValue:
    """Close the ticket."""
    reject_unknown(set(_optional_json()), set(), "field")
    ticket = _helpdesk().require_store().resolve(ticket_id, agent_name())
    _audit("resolve", ticket_id)
    return jsonify(ticket_json(ticket))


@agent_api.get("/api/agent/audit")
def agent_audit() -> ResponseReturnValue:
    """The audit log, newest first: ``agent`` narrows it to one agent; ``limit`` entries
    (default 200, at most 1000)."""
    reject_unknown(set(request.args), {"agent", "limit"}, "parameter")
    raw = request.args.get("limit", "200").strip()
    if not (raw.isdecimal() and raw.isascii() and 1 <= int(raw) <= 1000):
        raise UnprocessableRequest(
            f"'limit' must be a whole number from 1 to 1000, got {raw!r}", code="bad_limit"
        )
    entries = _helpdesk().require_store().audit(request.args.get("agent") or None, int(raw))
    return jsonify({"entries": [e.as_json() for e in entries]})


def _optional_json() -> dict[str, object]:
    """An action's body: none, or an (empty) JSON object."""
    if not request.get_data():
        return {}
    return json_body()
