"""Access control, attacked: no public request sees an internal chunk, its title or its codes.

The cases (scripts/attack_access.py) are built from the index's own internal chunks and sent to
every public surface; each response is scanned for every internal chunk's distinctive strings.
The small index (fake embedder) takes the whole suite through Flask's test client; the sample
knowledge base with the default models takes a subset through a real ``helpdesk serve``.
Run with ``-s`` to see the counts.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import REPO, SECRET, build_small_index
from flask.testing import FlaskClient
from servers import DATA_DIR, helpdesk_server, ingest, running

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.service import Helpdesk


def _load_attacks() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "attack_access", REPO / "scripts" / "attack_access.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["attack_access"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


attacks = _load_attacks()
KEY = "agent-key-attacks"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("attacks")).replace(agent_keys=KEY)


@pytest.fixture(scope="module")
def client(built: Settings) -> FlaskClient:
    return create_app(built, Helpdesk(built)).test_client()


def client_send(client: FlaskClient) -> Any:
    def send(
        method: str, path: str, params: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, str]:
        response = client.open(path, method=method, query_string=params, json=body, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return send


def markers_of(built: Settings) -> Any:
    return attacks.Markers(attacks.docs_of(Path(built.data_dir)))


def test_the_markers_find_the_internal_document(built: Settings) -> None:
    markers = markers_of(built)
    assert SECRET in markers.codes
    assert "Escalation Playbook" in markers.titles
    internal_text = markers.internal[0].text
    # The scanner does find internal text, unless the request itself carried it.
    assert markers.found(f"... {internal_text} ...", "")
    assert not markers.found(internal_text, internal_text)
    assert not markers.found("Plug the speaker into power and wait until the light ring", "")


def test_the_scan_would_catch_an_agents_answer(client: FlaskClient, built: Settings) -> None:
    """The same cases sent to the agents' API do find internal text: the suite can fail."""
    markers = markers_of(built)
    send = client_send(client)
    status, text = send(
        "GET",
        "/api/agent/search",
        {"q": SECRET},
        None,
        {"Authorization": attacks.basic("a", KEY)},
    )
    assert status == 200
    assert markers.found(text, "")


def test_no_attack_on_the_public_surfaces_leaks(client: FlaskClient, built: Settings) -> None:
    markers = markers_of(built)
    send = client_send(client)
    cases = attacks.cases(markers)
    report = attacks.run(
        send,
        markers,
        cases,
        attacks.agent_conversation_over(send, KEY, markers),
        attacks.public_ticket_over(send),
    )
    print("\nsmall index (fake embedder), Flask test client:\n" + "\n".join(report.lines()))
    assert set(report.tried) == set(attacks.KINDS)
    assert report.tried.total() == len(cases) > 100
    assert report.leaks == []
    assert report.answered(), report.statuses


def test_a_public_follow_up_on_an_agents_conversation_starts_a_new_one(
    client: FlaskClient, built: Settings
) -> None:
    agent = {"Authorization": attacks.basic("a", KEY)}
    question = {"question": f"What is the override code {SECRET} for goodwill credit?"}
    agents = client.post("/api/agent/ask", json=question, headers=agent).get_json()
    assert SECRET in agents["answer"]  # the agent did read the internal document
    follow_up = {"question": "What about that?", "conversation_id": agents["conversation_id"]}
    public = client.post("/api/ask", json=follow_up).get_json()
    assert public["conversation_id"] != agents["conversation_id"]
    assert public["standalone_question"] == "What about that?"
    store = client.application.extensions["helpdesk"].require_store()
    assert store.flush()
    turns = store.turns(agents["conversation_id"])
    assert [t.reader for t in turns] == ["agent"]  # the customer added nothing to it


def look_alikes(markers: Any, docs: Any) -> list[str]:
    """A control for each internal word and code that no document holds, public or internal,
    but that costs a search the same: for a word, a common English word of its length and
    about its frequency (so the models split it into as many pieces and the typo pass leaves it
    alone); for a code, the same code with its digits shifted. Made-up words ("qzvxx3wmk") are
    no control: the query models cut them into more pieces and take longer on them, which the
    test read as a difference between internal and unknown words (17 ms on a loaded machine)."""
    from wordfreq import top_n_list, zipf_frequency

    text = "\n".join(f"{d.title}\n{d.text}\n{d.embed_text}" for d in docs)
    used = set(attacks.words(text))
    free: dict[int, list[str]] = {}
    for word in top_n_list("en", 50_000):
        if word.isalpha() and word.isascii() and word not in used:
            free.setdefault(len(word), []).append(word)
    controls: list[str] = []
    for word in sorted(markers.words):
        zipf = zipf_frequency(word, "en")
        candidates = [w for w in free[len(word)] if w not in controls]
        controls.append(min(candidates, key=lambda w: abs(zipf_frequency(w, "en") - zipf)))
    for code in sorted(markers.codes):
        for shift in range(1, 10):
            twin = "".join(str((int(c) + shift) % 10) if c.isdigit() else c for c in code)
            if twin not in text and twin not in controls:
                controls.append(twin)
                break
    return controls


def search_medians(markers: Any, search: Callable[[str], int], rounds: int) -> dict[str, float]:
    """Median ms of public searches for internal-only words and codes, and for look-alike words
    and codes found nowhere, interleaved (the order alternating each round) so load hits both
    alike."""
    internal = sorted(markers.words) + sorted(markers.codes)
    unknown = look_alikes(markers, markers.docs)
    assert len(unknown) == len(internal)
    times: dict[str, list[float]] = {"internal": [], "unknown": []}
    for round_ in range(rounds):
        for kind, pool in (("internal", internal), ("unknown", unknown))[:: 1 - 2 * (round_ % 2)]:
            started = time.perf_counter()
            status = search(pool[round_ % len(pool)])
            times[kind].append((time.perf_counter() - started) * 1000)
            assert status == 200
    return {kind: round(statistics.median(ms), 2) for kind, ms in times.items()}


def same_time(medians: dict[str, float]) -> bool:
    """Within 3 ms + 25% of each other: no measurable difference on a loaded 2-core box."""
    low, high = sorted(medians.values())
    return high - low <= 3 + 0.25 * low


def test_a_search_for_internal_words_takes_as_long_as_one_for_unknown_words(
    client: FlaskClient, built: Settings
) -> None:
    def search(q: str) -> int:
        return client.get("/api/search", query_string={"q": q}).status_code

    medians = search_medians(markers_of(built), search, rounds=40)
    print(f"\nsmall index, public search medians, ms: {medians}")
    assert same_time(medians), medians


# -- the sample knowledge base, default models, a real server ---------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`helpdesk serve` on the sample knowledge base (default embedding models, extractive
    answers: retrieval is what decides what a public request may read)."""
    ingest()
    serve = helpdesk_server(
        "access",
        {"HELPDESK_LLM": "extractive", "HELPDESK_AGENT_KEYS": KEY},
        tmp_path_factory.mktemp("access-server"),
    )
    with running([serve], timeout=300):
        yield serve.url


@pytest.mark.integration
def test_no_attack_on_a_real_server_leaks(server: str) -> None:
    markers = attacks.Markers(attacks.docs_of(DATA_DIR))
    assert len(markers.internal) > 20 and len(markers.codes) > 10
    send, http = attacks.http_send(server)
    with http:
        # The scan does see internal text where it is allowed: the agents' API.
        status, text = send(
            "GET", "/api/agent/search", {"q": "ESC-4419"}, None, {"Authorization": f"Bearer {KEY}"}
        )
        assert status == 200 and markers.found(text, "")
        report = attacks.run(
            send,
            markers,
            attacks.cases(markers, sentence_limit=25, word_limit=20),
            attacks.agent_conversation_over(send, KEY, markers),
            attacks.public_ticket_over(send),
        )
    print("\nsample knowledge base, default models, helpdesk serve:\n" + "\n".join(report.lines()))
    assert set(report.tried) == set(attacks.KINDS)
    assert report.leaks == []
    assert report.answered(), report.statuses


@pytest.mark.integration
def test_on_a_real_server_internal_words_take_as_long_as_unknown_words(server: str) -> None:
    markers = attacks.Markers(attacks.docs_of(DATA_DIR))
    with httpx.Client(base_url=server, timeout=60) as http:
        http.get("/api/search", params={"q": "warm up"})

        def search(q: str) -> int:
            return http.get("/api/search", params={"q": q}).status_code

        medians = search_medians(markers, search, rounds=60)
    print(f"\nsample knowledge base, public search medians over HTTP, ms: {medians}")
    assert same_time(medians), medians


@pytest.mark.integration
@pytest.mark.slow
def test_injections_answered_by_the_bundled_model_leak_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The generated answers too: injections and an agent's conversation reused, answered by
    the bundled model (it is only ever given public passages)."""
    ingest()
    serve = helpdesk_server(
        "access-llm",
        {"HELPDESK_LLM": "llamacpp", "HELPDESK_LLM_MAX_TOKENS": "96", "HELPDESK_AGENT_KEYS": KEY},
        tmp_path_factory.mktemp("access-llm"),
    )
    markers = attacks.Markers(attacks.docs_of(DATA_DIR))
    every = attacks.cases(markers)
    chosen = [c for c in every if c.kind == "injection" and c.path != "/api/search"][:20]
    chosen += [c for c in every if c.kind == "conversation"]
    with running([serve], timeout=300):
        send, http = attacks.http_send(serve.url, timeout=300)
        with http:
            report = attacks.run(
                send,
                markers,
                chosen,
                attacks.agent_conversation_over(send, KEY, markers),
                attacks.public_ticket_over(send),
            )
            # The model does answer here (an injection may get "not covered" without it).
            warranty = {"question": "How long is the warranty on the Aura Speaker?"}
            _, sample = send("POST", "/api/ask", {}, warranty, {})
    print("\nsample knowledge base, bundled model:\n" + "\n".join(report.lines()))
    answered = json.loads(sample)  # by the model, or by the fallback after the model tried
    assert answered["generated_by"] == "llamacpp" or answered.get("fallback_reason"), answered
    assert report.tried.total() == len(chosen) and report.leaks == []
    assert report.answered(), report.statuses
