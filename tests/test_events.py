"""Events for the insights: every search, question, hand-off and feedback is recorded with its
surface, anonymous visitor, customer id, variant and latency, its free text redacted.

Flask's test client over the small index (fake embedder) and a real store (SQLite, then
PostgreSQL), with the stand-in frustration classifier of test_handoff.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import build_small_index
from flask.testing import FlaskClient
from test_handoff import StubClassifier

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.experiments import VARIANTS_EXTENSION, Experiment, ExperimentError
from helpdesk.service import Helpdesk
from helpdesk.store import Event, Store

VISITOR = "v-0123456789abcdef"
HEADERS = {"X-Helpdesk-Visitor": VISITOR}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("events"))


@pytest.fixture()
def served(built: Settings, store_url: str) -> Iterator[tuple[FlaskClient, Helpdesk]]:
    settings = built.replace(database_url=store_url)
    helpdesk = Helpdesk(settings, classifier=StubClassifier())  # type: ignore[arg-type]
    yield create_app(settings, helpdesk).test_client(), helpdesk
    helpdesk.close()


def events(helpdesk: Helpdesk) -> list[Event]:
    store = helpdesk.store()
    assert store is not None
    assert store.flush(timeout=10)
    return store.events()


def test_a_journey_is_recorded_event_by_event(served: tuple[FlaskClient, Helpdesk]) -> None:
    client, helpdesk = served
    searched = client.get("/api/search?q=return+policy&surface=help", headers=HEADERS)
    assert searched.status_code == 200
    asked = client.post(
        "/api/ask",
        json={
            "question": "How long do I have to return a product? I'm kim@example.com",
            "surface": "widget",
            "context": {"customer_id": "cust-42", "plan": "premium"},
        },
        headers=HEADERS,
    ).get_json()
    conversation = asked["conversation_id"]
    feedback = client.post(
        "/api/feedback",
        json={
            "conversation_id": conversation,
            "answer_id": asked["answer_id"],
            "helpful": False,
            "reason": "wrong",
            "comment": "call me on 010-1234-5678",
        },
        headers=HEADERS,
    )
    assert feedback.status_code == 200
    handed = client.post("/api/handoff", json={"conversation_id": conversation}, headers=HEADERS)
    assert handed.status_code == 201

    search, ask, rating, handoff = events(helpdesk)
    assert [e.kind for e in (search, ask, rating, handoff)] == [
        "search",
        "ask",
        "feedback",
        "handoff",
    ]
    assert all(e.visitor_id == VISITOR for e in (search, ask, rating, handoff))
    assert search.surface == "help" and search.outcome == "results" and search.text
    assert search.data["results"] and search.total_ms is not None
    assert ask.surface == "widget" and ask.customer_id == "cust-42"
    assert ask.conversation_id == conversation and ask.turn_id == asked["answer_id"]
    assert ask.outcome == ("not_covered" if asked["handoff"] else "answered")
    assert ask.verification in ("quoted", "none") and ask.generated_by == "extractive"
    assert ask.first_ms is not None and ask.total_ms is not None
    assert ask.first_ms <= ask.total_ms
    # Free text is stored redacted: no e-mail address, no phone number.
    assert "kim@example.com" not in ask.text and "[email]" in ask.text.lower()
    assert "1234-5678" not in rating.text and rating.outcome == "down"
    assert rating.data == {"reason": "wrong"} and rating.surface == "widget"
    assert handoff.outcome == "created" and handoff.customer_id == "cust-42"
    assert handoff.data["ticket"] == handed.get_json()["ticket_id"]


def test_a_bare_api_call_names_its_surface_and_no_visitor(
    served: tuple[FlaskClient, Helpdesk],
) -> None:
    client, helpdesk = served
    assert client.get("/api/search?q=zzqx+blorf").status_code == 200
    assert client.post("/api/ask", json={"question": "warranty?"}).status_code == 200
    search, ask = events(helpdesk)
    assert search.surface == ask.surface == "api"
    assert search.visitor_id is None and ask.visitor_id is None
    assert search.outcome == "no_results" and search.data["results"] == []


BAD_VISITORS = ["short", "has spaces in it", "x" * 65, "<script>alert</script>"]


@pytest.mark.parametrize("header", BAD_VISITORS)
def test_a_malformed_visitor_id_is_refused(
    served: tuple[FlaskClient, Helpdesk], header: str
) -> None:
    client, helpdesk = served
    response = client.get("/api/search?q=warranty", headers={"X-Helpdesk-Visitor": header})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "bad_visitor_id"
    assert events(helpdesk) == []


def test_events_older_than_the_retention_are_purged(store_url: str) -> None:
    store = Store(store_url, retention_days=30)
    store.migrate()
    now = datetime.now(UTC)
    for days in (40, 31, 29, 1):
        store.record_event(
            Event(at=now - timedelta(days=days), kind="ask", surface="help", text=str(days))
        )
    assert store.flush(timeout=10)
    counts = store.purge(now=now)
    assert counts["events"] == 2
    assert [e.text for e in store.events()] == ["29", "1"]
    assert [e.text for e in store.events(since=now - timedelta(days=2))] == ["1"]
    store.close()


def test_the_cors_preflight_allows_the_visitor_header(built: Settings) -> None:
    settings = built.replace(cors_origins="https://shop.example.com")
    client = create_app(settings, Helpdesk(settings, store=None)).test_client()
    response = client.options(
        "/api/ask",
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-helpdesk-visitor",
        },
    )
    allowed = response.headers.get("Access-Control-Allow-Headers", "").lower()
    assert "x-helpdesk-visitor" in allowed


def test_each_visitor_is_served_and_recorded_by_their_variant(
    built: Settings, tmp_path: Path
) -> None:
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(
        "name: fewer-passages\nvariants:\n  control: {}\n  fewer: {top_k: 1}\n", encoding="utf-8"
    )
    settings = built.replace(
        database_url=f"sqlite:///{tmp_path / 'helpdesk.db'}", experiment=str(experiment)
    )
    helpdesk = Helpdesk(settings, classifier=StubClassifier())  # type: ignore[arg-type]
    app = create_app(settings, helpdesk)
    client = app.test_client()
    split = Experiment.load(experiment)
    visitors = [f"v-visitor-{n:04d}" for n in range(12)]
    assert {split.variant_for(v) for v in visitors} == {"control", "fewer"}
    for visitor in visitors:
        headers = {"X-Helpdesk-Visitor": visitor}
        asked = client.post(
            "/api/ask", json={"question": "How do I return a product?"}, headers=headers
        ).get_json()
        client.get("/api/search?q=warranty", headers=headers)
        client.post(
            "/api/feedback",
            json={"conversation_id": asked["conversation_id"], "helpful": True},
            headers=headers,
        )
    recorded = events(helpdesk)
    assert len(recorded) == 3 * len(visitors)
    for event in recorded:
        assert event.variant == split.variant_for(event.visitor_id), event
    app.extensions[VARIANTS_EXTENSION].close()


def test_a_bad_experiment_file_stops_the_app_with_its_reason(
    built: Settings, tmp_path: Path
) -> None:
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text("name: x\nvariants:\n  a: {data_dir: /tmp}\n  b: {}\n", "utf-8")
    settings = built.replace(experiment=str(experiment))
    with pytest.raises(ExperimentError, match="data_dir"):
        create_app(settings, Helpdesk(settings, store=None))
