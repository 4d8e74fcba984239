"""Index generations on disk: each ingest writes a new folder, validates it, then moves a pointer.

    DATA_DIR/
      CURRENT                 name of the serving generation (replaced atomically)
      CANDIDATE               name of a generation built by `ingest --candidate`, not serving yet
      ingest.lock             held by the one ingest that may run at a time
      embedding-cache/        document vectors by content hash, per model
      generations/g-.../      one immutable generation:
        chroma/               Chroma PersistentClient folder (dense index; with
                              HELPDESK_VECTOR_STORE=server, collections named after the
                              generation on a Chroma server instead, listed in the manifest)
        bm25/                 bm25s index (lexical)
        chunks.jsonl          the chunks, in row order of bm25 and vectors.npy
        vectors-*.npy         their embeddings, reused by the next ingest for unchanged chunks
        topics.json           each chunk's topic (title, headings, FAQ question), deduplicated
        topics-*.npy          the topics' embeddings, one matrix per model
        manifest.json         model, counts, documents -> chunk ids; written last

A server only ever opens a generation that CURRENT names (``helpdesk replay`` also reads the one
CANDIDATE names, finished like any other), and an ingest only ever writes a folder no server has
seen, so Chroma's one-writer-per-folder rule holds across processes, and a killed
ingest leaves the previous generation serving.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IndexNotReady, IngestError

CURRENT = "CURRENT"
CANDIDATE = "CANDIDATE"
MANIFEST = "manifest.json"
# Bumped whenever a generation's files change shape; older generations are rebuilt, not read.
# The ingest locks this thread holds (lock file paths), so that holding one again is a no-op.
_HELD = threading.local()
FORMAT_VERSION = 3  # 3: topic vectors (topics.json, topics-*.npy)


@dataclass(frozen=True)
class Layout:
    """Where things live under one data directory."""

    data_dir: Path

    @property
    def generations(self) -> Path:
        return self.data_dir / "generations"

    @property
    def pointer(self) -> Path:
        return self.data_dir / CURRENT

    @property
    def candidate_pointer(self) -> Path:
        return self.data_dir / CANDIDATE

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "ingest.lock"

    @property
    def embedding_cache(self) -> Path:
        return self.data_dir / "embedding-cache"

    def new_generation(self) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.generations / f"g-{stamp}-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        return path

    def current_name(self) -> str | None:
        """Name of the serving generation, or None before the first ingest."""
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def current(self) -> Path:
        """Folder of the serving generation; IndexNotReady when there is none."""
        name = self.current_name()
        if name is None:
            raise IndexNotReady(
                f"no index in {self.data_dir}: run `helpdesk ingest` (or `python ingest.py`) first",
                hint="helpdesk ingest",
            )
        path = self.generations / name
        if not (path / MANIFEST).exists():
            raise IndexNotReady(f"the index generation {name} named by {self.pointer} is missing")
        return path

    def switch(self, generation: Path) -> None:
        """Point CURRENT at ``generation`` atomically (readers see the old or the new name)."""
        _write_pointer(self.pointer, generation.name)
        _fsync_dir(self.data_dir)

    def named(self, name: str) -> Path:
        """Folder of the finished generation ``name``; IndexNotReady when it is not there."""
        path = self.generations / name
        if "/" in name or name in ("", ".", "..") or not (path / MANIFEST).exists():
            raise IndexNotReady(f"no finished index generation {name!r} in {self.generations}")
        return path

    def candidate_name(self) -> str | None:
        """Name of the generation ``ingest --candidate`` built and nobody promoted yet."""
        try:
            name = self.candidate_pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def set_candidate(self, generation: Path) -> None:
        """Record ``generation`` as the candidate, atomically like :meth:`switch`."""
        _write_pointer(self.candidate_pointer, generation.name)
        _fsync_dir(self.data_dir)

    def clear_candidate(self) -> None:
        """Forget the candidate (its folder stays until garbage collection takes it)."""
        with contextlib.suppress(FileNotFoundError):
            self.candidate_pointer.unlink()
            _fsync_dir(self.data_dir)

    def collect_garbage(self, keep: int) -> list[str]:
        """Remove unfinished generations and all but the newest ``keep`` finished ones; the
        serving generation and the candidate are never removed."""
        if not self.generations.exists():
            return []
        spared = {self.current_name(), self.candidate_name()}
        finished: list[Path] = []
        unfinished: list[Path] = []
        for path in sorted(self.generations.iterdir()):
            if not path.is_dir():
                continue
            (finished if (path / MANIFEST).exists() else unfinished).append(path)
        doomed = unfinished + [p for p in finished[:-keep] if p.name not in spared]
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
        return [p.name for p in doomed]

    @contextlib.contextmanager
    def ingest_lock(self) -> Iterator[None]:
        """Hold the data directory's ingest lock, or fail at once if another ingest holds it.

        Reentrant in one thread: `helpdesk sync` holds it from its first fetch to the end of
        its ingest, and the ingest inside takes it again without waiting for itself."""
        key = str(self.lock_file.resolve())
        held: set[str] = _HELD.__dict__.setdefault("locks", set())
        if key in held:
            yield
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IngestError(
                    f"another ingest is running on {self.data_dir} (lock {self.lock_file})",
                    code="ingest_running",
                ) from None
            held.add(key)
            try:
                yield
            finally:
                held.discard(key)
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_manifest(generation: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest last: its presence marks the generation finished."""
    body = {"format": FORMAT_VERSION, **manifest}
    temporary = generation / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, generation / MANIFEST)
    _fsync_dir(generation)


def read_manifest(generation: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    return data


def _write_pointer(pointer: Path, name: str) -> None:
    """Replace the file ``pointer`` with ``name`` atomically, its content on disk first."""
    temporary = pointer.with_name(f".{pointer.name}.{os.getpid()}.tmp")
    temporary.write_text(name + "\n", encoding="utf-8")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, pointer)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
