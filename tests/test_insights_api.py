"""The insights dashboard's endpoints through Flask's test client: behind the agent credential,
422 problem+json for a bad date range, the JSON the console shows, the charts as SVG and the
events as CSV (with formula injection neutralised). No index is needed: only the store."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import NO_RATE_LIMITS
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.api.insights import CSV_COLUMNS, EMBED_EXTENSION
from helpdesk.config import Settings
from helpdesk.service import Helpdesk
from helpdesk.store import Event

KEY = "insights-agent-key"
AGENT = {"Authorization": "Basic " + base64.b64encode(f"mina:{KEY}".encode()).decode()}
TODAY = datetime.now(UTC).date()
ENDPOINTS = (
    "/api/agent/insights",
    "/api/agent/insights/charts/rates.svg",
    "/api/agent/insights/events.csv",
)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[FlaskClient, Helpdesk]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'helpdesk.db'}",
        agent_keys=KEY,
        **NO_RATE_LIMITS,
    )
    helpdesk = Helpdesk(settings)
    store = helpdesk.require_store()
    yesterday = TODAY - timedelta(days=1)
    for event in (
        Event(at(yesterday, 9), "search", "help", visitor_id="v1", text="reset", outcome="results"),
        Event(at(yesterday, 10), "ask", "widget", visitor_id="v1", customer_id="c-7",
              conversation_id="conv-1", turn_id="t1", text="=HYPERLINK(\"http://x\")",
              outcome="not_covered", language="en", first_ms=90.0, total_ms=900.0),
        Event(at(TODAY, 1), "ask", "help", visitor_id="v2", conversation_id="conv-2",
              turn_id="t2", text="+1 555", outcome="answered", language="en",
              first_ms=110.0, total_ms=1100.0, data={"note": "-x"}),
        Event(at(TODAY, 2), "feedback", "help", visitor_id="v2", conversation_id="conv-2",
              turn_id="t2", text="@SUM(A1)", outcome="down", language="en"),
        Event(at(TODAY - timedelta(days=30), 2), "ask", "help", text="a month ago",
              outcome="answered", conversation_id="conv-old"),
    ):  # fmt: skip
        store.record_event(event)
    assert store.flush(timeout=10)
    app = create_app(settings, helpdesk)
    app.extensions[EMBED_EXTENSION] = unrelated
    yield app.test_client(), helpdesk
    helpdesk.close()


def unrelated(texts: list[str]) -> np.ndarray:
    """Sentence vectors for the come-back check that make no two texts alike."""
    vectors = np.zeros((len(texts), max(1, len(texts))), dtype=np.float32)
    for i in range(len(texts)):
        vectors[i, i] = 1.0
    return vectors


@pytest.mark.parametrize("path", ENDPOINTS)
def test_without_the_agent_credential_it_is_401(
    served: tuple[FlaskClient, Helpdesk], path: str
) -> None:
    client, _ = served
    response = client.get(path)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = {"Authorization": "Basic " + base64.b64encode(b"mina:nope").decode()}
    assert client.get(path, headers=wrong).status_code == 403


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-13-01", "bad_date"),
        ("to=yesterday", "bad_date"),
        ("from=20261101", "bad_date"),  # date.fromisoformat takes it; the API does not
        ("from=0001-01-01&to=0001-01-02", "bad_date"),
        ("to=9999-12-31", "bad_date"),
        ("from=2026-11-10&to=2026-11-01", "bad_date_range"),
        ("from=2025-01-01&to=2026-01-02", "bad_date_range"),  # 367 days
    ],
)
def test_a_bad_date_range_is_422(
    served: tuple[FlaskClient, Helpdesk], path: str, query: str, code: str
) -> None:
    client, _ = served
    response = client.get(f"{path}?{query}", headers=AGENT)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code


def test_a_year_and_an_unknown_parameter(served: tuple[FlaskClient, Helpdesk]) -> None:
    client, _ = served
    year = client.get("/api/agent/insights?from=2025-01-01&to=2025-12-31", headers=AGENT)
    assert year.status_code == 200
    assert year.get_json()["range"]["days"] == 365
    unknown = client.get("/api/agent/insights?since=2025-01-01", headers=AGENT)
    assert unknown.status_code == 400
    assert unknown.get_json()["code"] == "unknown_parameter"


def test_the_dashboard_json_covers_the_last_7_days_by_default(
    served: tuple[FlaskClient, Helpdesk],
) -> None:
    client, _ = served
    response = client.get("/api/agent/insights", headers=AGENT)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    first = (TODAY - timedelta(days=6)).isoformat()
    assert body["range"] == {"from": first, "to": TODAY.isoformat(), "days": 7}
    totals = body["totals"]
    # Two asks (the month-old one is outside), one search; one not covered, one thumbs-down.
    assert (totals["asks"], totals["searches"], totals["conversations"]) == (2, 1, 2)
    assert totals["not_covered_rate"] == totals["thumbs_down_rate"] == 0.5
    assert totals["resolution_rate"] == 0.0
    assert totals["provisional"] == 2  # both within the come-back window still
    assert len(body["daily"]) == 7
    assert body["journeys"][0]["who"] == "v2"
    assert {j["who"] for j in body["journeys"]} == {"v2", "c-7"}
    assert set(body["charts"]) == {"questions", "languages", "rates", "handoffs", "latency"}
    assert body["charts"]["rates"] == (
        f"/api/agent/insights/charts/rates.svg?from={first}&to={TODAY.isoformat()}"
    )
    assert body["csv"].startswith("/api/agent/insights/events.csv?from=")
    # Two failed questions on two topics: no gap of two or more yet. No replay has run, and
    # no experiment: the console shows each as an empty state.
    assert body["gaps"] == [] and body["replay"] is None and body["experiment"] is None


def test_a_chart_is_svg(served: tuple[FlaskClient, Helpdesk]) -> None:
    client, _ = served
    response = client.get("/api/agent/insights/charts/questions.svg?lang=ko", headers=AGENT)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "도움말 검색" in svg
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    unknown = client.get("/api/agent/insights/charts/secrets.svg", headers=AGENT)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "unknown_chart"
    french = client.get("/api/agent/insights/charts/rates.svg?lang=fr", headers=AGENT)
    assert french.status_code == 422


def test_the_csv_has_a_header_and_neutralises_formulas(
    served: tuple[FlaskClient, Helpdesk],
) -> None:
    client, helpdesk = served
    response = client.get("/api/agent/insights/events.csv", headers=AGENT)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="helpdesk-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["kind"] for r in records] == ["search", "ask", "ask", "feedback"]
    texts = [r["text"] for r in records]
    assert texts == ["reset", '\'=HYPERLINK("http://x")', "'+1 555", "'@SUM(A1)"]
    assert records[1]["customer_id"] == "c-7" and records[1]["first_ms"] == "90.0"
    assert records[2]["data"] == '{"note": "-x"}'  # JSON, which starts with "{"
    assert records[0]["first_ms"] == ""  # None is an empty cell
    # The export is in the audit log, with who did it.
    store = helpdesk.require_store()
    assert store.flush(timeout=10)
    exports = [e for e in store.audit() if e.action == "export"]
    assert exports and exports[0].agent == "mina"


def test_an_empty_range_gives_a_header_only(served: tuple[FlaskClient, Helpdesk]) -> None:
    client, _ = served
    response = client.get(
        "/api/agent/insights/events.csv?from=2020-01-01&to=2020-01-31", headers=AGENT
    )
    assert response.get_data(as_text=True).strip() == ",".join(CSV_COLUMNS)


def test_a_page_load_builds_one_report(
    served: tuple[FlaskClient, Helpdesk], monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk.api import insights

    built: list[object] = []
    build = insights.build_report

    def counted(*args: object, **kwargs: object) -> object:
        built.append(args)
        return build(*args, **kwargs)  # type: ignore[arg-type]

    client, _ = served
    monkeypatch.setattr(insights, "build_report", counted)
    body = client.get("/api/agent/insights", headers=AGENT).get_json()
    for url in body["charts"].values():
        assert client.get(url, headers=AGENT).status_code == 200
    assert len(built) == 1
    # Another range is another report.
    client.get("/api/agent/insights?from=2026-01-01&to=2026-01-02", headers=AGENT)
    assert len(built) == 2


def test_two_variants_are_compared(served: tuple[FlaskClient, Helpdesk]) -> None:
    client, helpdesk = served
    store = helpdesk.require_store()
    for i in range(12):
        variant = ("control", "shorter")[i % 2]
        store.record_event(
            Event(at(TODAY, 3), "ask", "widget", visitor_id=f"x{i}", conversation_id=f"ab-{i}",
                  turn_id=f"ab-t{i}", variant=variant, text="q", outcome="answered",
                  verification="passed", first_ms=100.0, total_ms=1000.0 + i)
        )  # fmt: skip
    assert store.flush(timeout=10)
    body = client.get("/api/agent/insights", headers=AGENT).get_json()
    experiment = body["experiment"]
    assert experiment["control"] == "control"  # no experiment is served: the one so named
    assert experiment["conversations"] == {"control": 6, "shorter": 6}
    assert [r["metric"] for r in experiment["rates"]] == ["resolution", "thumbs_down", "handoff"]
    assert all(not r["significant"] for r in experiment["rates"])
    assert "interval" in experiment["rates"][0] and experiment["latency"][0]["verdict"]
    assert [v["variant"] for v in body["variants"]] == ["", "control", "shorter"]


def by_topic(texts: list[str]) -> np.ndarray:
    """Sentence vectors that put every text about paying in crypto in one place, and every
    other text apart from all the rest."""
    crypto = ("bitcoin", "비트코인", "crypto")
    rows = np.zeros((len(texts), len(texts) + 1), dtype=np.float32)
    for i, text in enumerate(texts):
        rows[i, 0 if any(w in text.lower() for w in crypto) else i + 1] = 1.0
    return rows


def test_the_dashboard_shows_the_gap_report_and_the_last_replay(
    served: tuple[FlaskClient, Helpdesk],
) -> None:
    client, helpdesk = served
    store = helpdesk.require_store()
    for n, text in enumerate(["Can I pay with bitcoin?", "비트코인으로 결제되나요?"]):
        store.record_event(
            Event(at(TODAY, 3), "ask", "widget", conversation_id=f"crypto-{n}", turn_id=f"k{n}",
                  text=text, outcome="not_covered", verification="none",
                  language="ko" if n else "en")
        )  # fmt: skip
    assert store.flush(timeout=10)
    replays = helpdesk.layout.data_dir / "replay"
    replays.mkdir(parents=True)
    (replays / "last.json").write_text(
        '{"candidate": "g-new", "live": "g-old", "fixed": [], "broken": []}', "utf-8"
    )
    app = client.application
    app.extensions[EMBED_EXTENSION] = by_topic
    body = client.get("/api/agent/insights", headers=AGENT).get_json()
    (gap,) = body["gaps"]
    assert gap["size"] == 2 and gap["kind"] == "missing"
    assert gap["languages"] == {"en": 1, "ko": 1}
    assert gap["nearest"] is None  # no index in this data folder: the gap shows without it
    replay = body["replay"]
    assert replay["candidate"] == "g-new" and replay["promotable"] is False
    assert "no candidate in" in replay["promotion_problem"]
