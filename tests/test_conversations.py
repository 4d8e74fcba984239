"""Durable conversations and the hand-off loop, end to end on real servers.

Real ``helpdesk serve`` processes over the sample knowledge base (default embedding models,
extractive answers), a real database (SQLite in a temporary folder, and a real PostgreSQL
server started by the tests: see the ``postgres_url`` fixture in conftest.py), a real webhook
receiver, and the real frustration classifier.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import Server, WebhookReceiver, helpdesk_server, ingest, running

pytestmark = pytest.mark.integration

EXTRACTIVE = {"HELPDESK_LLM": "extractive"}
FIRST = "How long is the warranty on the Lumo Cam?"
FOLLOW_UP = "what about the aura speaker?"


def _ask(server: str, question: str, **extra: Any) -> dict[str, Any]:
    response = httpx.post(f"{server}/api/ask", json={"question": question, **extra}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _stop(server: Server) -> None:
    server.process.terminate()
    server.process.wait(timeout=30)


@pytest.fixture(scope="module", autouse=True)
def _index() -> None:
    ingest()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'helpdesk.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_a_conversation_survives_a_restart_and_is_shared_by_two_processes(
    database: str, tmp_path: Path
) -> None:
    settings = {**EXTRACTIVE, "HELPDESK_DATABASE_URL": database}
    one = helpdesk_server("one", settings, tmp_path)
    two = helpdesk_server("two", settings, tmp_path)
    with running([one, two], timeout=300):
        first = _ask(one.url, FIRST)
        conversation = first["conversation_id"]
        time.sleep(0.5)  # the first process's write is queued, not awaited
        # The follow-up goes to the other process, which never saw the first question.
        shared = _ask(two.url, FOLLOW_UP, conversation_id=conversation)
        assert shared["standalone_question"].startswith(FIRST), shared["standalone_question"]
        _stop(one)
        _stop(two)
    restarted = helpdesk_server("restarted", settings, tmp_path)
    with running([restarted], timeout=300):
        later = _ask(restarted.url, "and the nimbus hub?", conversation_id=conversation)
        assert FIRST in later["standalone_question"], later["standalone_question"]
        # The whole conversation is there for a hand-off after the restart.
        ticket = httpx.post(
            f"{restarted.url}/api/handoff", json={"conversation_id": conversation}, timeout=30
        )
        assert ticket.status_code == 201, ticket.text
        status = httpx.get(
            f"{restarted.url}/api/handoff/{ticket.json()['ticket_id']}",
            params={"conversation_id": conversation},
            timeout=30,
        )
        assert status.json()["status"] == "open"


# The loop server's URL, and the webhook receiver its tickets go to.
Loop = tuple[str, WebhookReceiver]


@pytest.fixture(scope="module")
def loop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, WebhookReceiver]]:
    """One server (SQLite) whose tickets go to a webhook that is down when they are made."""
    folder = tmp_path_factory.mktemp("loop")
    receiver = WebhookReceiver(fail=2)
    settings = {
        **EXTRACTIVE,
        "HELPDESK_DATABASE_URL": f"sqlite:///{folder / 'helpdesk.db'}",
        "HELPDESK_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/tickets",
        "HELPDESK_WEBHOOK_MAX_BACKOFF": "1",
    }
    serve = helpdesk_server("loop", settings, folder)
    with running([serve], timeout=300):
        yield serve.url, receiver
    receiver.stop()


FRUSTRATED = [
    "This is the third time I'm asking and the camera STILL won't connect!!! Useless.",
    "I've been waiting two weeks for my refund and nobody answers. This is ridiculous.",
    "벌써 세 번째 문의드리는데요, 아직도 카메라 연결이 안 됩니다. 언제 해결해 주시나요?",
    "환불 신청한 지 2주가 넘었는데 아무 연락도 없네요. 정말 너무하시네요.",
]
CALM = [
    "How do I change the batteries in the thermostat?",
    "Can I use the Lumo Cam outdoors in the rain?",
    "배송은 보통 며칠 걸리나요?",
    "스피커 블루투스 연결은 어떻게 하나요?",
]


def test_frustrated_messages_get_a_person_offered_and_calm_ones_do_not(
    loop_server: tuple[str, WebhookReceiver],
) -> None:
    url, _ = loop_server
    for question in FRUSTRATED:
        escalation = _ask(url, question)["escalation"]
        assert escalation["offer"] and "frustration" in escalation["reasons"], (
            question,
            escalation,
        )
    for question in CALM:
        escalation = _ask(url, question)["escalation"]
        assert not escalation["offer"], (question, escalation)


def test_a_hand_off_outlives_a_webhook_that_is_down(
    loop_server: tuple[str, WebhookReceiver],
) -> None:
    url, receiver = loop_server
    answer = _ask(url, "상담원 연결해 주세요. 카메라가 계속 오프라인이에요")
    assert "asked_for_person" in answer["escalation"]["reasons"]
    created = httpx.post(
        f"{url}/api/handoff",
        json={"conversation_id": answer["conversation_id"], "message": "급해요"},
        timeout=30,
    )
    assert created.status_code == 201
    ticket_id = created.json()["ticket_id"]
    time.sleep(3)  # attempts fail while nothing listens; the ticket waits in the outbox
    assert receiver.requests == []
    receiver.start()  # it comes back, failing twice more before it acknowledges
    deadline = time.monotonic() + 30
    while len(receiver.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # an acknowledged ticket is not sent again
    keys = set(receiver.keys)
    assert len(receiver.requests) == 3, receiver.keys
    assert len(keys) == 1 and keys != {""}  # the same key on every retry
    body = json.loads(receiver.bodies[-1])
    assert body["ticket"]["id"] == ticket_id
    assert body["ticket"]["packet"]["message"] == "급해요"
    assert body["ticket"]["packet"]["conversation"][0]["question"].startswith("상담원 연결")


PREMIUM_PAGE = "manuals/en/premium-support.md"


def test_a_plan_limited_page_reaches_only_its_plan(
    loop_server: tuple[str, WebhookReceiver],
) -> None:
    url, _ = loop_server
    question = "What is the priority phone number for premium support?"

    def cited(**context: str) -> tuple[set[str], str]:
        answer = _ask(url, question, context=context)
        return {c["source"] for c in answer["citations"]}, answer["answer"]

    premium, text = cited(plan="Premium")
    assert PREMIUM_PAGE in premium
    assert text.startswith("As a Premium plan customer:"), text  # addressed to their plan
    assert "1-800-555-0177" in text
    for context in ({}, {"plan": "basic"}, {"plan": "plus"}):
        sources, text = cited(**context)
        assert PREMIUM_PAGE not in sources, context
        assert "1-800-555-0177" not in text, context
    search = httpx.get(f"{url}/api/search", params={"q": "premium priority line"}, timeout=30)
    assert PREMIUM_PAGE not in {r["source"] for r in search.json()["results"]}


def test_the_customers_product_ranks_first(loop_server: Loop) -> None:
    url, _ = loop_server
    for question in ("What do the light colours mean?", "와이파이 연결이 안 돼요"):
        for product in ("aura-speaker", "lumo-cam", "nimbus-hub"):
            answer = _ask(url, question, context={"product": product})
            assert answer["citations"], (question, product)
            first = answer["citations"][0]
            assert first["product"] == product, (question, product, first)
