"""What the JSON endpoints return: the public shapes of search results, answers and the
events an answer streams (Server-Sent Events). The agents' API adds each document's audience.
"""

from __future__ import annotations

import json
from typing import Any

from ..store import Ticket
from ..types import (
    Answer,
    AnswerEvent,
    Correction,
    Draft,
    Final,
    Passage,
    SearchHit,
    Sources,
    Token,
)


def corrected_query(correction: Correction) -> str | None:
    """What was searched instead, when a misspelt word was corrected ("showing results for")."""
    return correction.text if correction.changes else None


def search_result(hit: SearchHit, audience: bool = False) -> dict[str, Any]:
    """The JSON of one search hit (with its document's audience, for agents)."""
    chunk = hit.passage.chunk
    body: dict[str, Any] = {
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
    if audience:
        body["audience"] = chunk.audience
    return body


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


def answer_json(answer: Answer, contact: str, audience: bool = False) -> dict[str, Any]:
    """The public JSON shape of an Answer (with each citation's audience, for agents)."""
    chunks = {p.chunk.id: p.chunk for p in answer.passages}
    citations = []
    for c in answer.citations:
        chunk = chunks.get(c.chunk_id)
        citation = {
            "id": c.id,
            "title": c.title,
            "url": c.url,
            "snippet": c.snippet,
            "language": c.language,
            "source": c.source,
            "product": chunk.product or None if chunk else None,
        }
        if audience:
            citation["audience"] = chunk.audience if chunk else "public"
        citations.append(citation)
    body: dict[str, Any] = {
        "answer": answer.text,
        "citations": citations,
        "grounded": answer.grounded,
        "confidence": answer.confidence,
        "language": answer.language,
        "handoff": answer.handoff,
        "generated_by": answer.generated_by,
        "conversation_id": answer.conversation_id,
        "standalone_question": answer.standalone_question,
        "timings": answer.timings,
    }
    if answer.answer_id:
        body["answer_id"] = answer.answer_id
    if answer.escalation is not None:
        body["escalation"] = {
            "offer": answer.escalation.offer,
            "reasons": list(answer.escalation.reasons),
            "frustration": answer.escalation.frustration,
        }
    if answer.verification is not None:
        body["verification"] = answer.verification
    if answer.fallback_reason:
        body["fallback_reason"] = answer.fallback_reason
    if answer.handoff:
        body["contact"] = contact
    return body


# The confirmation a customer sees once their ticket exists, in their language.
_HANDED_OFF = {
    "en": "Ticket {reference} created. A support agent will reply here.",
    "ko": "문의 {reference}번이 접수되었습니다. 상담원이 이곳으로 답변드립니다.",
}


def handoff_json(ticket: Ticket, language: str) -> dict[str, Any]:
    """What a customer gets back from ``POST /api/handoff``."""
    template = _HANDED_OFF.get(language, _HANDED_OFF["en"])
    return {
        "ticket_id": ticket.id,
        "reference": ticket.reference,
        "status": ticket.status,
        "message": template.format(reference=ticket.reference),
    }


def ticket_status_json(ticket: Ticket) -> dict[str, Any]:
    """A customer's view of their ticket: its status and the agents' replies."""
    return {
        "ticket_id": ticket.id,
        "reference": ticket.reference,
        "status": ticket.status,
        "replies": [
            {"author": r.author, "text": r.text, "at": r.at.isoformat()} for r in ticket.replies
        ],
    }


def ticket_summary_json(ticket: Ticket) -> dict[str, Any]:
    """One line of the agents' ticket list."""
    packet = ticket.packet
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "status": ticket.status,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "claimed_by": ticket.claimed_by,
        "language": ticket.language,
        "summary": packet.get("summary", ""),
        "frustration": packet.get("frustration", {}).get("latest", 0.0),
        "reasons": packet.get("reasons", []),
        "customer": packet.get("customer", {}),
    }


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """A ticket in full, for the agent who opens it: the context packet and the replies."""
    return {
        **{k: v for k, v in ticket_summary_json(ticket).items() if k not in ("summary",)},
        "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        "conversation_id": ticket.conversation_id,
        "packet": ticket.packet,
        "replies": [
            {"author": r.author, "text": r.text, "at": r.at.isoformat()} for r in ticket.replies
        ],
    }


def event_json(event: AnswerEvent, contact: str, audience: bool = False) -> dict[str, Any]:
    """The data of one streamed event; its SSE name is ``event.name``."""
    match event:
        case Sources(passages):
            return {"sources": [source_json(i, p) for i, p in enumerate(passages, start=1)]}
        case Token(text):
            return {"text": text}
        case Draft(answer) | Final(answer):
            return answer_json(answer, contact, audience)
    raise TypeError(f"not an answer event: {event!r}")


def sse(event: AnswerEvent, contact: str, audience: bool = False) -> str:
    """One Server-Sent Event."""
    data = json.dumps(event_json(event, contact, audience), ensure_ascii=False)
    return f"event: {event.name}\ndata: {data}\n\n"
