"""The agents' audit log: reads of internal documents and of tickets, per agent, in the store
(SQLite and PostgreSQL), shown to agents by GET /api/agent/audit."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from conftest import SECRET, build_small_index
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.credentials import add_key
from helpdesk.service import Helpdesk


def basic(password: str, user: str = "agent") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("audit"))


@pytest.fixture
def setup(index: Settings, store_url: str, tmp_path: Path) -> tuple[FlaskClient, Helpdesk, str]:
    settings = index.replace(database_url=store_url, agent_keys_file=str(tmp_path / "keys.json"))
    key = add_key(settings.agent_keys_path, "mina")
    helpdesk = Helpdesk(settings)
    yield create_app(settings, helpdesk).test_client(), helpdesk, key
    helpdesk.close()


def test_internal_reads_and_ticket_actions_are_audited(
    setup: tuple[FlaskClient, Helpdesk, str],
) -> None:
    client, helpdesk, key = setup
    mina = basic(key, "someone-else")
    # Public reads are not an agent's; an agent's public-only search reads nothing internal.
    assert client.get("/api/search", query_string={"q": SECRET}).status_code == 200
    public_only = {"q": "speaker wifi", "audience": "public"}
    assert (
        client.get("/api/agent/search", query_string=public_only, headers=mina).status_code == 200
    )
    searched = {"q": f"{SECRET} for jane.doe@example.com"}
    found = client.get("/api/agent/search", query_string=searched, headers=mina)
    assert any(r["audience"] == "internal" for r in found.get_json()["results"])
    question = {"question": f"What is the override code {SECRET} for goodwill credit?"}
    assert client.post("/api/agent/ask", json=question, headers=mina).status_code == 200
    streamed = client.post(
        "/api/agent/ask", json=question, headers=mina | {"Accept": "text/event-stream"}
    )
    assert streamed.status_code == 200 and streamed.get_data()
    asked = client.post("/api/ask", json={"question": "How long is the warranty?"}).get_json()
    ticket = client.post("/api/handoff", json={"conversation_id": asked["conversation_id"]})
    ticket_id = ticket.get_json()["ticket_id"]
    assert client.get("/api/agent/tickets", headers=mina).status_code == 200
    assert client.get(f"/api/agent/tickets/{ticket_id}", headers=mina).status_code == 200
    for action, body in (("claim", None), ("reply", {"text": "On it."}), ("resolve", None)):
        done = client.post(f"/api/agent/tickets/{ticket_id}/{action}", json=body, headers=mina)
        assert done.status_code == 200, done.get_json()
    store = helpdesk.require_store()
    assert store.flush()

    log = client.get("/api/agent/audit", headers=mina).get_json()["entries"]
    assert [e["action"] for e in log] == [
        "resolve",
        "reply",
        "claim",
        "ticket",
        "tickets",
        "ask",
        "ask",
        "search",
    ]
    assert {e["agent"] for e in log} == {"mina"}  # the key's name, not the Basic user name
    assert [e["target"] for e in log[:4]] == [ticket_id] * 4
    assert log[4]["target"] == "all"
    for entry in log[5:]:
        assert entry["documents"]
        assert {d["source"] for d in entry["documents"]} == {"internal/escalation.md"}
        assert all(d["chunk_id"] for d in entry["documents"])
    # The query is kept, its personal data redacted.
    assert SECRET in log[-1]["target"] and "jane.doe@example.com" not in log[-1]["target"]
    assert client.get("/api/agent/audit?agent=nobody", headers=mina).get_json() == {"entries": []}
    assert len(client.get("/api/agent/audit?limit=2", headers=mina).get_json()["entries"]) == 2
    assert client.get("/api/agent/audit?limit=0", headers=mina).status_code == 422
    # Agents only.
    assert client.get("/api/agent/audit").status_code in (401, 403)
    assert client.get("/api/agent/audit", headers=basic("wrong")).status_code == 403
