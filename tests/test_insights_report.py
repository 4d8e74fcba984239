"""The dashboard's figures (helpdesk.insights.report) on a handful of events, every expected
number worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from helpdesk.insights.report import (
    DateRange,
    Report,
    build_report,
    journeys_of,
    normalise,
    percentile,
)
from helpdesk.insights.resolution import verdicts
from helpdesk.store import Event

DAY1 = date(2026, 11, 20)
DAY2 = date(2026, 11, 21)
DAYS = DateRange(DAY1, DAY2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def event(when: datetime, kind: str, surface: str, **fields: Any) -> Event:
    return Event(at=when, kind=kind, surface=surface, **fields)


def unrelated(texts: list[str]) -> np.ndarray:
    """Sentence vectors that make no two texts alike: no come-backs."""
    return np.eye(len(texts), dtype=np.float32)


def report_of(events: list[Event], days: DateRange = DAYS) -> Report:
    """The report with the conversations' real verdicts, every come-back window closed."""
    found = verdicts(events, unrelated, now=datetime(2027, 1, 1, tzinfo=UTC))
    return build_report(events, days, found)


def seeded() -> list[Event]:
    return [
        # Day 1. Visitor v1 searches the help page, then asks the widget as customer c1, rates
        # the answer down and is handed off: one journey of four events over two surfaces.
        event(at(DAY1, 9), "search", "help", visitor_id="v1", text="reset speaker",
              outcome="results", language="en", first_ms=20.0, total_ms=20.0),
        event(at(DAY1, 9, 1), "ask", "widget", visitor_id="v1", customer_id="c1",
              conversation_id="A", turn_id="a1", text="How do I reset the speaker?",
              outcome="answered", verification="quoted", language="en", variant="a",
              first_ms=100.0, total_ms=1000.0),
        event(at(DAY1, 9, 2), "feedback", "widget", visitor_id="v1", customer_id="c1",
              conversation_id="A", turn_id="a1", outcome="down", language="en"),
        event(at(DAY1, 9, 3), "handoff", "widget", visitor_id="v1", customer_id="c1",
              conversation_id="A", outcome="created", language="en"),
        # Another visitor asks the same question on the help page: answered.
        event(at(DAY1, 10), "ask", "help", visitor_id="v2", conversation_id="B", turn_id="b1",
              text="how do i reset the  speaker", outcome="answered", verification="quoted",
              language="en",
              variant="a", first_ms=200.0, total_ms=2000.0),
        # A Korean question the knowledge base does not cover.
        event(at(DAY1, 11), "ask", "widget", visitor_id="v3", conversation_id="C",
              turn_id="c1", text="환불 정책？", outcome="not_covered", verification="none",
              language="ko",
              variant="a", first_ms=50.0, total_ms=500.0),
        # Day 2: an agent's question (variant b) and an API search that found nothing.
        event(at(DAY2, 8), "ask", "agent", conversation_id="D", turn_id="d1",
              text="Refund policy?", outcome="answered", verification="quoted", language="en",
              variant="b",
              first_ms=300.0, total_ms=3000.0),
        event(at(DAY2, 9), "search", "api", text="refund", outcome="no_results", language="en",
              first_ms=10.0, total_ms=10.0),
        # Outside the range (the day after): not counted.
        event(at(date(2026, 11, 22), 0), "ask", "help", visitor_id="v2", conversation_id="E",
              text="late", outcome="answered", language="en"),
    ]  # fmt: skip


def test_the_range_is_utc_days_from_midnight_to_midnight() -> None:
    assert DAYS.since == datetime(2026, 11, 20, tzinfo=UTC)
    assert DAYS.until == datetime(2026, 11, 22, tzinfo=UTC)
    assert DAYS.days == [DAY1, DAY2]
    assert DateRange.last_days(7, date(2026, 12, 2)) == DateRange(
        date(2026, 11, 26), date(2026, 12, 2)
    )
    assert DAYS.as_json() == {"from": "2026-11-20", "to": "2026-11-21", "days": 2}


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    values = [float(v) for v in range(10, 0, -1)]  # 1..10, unsorted
    assert percentile(values, 50) == 5.0  # rank ceil(5) = 5
    assert percentile(values, 95) == 10.0  # rank ceil(9.5) = 10


def test_normalised_questions() -> None:
    assert normalise("  How do I RESET  the speaker?? ") == "how do i reset the speaker"
    assert normalise("환불 정책？") == "환불 정책"  # the full-width ? is NFKC's ?


def test_daily_figures() -> None:
    report = report_of(seeded(), DAYS)
    day1, day2 = report.daily
    assert day1["day"] == "2026-11-20"
    # Day 1: asks a1, b1, c1 and one search; c1 not covered; a1 rated down and handed off.
    assert (day1["asks"], day1["searches"], day1["questions"]) == (3, 1, 4)
    assert (day1["not_covered"], day1["not_covered_rate"]) == (1, 0.3333)
    assert (day1["thumbs_down"], day1["thumbs_down_rate"]) == (1, 0.3333)
    assert day1["handoffs"] == 1
    # Conversations A (handed off), B (resolved), C (not covered): 1 of 3 resolved, 2 of 3
    # not handed off.
    assert (day1["conversations"], day1["resolved"]) == (3, 1)
    assert (day1["resolution_rate"], day1["not_handed_off_rate"]) == (0.3333, 0.6667)
    # First-content 100, 200, 50 -> sorted 50, 100, 200: p50 is rank 2, p95 rank 3.
    assert (day1["first_ms_p50"], day1["first_ms_p95"]) == (100.0, 200.0)
    assert (day1["total_ms_p50"], day1["total_ms_p95"]) == (1000.0, 2000.0)
    # Day 2: D is an agent's question, asked (and timed) but no customer's conversation; the
    # API search is a question too, with no latency counted.
    assert (day2["asks"], day2["searches"], day2["conversations"]) == (1, 1, 0)
    assert day2["resolution_rate"] is None and day2["handoffs"] == 0
    assert day2["first_ms_p50"] == day2["first_ms_p95"] == 300.0


def test_totals_over_the_range() -> None:
    totals = report_of(seeded(), DAYS).totals
    # E (the day after) is left out: 4 asks, 2 searches; 3 customers' conversations (D is an
    # agent's), of which B resolved.
    assert (totals["asks"], totals["searches"], totals["questions"]) == (4, 2, 6)
    assert (totals["conversations"], totals["resolved"], totals["resolution_rate"]) == (
        3,
        1,
        0.3333,
    )
    assert totals["not_handed_off_rate"] == 0.6667
    assert totals["provisional"] == 0  # every come-back window has closed
    assert totals["not_covered_rate"] == totals["thumbs_down_rate"] == 0.25
    # First-content 50, 100, 200, 300: p50 rank 2, p95 rank ceil(3.8) = 4.
    assert (totals["first_ms_p50"], totals["first_ms_p95"]) == (100.0, 300.0)


def test_questions_per_day_by_series_and_language() -> None:
    report = report_of(seeded(), DAYS)
    series = {(r["day"], r["series"]): r["count"] for r in report.by_series}
    assert series == {
        ("2026-11-20", "help search"): 1,
        ("2026-11-20", "help ask"): 1,
        ("2026-11-20", "widget"): 2,
        ("2026-11-20", "agent"): 0,
        ("2026-11-20", "api"): 0,
        ("2026-11-21", "help search"): 0,
        ("2026-11-21", "help ask"): 0,
        ("2026-11-21", "widget"): 0,
        ("2026-11-21", "agent"): 1,
        ("2026-11-21", "api"): 1,
    }
    language = {(r["day"], r["series"]): r["count"] for r in report.by_language}
    assert language == {
        ("2026-11-20", "en"): 3,
        ("2026-11-20", "ko"): 1,
        ("2026-11-21", "en"): 2,
        ("2026-11-21", "ko"): 0,
    }


def test_top_questions_and_top_failing_questions() -> None:
    report = report_of(seeded(), DAYS)
    top = [(r["question"], r["count"]) for r in report.top_questions]
    # "How do I reset the speaker?" and "how do i reset the  speaker" are one question, shown
    # as first written (a tie); then the others by their normalised text.
    assert top == [("How do I reset the speaker?", 2), ("Refund policy?", 1), ("환불 정책？", 1)]
    failing = report.top_failing
    assert [(r["normalised"], r["failed"], r["asked"]) for r in failing] == [
        ("how do i reset the speaker", 1, 2),  # a1: the thumbs-down and the hand-off
        ("환불 정책", 1, 1),
    ]
    assert failing[0]["reasons"] == {"handed_off": 1, "thumbs_down": 1}
    assert failing[1]["reasons"] == {"not_covered": 1}
    assert failing[1]["languages"] == ["ko"]


def test_journeys_join_a_visitor_and_a_customer_across_surfaces() -> None:
    report = report_of(seeded(), DAYS)
    # v2 and v3 have one event each in the range, the agent and the API none: one journey.
    assert len(report.journeys) == 1
    journey = report.journeys[0]
    assert journey["who"] == "c1" and journey["who_kind"] == "customer"
    assert journey["surfaces"] == ["help", "widget"] and journey["cross_surface"]
    assert journey["outcome"] == "handed_off" and journey["events"] == 4
    assert [s["kind"] for s in journey["steps"]] == ["search", "ask", "feedback", "handoff"]
    assert journey["started_at"] == "2026-11-20T09:00:00+00:00"


def test_journeys_are_most_recent_first_and_capped() -> None:
    events = [
        event(at(DAY1, hour), kind, "help", visitor_id=f"v{hour}", text="x", outcome=outcome)
        for hour in range(5)
        for kind, outcome in (("search", "no_results"), ("ask", "not_covered"))
    ]
    journeys = journeys_of(events, limit=3)
    assert [j["who"] for j in journeys] == ["v4", "v3", "v2"]
    assert {j["outcome"] for j in journeys} == {"not_covered"}
    assert not journeys[0]["cross_surface"]


def test_variants() -> None:
    variants = report_of(seeded(), DAYS).variants
    # Variant b served only D, an agent's question: agents are in no experiment's figures.
    assert variants == [
        {
            "variant": "a",
            "conversations": 3,
            "resolution_rate": 0.3333,
            "thumbs_down_rate": 0.3333,
            "handoff_rate": 0.3333,
            "total_ms_p50": 1000.0,  # 500, 1000, 2000
            "total_ms_p95": 2000.0,
        },
    ]


def test_an_empty_range_has_zeros_and_no_rates() -> None:
    report = report_of([], DAYS)
    assert report.totals["questions"] == 0
    assert report.totals["resolution_rate"] is None
    assert report.totals["first_ms_p50"] is None
    assert len(report.daily) == 2
    assert report.top_questions == report.journeys == report.variants == []
    assert {r["series"] for r in report.by_series} == {
        "help search",
        "help ask",
        "widget",
        "agent",
        "api",
    }


@pytest.mark.parametrize("naive", [True, False])
def test_naive_times_are_utc(naive: bool) -> None:
    when = datetime(2026, 11, 20, 23, 59) if naive else at(DAY1, 23, 59)
    report = report_of([event(when, "search", "help", text="x")])
    assert report.daily[0]["searches"] == 1
