"""An honest resolution rate: a conversation counts as resolved only when nothing says it
was not.

A conversation (the ask events that share a conversation id, from the help page, the widget
or the API; the agents' own questions are not customers' and are left out) is **resolved**
only if all of these hold:

1. **verified**: its last answer was a checked answer (generated and verified, or a quoted
   passage), not a "not covered";
2. **no person asked for**: no question in it asked for a person;
3. **not handed off**: no hand-off ticket was made for it;
4. **no thumbs down** on any of its answers;
5. **no come-back**: the same visitor (the front ends' anonymous id) or the same customer (the
   host page's id) did not search or ask again *on the same topic* within ``window_days``
   after it, on any surface. Same topic means a cosine of at least ``similarity`` between the
   sentence vectors (the cross-lingual USE model: a Korean question after an English one
   counts) of the later text and any question of the conversation.

Each :class:`Verdict` keeps the evidence of every check (the event ids, the come-back's text,
surface and similarity), so the rate can be recomputed and audited offline from the events
(``helpdesk insights verdicts --jsonl``). A verdict whose come-back window has not closed yet
is *provisional* (``final`` False): it may still turn into a come-back.

Beside it, the looser rate most products report, "not handed off", is computed over the
same conversations, so the two can be compared.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ..embeddings import Embedder
from ..store import Event

# What a conversation's verdict may name as its reasons, in the order they are checked.
REASONS = ("not_verified", "asked_for_person", "handed_off", "thumbs_down", "came_back")
CUSTOMER_SURFACES = ("help", "widget", "api")
WINDOW_DAYS = 3
# The come-back threshold: a cosine between USE sentence vectors. Measured on the labelled
# pairs of tests/data/comebacks.yaml (scripts/eval_comebacks.py); see docs/insights.md.
SIMILARITY = 0.2

Embed = Callable[[list[str]], np.ndarray]


def embed_with(embedder: Embedder) -> Embed:
    """An embedding model as the function :func:`verdicts` takes: texts to rows of vectors."""
    return lambda texts: np.asarray(embedder.embed_documents(texts), dtype=np.float32)


@dataclass(frozen=True)
class Verdict:
    """Whether one conversation resolved the customer's question, and the evidence."""

    conversation_id: str
    started_at: datetime
    ended_at: datetime
    surface: str
    language: str
    visitor_id: str | None
    customer_id: str | None
    variant: str
    questions: list[str]
    resolved: bool
    handed_off: bool
    thumbs_down: bool
    not_covered: bool  # the last answer said the knowledge base does not cover it
    reasons: list[str]  # why it is not resolved (empty when it is)
    final: bool  # False while the come-back window is still open
    evidence: dict[str, Any] = field(default_factory=dict)
    first_ms: float | None = None  # the first answer's time to first content
    total_ms: float | None = None  # the first answer's total time

    @property
    def not_handed_off(self) -> bool:
        return not self.handed_off

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "surface": self.surface,
            "language": self.language,
            "visitor_id": self.visitor_id,
            "customer_id": self.customer_id,
            "variant": self.variant,
            "questions": self.questions,
            "resolved": self.resolved,
            "handed_off": self.handed_off,
            "thumbs_down": self.thumbs_down,
            "not_covered": self.not_covered,
            "reasons": self.reasons,
            "final": self.final,
            "first_ms": self.first_ms,
            "total_ms": self.total_ms,
            "evidence": self.evidence,
        }


def normalised(text: str) -> str:
    """Text compared as the same words: case, width, punctuation and spacing aside."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def verdicts(
    events: Sequence[Event],
    embed: Embed,
    *,
    window_days: int = WINDOW_DAYS,
    similarity: float = SIMILARITY,
    now: datetime | None = None,
) -> list[Verdict]:
    """The verdict of every customer conversation in ``events``, oldest first.

    ``events`` must include what came after the conversations (up to ``window_days`` later)
    for the come-back check to see it: pass the events up to now, and filter verdicts by
    their start. ``embed`` maps texts to unit sentence vectors (rows)."""
    now = now or datetime.now(UTC)
    window = timedelta(days=window_days)
    asks: dict[str, list[Event]] = defaultdict(list)
    handoffs: dict[str, list[Event]] = defaultdict(list)
    downs: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.conversation_id is None:
            continue
        if event.kind == "ask" and event.surface in CUSTOMER_SURFACES:
            asks[event.conversation_id].append(event)
        elif event.kind == "handoff":
            handoffs[event.conversation_id].append(event)
        elif event.kind == "feedback" and event.outcome == "down":
            downs[event.conversation_id].append(event)
    # Who did what, for the come-back check: every customer search and question.
    later = [e for e in events if e.kind in ("search", "ask") and e.surface in CUSTOMER_SURFACES]
    vectors = _vectors([*(e.text for e in later)], embed)

    results = []
    for conversation_id, turns in asks.items():
        turns.sort(key=lambda e: (e.at, e.id or 0))
        first, last = turns[0], turns[-1]
        visitor = next((t.visitor_id for t in turns if t.visitor_id), None)
        customer = next((t.customer_id for t in turns if t.customer_id), None)
        evidence: dict[str, Any] = {
            "window_days": window_days,
            "similarity": similarity,
            "window_closes": (last.at + window).isoformat(),
            "last_answer": {
                "event": last.id,
                "outcome": last.outcome,
                "verification": last.verification,
            },
        }
        reasons = []
        verified = last.outcome != "not_covered" and last.verification in (
            "passed",
            "quoted",
            "fallback",
        )
        if not verified:
            reasons.append("not_verified")
        person = [t.id for t in turns if t.outcome == "person"]
        if person:
            reasons.append("asked_for_person")
            evidence["asked_for_person"] = person
        if handoffs.get(conversation_id):
            reasons.append("handed_off")
            evidence["handoffs"] = [h.id for h in handoffs[conversation_id]]
        if downs.get(conversation_id):
            reasons.append("thumbs_down")
            evidence["thumbs_down"] = [d.id for d in downs[conversation_id]]
        back = _came_back(turns, later, vectors, visitor, customer, window, similarity)
        if back is not None:
            reasons.append("came_back")
            evidence["came_back"] = back
        results.append(
            Verdict(
                conversation_id=conversation_id,
                started_at=first.at,
                ended_at=last.at,
                surface=first.surface,
                language=first.language,
                visitor_id=visitor,
                customer_id=customer,
                variant=first.variant,
                questions=[t.text for t in turns],
                resolved=not reasons,
                handed_off=bool(handoffs.get(conversation_id)),
                thumbs_down=bool(downs.get(conversation_id)),
                not_covered=last.outcome == "not_covered",
                reasons=reasons,
                # A come-back already seen is final; otherwise only once the window closed.
                final=back is not None or now >= last.at + window,
                evidence=evidence,
                first_ms=first.first_ms,
                total_ms=first.total_ms,
            )
        )
    results.sort(key=lambda v: (v.started_at, v.conversation_id))
    return results


def _vectors(texts: list[str], embed: Embed) -> dict[str, np.ndarray]:
    """Each distinct text's vector, embedded once."""
    unique = sorted({t for t in texts if t.strip()})
    if not unique:
        return {}
    matrix = np.asarray(embed(unique), dtype=np.float32)
    return dict(zip(unique, matrix, strict=True))


def _came_back(
    turns: list[Event],
    later: list[Event],
    vectors: dict[str, np.ndarray],
    visitor: str | None,
    customer: str | None,
    window: timedelta,
    similarity: float,
) -> dict[str, Any] | None:
    """The first later search or question by the same visitor or customer, outside this
    conversation and within the window, on the same topic as one of its questions."""
    if visitor is None and customer is None:
        return None
    conversation = turns[0].conversation_id
    start, end = turns[-1].at, turns[-1].at + window
    asked = [(t.text, vectors.get(t.text)) for t in turns]
    for event in later:
        if not (start < event.at <= end) or event.conversation_id == conversation:
            continue
        same_person = (visitor is not None and event.visitor_id == visitor) or (
            customer is not None and event.customer_id == customer
        )
        if not same_person:
            continue
        vector = vectors.get(event.text)
        for question, question_vector in asked:
            if normalised(question) == normalised(event.text) and normalised(question):
                score = 1.0
            elif vector is None or question_vector is None:
                continue
            else:
                score = float(vector @ question_vector)
            if score >= similarity:
                return {
                    "event": event.id,
                    "at": event.at.isoformat(),
                    "kind": event.kind,
                    "surface": event.surface,
                    "text": event.text,
                    "question": question,
                    "similarity": round(score, 4),
                    "by": "customer" if customer and event.customer_id == customer else "visitor",
                }
    return None


def rates(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """The resolution rate and, beside it, the looser "not handed off" rate, over the same
    conversations; with how many verdicts are still provisional."""
    n = len(verdicts)
    resolved = sum(v.resolved for v in verdicts)
    not_handed_off = sum(not v.handed_off for v in verdicts)
    reasons = {r: sum(r in v.reasons for v in verdicts) for r in REASONS}
    return {
        "conversations": n,
        "resolved": resolved,
        "resolution_rate": resolved / n if n else None,
        "not_handed_off": not_handed_off,
        "not_handed_off_rate": not_handed_off / n if n else None,
        "provisional": sum(not v.final for v in verdicts),
        "reasons": reasons,
    }
