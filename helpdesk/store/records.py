"""What the store takes and gives back: plain frozen dataclasses, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TurnRecord:
    """One question of a conversation and the answer it got."""

    id: str  # the answer id (random, url-safe)
    conversation_id: str
    at: datetime  # UTC, timezone-aware
    question: str
    standalone: str  # the question as retrieved (a follow-up rewritten to stand alone)
    answer: str
    language: str
    reader: str  # "public" | "agent"
    surface: str  # "widget" | "help" | "api" | "agent"
    not_covered: bool  # the answer said the knowledge base does not cover it
    grounded: bool
    confidence: float
    generated_by: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    verification: dict[str, Any] | None = None
    fallback_reason: str = ""
    frustration: float = 0.0
    mood: str = ""
    cues: list[str] = field(default_factory=list)
    escalation: list[str] = field(default_factory=list)  # why a person was offered
    timings: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)  # {product, plan, locale, customer_id}


@dataclass(frozen=True)
class ReviewedTurn:
    """A stored turn and what followed it: a thumbs down, a hand-off to a person."""

    turn: TurnRecord
    thumbs_down: bool  # feedback helpful=false on this answer (or on its conversation after it)
    handed_off: bool  # a ticket of its conversation was opened on this answer (or after it)


@dataclass(frozen=True)
class FeedbackRecord:
    """A thumbs up or down on an answer (or on the conversation when answer_id is None)."""

    conversation_id: str
    answer_id: str | None
    helpful: bool
    reason: str | None
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class Reply:
    """An agent's reply, recorded with its ticket."""

    author: str
    text: str
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"author": self.author, "text": self.text, "at": self.at.isoformat()}


@dataclass(frozen=True)
class Ticket:
    """A hand-off to a person: the customer's reference and the agent's context packet."""

    id: str
    reference: str  # "HD-" and six characters that cannot be misread (no 0/O, 1/I/L)
    conversation_id: str
    status: str  # "open" | "claimed" | "resolved"
    language: str
    created_at: datetime
    updated_at: datetime
    claimed_by: str | None
    resolved_at: datetime | None
    packet: dict[str, Any]
    replies: tuple[Reply, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The ticket as JSON: what the webhook sends and the console shows."""
        return {
            "id": self.id,
            "reference": self.reference,
            "conversation_id": self.conversation_id,
            "status": self.status,
            "language": self.language,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "claimed_by": self.claimed_by,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "packet": self.packet,
            "replies": [reply.as_json() for reply in self.replies],
        }


@dataclass(frozen=True)
class Delivery:
    """One webhook event in the outbox, delivered or still being tried."""

    id: int
    ticket_id: str
    idempotency_key: str  # fixed when the ticket is created: the same on every attempt
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class AuditEntry:
    """One agent's read of internal documents or of a ticket."""

    at: datetime
    agent: str
    # "search" | "ask" | "tickets" | "ticket" | "claim" | "reply" | "resolve" | "insights" |
    # "export" (the insights' events as CSV)
    action: str
    target: str  # the ticket id, the ticket status listed, or the question
    documents: list[dict[str, str]] = field(default_factory=list)  # internal {chunk_id, source}

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "agent": self.agent,
            "action": self.action,
            "target": self.target,
            "documents": self.documents,
        }


# What an event records; the surfaces are where it happened: the help center's page (its
# search box and its ask box), the embedded widget, the agents' console, or the API directly.
EVENT_KINDS = ("search", "ask", "handoff", "feedback")
EVENT_SURFACES = ("help", "widget", "agent", "api")


@dataclass(frozen=True)
class Event:
    """One thing a customer or agent did, for the insights. Free text is redacted first."""

    at: datetime
    kind: str  # one of EVENT_KINDS
    surface: str  # one of EVENT_SURFACES
    visitor_id: str | None = None  # anonymous, one per browser
    customer_id: str | None = None  # the host page's, when it gives one (redacted)
    conversation_id: str | None = None
    turn_id: str | None = None  # the answer id, for ask and feedback
    variant: str = ""  # the experiment variant that served it ("" without an experiment)
    language: str = ""
    text: str = ""  # search query, question, or feedback comment (redacted)
    # search: results | no_results; ask: answered | not_covered | person (asked for one);
    # handoff: created; feedback: up | down
    outcome: str = ""
    # ask: passed (generated, verified) | quoted (extractive) | fallback (generated, refused
    # by the verifier, quoted instead) | none (not covered)
    verification: str = ""
    generated_by: str = ""
    first_ms: float | None = None  # to the first content the customer saw
    total_ms: float | None = None
    data: dict[str, Any] = field(default_factory=dict)  # sources, reasons, escalation...
    id: int | None = None  # set when read back

    def as_json(self) -> dict[str, Any]:
        return {
            **{f: getattr(self, f) for f in self.__dataclass_fields__ if f != "at"},
            "at": self.at.isoformat(),
        }
