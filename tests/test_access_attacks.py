"""Access control, attacked: no public request sees an internal chunk, its title or its codes.

The cases (scripts/attack_access.py) are built from the index's own internal chunks and sent to
every public surface; each response is scanned for every internal chunk's distinctive strings.
The small index (fake embedder) takes the whole suite through Flask's test client; the sample
knowledge base with the default models takes a subset through a real ``helpdesk serve``.
Run with ``-s`` to see the counts.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import REPO, SECRET, build_small_index
from flask.testing import FlaskClient

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


def test_a_search_for_internal_words_takes_as_long_as_one_for_unknown_words(
    client: FlaskClient, built: Settings
) -> None:
    """Timing tells nothing: internal-only words and words found nowhere, interleaved, have
    medians within 3 ms + 25% of each other (robust on a loaded 2-core machine)."""
    markers = markers_of(built)
    internal = sorted(markers.words) + sorted(markers.codes)
    unknown = [f"qzv{'x' * (len(w) % 5)}{i}wmk" for i, w in enumerate(internal)]
    times: dict[str, list[float]] = {"internal": [], "unknown": []}
    for round_ in range(40):
        for kind, pool in (("internal", internal), ("unknown", unknown))[:: 1 - 2 * (round_ % 2)]:
            query = pool[round_ % len(pool)]
            started = time.perf_counter()
            response = client.get("/api/search", query_string={"q": query})
            times[kind].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    medians = {kind: statistics.median(ms) for kind, ms in times.items()}
    print(f"\npublic search medians, ms: {medians}")
    low, high = sorted(medians.values())
    assert high - low <= 3 + 0.25 * low, medians
