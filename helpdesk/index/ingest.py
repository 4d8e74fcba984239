"""The ingest pipeline: files -> chunks -> vectors -> a new validated generation -> switch.

Incremental by construction: chunk ids hash source and content, so an unchanged chunk keeps its
id and its vector is copied from the serving generation (or the on-disk embedding cache) instead
of being embedded again; chunks of changed or removed files simply are not in the new generation.
A file that fails to load but loaded before keeps its previous chunks, so a corrupt save never
removes a working article from the help center.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..documents import SkippedFile, chunk_document, discover, load_document, mirrors
from ..documents.loaders import LoadError
from ..embeddings import Embedder, cached, make_embedders
from ..errors import IngestError
from ..glossary import Glossary
from ..text import Tokenizer, find_pii
from ..types import Chunk
from .generations import FORMAT_VERSION, Layout, read_manifest, write_manifest
from .store import (
    EMBEDDED,
    Topics,
    VectorStore,
    read_chunks,
    read_topic_vectors,
    read_vectors,
    validate_generation,
    write_generation,
)

log = logging.getLogger(__name__)

_EMBED_BATCH = 32


@dataclass
class IngestReport:
    """What an ingest did, for the summary line and for tests."""

    generation: str | None = None
    up_to_date: bool = False
    candidate: bool = False  # built by `ingest --candidate`: not serving until promoted
    documents: int = 0
    documents_added: int = 0
    documents_updated: int = 0
    documents_removed: int = 0
    documents_unchanged: int = 0
    chunks: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    embedded: int = 0
    topics_embedded: int = 0  # topic texts (titles, headings, FAQ questions) embedded
    skipped: list[SkippedFile] = field(default_factory=list)
    kept_previous: list[str] = field(default_factory=list)
    removed_generations: list[str] = field(default_factory=list)
    # public document -> kind of personal data -> distinct values found in it
    personal_data: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        state = "up to date" if self.up_to_date else f"generation {self.generation}"
        if self.candidate:
            state = (
                "up to date with the serving generation: no candidate"
                if self.up_to_date
                else f"candidate generation {self.generation}, not serving: run `helpdesk "
                "replay`, then `helpdesk promote`"
            )
        lines = [
            f"Ingest finished in {self.seconds:.1f}s ({state}).",
            f"  documents: {self.documents} ({self.documents_added} added, "
            f"{self.documents_updated} updated, {self.documents_removed} removed, "
            f"{self.documents_unchanged} unchanged, {len(self.skipped)} skipped)",
            f"  chunks:    {self.chunks} ({self.chunks_added} added, {self.chunks_removed} "
            f"removed, {self.chunks_unchanged} unchanged; {self.embedded} vectors embedded, "
            f"{self.topics_embedded} for topics)",
        ]
        for skipped in self.skipped:
            kept = " (kept its previous version)" if skipped.source in self.kept_previous else ""
            lines.append(f"  skipped:   {skipped.source}: {skipped.reason}{kept}")
        for source, counts in self.personal_data.items():
            found = ", ".join(f"{n} {kind}" for kind, n in counts.items())
            lines.append(f"  personal:  {source}: {found} in a public document")
        return "\n".join(lines)


@dataclass
class _Previous:
    model_ids: list[str] = field(default_factory=list)
    documents: dict[str, list[str]] = field(default_factory=dict)
    chunks: dict[str, Chunk] = field(default_factory=dict)
    # model id -> chunk id -> vector
    vectors: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    # model id -> topic text -> vector
    topic_vectors: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    glossary: Glossary = field(default_factory=Glossary)


def _load_previous(layout: Layout) -> _Previous:
    if layout.current_name() is None:
        return _Previous()
    try:
        folder = layout.current()
        manifest = read_manifest(folder)
        if manifest.get("format") != FORMAT_VERSION:
            log.info("previous generation has format %s; rebuilding", manifest.get("format"))
            return _Previous()
        chunks = read_chunks(folder)
        model_ids = list(manifest["embedding_models"])
        vectors = {
            model_id: {c.id: matrix[i] for i, c in enumerate(chunks)}
            for model_id, matrix in zip(model_ids, read_vectors(folder, model_ids), strict=True)
        }
        topics = Topics.load(folder)
        topic_vectors = {
            model_id: dict(zip(topics.texts, matrix, strict=True))
            for model_id, matrix in zip(
                model_ids, read_topic_vectors(folder, model_ids), strict=True
            )
        }
    except (OSError, ValueError, KeyError) as exc:
        log.warning("previous generation unreadable (%s); building from scratch", exc)
        return _Previous()
    return _Previous(
        model_ids=model_ids,
        documents={k: list(v) for k, v in manifest.get("documents", {}).items()},
        chunks={c.id: c for c in chunks},
        vectors=vectors,
        topic_vectors=topic_vectors,
        glossary=Glossary.load(folder / "glossary.json"),
    )


Progress = Callable[[list[Any], str], Iterable[Any]]


def _no_progress(items: list[Any], _label: str) -> Iterable[Any]:
    return items


def ingest(
    settings: Settings,
    embedders: Sequence[Embedder] | None = None,
    *,
    progress: bool = False,
    candidate: bool = False,
) -> IngestReport:
    """Build (or bring up to date) the index of ``settings.source_dir`` in ``settings.data_dir``.

    With ``candidate``, the new generation is built the same way (incrementally from the serving
    one) but CURRENT stays where it is: the generation's name goes to CANDIDATE instead, for
    ``helpdesk replay`` to prove and ``helpdesk promote`` to switch to. A knowledge base that
    matches the serving generation makes no candidate (and forgets an older one). A normal
    ingest that moves CURRENT forgets the candidate: its replay was against a generation that
    no longer serves.
    """
    started = time.perf_counter()
    source = Path(settings.source_dir)
    if not source.is_dir():
        raise IngestError(f"knowledge-base folder {source} does not exist", code="no_source")
    layout = Layout(Path(settings.data_dir))
    store = VectorStore.of(settings)
    embedders = list(embedders or make_embedders(settings.embedding))
    model_ids = [e.model_id for e in embedders]
    bar = _tqdm if progress else _no_progress
    with layout.ingest_lock():
        report = IngestReport(candidate=candidate)
        previous = _load_previous(layout)
        glossary = Glossary.from_source(source)
        same_model = previous.model_ids == model_ids
        documents: dict[str, list[Chunk]] = {}
        # The knowledge-base folder, then each synced source's mirror (`helpdesk sync`), whose
        # documents are named NAME:PATH.
        files = [
            (path, path.relative_to(source).as_posix(), source, "") for path in discover(source)
        ]
        for name, mirror in mirrors(settings.mirrors_dir):
            prefix = f"{name}:"
            files += [
                (p, prefix + p.relative_to(mirror).as_posix(), mirror, prefix)
                for p in discover(mirror)
            ]
        for path, relative, root, prefix in bar(files, "reading"):
            try:
                documents[relative] = _read(path, relative, root, settings, prefix)
            except LoadError as exc:
                # Named printably: a name that is not UTF-8 could not be written to the manifest.
                shown = relative.encode("utf-8", "backslashreplace").decode("utf-8")
                report.skipped.append(SkippedFile(shown, str(exc)))
                if same_model and relative in previous.documents:
                    documents[relative] = [previous.chunks[i] for i in previous.documents[relative]]
                    report.kept_previous.append(relative)
        loaded = len(documents) - len(report.kept_previous)
        if loaded == 0 and not report.kept_previous:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in report.skipped[:5])
            raise IngestError(
                f"nothing could be ingested from {source}"
                + (f" ({reasons})" if reasons else ": the folder has no documents"),
                code="nothing_ingested",
            )

        chunks = [chunk for doc in documents.values() for chunk in doc]
        report.personal_data = personal_data(documents)
        for source_name, counts in report.personal_data.items():
            found = ", ".join(f"{n} {kind}" for kind, n in counts.items())
            log.warning("%s: %s in a public document", source_name, found)
        _count_changes(report, documents, previous if same_model else _Previous())
        report.up_to_date = (
            glossary == previous.glossary
            and same_model
            and set(documents) == set(previous.documents)
            and report.chunks_added == report.chunks_removed == 0
        )
        if report.up_to_date:
            if candidate:
                layout.clear_candidate()
            report.removed_generations = _collect_garbage(layout, store, settings)
            report.generation = None if candidate else layout.current_name()
            report.seconds = time.perf_counter() - started
            return report

        topics = Topics.of(chunks)
        matrices: list[np.ndarray] = []
        topic_matrices: list[np.ndarray] = []
        ids = [c.id for c in chunks]
        texts = [c.embed_text for c in chunks]
        for e in embedders:
            reuse = previous.vectors.get(e.model_id, {})
            matrix, embedded = _vectors(ids, texts, reuse, e, layout, settings, bar)
            matrices.append(matrix)
            report.embedded += embedded
            reuse = previous.topic_vectors.get(e.model_id, {})
            matrix, embedded = _vectors(topics.texts, topics.texts, reuse, e, layout, settings, bar)
            topic_matrices.append(matrix)
            report.topics_embedded += embedded
        stores = list(zip(model_ids, matrices, strict=True))
        topic_stores = list(zip(model_ids, topic_matrices, strict=True))
        folder = layout.new_generation()
        try:
            collections = write_generation(
                folder, chunks, stores, Tokenizer(), topics, topic_stores, store
            )
            glossary.save(folder / "glossary.json")
            validate_generation(folder, chunks, stores, topic_stores, store)
            write_manifest(
                folder,
                {
                    "embedding_models": model_ids,
                    "vector_store": store.mode,
                    "collections": collections,
                    "source_dir": str(source.resolve()),
                    "chunks": len(chunks),
                    "documents": {name: [c.id for c in doc] for name, doc in documents.items()},
                    "skipped": {s.source: s.reason for s in report.skipped},
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(Exception):  # the next ingest's garbage collection retries
                store.drop([folder.name])
            raise
        if candidate:
            layout.set_candidate(folder)
        else:
            layout.switch(folder)
            layout.clear_candidate()
        report.generation = folder.name
        report.removed_generations = _collect_garbage(layout, store, settings)
        report.seconds = time.perf_counter() - started
        log.info("ingest: %s", report.summary().splitlines()[0])
        return report


def _collect_garbage(layout: Layout, store: VectorStore, settings: Settings) -> list[str]:
    """Remove old and unfinished generations' folders, then, with a Chroma server, every
    collection of this deployment that no remaining generation owns (a killed ingest's too)."""
    removed = layout.collect_garbage(settings.keep_generations)
    if store.mode != EMBEDDED and layout.generations.is_dir():
        kept = [p.name for p in layout.generations.iterdir() if p.is_dir()]
        try:
            dropped = store.drop(keep=kept)
        except Exception as exc:  # the new generation serves; the next ingest tries again
            log.warning("could not delete old Chroma collections: %s", exc)
        else:
            if dropped:
                log.info("deleted %d Chroma collections of removed generations", len(dropped))
    return removed


# What a public page should never show. A company publishes its own phone numbers and
# addresses (and find_pii already keeps its 1-800 lines and support@ mailboxes), so those are
# not warned about: a warning on every contact page would teach people to ignore it.
_PERSONAL_IN_DOCUMENTS = ("rrn", "card", "account", "email")


def personal_data(documents: dict[str, list[Chunk]]) -> dict[str, dict[str, int]]:
    """Per public document, how many distinct personal values of each kind its text holds
    (values, not finds: overlapping chunks repeat them)."""
    found: dict[str, dict[str, int]] = {}
    for source, chunks in documents.items():
        values: dict[str, set[str]] = {}
        for chunk in chunks:
            if chunk.audience != "public":
                continue
            for f in find_pii(chunk.text):
                if f.kind in _PERSONAL_IN_DOCUMENTS:
                    values.setdefault(f.kind, set()).add(chunk.text[f.start : f.end])
        if values:
            found[source] = {k: len(values[k]) for k in _PERSONAL_IN_DOCUMENTS if k in values}
    return found


def _read(
    path: Path, relative: str, source: Path, settings: Settings, prefix: str = ""
) -> list[Chunk]:
    """One file's chunks, or LoadError: no single file, however broken, may stop an ingest."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        raise LoadError("the file name is not valid UTF-8; rename the file") from None
    document = load_document(path, source, settings.max_document_bytes, prefix)
    try:
        return chunk_document(document, settings.chunk_size, settings.chunk_overlap)
    except Exception as exc:  # a chunking bug on one odd file must not cost the whole ingest
        log.exception("chunking %s failed", relative)
        raise LoadError(f"could not be split into chunks ({type(exc).__name__}: {exc})") from None


def _count_changes(
    report: IngestReport, documents: dict[str, list[Chunk]], previous: _Previous
) -> None:
    new_ids = {c.id for doc in documents.values() for c in doc}
    old_ids = set(previous.chunks)
    report.documents = len(documents)
    report.chunks = len(new_ids)
    report.chunks_added = len(new_ids - old_ids)
    report.chunks_removed = len(old_ids - new_ids)
    report.chunks_unchanged = len(new_ids & old_ids)
    for name, doc in documents.items():
        before = previous.documents.get(name)
        if before is None:
            report.documents_added += 1
        elif before == [c.id for c in doc]:
            report.documents_unchanged += 1
        else:
            report.documents_updated += 1
    report.documents_removed = len(set(previous.documents) - set(documents))


def _vectors(
    keys: list[str],
    texts: list[str],
    previous: dict[str, np.ndarray],
    embedder: Embedder,
    layout: Layout,
    settings: Settings,
    bar: Progress,
) -> tuple[np.ndarray, int]:
    """One model's vectors for ``texts`` (reused from ``previous`` where the key matches), and
    how many texts really reached the model."""
    missing = [i for i, key in enumerate(keys) if key not in previous]
    rows: dict[int, np.ndarray] = {
        i: previous[key] for i, key in enumerate(keys) if key in previous
    }
    counting = _Counting(embedder)
    if missing:
        source: Embedder = counting
        if settings.embedding_cache:
            folder = Path(settings.embedding_cache_dir or layout.embedding_cache)
            source = cached(counting, folder)
        batches = [missing[i : i + _EMBED_BATCH] for i in range(0, len(missing), _EMBED_BATCH)]
        for batch in bar(batches, f"embedding ({embedder.model_id})"):
            vectors = source.embed_documents([texts[i] for i in batch])
            for i, vector in zip(batch, vectors, strict=True):
                rows[i] = np.asarray(vector, dtype=np.float32)
    if not keys:
        return np.zeros((0, 1), dtype=np.float32), counting.count
    return np.stack([rows[i] for i in range(len(keys))]).astype(np.float32), counting.count


class _Counting:
    """Counts the texts that really reach the model (cache misses)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.count = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.count += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def _tqdm(items: list[Any], label: str) -> Iterable[Any]:
    from tqdm import tqdm

    unit = "batch" if label.startswith("embedding") else "file"
    return tqdm(items, desc=label, unit=unit, leave=False)
