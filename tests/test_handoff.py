"""The hand-off loop through the HTTP API: answers that offer a person, feedback, tickets with
their context packet, the agents' actions on them, and a database that goes away.

Flask's test client over the small index (fake embedder), a real store (SQLite in the test's
data folder, and PostgreSQL where marked), and a stand-in frustration classifier whose scores
the test decides; the real classifier is tested in test_frustration.py and end to end in
test_conversations.py.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import build_small_index
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.escalation import Signals, escalation, person_reply, repeats
from helpdesk.frustration import Mood, message_cues
from helpdesk.handoff import context_packet, frustration_trend
from helpdesk.service import Helpdesk
from helpdesk.store import FeedbackRecord, Store, TurnRecord
from helpdesk.types import Answer

KEY = "agent-key-123"
RULES = ("asked_for_person", "frustration", "repeated", "not_covered_twice", "thumbs_down")


class StubClassifier:
    """Frustration 0.9 for a message with "angry" or "화나" in it, 0.1 otherwise; real cues."""

    def warm_up(self) -> None:
        pass

    def mood(self, text: str) -> Mood:
        angry = "angry" in text.lower() or "화나" in text
        return Mood(
            label="angry" if angry else "calm",
            probabilities={},
            cues=message_cues(text),
            frustration=0.9 if angry else 0.1,
        )


def agent(user: str = "mina") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{KEY}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("handoff")).replace(agent_keys=KEY)


def _client(settings: Settings, **edges: Any) -> tuple[FlaskClient, Helpdesk]:
    helpdesk = Helpdesk(settings, classifier=StubClassifier(), **edges)  # type: ignore[arg-type]
    return create_app(settings, helpdesk).test_client(), helpdesk


@pytest.fixture()
def client(built: Settings, tmp_path: Path) -> Any:
    # A database of its own per test: tickets from one test never show in another.
    settings = built.replace(database_url=f"sqlite:///{tmp_path / 'helpdesk.db'}")
    client, helpdesk = _client(settings)
    yield client
    helpdesk.close()


def ask(client: FlaskClient, question: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/ask", json={"question": question, **body})
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


# -- the rules and the packet, on their own ---------------------------------------------------


def test_each_rule_fires_on_its_signal_and_only_when_it_is_on() -> None:
    assert escalation(Signals(), RULES, 0.6).offer is False
    cases = {
        "asked_for_person": Signals(asked_for_person=True),
        "frustration": Signals(frustration=0.7),
        "repeated": Signals(repeated=True),
        "not_covered_twice": Signals(not_covered=True, previous_not_covered=True),
        "thumbs_down": Signals(thumbs_down=True),
    }
    for rule, signals in cases.items():
        fired = escalation(signals, RULES, 0.6)
        assert fired.offer and fired.reasons == (rule,), rule
        assert escalation(signals, [r for r in RULES if r != rule], 0.6).offer is False, rule
    assert escalation(Signals(not_covered=True), RULES, 0.6).offer is False  # once is not twice
    assert escalation(Signals(frustration=0.59), RULES, 0.6).offer is False


def test_a_repeated_question_is_the_same_words_or_a_near_vector() -> None:
    earlier = ["How do I reset my Lumo Cam?", "ok"]
    assert repeats("how do i reset my lumo cam", None, earlier, None)
    assert not repeats("ok", None, earlier, None)  # "ok" twice is not asking twice
    assert not repeats("How do I charge it?", None, earlier, None)
    near, far = [1.0, 0.0], [0.0, 1.0]
    assert repeats("HOW DO I RESET THE CAMERA??", near, earlier[:1], [[0.9, 0.43589]])
    assert not repeats("what does the warranty cover", far, earlier[:1], [[1.0, 0.0]])


def _turn(n: int, frustration: float, *, not_covered: bool = False, **extra: Any) -> TurnRecord:
    values: dict[str, Any] = {
        "id": f"answer-{n:04d}",
        "conversation_id": "conversation-1",
        "at": datetime(2026, 12, 1, 9, n, tzinfo=UTC),
        "question": f"question {n}",
        "standalone": f"question {n}",
        "answer": "" if not_covered else f"answer {n} [1]",
        "language": "ko",
        "reader": "public",
        "surface": "widget",
        "not_covered": not_covered,
        "grounded": not not_covered,
        "confidence": 0.2 if not_covered else 0.7,
        "generated_by": "extractive",
        "citations": [] if not_covered else [{"title": "Returns", "url": "https://h/returns"}],
        "sources": [
            {"title": "Returns", "url": "https://h/returns", "source": "faq.yaml"},
            {"title": "Warranty", "url": "https://h/warranty", "source": "warranty.md"},
        ],
        "verification": None,
        "fallback_reason": "",
        "frustration": frustration,
        "mood": "calm",
        "cues": [],
        "escalation": [],
        "timings": {},
        "context": {"product": "lumo-cam", "plan": "plus", "customer_id": "C-1"},
    }
    values.update(extra)
    return TurnRecord(**values)


def test_the_packet_holds_everything_the_agent_needs() -> None:
    turns = [
        _turn(1, 0.1),
        _turn(2, 0.5, not_covered=True),
        _turn(3, 0.85, not_covered=True, escalation=["frustration"]),
    ]
    feedback = [
        FeedbackRecord("conversation-1", "answer-0001", False, "wrong", "not this", turns[0].at)
    ]
    packet = context_packet(
        turns, feedback, language="en", reasons=["requested"], message="please call me"
    )
    assert [t["question"] for t in packet["conversation"]] == [
        "question 1",
        "question 2",
        "question 3",
    ]
    assert packet["customer"] == {"product": "lumo-cam", "plan": "plus", "customer_id": "C-1"}
    assert packet["frustration"] == {
        "trend": [0.1, 0.5, 0.85],
        "latest": 0.85,
        "peak": 0.85,
        "direction": "rising",
    }
    assert [s["title"] for s in packet["sources"]] == ["Returns", "Warranty"]  # each once
    assert packet["reasons"] == ["requested", "frustration"]
    assert packet["message"] == "please call me"
    assert len(packet["tried"]) == 3
    assert "unhelpful (wrong)" in packet["tried"][0] and "not this" in packet["tried"][0]
    assert "found no answer" in packet["tried"][1]
    summary = packet["summary"]
    assert "plus plan" in summary and "3 questions in Korean" in summary
    assert "answered 1" in summary and "could not cover 2" in summary and "rising" in summary
    korean = context_packet(turns, feedback, language="ko")["summary"]
    assert "질문을 3개" in korean or "3개의 질문" in korean
    assert "높아지는 중" in korean


def test_a_trend_needs_a_real_change_to_move() -> None:
    assert frustration_trend([_turn(1, 0.3), _turn(2, 0.35)])["direction"] == "steady"
    assert frustration_trend([_turn(1, 0.8), _turn(2, 0.2)])["direction"] == "falling"
    assert frustration_trend([])["trend"] == []


# -- through the API --------------------------------------------------------------------------


def test_an_answer_carries_its_id_and_whether_to_offer_a_person(client: FlaskClient) -> None:
    calm = ask(client, "How do I pair Bluetooth on the speaker?")
    assert calm["answer_id"] and calm["conversation_id"]
    assert calm["escalation"] == {"offer": False, "reasons": [], "frustration": 0.1}
    angry = ask(
        client, "I am angry, the speaker still won't pair", conversation_id=calm["conversation_id"]
    )
    assert angry["escalation"]["offer"] is True
    assert angry["escalation"]["reasons"] == ["frustration"]


def test_asking_for_a_person_offers_one_in_either_language(client: FlaskClient) -> None:
    for question in ("Can I talk to a human please", "상담원 연결해 주세요"):
        answer = ask(client, question)
        assert answer["escalation"]["offer"] is True, question
        assert "asked_for_person" in answer["escalation"]["reasons"], question
        # A person, not a quote from a page that shares the message's words.
        assert answer["handoff"] is True and answer["citations"] == [], question
        assert answer["answer"].startswith(("Of course, I'll connect you", "네, 상담원과")), (
            question
        )


def test_a_confident_answer_stays_when_a_person_is_asked_for() -> None:
    answer = Answer("Returns are free for 30 days. [1]", (), True, 0.9, "en")
    assert person_reply(answer, "help@example.com") is answer
    unsure = person_reply(replace(answer, confidence=0.4), "help@example.com")
    assert unsure.handoff and "help@example.com" in unsure.text


def test_the_same_question_again_offers_a_person(client: FlaskClient) -> None:
    first = ask(client, "How long do I have to return a product?")
    again = ask(
        client,
        "how long do I have to return a product???",
        conversation_id=first["conversation_id"],
    )
    assert again["escalation"]["reasons"] == ["repeated"]


def test_two_not_covered_answers_in_a_row_offer_a_person(client: FlaskClient) -> None:
    first = ask(client, "Can I pay for my order with bitcoin?")
    assert first["handoff"] is True and first["escalation"]["offer"] is False
    second = ask(
        client, "Do you sell gift cards for birthdays?", conversation_id=first["conversation_id"]
    )
    assert second["handoff"] is True
    assert second["escalation"]["reasons"] == ["not_covered_twice"]


def test_the_rules_can_be_turned_off(built: Settings, tmp_path: Path) -> None:
    settings = built.replace(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", escalation_rules=()
    )
    client, helpdesk = _client(settings)
    try:
        answer = ask(client, "I am angry, get me a human")
        assert answer["escalation"] == {"offer": False, "reasons": [], "frustration": 0.9}
    finally:
        helpdesk.close()


def test_the_customer_context_is_checked(client: FlaskClient) -> None:
    bad = [
        ({"context": "pro"}, "bad_context"),
        ({"context": {"tier": "pro"}}, "unknown_context_field"),
        ({"context": {"plan": 3}}, "bad_plan"),
        ({"context": {"locale": "korean!"}}, "bad_locale"),
        ({"surface": "fax"}, "unknown_surface"),
    ]
    for extra, code in bad:
        response = client.post("/api/ask", json={"question": "refund", **extra})
        assert response.status_code in (400, 422), extra
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == code, extra
    good = ask(
        client,
        "How long do I have to return a product?",
        context={"product": "lumo-cam", "plan": "Plus", "locale": "en-US", "customer_id": "C-9"},
        surface="widget",
    )
    assert good["answer"]


def test_a_thumbs_down_offers_a_person_and_a_thumbs_up_does_not(client: FlaskClient) -> None:
    answer = ask(client, "How long do I have to return a product?")
    ids = {"conversation_id": answer["conversation_id"], "answer_id": answer["answer_id"]}
    up = client.post("/api/feedback", json={**ids, "helpful": True})
    assert up.status_code == 200 and up.get_json() == {"recorded": True, "offer_handoff": False}
    down = client.post(
        "/api/feedback",
        json={**ids, "helpful": False, "reason": "incomplete", "comment": "what about sale items"},
    )
    assert down.get_json() == {"recorded": True, "offer_handoff": True}
    for body, code in (
        ({**ids, "helpful": False, "reason": "boring"}, "unknown_reason"),
        ({**ids, "helpful": False, "comment": "x" * 1001}, "comment_too_long"),
        ({**ids, "helpful": "no"}, "bad_helpful"),
    ):
        response = client.post("/api/feedback", json=body)
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == code


def test_a_hand_off_creates_one_ticket_with_the_context_packet(client: FlaskClient) -> None:
    first = ask(
        client,
        "How long do I have to return a product?",
        context={"product": "lumo-cam", "plan": "plus", "customer_id": "C-42"},
    )
    conversation = first["conversation_id"]
    ask(client, "I am angry, nobody answers my emails", conversation_id=conversation)
    client.post(
        "/api/feedback",
        json={"conversation_id": conversation, "answer_id": first["answer_id"], "helpful": False},
    )
    response = client.post(
        "/api/handoff", json={"conversation_id": conversation, "message": "call me after 6"}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["reference"].startswith("HD-") and created["status"] == "open"
    assert created["reference"] in created["message"]
    assert response.headers["Location"] == f"/api/handoff/{created['ticket_id']}"
    again = client.post("/api/handoff", json={"conversation_id": conversation}).get_json()
    assert again["ticket_id"] == created["ticket_id"]  # one open ticket per conversation

    listed = client.get("/api/agent/tickets?status=open", headers=agent()).get_json()["tickets"]
    assert [t["id"] for t in listed] == [created["ticket_id"]]
    ticket = client.get(f"/api/agent/tickets/{created['ticket_id']}", headers=agent()).get_json()
    packet = ticket["packet"]
    assert [turn["question"] for turn in packet["conversation"]] == [
        "How long do I have to return a product?",
        "I am angry, nobody answers my emails",
    ]
    assert packet["customer"] == {"product": "lumo-cam", "plan": "plus", "customer_id": "C-42"}
    assert packet["frustration"]["trend"] == [0.1, 0.9]
    assert packet["frustration"]["direction"] == "rising"
    assert packet["message"] == "call me after 6"
    assert {"requested", "thumbs_down", "frustration"} <= set(packet["reasons"])
    assert packet["sources"] and packet["tried"] and packet["summary"]
    assert "unhelpful" in packet["tried"][0]


def test_agents_claim_reply_and_resolve_and_the_customer_sees_the_reply(
    client: FlaskClient,
) -> None:
    answer = ask(client, "How long do I have to return a product?")
    conversation = answer["conversation_id"]
    ticket = client.post("/api/handoff", json={"conversation_id": conversation}).get_json()
    base = f"/api/agent/tickets/{ticket['ticket_id']}"
    claimed = client.post(f"{base}/claim", headers=agent("mina")).get_json()
    assert claimed["status"] == "claimed" and claimed["claimed_by"] == "mina"
    taken = client.post(f"{base}/claim", headers=agent("joon"))
    assert taken.status_code == 409 and taken.mimetype == "application/problem+json"
    replied = client.post(
        f"{base}/reply", json={"text": "Sale items too: 30 days."}, headers=agent("mina")
    ).get_json()
    assert [r["text"] for r in replied["replies"]] == ["Sale items too: 30 days."]
    assert replied["replies"][0]["author"] == "mina"
    empty = client.post(f"{base}/reply", json={"text": "  "}, headers=agent("mina"))
    assert empty.status_code == 400 and empty.get_json()["code"] == "empty_reply"
    resolved = client.post(f"{base}/resolve", headers=agent("mina")).get_json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]

    status = client.get(
        f"/api/handoff/{ticket['ticket_id']}", query_string={"conversation_id": conversation}
    ).get_json()
    assert status["status"] == "resolved"
    assert [r["text"] for r in status["replies"]] == ["Sale items too: 30 days."]
    stranger = client.get(
        f"/api/handoff/{ticket['ticket_id']}", query_string={"conversation_id": "someone-else-1"}
    )
    assert stranger.status_code == 404  # a ticket id alone shows nothing


def test_tickets_need_the_agents_credential(client: FlaskClient) -> None:
    assert client.get("/api/agent/tickets").status_code == 401
    response = client.get("/api/agent/tickets?status=lost", headers=agent())
    assert response.status_code == 422 and response.get_json()["code"] == "unknown_status"
    missing = client.get("/api/agent/tickets/nope-nope-nope", headers=agent())
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_a_hand_off_needs_a_conversation_the_customer_had(client: FlaskClient) -> None:
    unknown = client.post("/api/handoff", json={"conversation_id": "never-asked-1234"})
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "unknown_conversation"
    bad = client.post("/api/handoff", json={"conversation_id": "x"})
    assert bad.status_code == 422
    # An agent's conversation is not the public's to hand off (or to read through a ticket).
    asked = client.post(
        "/api/agent/ask",
        json={"question": "How long do I have to return a product?"},
        headers=agent(),
    ).get_json()
    leaked = client.post("/api/handoff", json={"conversation_id": asked["conversation_id"]})
    assert leaked.status_code == 404


def test_a_database_that_is_down_never_stops_answers(built: Settings) -> None:
    # Nothing listens on port 9: every connection is refused at once.
    down = built.replace(database_url="postgresql+psycopg://nobody@127.0.0.1:9/helpdesk")
    client, helpdesk = _client(down)
    try:
        first = ask(client, "How long do I have to return a product?")
        assert first["answer"] and first["answer_id"]
        # The follow-up still works from this process's memory.
        second = ask(client, "what about the lumo cam?", conversation_id=first["conversation_id"])
        assert second["standalone_question"].startswith("How long do I have to return")
        for path, body in (
            ("/api/handoff", {"conversation_id": first["conversation_id"]}),
            ("/api/feedback", {"conversation_id": first["conversation_id"], "helpful": False}),
        ):
            response = client.post(path, json=body)
            assert response.status_code in (200, 503), path
            if response.status_code == 503:
                assert response.mimetype == "application/problem+json"
                assert response.get_json()["code"] == "store_unavailable"
        listed = client.get("/api/agent/tickets", headers=agent())
        assert listed.status_code == 503
    finally:
        helpdesk.close()


def test_without_a_store_answers_work_and_tickets_say_why_not(built: Settings) -> None:
    client, _ = _client(built, store=None)
    answer = ask(client, "How long do I have to return a product?")
    response = client.post("/api/handoff", json={"conversation_id": answer["conversation_id"]})
    assert response.status_code == 503
    assert "not stored" in response.get_json()["detail"]


def test_retention_purges_old_conversations(built: Settings, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    client, helpdesk = _client(built.replace(database_url=url))
    answer = ask(client, "How long do I have to return a product?")
    helpdesk.close()
    store = Store(url, retention_days=1)
    try:
        assert store.turns(answer["conversation_id"])
        purged = store.purge(now=datetime.now(UTC) + timedelta(days=2))
        assert purged.get("conversations", 0) >= 1
        assert store.turns(answer["conversation_id"]) == []
    finally:
        store.close()


def test_personal_data_never_reaches_the_store(client: FlaskClient) -> None:
    answer = ask(client, "My email is kim@example.com, how long do I have to return a product?")
    conversation = answer["conversation_id"]
    client.post(
        "/api/feedback",
        json={
            "conversation_id": conversation,
            "answer_id": answer["answer_id"],
            "helpful": False,
            "comment": "call 010-1234-5678",
        },
    )
    created = client.post(
        "/api/handoff", json={"conversation_id": conversation, "message": "주민번호 900101-1234567"}
    ).get_json()
    ticket = client.get(f"/api/agent/tickets/{created['ticket_id']}", headers=agent()).get_json()
    stored = str(ticket)
    for secret in ("kim@example.com", "010-1234-5678", "900101-1234567"):
        assert secret not in stored
    packet = ticket["packet"]
    assert packet["conversation"][0]["question"].startswith("My email is [email]")
    assert packet["message"] == "주민번호 [rrn]"
    assert "[phone]" in " ".join(packet["tried"])


def test_a_request_for_a_person_is_not_counted_as_not_covered() -> None:
    turns = [_turn(1, 0.2), _turn(2, 0.7, not_covered=True, cues=["asked_for_person"])]
    packet = context_packet(turns, [], language="en")
    assert "answered 1 from the help center and could not cover 0" in packet["summary"]
    assert packet["tried"][1].endswith("asked for a person, who was offered")
    assert "상담원 연결을 요청" in context_packet(turns, [], language="ko")["tried"][1]


class CountingEmbedder:
    """A stand-in for the USE model that counts the texts it embeds (vectors from a hash)."""

    model_id = "use:multilingual-v3"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts.extend(texts)
        rows = []
        for text in texts:
            seed = sum(ord(c) for c in text)
            rows.append([((seed * (i + 7)) % 13) / 13.0 for i in range(8)])
        return rows


class VectorClassifier(StubClassifier):
    """The stand-in classifier, with each message's vector from ``embedder`` as the real one."""

    def __init__(self, embedder: CountingEmbedder) -> None:
        self.embedder = embedder

    def mood(self, text: str) -> Mood:
        vector = tuple(self.embedder.embed_documents([text])[0])
        return replace(super().mood(text), vector=vector)


def test_each_question_is_embedded_once_across_a_conversation(
    built: Settings, tmp_path: Path
) -> None:
    settings = built.replace(database_url=f"sqlite:///{tmp_path / 'helpdesk.db'}")
    questions = [
        "How long do I have to return a product?",
        "Does the camera work outside in the rain?",
        "How do I charge the battery?",
    ]
    use = CountingEmbedder()
    first = Helpdesk(settings, classifier=VectorClassifier(use))  # type: ignore[arg-type]
    first._use = lambda: use  # type: ignore[method-assign]
    client = create_app(settings, first).test_client()
    conversation = ask(client, questions[0])["conversation_id"]
    for question in questions[1:]:
        ask(client, question, conversation_id=conversation)
    # The mood brought each vector; the repeated-question rule reused them.
    assert use.texts == questions
    first.close()

    # Another process carries the conversation on: it embeds the earlier questions once (it
    # never saw them), then remembers them.
    later = CountingEmbedder()
    second = Helpdesk(settings, classifier=VectorClassifier(later))  # type: ignore[arg-type]
    second._use = lambda: later  # type: ignore[method-assign]
    client = create_app(settings, second).test_client()
    ask(client, "Can I pay with a gift card?", conversation_id=conversation)
    ask(client, "What does the warranty cover?", conversation_id=conversation)
    assert sorted(later.texts) == sorted(
        [*questions, "Can I pay with a gift card?", "What does the warranty cover?"]
    )
    second.close()
