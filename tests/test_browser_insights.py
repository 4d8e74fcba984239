"""The agents' console's Insights tab in a real headless Chromium, over a week of seeded events.

A ``helpdesk serve`` of its own (no index needed: the dashboard reads only the store), whose
SQLite database gets a week of events first: both languages, every surface, visitors who
search the help page and then ask the widget as a customer, hand-offs, thumbs-down and two
experiment variants. The test checks the headline figures against the seeded events, that each
server-rendered chart loaded, and the tables; it saves screenshots in English and Korean to
``artifacts/screenshots/`` (or HELPDESK_SCREENSHOT_DIR): insights-en.png and insights-ko.png (the
first screen, which docs/screenshots/ and the README show), insights-*-full.png (the page) and
insights-sections-en.png (the gap, replay and experiment sections, with sample data).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
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
        for event in events:
            store.record_event(event)
        assert store.flush(timeout=30)
    finally:
        store.close()
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
        assert "No replay yet" in p.locator("#insights-replay").inner_text()

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


# What the content-gap report, the replay and the experiments' comparison give the dashboard
# (their modules' as_json/to_dict shapes), until they are merged: the test puts them into the
# dashboard's JSON on its way to the page.
SAMPLE_SECTIONS = {
    "gaps": [
        {
            "id": "g-7f3a",
            "size": 34,
            "kind": "missing",
            "languages": {"en": 22, "ko": 12},
            "reasons": {"not_covered": 34, "handed_off": 20},
            "question": "Do you ship to Jeju island?",
            "examples": [
                {"text": "Do you ship to Jeju island?", "language": "en", "why": "not_covered"},
                {"text": "제주도 배송 되나요?", "language": "ko", "why": "not_covered"},
            ],
            "cohesion": 0.82,
            "nearest": {
                "title": "Shipping and delivery",
                "source": "faq/en/shipping.md",
                "url": "https://help.nimbushome.example/en/shipping",
                "similarity": 0.61,
            },
            "draft": "- question: Do you ship to Jeju island?\n  answer: Yes, in 3-5 days.\n",
            "conversations": ["conv-0005"],
        }
    ],
    "replay": {
        "at": "2026-12-01T09:30:00+00:00",
        "live": "gen-20261120",
        "candidate": "gen-20261201",
        "counts": {"questions": 48, "fixed": 5, "broken": 1},
        "latency_ms": {"live": {"p50": 3900, "p95": 6100}, "candidate": {"p50": 3700, "p95": 5800}},
        "fixed": [{"question": "Do you ship to Jeju island?"}],
        "broken": [{"question": "How long is the warranty on the Lumo cam?"}],
    },
    "experiment": {
        "control": "control",
        "conversations": {"control": 86, "short-answers": 86},
        "rates": [
            {
                "metric": "resolution",
                "variant": "short-answers",
                "control": "control",
                "difference": -0.07,
                "interval": {"low": -0.21, "high": 0.08},
                "p_value": 0.36,
                "significant": False,
                "verdict": "not yet significant (86 and 86 conversations; 100 each needed)",
            }
        ],
        "latency": [
            {
                "variant": "short-answers",
                "control": "control",
                "median_difference": -398.0,
                "interval": {"low": -812.0, "high": 35.0},
                "p_value": 0.08,
                "significant": False,
                "verdict": "not yet significant (86 and 86 conversations; 100 each needed)",
            }
        ],
    },
}


def test_the_other_reports_render_when_they_come(
    dashboard: tuple[str, list[Event]],
    browser: object,  # noqa: F811
) -> None:
    url, _ = dashboard
    context = browser.new_context(  # type: ignore[attr-defined]
        http_credentials={"username": "agent", "password": AGENT_KEY},
        viewport={"width": 1280, "height": 900},
        locale="en-US",
    )

    def with_sections(route: object) -> None:
        response = route.fetch()  # type: ignore[attr-defined]
        route.fulfill(response=response, json={**response.json(), **SAMPLE_SECTIONS})  # type: ignore[attr-defined]

    context.route(re.compile(r"/api/agent/insights\?"), with_sections)
    p = context.new_page()
    try:
        p.goto(url + "/agent#insights")
        gaps = p.locator("#insights-gaps")
        gaps.locator(".gap").first.wait_for(timeout=20_000)
        text = gaps.inner_text()
        assert "Do you ship to Jeju island?" in text and "en 22 · ko 12" in text
        assert "Not covered ×34" in text
        link = gaps.locator("a.citation")
        assert link.get_attribute("href") == "https://help.nimbushome.example/en/shipping"
        replay = p.locator("#insights-replay").inner_text()
        assert "Candidate gen-20261201 against live gen-20261120" in replay
        assert "How long is the warranty on the Lumo cam?" in replay  # the broken one, open
        experiment = p.locator("#insights-experiment").inner_text()
        assert "not yet significant" in experiment
        assert "[-21%, 8%]" in experiment and "short-answers vs control" in experiment
        p.locator("#gaps-heading").scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        p.locator("#insights-gaps details summary").first.click()
        p.evaluate("document.getElementById('gaps-heading').scrollIntoView()")
        p.screenshot(path=str(SHOTS / "insights-sections-en.png"))
    finally:
        context.close()
