"""Shared fixtures: hermetic settings, small knowledge bases written to tmp_path, one tokenizer.

Everything here uses the deterministic fake embedder and real Chroma on disk; nothing is mocked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

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


def build_small_index(root: Path) -> Settings:
    """SMALL_KB ingested with the fake embedder into ``root``, ready to serve."""
    from helpdesk.index.ingest import ingest

    settings = Settings(
        source_dir=write_files(root / "kb", SMALL_KB),
        data_dir=root / "data",
        embedding="fake",
        reload_interval=0.0,
        llm="extractive",
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
