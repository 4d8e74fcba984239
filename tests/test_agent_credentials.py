"""Agents' named keys: hashed at rest, checked in constant time, added and revoked by the CLI,
and revoked without a restart in a real ``helpdesk serve``."""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import build_small_index
from servers import CLI, environment, free_port, launch, running

from helpdesk import create_app
from helpdesk.cli import main
from helpdesk.config import Settings
from helpdesk.credentials import AgentKeys, add_key, hash_key, key_matches, read_keys
from helpdesk.service import Helpdesk


def basic(password: str, user: str = "agent") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_a_hash_checks_its_key_only() -> None:
    stored = hash_key("hdk_right")
    assert stored.startswith("scrypt$") and "hdk_right" not in stored
    assert key_matches("hdk_right", stored)
    assert not key_matches("hdk_wrong", stored)
    assert not key_matches("hdk_right", "sha1$x$y")
    assert hash_key("hdk_right") != stored  # salted


def test_the_cli_adds_lists_and_revokes_keys_and_keeps_only_hashes(tmp_path: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(main, ["agents", "add", "mina", "--data-dir", str(tmp_path)])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip()
    assert key.startswith("hdk_") and len(key) > 40
    path = tmp_path / "agent-keys.json"
    assert key not in path.read_text() and key_matches(key, read_keys(path)["mina"])
    assert path.stat().st_mode & 0o077 == 0
    listed = runner.invoke(main, ["agents", "list", "--data-dir", str(tmp_path)])
    assert listed.stdout.split() == ["mina"]
    revoked = runner.invoke(main, ["agents", "revoke", "mina", "--data-dir", str(tmp_path)])
    assert revoked.exit_code == 0 and read_keys(path) == {}
    again = runner.invoke(main, ["agents", "revoke", "mina", "--data-dir", str(tmp_path)])
    assert again.exit_code == 1
    bad = runner.invoke(main, ["agents", "add", "no spaces", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 1


def test_the_server_rereads_the_file(tmp_path: Path) -> None:
    keys = AgentKeys(tmp_path / "k.json", check_every=0.0)
    assert not keys and keys.lookup("hdk_x") is None
    key = add_key(tmp_path / "k.json", "jun")
    assert keys.known(key) is None  # not checked yet: known() never runs scrypt
    assert keys.lookup(key) == "jun" and keys.lookup(key) == "jun"  # the second from memory
    assert keys.known(key) == "jun"
    add_key(tmp_path / "k.json", "jun")  # a new key replaces the old one
    assert keys.lookup(key) is None and keys.known(key) is None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("keys")).replace(agent_keys="plain-key")


def test_a_named_key_signs_the_agent_in_under_its_own_name(built: Settings) -> None:
    key = add_key(built.agent_keys_path, "mina")
    client = create_app(built, Helpdesk(built)).test_client()
    asked = client.post("/api/ask", json={"question": "How long is the warranty?"}).get_json()
    ticket = client.post("/api/handoff", json={"conversation_id": asked["conversation_id"]})
    ticket_id = ticket.get_json()["ticket_id"]
    # The Basic user name is not who the agent is: the key's name is.
    claimed = client.post(f"/api/agent/tickets/{ticket_id}/claim", headers=basic(key, "mallory"))
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["claimed_by"] == "mina"
    # The plain keys of HELPDESK_AGENT_KEYS keep working, named by the Basic user name.
    assert client.get("/api/agent/config", headers=basic("plain-key", "jo")).status_code == 200
    assert client.get("/api/agent/config", headers=basic(key + "x")).status_code == 403
    assert client.get("/api/agent/config", headers=basic("")).status_code == 401


def test_a_key_revoked_with_the_cli_is_refused_by_a_running_server(
    built: Settings, tmp_path: Path
) -> None:
    data = str(built.data_dir)
    env = environment(
        {"HELPDESK_EMBEDDING": "fake", "HELPDESK_LLM": "extractive", "HELPDESK_DATA_DIR": data}
    )
    port = free_port()
    command = [*CLI, "serve", "--source", str(built.source_dir), "--port", str(port)]
    server = launch("keys", command, env, port, "/readyz", tmp_path)
    with running([server], timeout=120):
        add = [*CLI, "agents", "add", "sol"]
        key = subprocess.run(add, env=env, capture_output=True, text=True, check=True).stdout
        headers = {"Authorization": f"Bearer {key.strip()}"}
        url = server.url + "/api/agent/config"
        deadline = time.monotonic() + 5
        while (status := httpx.get(url, headers=headers).status_code) != 200:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        subprocess.run([*CLI, "agents", "revoke", "sol"], env=env, check=True)
        revoked = time.monotonic()
        while (status := httpx.get(url, headers=headers).status_code) == 200:
            assert time.monotonic() - revoked < 3, "still accepted 3 s after the revocation"
            time.sleep(0.1)
        assert status == 403
        assert server.process.poll() is None  # no restart
