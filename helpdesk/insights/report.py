"""The dashboard's figures: plain aggregation over the insight events of a date range (and the
conversations' verdicts, when given), with no I/O. The agents' API (helpdesk.api.insights)
reads the events from the store, calls :func:`build_report` and sends the result as JSON; the
charts (helpdesk.insights.charts) draw from the same report.

Days are UTC days, and a range is ``[since, until)``: the first day's midnight up to the
midnight after the last day. The counts:

- questions per day by where they were typed: "help search" and "help ask" (the help-center
  page's search box and ask box), "widget", "agent" and "api" (searches and asks together);
  and by language;
- per day: the not-covered rate (asks answered "not covered" / asks), the thumbs-down rate
  (thumbs-down feedback / asks), hand-offs, the resolution rate (resolved / conversations
  started that day, from the verdicts) and first-content and final latency (p50/p95 over
  asks; nearest-rank percentiles);
- top questions and top failing questions (not covered, handed off or thumbs-down), by their
  normalised text;
- journeys: one visitor's or customer's events across the surfaces, oldest first.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from ..store import Event

# The series of the questions-per-day chart, in the legend's order.
SERIES = ("help search", "help ask", "widget", "agent", "api")
FAILURE_REASONS = ("not_covered", "handed_off", "thumbs_down")
MAX_RANGE_DAYS = 366
TOP = 15
JOURNEYS = 20
JOURNEY_STEPS = 30


@dataclass(frozen=True)
class DateRange:
    """The days from ``first`` to ``last``, both included (UTC)."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int, today: date) -> DateRange:
        """The ``days`` days that end with ``today``."""
        return cls(today - timedelta(days=days - 1), today)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """Midnight after the last day: the range is ``[since, until)``."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "days": len(self.days),
        }


class VerdictLike(Protocol):
    """What the report reads from a conversation's verdict (helpdesk.insights.resolution's
    ``Verdict`` has these, and more)."""

    @property
    def conversation_id(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def variant(self) -> str: ...
    @property
    def resolved(self) -> bool: ...
    @property
    def handed_off(self) -> bool: ...
    @property
    def thumbs_down(self) -> bool: ...
    @property
    def not_covered(self) -> bool: ...
    @property
    def total_ms(self) -> float | None: ...


@dataclass(frozen=True)
class Report:
    """Everything the dashboard shows, JSON-ready (see :meth:`as_json`)."""

    range: DateRange
    totals: dict[str, Any]
    daily: list[dict[str, Any]]
    by_series: list[dict[str, Any]]  # {day, series, count}: every day x series
    by_language: list[dict[str, Any]]  # {day, language, count}: every day x language
    top_questions: list[dict[str, Any]]
    top_failing: list[dict[str, Any]]
    journeys: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # per conversation, for A/B

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range.as_json(),
            "totals": self.totals,
            "daily": self.daily,
            "questions_by_series": self.by_series,
            "questions_by_language": self.by_language,
            "top_questions": self.top_questions,
            "top_failing": self.top_failing,
            "journeys": self.journeys,
            "variants": self.variants,
        }


def build_report(
    events: Sequence[Event],
    days: DateRange,
    verdicts: Sequence[VerdictLike],
    *,
    top: int = TOP,
    journeys: int = JOURNEYS,
) -> Report:
    """The report of ``events`` (only those inside ``days`` count), oldest first or not.
    ``verdicts`` are the conversations' (helpdesk.insights.resolution; those that started
    inside ``days`` count)."""
    since, until = days.since, days.until
    inside = sorted((e for e in events if since <= _utc(e.at) < until), key=lambda e: _utc(e.at))
    verdicts = [v for v in verdicts if since <= _utc(v.started_at) < until]
    return Report(
        range=days,
        totals=_figures(inside, verdicts),
        daily=[
            {"day": day.isoformat(), **_figures(inside_day, verdicts_day)}
            for day, inside_day, verdicts_day in _by_day(days, inside, verdicts)
        ],
        by_series=_counts_by(days, inside, series_of, SERIES),
        by_language=_counts_by(days, inside, lambda e: e.language or "other", ()),
        top_questions=top_questions(inside, top),
        top_failing=top_failing(inside, top),
        journeys=journeys_of(inside, journeys),
        variants=variant_summary(verdicts),
        outcomes=[
            {
                "variant": v.variant,
                "resolved": v.resolved,
                "thumbs_down": v.thumbs_down,
                "handed_off": v.handed_off,
                "latency_ms": v.total_ms if v.total_ms is not None else math.nan,
            }
            for v in verdicts
        ],
    )


# -- the figures of a day (or of the range) ------------------------------------------------


def _figures(events: Sequence[Event], verdicts: Sequence[VerdictLike]) -> dict[str, Any]:
    asks = [e for e in events if e.kind == "ask"]
    searches = sum(e.kind == "search" for e in events)
    not_covered = sum(e.outcome == "not_covered" for e in asks)
    down = sum(e.kind == "feedback" and e.outcome == "down" for e in events)
    handoffs = sum(e.kind == "handoff" for e in events)
    resolved = sum(v.resolved for v in verdicts)
    kept = sum(not v.handed_off for v in verdicts)
    first = [e.first_ms for e in asks if e.first_ms is not None]
    total = [e.total_ms for e in asks if e.total_ms is not None]
    return {
        "questions": len(asks) + searches,
        "searches": searches,
        "asks": len(asks),
        "conversations": len(verdicts),
        "resolved": resolved,
        "resolution_rate": _rate(resolved, len(verdicts)),
        "not_handed_off_rate": _rate(kept, len(verdicts)),
        # Verdicts whose come-back window is still open (resolution.Verdict.final is False).
        "provisional": sum(not getattr(v, "final", True) for v in verdicts),
        "not_covered": not_covered,
        "not_covered_rate": _rate(not_covered, len(asks)),
        "thumbs_down": down,
        "thumbs_down_rate": _rate(down, len(asks)),
        "handoffs": handoffs,
        "first_ms_p50": percentile(first, 50),
        "first_ms_p95": percentile(first, 95),
        "total_ms_p50": percentile(total, 50),
        "total_ms_p95": percentile(total, 95),
    }


def _by_day(
    days: DateRange, events: Sequence[Event], verdicts: Sequence[VerdictLike]
) -> list[tuple[date, list[Event], list[VerdictLike]]]:
    events_by: dict[date, list[Event]] = defaultdict(list)
    verdicts_by: dict[date, list[VerdictLike]] = defaultdict(list)
    for event in events:
        events_by[_utc(event.at).date()].append(event)
    for verdict in verdicts:
        verdicts_by[_utc(verdict.started_at).date()].append(verdict)
    return [(day, events_by[day], verdicts_by[day]) for day in days.days]


def series_of(event: Event) -> str | None:
    """The questions-per-day series of a search or ask (None for other events)."""
    if event.kind not in ("search", "ask"):
        return None
    if event.surface == "help":
        return f"help {event.kind}"
    return event.surface if event.surface in SERIES else "api"


def _counts_by(
    days: DateRange, events: Sequence[Event], key: Any, known: Sequence[str]
) -> list[dict[str, Any]]:
    """Searches and asks per day and ``key``: a row for every day and every key seen (and
    every ``known`` key), zeros included, so that lines and stacks have no gaps."""
    counts: Counter[tuple[str, str]] = Counter()
    for event in events:
        if event.kind not in ("search", "ask"):
            continue
        name = key(event)
        if name is not None:
            counts[(_utc(event.at).date().isoformat(), name)] += 1
    names = list(known) + sorted({n for _, n in counts} - set(known))
    return [
        {"day": day.isoformat(), "series": name, "count": counts[(day.isoformat(), name)]}
        for day in days.days
        for name in names
    ]


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile (None for no values): the smallest value with at
    least ``p`` percent of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(float(ordered[rank - 1]), 1)


# -- questions -------------------------------------------------------------------------------

_EDGES = " \t\n?!.,;:。？！…~\"'"


def normalise(text: str) -> str:
    """A question's text for counting: NFKC, case-folded, one space between words, without
    the punctuation around it."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip(_EDGES)


def top_questions(events: Sequence[Event], limit: int = TOP) -> list[dict[str, Any]]:
    """The most asked questions (asks only), most first: normalised text, count, languages,
    and the commonest way it was written."""
    groups = _questions(e for e in events if e.kind == "ask")
    rows: list[dict[str, Any]] = [
        {
            "question": _display(asks),
            "normalised": key,
            "count": len(asks),
            "languages": sorted({e.language for e in asks if e.language}),
            "surfaces": sorted({e.surface for e in asks}),
        }
        for key, asks in groups.items()
    ]
    rows.sort(key=lambda r: (-r["count"], r["normalised"]))
    return rows[:limit]


def top_failing(events: Sequence[Event], limit: int = TOP) -> list[dict[str, Any]]:
    """The questions that failed most, most first: each ask counts once if it was answered
    "not covered", was handed off (the hand-off's turn, or the conversation's last question
    before it) or got a thumbs-down (likewise); ``reasons`` counts each reason."""
    asks = [e for e in events if e.kind == "ask"]
    reasons: dict[int, set[str]] = defaultdict(set)  # by position in asks
    by_turn = {e.turn_id: i for i, e in enumerate(asks) if e.turn_id}
    by_conversation: dict[str, list[int]] = defaultdict(list)  # positions, oldest first
    for i, ask in enumerate(asks):
        if ask.conversation_id:
            by_conversation[ask.conversation_id].append(i)
    for i, ask in enumerate(asks):
        if ask.outcome == "not_covered":
            reasons[i].add("not_covered")
    for event in events:
        if event.kind == "handoff":
            reason = "handed_off"
        elif event.kind == "feedback" and event.outcome == "down":
            reason = "thumbs_down"
        else:
            continue
        target = by_turn.get(event.turn_id) if event.turn_id else None
        if target is None and event.conversation_id:
            target = _last_ask_before(asks, by_conversation[event.conversation_id], event)
        if target is not None:
            reasons[target].add(reason)
    groups: dict[str, list[int]] = defaultdict(list)
    for i in reasons:
        groups[normalise(asks[i].text)].append(i)
    asked = Counter(normalise(e.text) for e in asks)
    rows: list[dict[str, Any]] = []
    for key, failed in groups.items():
        if not key:
            continue
        counted = Counter(r for i in failed for r in reasons[i])
        rows.append(
            {
                "question": _display([asks[i] for i in failed]),
                "normalised": key,
                "failed": len(failed),
                "asked": asked[key],
                "reasons": {r: counted[r] for r in FAILURE_REASONS if counted[r]},
                "languages": sorted({asks[i].language for i in failed if asks[i].language}),
            }
        )
    rows.sort(key=lambda r: (-r["failed"], r["normalised"]))
    return rows[:limit]


def _last_ask_before(asks: Sequence[Event], positions: Sequence[int], event: Event) -> int | None:
    """The last of the conversation's questions (``positions`` in ``asks``) asked before
    ``event``."""
    found = None
    for i in positions:
        if _utc(asks[i].at) > _utc(event.at):
            break
        found = i
    return found


def _questions(events: Iterable[Event]) -> dict[str, list[Event]]:
    groups: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        key = normalise(event.text)
        if key:
            groups[key].append(event)
    return groups


def _display(events: Sequence[Event]) -> str:
    """The commonest way a question was written (the first seen, on a tie)."""
    counts = Counter(e.text.strip() for e in events)
    return max(counts, key=lambda text: counts[text])


# -- journeys --------------------------------------------------------------------------------


def journeys_of(events: Sequence[Event], limit: int = JOURNEYS) -> list[dict[str, Any]]:
    """Each person's events, oldest first: grouped by customer id, else by visitor id (an
    event with both joins the two, so the help page's searches and the widget's questions of
    one browser are one journey). Only journeys of two or more events, the most recent first,
    at most ``limit``."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def ids(event: Event) -> list[str]:
        found = []
        if event.customer_id:
            found.append(f"customer:{event.customer_id}")
        if event.visitor_id:
            found.append(f"visitor:{event.visitor_id}")
        return found

    for event in events:
        keys = ids(event)
        for other in keys[1:]:
            a, b = find(keys[0]), find(other)
            if a != b:
                parent[b] = a
    groups: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        keys = ids(event)
        if keys:
            groups[find(keys[0])].append(event)
    rows: list[dict[str, Any]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda e: _utc(e.at))
        customer = next((e.customer_id for e in members if e.customer_id), None)
        visitor = next((e.visitor_id for e in members if e.visitor_id), None)
        surfaces = list(dict.fromkeys(e.surface for e in members))
        rows.append(
            {
                "who": customer or visitor,
                "who_kind": "customer" if customer else "visitor",
                "started_at": _utc(members[0].at).isoformat(),
                "ended_at": _utc(members[-1].at).isoformat(),
                "events": len(members),
                "surfaces": surfaces,
                "cross_surface": len(surfaces) > 1,
                "outcome": journey_outcome(members),
                "steps": [_step(e) for e in members[:JOURNEY_STEPS]],
            }
        )
    rows.sort(key=lambda r: r["ended_at"], reverse=True)
    return rows[:limit]


def journey_outcome(events: Sequence[Event]) -> str:
    """How a journey ended: handed_off, thumbs_down, not_covered (its last question),
    answered, or searched (no question)."""
    if any(e.kind == "handoff" for e in events):
        return "handed_off"
    if any(e.kind == "feedback" and e.outcome == "down" for e in events):
        return "thumbs_down"
    asks = [e for e in events if e.kind == "ask"]
    if not asks:
        return "searched"
    return "not_covered" if asks[-1].outcome == "not_covered" else "answered"


def _step(event: Event) -> dict[str, Any]:
    return {
        "at": _utc(event.at).isoformat(),
        "kind": event.kind,
        "surface": event.surface,
        "language": event.language,
        "text": event.text,
        "outcome": event.outcome,
    }


# -- variants --------------------------------------------------------------------------------


def variant_summary(verdicts: Sequence[VerdictLike]) -> list[dict[str, Any]]:
    """Per experiment variant ("" is no experiment): conversations and the rates the
    experiments' comparison tests; empty unless a variant is named."""
    by: dict[str, list[VerdictLike]] = defaultdict(list)
    for verdict in verdicts:
        by[verdict.variant].append(verdict)
    if not any(by):
        return []
    rows = []
    for variant in sorted(by):
        group = by[variant]
        n = len(group)
        latency = [v.total_ms for v in group if v.total_ms is not None]
        rows.append(
            {
                "variant": variant,
                "conversations": n,
                "resolution_rate": _rate(sum(v.resolved for v in group), n),
                "thumbs_down_rate": _rate(sum(v.thumbs_down for v in group), n),
                "handoff_rate": _rate(sum(v.handed_off for v in group), n),
                "total_ms_p50": percentile(latency, 50),
                "total_ms_p95": percentile(latency, 95),
            }
        )
    return rows


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
