"""The agents' console's Insights tab in a real headless Chromium, over a week of seeded events.

A ``helpdesk serve`` of its own (no index needed: the dashboard reads only the store), whose
SQLite database gets a week of events first: both languages, every surface, visitors who
search the help page and then ask the widget as a customer, hand-offs, thumbs-down and two
experiment variants. The test checks the headline figures against the seeded events, that each
server-rendered chart loaded, and the tables; it saves screenshots in English and Korean to
``artifacts/screenshots/`` (or HELPDESK_SCREENSHOT_DIR): insights-en.png and insights-ko.png (the
first screen, which docs/screenshots/ and the README show), insights-*-full.png (the page) and
insights-sections-en.png (the gap, replay and experiment sections).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from servers import CLI, environment, free_port, launch, running
from test_browser import AGENT_KEY, CHROMIUM, SHOTS, browser  # noqa: F401 (a fixture)

from helpdesk.store import Event, Store

# Not integration (no embedding model, no index), but a server and Chromium: out of test-fast.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHARTS = ("questions", "languages", "rates", "handoffs", "latency")
# (question, language, covered by the knowledge base)
QUESTIONS = [
    ("How do I reset the Aura speaker?", "en", True),
    ("How long is the warranty on the Lumo cam?", "en", True),
    ("Can I change my delivery address?", "en", True),
    ("Why is my Lumo cam offline?", "en", True),
    ("Do you ship to Jeju island?", "en", False),
    ("Can I pay with cryptocurrency?", "en", False),
    ("루모 캠 배터리는 어떻게 충전하나요?", "ko", True),
    ("환불 정책이 어떻게 되나요?", "ko", True),
    ("아우라 스피커 초기화 방법", "ko", True),
    ("제주도 배송 되나요?", "ko", False),
]
SEARCHES = {"en": ["reset speaker", "warranty", "delivery address"], "ko": ["환불", "배터리 충전"]}
VARIANTS = ("control", "short-answers")
JEJU_REPLY = (
    "Yes, we ship to Jeju island. Delivery takes 3 to 5 business days and costs 3,000 won more."
)
REPLAY = {
    "format": 1,
    "at": "2026-12-01T09:30:00+00:00",
    "live": "g-20261120T101500000000-a1b2c3",
    "candidate": "g-20261201T092800000000-d4e5f6",
    "backend": "extractive",
    "counts": {"questions": 631, "fixed": 3, "broken": 1, "still_resolved": 378,
               "still_unresolved": 249},
    "latency_ms": {"live": {"p50": 69.4, "p95": 118.3}, "candidate": {"p50": 68.8, "p95": 94.7}},
    "fixed": [{"kind": "failure", "question": "Do you ship to Jeju island?", "change": "fixed",
               "live": {"resolved": False, "outcome": "refused", "answer": "I couldn't find this."},
               "candidate": {"resolved": True, "outcome": "resolved",
                             "answer": "Yes, we ship to Jeju island. [1]"}}],
    "broken": [{"kind": "regression", "question": "How long is the warranty on the Lumo cam?",
                "change": "broken",
                "live": {"resolved": True, "outcome": "resolved", "answer": "Two years. [1]"},
                "candidate": {"resolved": False, "outcome": "refused",
                              "answer": "I couldn't find this."}}],
    "regressions": 1,
}  # fmt: skip


def _asked(events: list[Event], *words: str) -> set[str | None]:
    """The conversations whose question has one of ``words``."""
    return {
        e.conversation_id for e in events if e.kind == "ask" and any(w in e.text for w in words)
    }


def week_of_events(today: datetime) -> list[Event]:
    """About 25 questions a day for 7 days, with journeys, hand-offs and thumbs-down."""
    rng = random.Random(15)
    events: list[Event] = []
    n = 0
    for back in range(6, -1, -1):
        midnight = (today - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        day = midnight + timedelta(minutes=5)
        # Spread over the day; today's, over the hours so far (none in the future).
        span = timedelta(hours=23, minutes=45) if back else max(today - day, timedelta(minutes=30))
        count = 22 + (6 - back) % 4 * 2
        for i in range(count):
            n += 1
            start = day + span * (i / count) + timedelta(seconds=rng.randrange(60))
            question, language, covered = rng.choice(QUESTIONS)
            visitor = f"v-{n:04d}{rng.randrange(16**8):08x}"
            variant = VARIANTS[n % 2]
            customer = f"cust-{n:03d}" if n % 3 == 0 else None
            surface = rng.choices(["help", "widget", "agent", "api"], [4, 5, 1, 1])[0]
            at = start
            if surface == "widget" and n % 2 == 0:
                # A journey: the help page's search first, then the widget.
                events.append(
                    Event(at, "search", "help", visitor_id=visitor, language=language,
                          text=rng.choice(SEARCHES[language]), variant=variant,
                          outcome="results", first_ms=35.0, total_ms=35.0)
                )  # fmt: skip
                at += timedelta(minutes=2)
            conversation, turn = f"conv-{n:04d}", f"turn-{n:04d}"
            first = float(rng.randrange(250, 1400))
            if variant == "short-answers":
                first *= 0.8
            events.append(
                Event(at, "ask", surface, visitor_id=visitor, customer_id=customer,
                      conversation_id=conversation, turn_id=turn, variant=variant,
                      language=language, text=question,
                      outcome="answered" if covered else "not_covered",
                      verification="passed" if covered else "none", generated_by="bundled",
                      first_ms=first, total_ms=first + rng.randrange(1200, 5200))
            )  # fmt: skip
            if covered and rng.random() < 0.15:
                at += timedelta(minutes=1)
                events.append(
                    Event(at, "feedback", surface, visitor_id=visitor, customer_id=customer,
                          conversation_id=conversation, turn_id=turn, variant=variant,
                          language=language, outcome="down", data={"reason": "wrong"})
                )  # fmt: skip
            if (not covered and rng.random() < 0.6) or rng.random() < 0.05:
                at += timedelta(minutes=1)
                events.append(
                    Event(at, "handoff", surface, visitor_id=visitor, customer_id=customer,
                          conversation_id=conversation, variant=variant, language=language,
                          outcome="created", data={"reasons": ["requested"]})
                )  # fmt: skip
        # Searches on their own, on the help page and through the API.
        for j in range(6):
            language = "ko" if j % 3 == 0 else "en"
            events.append(
                Event(day + span * (j / 6), "search", "help" if j % 2 else "api",
                      visitor_id=f"s-{back}-{j}", language=language,
                      text=rng.choice(SEARCHES[language]),
                      outcome="results" if j != 4 else "no_results",
                      first_ms=30.0, total_ms=30.0)
            )  # fmt: skip
    return events


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Event]]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (see .ci/run)")
    work = tmp_path_factory.mktemp("insights")
    data = work / "data"
    data.mkdir()
    events = week_of_events(datetime.now(UTC))
    store = Store(f"sqlite:///{(data / 'helpdesk.db').resolve()}")
    try:
        store.migrate()
        # Agents answered some of the hand-offs about Jeju: the gap report drafts from them.
        # Each hand-off event names its ticket, as the service records it.
        jeju = _asked(events, "Jeju", "제주")
        answered = [e for e in events if e.kind == "handoff" and e.conversation_id in jeju][:3]
        for n, event in enumerate(events):
            if event in answered:
                ticket = store.create_ticket(
                    str(event.conversation_id), {}, event.language, notify=False
                )
                store.reply(ticket.id, "mina", JEJU_REPLY)
                event = replace(event, data={**event.data, "ticket": ticket.id})
                events[n] = event
            store.record_event(event)
        assert store.flush(timeout=30)
    finally:
        store.close()
    # The last `helpdesk replay`, as it writes it: a candidate with the Jeju answer.
    (data / "replay").mkdir()
    (data / "replay" / "last.json").write_text(json.dumps(REPLAY), encoding="utf-8")
    port = free_port()
    command = [*CLI, "serve", "--data-dir", str(data), "--port", str(port)]
    server = launch(
        "insights", command, environment({"HELPDESK_AGENT_KEYS": AGENT_KEY}), port, "/healthz", work
    )
    with running([server], timeout=120):
        yield server.url, events


def _percent(text: str) -> float:
    match = re.search(r"([\d.]+)%", text)
    assert match, text
    return float(match.group(1))


def test_the_dashboard_shows_a_week_of_events(
    dashboard: tuple[str, list[Event]],
    browser: object,  # noqa: F811
) -> None:
    url, events = dashboard
    asks = [e for e in events if e.kind == "ask"]
    context = browser.new_context(  # type: ignore[attr-defined]
        http_credentials={"username": "agent", "password": AGENT_KEY},
        viewport={"width": 1280, "height": 900},
        locale="en-US",
    )
    p = context.new_page()
    try:
        response = p.goto(url + "/agent#insights")
        assert response is not None and response.status == 200
        kpis = p.locator("#insights-kpis")
        kpis.locator("[data-kpi=conversations] .kpi-value").wait_for(timeout=20_000)

        def figure(name: str) -> str:
            return str(kpis.locator(f"[data-kpi={name}] .kpi-value").inner_text())

        # The headline figures, counted here from the seeded events.
        # Customers' conversations: the agents' own are not counted (insights.resolution).
        conversations = len({e.conversation_id for e in asks if e.surface != "agent"})
        assert figure("conversations") == f"{conversations:,}"
        assert figure("handoffs") == str(sum(e.kind == "handoff" for e in events))
        not_covered = sum(e.outcome == "not_covered" for e in asks) / len(asks)
        assert abs(_percent(figure("not-covered")) - 100 * not_covered) <= 0.1
        down = sum(e.kind == "feedback" and e.outcome == "down" for e in events) / len(asks)
        assert abs(_percent(figure("thumbs-down")) - 100 * down) <= 0.1
        assert "not handed off" in kpis.locator("[data-kpi=resolution]").inner_text()
        assert re.fullmatch(r"[\d,]+ ms", figure("first"))

        # Every chart is an SVG the server drew, loaded.
        for name in CHARTS:
            chart = p.locator(f"#chart-{name}")
            p.wait_for_function(
                "(img) => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
            )
            alt = chart.get_attribute("alt") or ""
            assert alt.startswith("Searches and questions per day") or name != "questions"

        # The tables: the seeded questions, the failing ones, the cross-surface journeys.
        top = p.locator("#insights-top").inner_text()
        assert any(q in top for q, _, _ in QUESTIONS[:4])
        failing = p.locator("#insights-failing").inner_text()
        assert "Do you ship to Jeju island?" in failing or "제주도 배송 되나요?" in failing
        journeys = p.locator("#insights-journeys")
        assert "Help page→Widget" in journeys.inner_text()
        # The variants compared: 86 conversations each are too few for a verdict.
        experiment = p.locator("#insights-experiment").inner_text()
        assert "control" in experiment and "short-answers vs control" in experiment
        assert "not yet significant" in experiment or "too few" in experiment
        replay = p.locator("#insights-replay").inner_text()
        assert "Candidate g-20261201T092800000000-d4e5f6 against live" in replay

        # The CSV link downloads the same range's events.
        href = p.locator("#insights-csv").get_attribute("href")
        assert href and href.startswith("/api/agent/insights/events.csv?from=")
        csv = p.request.get(url + href)
        assert csv.status == 200 and csv.text().startswith("at,kind,surface")
        assert csv.text().count("\n") == len(events) + 1  # the header and each event

        SHOTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(SHOTS / "insights-en.png"))
        p.locator("#insights-journeys summary").first.click()  # one journey opened
        p.screenshot(path=str(SHOTS / "insights-en-full.png"), full_page=True)

        # In Korean: the page's words and the charts' labels.
        p.select_option("#lang-switch", "ko")
        p.locator("#tab-insights").filter(has_text="인사이트").wait_for()
        for name in CHARTS:
            chart = p.locator(f"#chart-{name}")
            p.wait_for_function(
                "(img) => img.src.endsWith('lang=ko') && img.complete && img.naturalWidth > 0",
                arg=chart.element_handle(),
            )
        assert "해결률" in kpis.inner_text()
        p.evaluate("window.scrollTo(0, 0)")
        p.screenshot(path=str(SHOTS / "insights-ko.png"))
        p.screenshot(path=str(SHOTS / "insights-ko-full.png"), full_page=True)

        # A narrower range: the figures follow it.
        last = p.locator("#insights-to").input_value()
        p.fill("#insights-from", last)
        p.click("#insights-apply")
        p.locator("#insights-status").filter(has_text="1일").wait_for(timeout=10_000)
    finally:
        context.close()


def test_the_gap_report_replay_and_experiment_come_from_the_data(
    dashboard: tuple[str, list[Event]],
    browser: object,  # noqa: F811
) -> None:
    """The sections below the tables, computed by the server from the seeded week: the
    content gaps (clustered with the real USE model, a draft from the agents' replies), the
    last replay's report and the experiment's comparison."""
    url, _ = dashboard
    context = browser.new_context(  # type: ignore[attr-defined]
        http_credentials={"username": "agent", "password": AGENT_KEY},
        viewport={"width": 1280, "height": 900},
        locale="en-US",
    )
    p = context.new_page()
    try:
        p.goto(url + "/agent#insights")
        gaps = p.locator("#insights-gaps")
        gaps.locator(".gap").first.wait_for(timeout=60_000)
        text = gaps.inner_text()
        # Jeju in English and Korean is one gap; paying in crypto is another.
        jeju = gaps.locator(".gap").filter(has_text="Jeju").first
        assert re.search(r"en \d+ · ko \d+", jeju.inner_text()), jeju.inner_text()
        assert "cryptocurrency" in text
        assert "Not covered" in text
        jeju.locator("details summary").first.click()
        assert "3 to 5 business days" in jeju.inner_text()  # the draft, from the replies
        replay = p.locator("#insights-replay").inner_text()
        assert "How long is the warranty on the Lumo cam?" in replay  # the broken one, open
        experiment = p.locator("#insights-experiment").inner_text()
        assert "short-answers vs control" in experiment
        p.evaluate("document.getElementById('gaps-heading').scrollIntoView()")
        SHOTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(SHOTS / "insights-sections-en.png"))
    finally:
        context.close()
