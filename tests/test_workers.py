"""``helpdesk serve --workers 2``: gunicorn's gthread workers over models loaded before the fork.

- The HTTP suite of test_integration.py (its answers, search, audiences, languages, /readyz),
  reused against a 2-worker server, and the answer stream (SSE) read from both workers.
- Both workers move to a new index generation without a restart.
- HELPDESK_LLM=llamacpp: one shared llama-cpp-python server that both workers call, a bounded
  queue answering 503 with Retry-After, and the server stopped with `helpdesk serve`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import KNOWLEDGE_BASE, Server, WebhookReceiver, helpdesk_server, ingest, running

# The HTTP tests of the single-process suite, run here against the `server` fixture below.
from test_integration import (
    test_answers_cite_the_right_document,
    test_internal_knowledge_never_reaches_the_public,
    test_out_of_scope_question_gets_the_not_covered_reply,
    test_readyz_reports_the_default_model,
    test_reply_language_follows_the_question,
    test_search_ranks_the_right_document_high,
)

from helpdesk.workers import per_worker_queue

pytestmark = pytest.mark.integration

REUSED = (
    test_answers_cite_the_right_document,
    test_internal_knowledge_never_reaches_the_public,
    test_out_of_scope_question_gets_the_not_covered_reply,
    test_readyz_reports_the_default_model,
    test_reply_language_follows_the_question,
    test_search_ranks_the_right_document_high,
)
WORKERS = {"HELPDESK_WORKERS": "2"}


def test_the_llm_queue_bound_is_the_machines_not_each_workers() -> None:
    # HELPDESK_LLM_QUEUE=8: one question written and 8 waiting, on the whole machine.
    assert per_worker_queue(8, 1) == 8
    assert 2 * (per_worker_queue(8, 2) + 1) <= 9
    assert 4 * (per_worker_queue(8, 4) + 1) <= 9
    # Never less than one question per worker, or a worker could never ask the model.
    assert per_worker_queue(0, 4) == 0
    assert per_worker_queue(2, 8) == 0


def test_warming_the_models_before_the_fork_opens_neither_index_nor_store(tmp_path: Path) -> None:
    from helpdesk.config import Settings
    from helpdesk.service import Helpdesk

    # No index in this data folder: opening it would raise IndexNotReady.
    settings = Settings.from_env({}, data_dir=tmp_path, embedding="fake", llm="extractive")
    helpdesk = Helpdesk(settings)
    helpdesk.warm_models()
    assert helpdesk._retriever is None
    assert helpdesk._store is None
    helpdesk.store()
    helpdesk.release_store()
    assert helpdesk._store is None and (tmp_path / "helpdesk.db").is_file()


# ------------------------------------------------------------------------------ HTTP and SSE


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


@pytest.fixture(scope="module")
def workers_server(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[Server]:
    """The integration suite's server, with two workers, posting tickets to ``receiver``, and
    its own database (the data folder's is shared with other suites)."""
    ingest()
    folder = tmp_path_factory.mktemp("workers")
    settings = {
        "HELPDESK_LLM": "extractive",
        "HELPDESK_WEBHOOK_URL": receiver.url,
        "HELPDESK_DATABASE_URL": f"sqlite:///{folder / 'helpdesk.db'}",
        **WORKERS,
    }
    serve = helpdesk_server("workers", settings, folder)
    with running([serve], timeout=180):
        yield serve


@pytest.fixture(scope="module")
def server(workers_server: Server) -> str:
    return workers_server.url


def _readyz(url: str, requests: int = 20) -> list[dict[str, Any]]:
    """``requests`` /readyz answers, asked two at a time (one connection each, so gunicorn
    hands them to whichever worker accepts first)."""
    bodies: list[dict[str, Any]] = []

    def one() -> None:
        bodies.append(httpx.get(f"{url}/readyz", timeout=30).json())

    for _ in range(requests // 2):
        pair = [threading.Thread(target=one) for _ in range(2)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()
    return bodies


def _events(url: str, question: str, timeout: float = 60) -> list[tuple[str, dict[str, Any]]]:
    """The answer stream's events, in order, as (name, data)."""
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream(
        "POST",
        f"{url}/api/ask/stream",
        json={"question": question},
        headers={"Accept": "text/event-stream"},
        timeout=timeout,
    ) as response:
        assert response.status_code == 200, response.read().decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        name, data = "message", []
        for line in response.iter_lines():
            if not line:
                if data:
                    events.append((name, json.loads("\n".join(data))))
                name, data = "message", []
            elif line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
    return events


def test_both_workers_answer_and_serve_one_generation(server: str) -> None:
    answers = _readyz(server)
    pids = {body["pid"] for body in answers}
    generations = {body["generation"] for body in answers}
    assert len(pids) == 2, pids
    assert len(generations) == 1, generations


def test_answer_streams_arrive_in_order_from_both_workers(server: str) -> None:
    # Four streams at once: with 2 workers, both serve some of them.
    results: list[list[tuple[str, dict[str, Any]]]] = []
    questions = [
        "How long is the warranty on the Aura Speaker?",
        "환불은 며칠 안에 받을 수 있나요?",
        "Do you ship to Alaska and Hawaii?",
        "How do I factory reset my Aura Speaker?",
    ]
    threads = [
        threading.Thread(target=lambda q=q: results.append(_events(server, q))) for q in questions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(questions)
    for events in results:
        names = [name for name, _ in events]
        assert names[0] == "sources" and names[1] == "draft" and names[-1] == "final", names
        final = events[-1][1]
        assert final["answer"].strip() and final["citations"], final


# ------------------------------------------------------------------------------ generations


def _tiny_knowledge_base(folder: Path) -> Path:
    source = folder / "kb"
    (source / "manuals" / "en").mkdir(parents=True)
    shutil.copy(KNOWLEDGE_BASE / "manuals" / "en" / "warranty.md", source / "manuals" / "en")
    return source


def test_every_worker_moves_to_a_new_generation_without_a_restart(tmp_path: Path) -> None:
    source, data = _tiny_knowledge_base(tmp_path), tmp_path / "data"
    fake = {"HELPDESK_EMBEDDING": "fake", "HELPDESK_LLM": "extractive"}
    ingest(source, data, fake)
    interval = 0.5
    settings = {**fake, **WORKERS, "HELPDESK_RELOAD_INTERVAL": str(interval)}
    serve = helpdesk_server("generations", settings, tmp_path, source, data)
    with running([serve], timeout=180):
        before = httpx.get(f"{serve.url}/readyz", timeout=30).json()["generation"]
        assert len({body["pid"] for body in _readyz(serve.url)}) == 2
        shutil.copy(KNOWLEDGE_BASE / "manuals" / "en" / "shipping.md", source / "manuals" / "en")
        ingest(source, data, fake)
        after = (data / "CURRENT").read_text("utf-8").strip()
        assert after != before
        # Within the reload interval (and a little for a busy machine), every worker that
        # answers reports the new generation.
        time.sleep(interval)
        deadline = time.monotonic() + 5.0
        while True:
            seen = {body["pid"]: body["generation"] for body in _readyz(serve.url, 12)}
            if len(seen) == 2 and set(seen.values()) == {after}:
                break
            assert time.monotonic() < deadline, seen
        assert "Booting worker" in serve.log_text()
        assert serve.log_text().count(f"serving index generation {after}") == 2


# ------------------------------------------------------------------------------ shared LLM


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.slow
def test_workers_share_one_llm_server_that_is_bounded_and_stopped_with_serve(
    tmp_path: Path,
) -> None:
    ingest()
    settings = {
        "HELPDESK_LLM": "llamacpp",
        # A short prompt and a short answer: the point is who writes it, not how well.
        "HELPDESK_LLM_MAX_TOKENS": "16",
        "HELPDESK_LLM_PASSAGES": "1",
        "HELPDESK_LLM_PASSAGE_CHARS": "300",
        # One question in the model's hands on the whole machine: with 2 workers, 1 each.
        "HELPDESK_LLM_QUEUE": "1",
        "HELPDESK_LLM_FIRST_TOKEN_TIMEOUT": "90",
        "HELPDESK_LLM_TIMEOUT": "120",
        **WORKERS,
    }
    serve: Server = helpdesk_server("shared-llm", settings, tmp_path)
    with running([serve], timeout=300):
        llm = [p for p in _children(serve.process.pid) if "llama_cpp.server" in _command(p)]
        assert len(llm) == 1, [_command(p) for p in _children(serve.process.pid)]
        # Its key is not on its command line, where every local user could read it.
        assert "api_key" not in _command(llm[0])
        # Three streams at once: two take the two places, the third is refused at once.
        statuses: list[tuple[int, str | None]] = []
        streams: list[list[tuple[str, dict[str, Any]]]] = []

        def ask() -> None:
            with httpx.stream(
                "POST",
                f"{serve.url}/api/ask/stream",
                json={"question": "How long is the warranty on the Aura Speaker?"},
                headers={"Accept": "text/event-stream"},
                timeout=180,
            ) as response:
                statuses.append((response.status_code, response.headers.get("Retry-After")))
                if response.status_code == 200:
                    body = "\n".join(response.iter_lines())
                    streams.append(
                        [
                            (
                                block.split("\n")[0].removeprefix("event: "),
                                json.loads(block.split("\n", 1)[1].removeprefix("data: ")),
                            )
                            for block in body.split("\n\n")
                            if block.strip()
                        ]
                    )

        threads = [threading.Thread(target=ask) for _ in range(3)]
        for thread in threads:
            thread.start()
            time.sleep(0.3)
        for thread in threads:
            thread.join()
        codes = [code for code, _ in statuses]
        # Two answered at most (one per worker, which ever workers the connections reached),
        # and the rest refused at once rather than left waiting.
        assert 1 <= codes.count(200) <= 2 and 503 in codes, (statuses, serve.log_text()[-3000:])
        assert set(codes) <= {200, 503}, statuses
        assert all(retry for code, retry in statuses if code == 503)
        for events in streams:
            names = [name for name, _ in events]
            assert names[0] == "sources" and names[-1] == "final", names
            # The workers' backend is openai, pointed at the shared server (or the extractive
            # answer with its reason, when the busy machine made it too slow).
            final = events[-1][1]
            assert final["generated_by"] in {"openai", "extractive"}, final
            assert final["generated_by"] == "openai" or final.get("fallback_reason"), final
    # `helpdesk serve` stopped: the LLM server went with it.
    deadline = time.monotonic() + 30
    while Path(f"/proc/{llm[0]}").exists() and "llama_cpp" in _command(llm[0]):
        assert time.monotonic() < deadline, "the shared LLM server outlived helpdesk serve"
        time.sleep(0.5)


def test_hand_offs_from_both_workers_are_posted_once_by_one_of_them(
    workers_server: Server, receiver: WebhookReceiver
) -> None:
    url = workers_server.url
    tickets: list[str] = []
    for _ in range(4):
        answer = httpx.post(
            f"{url}/api/ask", json={"question": "I want to talk to a person"}, timeout=60
        ).json()
        created = httpx.post(
            f"{url}/api/handoff", json={"conversation_id": answer["conversation_id"]}, timeout=30
        )
        assert created.status_code == 201, created.text
        tickets.append(created.json()["ticket_id"])
    deadline = time.monotonic() + 30
    while len(receiver.tickets) < len(tickets) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # a second deliverer would post them again meanwhile
    assert sorted(t["id"] for t in receiver.tickets.values()) == sorted(tickets)
    assert len(receiver.requests) == len(tickets), receiver.keys
    log = workers_server.log_text()
    assert log.count("runs the webhook deliveries and the retention purge") == 1, log[-3000:]
