"""Server mode: the dense vectors in a real Chroma server (`chroma run`, started once per session
by conftest's ``chroma_server``), the generation folders on one data directory that every app
server reads (see docs/deployment.md), and PostgreSQL as the database.

The same behaviour as embedded Chroma: atomic generations (collections named after their
generation, written and validated before CURRENT moves), the audience filter inside the query,
incremental ingest, garbage collection that deletes old generations' collections on the server,
and the same search results. The fake embedder keeps the ingests to a second or two; the last
test runs the sample knowledge base with the real models.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chromadb
import httpx
import numpy as np
import pytest
from conftest import SECRET, SMALL_KB, ChromaServer, write_files
from servers import helpdesk_server, running

from helpdesk.config import Settings
from helpdesk.errors import IndexNotReady
from helpdesk.index.generations import Layout
from helpdesk.index.ingest import ingest as run_ingest
from helpdesk.index.store import Snapshot, VectorStore, close_client
from helpdesk.service import Helpdesk
from helpdesk.types import Query

QUESTIONS = [
    "Bluetooth pairing",
    "red light ring",
    "How long do I have to return a product?",
    "camera battery charging",
    "goodwill credit override code",
    "warranty",
]

EXTRA_MD = """\
---
title: Aura Speaker Reset
language: en
product: aura-speaker
---
# Reset

Hold the volume-down and action buttons for fifteen seconds to reset the speaker.
"""


def _settings(root: Path, kb: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "source_dir": kb,
        "data_dir": root,
        "embedding": "fake",
        "reload_interval": 0.0,
        "llm": "extractive",
        "rate_limit": "",
        "rate_limit_ask": "",
        "rate_limit_agent": "",
    }
    values.update(changes)
    return Settings(**values)


@pytest.fixture
def prefix() -> str:
    """A collection prefix of this test's own: the session's server is shared."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def on_server(tmp_path: Path, chroma_server: ChromaServer, prefix: str) -> Callable[..., Settings]:
    """Settings in server mode, searching through Chroma's HNSW (no exact search)."""

    def make(kb: Path, data: str = "server", **changes: Any) -> Settings:
        return _settings(
            tmp_path / data,
            kb,
            **chroma_server.settings,
            chroma_prefix=prefix,
            exact_search_chunks=0,
            **changes,
        )

    return make


@contextlib.contextmanager
def _client(server: ChromaServer) -> Iterator[Any]:
    client = chromadb.HttpClient(host=server.host, port=server.port)
    try:
        yield client
    finally:
        close_client(client)


def _collections(server: ChromaServer, prefix: str) -> list[str]:
    with _client(server) as client:
        names = [c.name for c in client.list_collections()]
    return sorted(n for n in names if n.startswith(prefix + "-"))


@pytest.fixture
def helpdesk_for() -> Iterator[Callable[[Settings], Helpdesk]]:
    """Helpdesks whose snapshots' Chroma clients are closed after the test."""
    made: list[Helpdesk] = []

    def make(settings: Settings) -> Helpdesk:
        made.append(Helpdesk(settings))
        return made[-1]

    yield make
    for helpdesk in made:
        if helpdesk._retriever is not None:
            helpdesk._retriever.snapshot.close()


def _ranking(helpdesk: Helpdesk, query: Query) -> list[tuple[str, float]]:
    return [(p.chunk.id, p.score) for p in helpdesk.retriever().retrieve(query)]


def _same(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    """The same chunks in the same order, with the same scores up to float32 rounding."""
    return [i for i, _ in a] == [i for i, _ in b] and all(
        abs(x - y) < 1e-4 for (_, x), (_, y) in zip(a, b, strict=True)
    )


def test_server_mode_ranks_exactly_as_embedded_mode(
    make_kb: Callable[..., Path],
    tmp_path: Path,
    on_server: Callable[..., Settings],
    helpdesk_for: Callable[[Settings], Helpdesk],
) -> None:
    kb = make_kb()
    embedded = _settings(tmp_path / "embedded", kb, exact_search_chunks=0)
    server = on_server(kb)
    exact = _settings(tmp_path / "embedded", kb)  # the same folder, searched in memory
    for settings in (embedded, server):
        run_ingest(settings)
    helpdesks = [helpdesk_for(s) for s in (embedded, server, exact)]
    assert [h.retriever().snapshot.exact for h in helpdesks] == [False, False, True]
    for text in QUESTIONS:
        for reader in ("public", "agent"):
            query = Query(text, k=5, reader=reader)  # type: ignore[arg-type]
            rankings = [_ranking(h, query) for h in helpdesks]
            assert _same(rankings[0], rankings[1]), (text, reader, rankings)
            assert _same(rankings[0], rankings[2]), (text, reader, rankings)
            assert rankings[0], text
    # Below the retriever too: the same rows and cosines from each dense search.
    snapshots = [h.retriever().snapshot for h in helpdesks]
    vector = helpdesks[0].embedders[0].embed_query("pairing the speaker")
    hits = [s.dense(0, vector, 8, {"audience": ("public",)}) for s in snapshots]
    assert [r for r, _ in hits[0]] == [r for r, _ in hits[1]] == [r for r, _ in hits[2]]
    for a, b in zip(hits[0], hits[1], strict=True):
        assert a[1] == pytest.approx(b[1], abs=1e-5)


def test_exact_search_is_exact_filtered_and_breaks_ties_by_row(
    make_kb: Callable[..., Path],
    tmp_path: Path,
    helpdesk_for: Callable[[Settings], Helpdesk],
) -> None:
    """Below HELPDESK_EXACT_SEARCH_CHUNKS: every allowed row's cosine, the best k, and chunks
    with the same vector (the same page under two names) always in row order."""
    copy = SMALL_KB["manuals/speaker.md"]
    kb = make_kb({**SMALL_KB, "manuals/speaker-copy.md": copy})
    settings = _settings(tmp_path / "data", kb)
    run_ingest(settings)
    helpdesk = helpdesk_for(settings)
    snapshot = helpdesk.retriever().snapshot
    assert snapshot.exact
    vector = helpdesk.embedders[0].embed_query("Bluetooth pairing with your phone")
    public = {"audience": ("public",)}
    hits = snapshot.dense(0, vector, 6, public)
    assert hits == snapshot.dense(0, vector, 6, public)
    matrix = np.asarray(snapshot.vectors[0], dtype=np.float64)
    query = np.asarray(vector, dtype=np.float64)
    cosines = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    allowed = [r for r, c in enumerate(snapshot.chunks) if c.audience == "public"]
    best = sorted(allowed, key=lambda r: (-round(cosines[r], 5), r))[:6]
    assert [r for r, _ in hits] == best
    assert all(abs(score - cosines[r]) < 1e-5 for r, score in hits)
    # The two copies' chunks tie; each pair comes lower row first.
    sources = [snapshot.chunks[r].source for r, _ in hits]
    assert sources[:2] == ["manuals/speaker.md", "manuals/speaker-copy.md"] or sources[:2] == [
        "manuals/speaker-copy.md",
        "manuals/speaker.md",
    ]
    assert hits[0][0] < hits[1][0] and hits[0][1] == pytest.approx(hits[1][1])


def test_the_audience_filter_is_inside_the_server_query(
    make_kb: Callable[..., Path],
    on_server: Callable[..., Settings],
    helpdesk_for: Callable[[Settings], Helpdesk],
) -> None:
    settings = on_server(make_kb())
    run_ingest(settings)
    helpdesk = helpdesk_for(settings)
    snapshot = helpdesk.retriever().snapshot
    assert not snapshot.exact
    internal = {row for row, c in enumerate(snapshot.chunks) if c.audience == "internal"}
    assert internal
    vector = helpdesk.embedders[0].embed_query(f"goodwill credit {SECRET}")
    everything = len(snapshot.chunks)
    public = snapshot.dense(0, vector, everything, {"audience": ("public",)})
    assert public and not {row for row, _ in public} & internal
    assert len(public) == everything - len(internal)  # filtered by Chroma, not cut from a top k
    agent = snapshot.dense(0, vector, 3, {"audience": ("public", "internal")})
    assert agent[0][0] in internal


def test_generations_are_collections_on_the_server_and_ingest_is_incremental(
    make_kb: Callable[..., Path],
    on_server: Callable[..., Settings],
    chroma_server: ChromaServer,
    prefix: str,
    helpdesk_for: Callable[[Settings], Helpdesk],
) -> None:
    kb = make_kb()
    settings = on_server(kb, keep_generations=1)
    # Another deployment on the same server, whose prefix extends ours: never collected.
    neighbour = f"{prefix}-prod-g-20000101T000000000000-abcdef__dense-fake-hashed-bow-64"
    with _client(chroma_server) as client:
        client.create_collection(neighbour)
    first = run_ingest(settings)
    assert first.embedded == first.chunks
    assert _collections(chroma_server, prefix) == [
        f"{prefix}-{first.generation}__dense-fake-hashed-bow-64",
        neighbour,
    ]
    # Only the model's vectors go to the server; the folder has no Chroma of its own.
    folder = Layout(settings.data_dir).current()
    assert not (folder / "chroma").exists()

    write_files(kb, {"manuals/reset.md": EXTRA_MD})
    second = run_ingest(settings)
    assert second.generation != first.generation
    assert second.chunks_added >= 1
    assert second.embedded == second.chunks_added  # the rest reused, not embedded again
    # keep_generations=1: the first generation's folder and collection are both gone.
    assert second.removed_generations == [first.generation]
    assert _collections(chroma_server, prefix) == [
        f"{prefix}-{second.generation}__dense-fake-hashed-bow-64",
        neighbour,
    ]
    helpdesk = helpdesk_for(settings)
    top = helpdesk.retriever().retrieve(Query("reset the speaker volume-down", k=1))
    assert top[0].chunk.source == "manuals/reset.md"

    third = run_ingest(settings)
    assert third.up_to_date and third.embedded == 0


def test_an_interrupted_ingest_leaves_no_half_generation_served(
    make_kb: Callable[..., Path],
    on_server: Callable[..., Settings],
    chroma_server: ChromaServer,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    helpdesk_for: Callable[[Settings], Helpdesk],
) -> None:
    kb = make_kb()
    settings = on_server(kb)
    served = run_ingest(settings).generation
    layout = Layout(settings.data_dir)

    # What an ingest killed mid-write leaves: a folder without a manifest, and a collection
    # on the server. Nothing serves it: CURRENT does not name it.
    orphan = "g-20000101T000000000000-dead00"
    (layout.generations / orphan).mkdir()
    with _client(chroma_server) as client:
        client.create_collection(f"{prefix}-{orphan}__dense-fake-hashed-bow-64")
    snapshot = helpdesk_for(settings).retriever().snapshot
    assert snapshot.name == served and all(served in c for c in snapshot.collections)

    # An ingest that fails after writing its collection deletes it on the way out.
    import helpdesk.index.ingest as ingest_module

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("validation interrupted")

    monkeypatch.setattr(ingest_module, "validate_generation", broken)
    write_files(kb, {"manuals/reset.md": EXTRA_MD})
    with pytest.raises(RuntimeError):
        run_ingest(settings)
    assert layout.current_name() == served
    names = _collections(chroma_server, prefix)
    assert names == sorted([f"{prefix}-{orphan}__dense-fake-hashed-bow-64", *snapshot.collections])

    # The next ingest finishes, and its garbage collection takes the killed one's leftovers.
    monkeypatch.undo()
    report = run_ingest(settings)
    assert orphan in report.removed_generations
    assert not any(orphan in name for name in _collections(chroma_server, prefix))


@pytest.mark.slow
def test_an_ingest_killed_while_writing_to_the_chroma_server(
    tmp_path: Path,
    on_server: Callable[..., Settings],
    chroma_server: ChromaServer,
    prefix: str,
    helpdesk_for: Callable[[Settings], Helpdesk],
) -> None:
    """A real `helpdesk ingest` process, SIGKILLed once its new generation's collection is on
    the server and still filling: the previous generation serves on, and the next ingest
    completes and deletes the dead one's collection."""
    import signal
    import subprocess

    from servers import CLI, environment

    kb = write_files(tmp_path / "kb", SMALL_KB)
    settings = on_server(kb)
    served = run_ingest(settings).generation
    helpdesk = helpdesk_for(settings)
    assert helpdesk.retriever().retrieve(Query("Bluetooth pairing", k=3))
    # Enough new chunks (about 2,000) that writing them to Chroma takes a few seconds.
    body = "Pairing, charging and resetting the devices, step by step. " * 80
    write_files(kb, {f"generated/page-{i:03}.md": f"# Page {i}\n\n{body}" for i in range(400)})
    env = environment(
        {
            **chroma_server.environment,
            "HELPDESK_CHROMA_PREFIX": prefix,
            "HELPDESK_EMBEDDING": "fake",
            "HELPDESK_EXACT_SEARCH_CHUNKS": "0",
        }
    )
    command = [*CLI, "ingest", "--quiet", "--source", str(kb), "--data-dir", str(settings.data_dir)]
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 120
        while not [n for n in _collections(chroma_server, prefix) if served not in n]:
            assert process.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    layout = Layout(settings.data_dir)
    assert layout.current_name() == served
    dead = [n for n in _collections(chroma_server, prefix) if served not in n]
    assert dead  # the killed ingest's collection is still on the server...
    assert helpdesk.retriever().snapshot.name == served  # ...and nothing serves it
    assert helpdesk.retriever().retrieve(Query("Bluetooth pairing", k=3))

    report = run_ingest(settings)
    assert report.generation not in (None, served)
    left = _collections(chroma_server, prefix)
    assert not set(dead) & set(left)
    assert any(report.generation in n for n in left)


def test_a_server_never_opens_a_collection_its_generation_does_not_name(
    make_kb: Callable[..., Path], on_server: Callable[..., Settings], chroma_server: ChromaServer
) -> None:
    settings = on_server(make_kb())
    run_ingest(settings)
    folder = Layout(settings.data_dir).current()
    embedders = Helpdesk(settings).embedders
    snapshot = Snapshot(folder, embedders, VectorStore.of(settings))
    snapshot.close()
    with _client(chroma_server) as client:
        for name in snapshot.collections:
            client.delete_collection(name)
    # Its collection gone (say, collected by mistake): not ready, and nothing is created.
    with pytest.raises(IndexNotReady, match="no Chroma collection"):
        Snapshot(folder, embedders, VectorStore.of(settings))
    with _client(chroma_server) as client:
        assert not set(snapshot.collections) & {c.name for c in client.list_collections()}
    # And an embedded-mode process refuses a generation built for the server.
    with pytest.raises(IndexNotReady, match="HELPDESK_VECTOR_STORE"):
        Snapshot(folder, embedders, VectorStore())


def test_a_down_chroma_server_is_not_ready(tmp_path: Path) -> None:
    from servers import free_port

    store = VectorStore(mode="server", host="127.0.0.1", port=free_port(), exact_chunks=0)
    with pytest.raises(IndexNotReady, match="does not answer"):
        store.client(tmp_path)


def _answers(url: str) -> list[Any]:
    found = []
    for text in QUESTIONS:
        search = httpx.get(f"{url}/api/search", params={"q": text, "k": 5}, timeout=30)
        assert search.status_code == 200, search.text
        ask = httpx.post(f"{url}/api/ask", json={"question": text}, timeout=30)
        assert ask.status_code == 200, ask.text
        body = ask.json()
        found.append((search.json()["results"], body["answer"], body["citations"]))
    return found


def _generation(url: str) -> str:
    return str(httpx.get(f"{url}/readyz", timeout=30).json()["generation"])


@pytest.mark.slow
def test_two_app_servers_on_shared_storage_answer_alike_and_move_together(
    tmp_path: Path, chroma_server: ChromaServer, prefix: str, postgres_url: str
) -> None:
    """Two `helpdesk serve` processes, each mounting the shared data directory at a path of
    its own (a symlink here), one Chroma server, one PostgreSQL database."""
    kb = write_files(tmp_path / "kb", SMALL_KB)
    shared = tmp_path / "shared-volume"
    mounts = [shared, tmp_path / "app2-mnt"]
    mounts[1].symlink_to(shared, target_is_directory=True)
    env = {
        **chroma_server.environment,
        "HELPDESK_CHROMA_PREFIX": prefix,
        "HELPDESK_EXACT_SEARCH_CHUNKS": "0",
        "HELPDESK_EMBEDDING": "fake",
        "HELPDESK_LLM": "extractive",
        "HELPDESK_RELOAD_INTERVAL": "0.2",
        "HELPDESK_DATABASE_URL": postgres_url,
    }
    # In this process (a subprocess start costs seconds): the same settings the servers read.
    run_ingest(Settings.from_env(env, source_dir=kb, data_dir=mounts[0]))
    apps = [
        helpdesk_server(f"app{i}", env, tmp_path, source=kb, data_dir=mount)
        for i, mount in enumerate(mounts, 1)
    ]
    with running(apps, timeout=120):
        first, second = (_answers(app.url) for app in apps)
        assert first == second
        assert SECRET not in str(first)  # public readers: the internal document never shows
        before = _generation(apps[0].url)
        assert _generation(apps[1].url) == before

        # One ingest, from the second machine's mount, moves CURRENT for both.
        write_files(kb, {"manuals/reset.md": EXTRA_MD})
        run_ingest(Settings.from_env(env, source_dir=kb, data_dir=mounts[1]))
        deadline = time.monotonic() + 30
        while {_generation(app.url) for app in apps} != {Layout(shared).current_name()}:
            assert time.monotonic() < deadline, "an app server did not move to the new generation"
            time.sleep(0.2)
        assert Layout(shared).current_name() != before
        for app in apps:
            search = httpx.get(f"{app.url}/api/search", params={"q": "reset the speaker"})
            assert search.json()["results"][0]["source"] == "manuals/reset.md"
        assert _answers(apps[0].url) == _answers(apps[1].url)


# The sample knowledge base with the real models on the Chroma server, PostgreSQL and two
# workers: tests/test_integration.py runs its whole suite that way too.


# -- token and TLS: the Chroma server behind a proxy that checks both ---------------------------


class _TokenProxy:
    """A TLS reverse proxy in front of the session's Chroma server that forwards only requests
    carrying ``header: value`` (what a deployment puts in front of `chroma run`, which has no
    authentication of its own), with a certificate from a throwaway CA."""

    def __init__(self, upstream: ChromaServer, folder: Path, header: str, value: str) -> None:
        import ssl
        import subprocess
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.ca = folder / "ca.pem"

        def openssl(arguments: str, *subject: str) -> None:
            command = ["openssl", *arguments.split(), *subject]
            subprocess.run(command, check=True, capture_output=True, cwd=folder)

        openssl(
            "req -x509 -newkey rsa:2048 -nodes -days 1 -keyout ca.key -out ca.pem -subj", "/CN=CA"
        )
        openssl("req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj", "/CN=local")
        (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
        openssl(
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
            "-out server.pem -extfile san.cnf"
        )
        target = f"http://{upstream.host}:{upstream.port}"
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                if self.headers.get(header) != value:
                    proxy.refused += 1
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kept = {k: v for k, v in self.headers.items() if k.lower() in ("content-type",)}
                answer = httpx.request(
                    self.command, target + self.path, content=body, headers=kept, timeout=60
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "server.pem", folder / "server.key")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize(
    ("header", "sent"), [("Authorization", "Bearer s3cret"), ("X-Chroma-Token", "s3cret")]
)
def test_token_and_tls_reach_a_protected_chroma_server(
    make_kb: Callable[..., Path],
    tmp_path: Path,
    chroma_server: ChromaServer,
    prefix: str,
    helpdesk_for: Callable[[Settings], Helpdesk],
    header: str,
    sent: str,
) -> None:
    proxy = _TokenProxy(chroma_server, tmp_path, header, sent)
    try:
        protected = {
            "vector_store": "server",
            "chroma_host": "127.0.0.1",
            "chroma_port": proxy.port,
            "chroma_ssl": True,
            "chroma_ca_bundle": str(proxy.ca),
            "chroma_prefix": prefix,
            "exact_search_chunks": 0,
        }
        kb = make_kb()
        settings = _settings(
            tmp_path / "data", kb, chroma_token="s3cret", chroma_token_header=header, **protected
        )
        run_ingest(settings)
        hits = helpdesk_for(settings).retriever().retrieve(Query("Bluetooth pairing", k=3))
        assert hits and proxy.refused == 0
        # Without the token the proxy refuses, and without the CA the certificate is not trusted.
        for wrong in ({"chroma_token": ""}, {"chroma_token": "s3cret", "chroma_ca_bundle": ""}):
            other = _settings(
                tmp_path / "data", kb, **{**protected, "chroma_token_header": header, **wrong}
            )
            with pytest.raises(IndexNotReady, match="does not answer"):
                VectorStore.of(other).client(tmp_path)
        assert proxy.refused >= 1
    finally:
        proxy.stop()
