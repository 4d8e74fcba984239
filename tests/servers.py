"""Real servers for the end-to-end suites: ``helpdesk ingest``/``serve`` and other processes as
subprocesses on free local ports, waited for, and always stopped.

Used by test_integration.py, test_llm.py and test_browser.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_BASE = ROOT / "knowledge_base"
# One data folder shared by the suites: ingest is incremental, so a re-run takes seconds.
DATA_DIR = Path(os.environ.get("HELPDESK_TEST_DATA_DIR", ROOT / ".cache" / "test-data"))
# The suites' embeddings of the sample knowledge base, by content hash and model, kept outside
# the checkout like the retrieval-quality test's BEIR indexes: a clean clone's first ingest
# reads them instead of embedding the sample again (about 100 s of e5 per data folder).
EMBEDDING_CACHE = Path(
    os.environ.get(
        "HELPDESK_TEST_EMBEDDING_CACHE", Path.home() / ".cache" / "helpdesk-test" / "embeddings"
    )
)
NO_LIMITS = ("rate_limit", "rate_limit_ask", "rate_limit_agent")
CLI = [sys.executable, "-c", "from helpdesk.cli import main; main()"]


@dataclass
class Server:
    name: str
    url: str
    ready_path: str
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the developer's HELPDESK_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_LOG_LEVEL"] = "INFO"
    # The suites ask a server many questions a minute; test_abuse.py sets limits where it
    # tests them.
    env.update({f"HELPDESK_{name.upper()}": "" for name in NO_LIMITS})
    env.update(extra or {})
    return env


def ingest(
    source: Path = KNOWLEDGE_BASE, data_dir: Path = DATA_DIR, extra: Mapping[str, str] | None = None
) -> None:
    """``helpdesk ingest``; into the shared DATA_DIR, with the shared EMBEDDING_CACHE."""
    common = ["--source", str(source), "--data-dir", str(data_dir)]
    shared = {"HELPDESK_EMBEDDING_CACHE_DIR": str(EMBEDDING_CACHE)} if data_dir == DATA_DIR else {}
    subprocess.run(
        [*CLI, "ingest", "--quiet", *common],
        env=environment({**shared, **(extra or {})}),
        check=True,
        timeout=1800,
    )


def launch(
    name: str, command: list[str], env: dict[str, str], port: int, ready_path: str, logs: Path
) -> Server:
    log = logs / f"{name}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    return Server(name, f"http://127.0.0.1:{port}", ready_path, log, process)


def helpdesk_server(
    name: str,
    settings: Mapping[str, str],
    logs: Path,
    source: Path = KNOWLEDGE_BASE,
    data_dir: Path = DATA_DIR,
) -> Server:
    """``helpdesk serve`` on a free port (not yet waited for: see :func:`running`)."""
    port = free_port()
    command = [*CLI, "serve", "--source", str(source), "--data-dir", str(data_dir)]
    return launch(
        name, [*command, "--port", str(port)], environment(settings), port, "/readyz", logs
    )


def wait_until_ready(servers: list[Server], timeout: float) -> None:
    waiting = list(servers)
    deadline = time.monotonic() + timeout
    while waiting:
        for server in list(waiting):
            assert server.process.poll() is None, f"{server.name} exited:\n{server.log_text()}"
            try:
                response = httpx.get(server.url + server.ready_path, timeout=60)
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                waiting.remove(server)
        if waiting and time.monotonic() > deadline:
            pytest.fail(f"not ready in {timeout:g} s: {[s.name for s in waiting]}")
        time.sleep(0.3)


@contextmanager
def running(servers: list[Server], timeout: float = 300.0) -> Iterator[None]:
    """Wait for every server, and stop every one of them afterwards, whatever happened."""
    try:
        wait_until_ready(servers, timeout)
        yield
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=30)


class WebhookReceiver:
    """A webhook receiver on a fixed loopback port: down until started (and again after
    stop, on the same port). It records every request's headers and body, refuses (401) a
    body not signed with ``secret`` when one is given, answers 500 to the first ``fail``
    requests and ``status`` after, and keeps each ticket once by its Idempotency-Key, as the
    docs tell receivers to."""

    def __init__(self, port: int | None = None, *, fail: int = 0, secret: str | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.fail = fail
        self.secret = secret
        self.status = 200
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.tickets: dict[str, dict[str, Any]] = {}  # by Idempotency-Key
        self._server: ThreadingHTTPServer | None = None

    @property
    def bodies(self) -> list[bytes]:
        return [body for _, body in self.requests]

    @property
    def keys(self) -> list[str]:
        return [headers.get("Idempotency-Key", "") for headers, _ in self.requests]

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver._answer(dict(self.headers), body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        if self.secret is not None:
            expected = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(
                headers.get("X-Helpdesk-Signature", ""), f"sha256={expected}"
            ):
                return 401
        if len(self.requests) <= self.fail:
            return 500
        # Kept whatever it answers: a 500 here stands for an acknowledgement that was lost.
        key = headers.get("Idempotency-Key", "")
        if key not in self.tickets:
            self.tickets[key] = json.loads(body).get("ticket", {})
        return self.status

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
