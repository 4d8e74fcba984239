"""One generation's stores: Chroma for vectors, bm25s for terms, chunks.jsonl for the text.

Writing happens once, in the ingest process, into a fresh folder; reading happens in servers
through :class:`Snapshot`, which queries Chroma through LangChain's ``Chroma`` vector store with
the audience/product/language filter inside the query itself.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..embeddings import Embedder
from ..errors import IndexModelMismatch, IndexNotReady, IngestError
from ..text import Tokenizer
from ..types import Chunk, Query, plan_key, plan_values
from .generations import FORMAT_VERSION, read_manifest
from .lexical import LexicalIndex, TermStats

_ADD_BATCH = 1000


def collection_name(model_id: str) -> str:
    """One Chroma collection per embedding model, named after it."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", model_id).strip("-")
    return f"dense-{slug}"[:60]


def vectors_file(folder: Path, model_id: str) -> Path:
    return folder / f"vectors-{collection_name(model_id)}.npy"


def topic_vectors_file(folder: Path, model_id: str) -> Path:
    return folder / f"topics-{collection_name(model_id)}.npy"


@dataclass(frozen=True)
class Topics:
    """The distinct chunk topics (:attr:`Chunk.topic`) and which one each chunk row has.

    Many chunks share a topic (every chunk of a page, every answer under one question), so each
    distinct topic is embedded and stored once.
    """

    texts: list[str]
    rows: np.ndarray  # chunk row -> index into texts

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> Topics:
        index: dict[str, int] = {}
        rows = [index.setdefault(chunk.topic, len(index)) for chunk in chunks]
        return cls(list(index), np.asarray(rows, dtype=np.int64))

    def save(self, folder: Path) -> None:
        payload = {"texts": self.texts, "rows": self.rows.tolist()}
        (folder / "topics.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> Topics:
        payload = json.loads((folder / "topics.json").read_text("utf-8"))
        return cls(list(payload["texts"]), np.asarray(payload["rows"], dtype=np.int64))


EMBEDDED = "embedded"
SERVER = "server"
_GENERATION = re.compile(r"g-[0-9T]+-[0-9a-f]+")  # Layout.new_generation's names


@dataclass(frozen=True)
class VectorStore:
    """Where a generation's dense vectors live, and how they are searched.

    ``embedded``: a Chroma ``PersistentClient`` folder inside the generation (one machine).
    ``server``: a Chroma server (``chroma run``, or Chroma's distributed/cloud deployment)
    through ``HttpClient``, with each generation's collections named after it
    (``PREFIX-GENERATION__dense-MODEL``), so a generation's collections are as immutable as its
    folder and a server only opens the ones its CURRENT generation's manifest names.

    Indexes of up to ``exact_chunks`` chunks are searched exactly in memory over the
    generation's vectors-*.npy (which every mode has); larger ones through Chroma's HNSW.
    """

    mode: str = EMBEDDED
    host: str = "localhost"
    port: int = 8000
    ssl: bool = False
    ca_bundle: str = ""
    token: str = ""
    token_header: str = "Authorization"
    tenant: str = "default_tenant"
    database: str = "default_database"
    prefix: str = "helpdesk"
    exact_chunks: int = 100_000

    @classmethod
    def of(cls, settings: Settings) -> VectorStore:
        return cls(
            mode=settings.vector_store,
            host=settings.chroma_host,
            port=settings.chroma_port,
            ssl=settings.chroma_ssl,
            ca_bundle=settings.chroma_ca_bundle,
            token=settings.chroma_token,
            token_header=settings.chroma_token_header,
            tenant=settings.chroma_tenant,
            database=settings.chroma_database,
            prefix=settings.chroma_prefix,
            exact_chunks=settings.exact_search_chunks,
        )

    @property
    def where(self) -> str:
        scheme = "https" if self.ssl else "http"
        return f"the Chroma server {scheme}://{self.host}:{self.port}"

    def client(self, generation: Path) -> Any:
        """A Chroma client for ``generation``'s collections (close it after use)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        if self.mode == EMBEDDED:
            return chromadb.PersistentClient(
                path=str(generation / "chroma"),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )
        options: dict[str, Any] = {"anonymized_telemetry": False, "allow_reset": False}
        if self.token:
            options["chroma_client_auth_provider"] = (
                "chromadb.auth.token_authn.TokenAuthClientProvider"
            )
            options["chroma_client_auth_credentials"] = self.token
            options["chroma_auth_token_transport_header"] = self.token_header
        if self.ssl and self.ca_bundle:
            options["chroma_server_ssl_verify"] = self.ca_bundle
        try:
            with warnings.catch_warnings():
                # chromadb hands the CA bundle's path to httpx, which would rather have an
                # SSLContext (chromadb's settings accept only a bool or a path): harmless.
                warnings.filterwarnings("ignore", "`verify=<str>`", DeprecationWarning)
                return chromadb.HttpClient(
                    host=self.host,
                    port=self.port,
                    ssl=self.ssl,
                    settings=ChromaSettings(**options),
                    tenant=self.tenant,
                    database=self.database,
                )
        except Exception as exc:  # connection refused, TLS, auth: all mean "not reachable"
            raise IndexNotReady(f"{self.where} does not answer ({exc})") from exc

    def collection(self, generation: str, model_id: str) -> str:
        """The name of one model's collection of ``generation``."""
        if self.mode == EMBEDDED:
            return collection_name(model_id)
        return f"{self.prefix}-{generation}__{collection_name(model_id)}"

    def generation_of(self, collection: str) -> str | None:
        """The generation a server collection of this deployment belongs to, or None."""
        start = f"{self.prefix}-"
        if self.mode == EMBEDDED or not collection.startswith(start) or "__" not in collection:
            return None
        owner = collection[len(start) :].split("__", 1)[0]
        # Only a generation's name: "helpdesk-prod-g-…" is another deployment's, not ours.
        return owner if _GENERATION.fullmatch(owner) else None

    def drop(
        self, generations: Sequence[str] | None = None, *, keep: Sequence[str] = ()
    ) -> list[str]:
        """Delete this deployment's server collections of ``generations`` (None: of every
        generation not in ``keep``); the embedded mode's go with their folders. Returns the
        collections deleted."""
        if self.mode == EMBEDDED:
            return []
        client = self.client(Path())
        dropped = []
        try:
            for name in _collection_names(client):
                owner = self.generation_of(name)
                if owner is None or owner in keep:
                    continue
                if generations is None or owner in generations:
                    client.delete_collection(name)
                    dropped.append(name)
        finally:
            _close(client)
        return dropped


def _collection_names(client: Any) -> list[str]:
    names: list[str] = []
    while True:
        page = client.list_collections(limit=100, offset=len(names))
        names.extend(c if isinstance(c, str) else c.name for c in page)
        if len(page) < 100:
            return names


def close_client(client: Any) -> None:
    """Close a Chroma client. An ``HttpClient``'s system is its own (chromadb gives each one a
    fresh identifier), but stopping it leaves its HTTP connection pools (the client's and its
    admin client's) open, so those are closed too."""
    client.close()
    for owner in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(owner, "_server", None), "_session", None)
        if session is not None:
            session.close()


_close = close_client


Matrices = Sequence[tuple[str, np.ndarray]]  # (model id, one row per chunk)


def write_generation(
    folder: Path,
    chunks: Sequence[Chunk],
    matrices: Matrices,
    tokenizer: Tokenizer,
    topics: Topics,
    topic_matrices: Matrices,
    store: VectorStore | None = None,
) -> dict[str, str]:
    """Write every store of a new generation (the manifest is the caller's, written last);
    returns each model's collection name, for the manifest."""
    store = store or VectorStore()
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as handle:
        for chunk in chunks:
            record = {
                "id": chunk.id,
                "text": chunk.text,
                "embed_text": chunk.embed_text,
                "meta": chunk.metadata(),
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    topics.save(folder)
    for model_id, vectors in topic_matrices:
        np.save(topic_vectors_file(folder, model_id), vectors.astype(np.float32))

    token_lists = tokenizer.tokenize_many([c.embed_text for c in chunks])
    LexicalIndex.build(token_lists).save(folder / "bm25")
    TermStats.build(chunks, token_lists).save(folder / "terms.json")

    names = {model_id: store.collection(folder.name, model_id) for model_id, _ in matrices}
    client = store.client(folder)
    try:
        for model_id, vectors in matrices:
            np.save(vectors_file(folder, model_id), vectors.astype(np.float32))
            collection = client.create_collection(
                names[model_id],
                metadata={"hnsw:space": "cosine", "embedding_model": model_id},
                embedding_function=None,
            )
            for start in range(0, len(chunks), _ADD_BATCH):
                batch = chunks[start : start + _ADD_BATCH]
                collection.add(
                    ids=[c.id for c in batch],
                    embeddings=vectors[start : start + len(batch)],
                    documents=[c.text for c in batch],
                    metadatas=[c.metadata() for c in batch],
                )
    finally:
        _close(client)
    return names


def validate_generation(
    folder: Path,
    chunks: Sequence[Chunk],
    matrices: Matrices,
    topic_matrices: Matrices,
    store: VectorStore | None = None,
) -> None:
    """Reopen the written generation and check counts and a probe query, or raise IngestError."""
    topics = Topics.load(folder)
    if len(topics.rows) != len(chunks):
        raise IngestError("validation failed: the topic list does not cover every chunk")
    for model_id, vectors in topic_matrices:
        stored = np.load(topic_vectors_file(folder, model_id), mmap_mode="r")
        if stored.shape != vectors.shape or stored.shape[0] != len(topics.texts):
            raise IngestError(f"validation failed: topic vectors ({model_id}) have the wrong shape")
    store = store or VectorStore()
    client = store.client(folder)
    try:
        for model_id, vectors in matrices:
            collection = client.get_collection(store.collection(folder.name, model_id))
            count = collection.count()
            if count != len(chunks):
                raise IngestError(
                    f"validation failed: Chroma holds {count} chunks for {model_id}, "
                    f"ingest wrote {len(chunks)}"
                )
            if chunks:
                _check_vectors(collection, model_id, chunks, vectors)
    finally:
        _close(client)
    lexical = LexicalIndex.load(folder / "bm25", len(chunks))
    if chunks and lexical.size != len(chunks):
        raise IngestError("validation failed: the lexical index size differs from the chunk count")


def _check_vectors(
    collection: Any, model_id: str, chunks: Sequence[Chunk], vectors: np.ndarray
) -> None:
    """A sample of stored vectors equals what was written, and a query answers."""
    rows = sorted({0, len(chunks) // 2, len(chunks) - 1})
    stored = collection.get(ids=[chunks[r].id for r in rows], include=["embeddings"])
    by_id = dict(zip(stored["ids"], stored["embeddings"], strict=True))
    for row in rows:
        vector = by_id.get(chunks[row].id)
        if vector is None or not np.allclose(vector, vectors[row], atol=1e-5):
            raise IngestError(f"validation failed: chunk {chunks[row].id} ({model_id}) not stored")
    # The stored vectors are checked above; the probe only proves the query path answers.
    # (HNSW is approximate, and near-identical vectors - duplicate texts, or MiniLM on Korean
    # text - need not return the probe's own chunk first.)
    wanted = min(10, len(chunks))
    probe = collection.query(query_embeddings=vectors[:1], n_results=wanted, include=[])
    if len(probe["ids"][0]) != wanted:
        raise IngestError(f"validation failed: a probe query ({model_id}) did not answer")


def read_vectors(folder: Path, model_ids: Sequence[str]) -> list[np.ndarray]:
    """Each model's vector matrix, memory-mapped (rows in chunks.jsonl order)."""
    return [np.load(vectors_file(folder, m), mmap_mode="r") for m in model_ids]


def read_topic_vectors(folder: Path, model_ids: Sequence[str]) -> list[np.ndarray]:
    """Each model's topic matrix, memory-mapped (rows in topics.json order)."""
    return [np.load(topic_vectors_file(folder, m), mmap_mode="r") for m in model_ids]


def read_chunks(folder: Path) -> list[Chunk]:
    chunks = []
    with open(folder / "chunks.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            chunks.append(
                Chunk.from_record(
                    record["id"], record["text"], record["embed_text"], record["meta"]
                )
            )
    return chunks


class Snapshot:
    """A loaded, read-only generation: what one server request searches."""

    def __init__(
        self, folder: Path, embedders: Sequence[Embedder], store: VectorStore | None = None
    ) -> None:
        self.folder = folder
        self.store = store or VectorStore()
        self.manifest = read_manifest(folder)
        if self.manifest.get("format") != FORMAT_VERSION:
            raise IndexNotReady(
                f"the index in {folder.parent.parent} was written by an older helpdesk "
                f"(format {self.manifest.get('format')}, this one reads {FORMAT_VERSION}); "
                "run `helpdesk ingest` again"
            )
        built_with = list(self.manifest.get("embedding_models", []))
        configured = [e.model_id for e in embedders]
        if built_with != configured:
            raise IndexModelMismatch(
                f"the index in {folder.parent.parent} was built with {'+'.join(built_with)!r}, "
                f"but this process embeds questions with {'+'.join(configured)!r}; run ingest "
                f"again or set HELPDESK_EMBEDDING to the models that built it",
                index_models=built_with,
                configured_models=configured,
            )
        built_in = str(self.manifest.get("vector_store", EMBEDDED))
        if built_in != self.store.mode:
            raise IndexNotReady(
                f"the index generation {folder.name} keeps its vectors in the {built_in} vector "
                f"store, but this process is set to HELPDESK_VECTOR_STORE={self.store.mode}; "
                "set it as the ingest did, or run ingest again"
            )
        # The collections the manifest names: a server never opens any other.
        names = self.manifest.get("collections") or {}
        self.collections = [
            str(names.get(e.model_id) or self.store.collection(folder.name, e.model_id))
            for e in embedders
        ]
        self.embedders = list(embedders)
        self.chunks = read_chunks(folder)
        self.row_of = {chunk.id: row for row, chunk in enumerate(self.chunks)}
        self.languages = sorted({chunk.language for chunk in self.chunks if chunk.language})
        self.products = frozenset(c.product for c in self.chunks if c.product)
        self.public_products = frozenset(
            c.product for c in self.chunks if c.product and c.audience == "public"
        )
        self.plan_keys = frozenset(plan_key(c.plans) for c in self.chunks)
        self.lexical = LexicalIndex.load(folder / "bm25", len(self.chunks))
        self.terms = TermStats.load(folder / "terms.json")
        self.vectors = read_vectors(folder, configured)
        self.topics = Topics.load(folder)
        self.topic_vectors = read_topic_vectors(folder, configured)
        self.exact = len(self.chunks) <= self.store.exact_chunks
        self._norms = _row_norms(self.vectors) if self.exact else []
        self._client: Any = None
        self._vectorstores: list[Any] | None = None
        self._open_lock = threading.Lock()
        if not self.exact:
            self.vectorstores  # noqa: B018 (open the collections now: a missing one fails here)
        self._masks: dict[tuple[tuple[str, tuple[str, ...]], ...], np.ndarray] = {}

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def vectorstores(self) -> list[Any]:
        """LangChain's ``Chroma`` over each model's collection, opened on first use (an index
        searched exactly never needs them)."""
        if self._vectorstores is None:
            with self._open_lock:
                if self._vectorstores is None:
                    self._vectorstores = self._open()
        return self._vectorstores

    def _open(self) -> list[Any]:
        from langchain_chroma import Chroma

        client = self.store.client(self.folder)
        try:
            for name in self.collections:
                client.get_collection(name)
        except IndexNotReady:
            _close(client)
            raise
        except Exception as exc:  # chromadb's NotFoundError, or the server went away
            _close(client)
            raise IndexNotReady(
                f"the index generation {self.name} has no Chroma collection it names "
                f"({', '.join(self.collections)}): {exc}"
            ) from exc
        self._client = client
        return [
            Chroma(
                client=client,
                collection_name=name,
                embedding_function=embedder,  # type: ignore[arg-type]
                create_collection_if_not_exists=False,
            )
            for name, embedder in zip(self.collections, self.embedders, strict=True)
        ]

    def filters(self, query: Query) -> dict[str, tuple[str, ...]]:
        """``query``'s filters, with the plans it may read when some documents are limited to
        some plans (a generation without any needs no plan filter, so old ones work as before)."""
        filters = query.filters()
        plans = plan_values(query.reader, query.plan, self.plan_keys)
        if plans is not None:
            filters["plans"] = plans
        return filters

    def mask(self, filters: Mapping[str, Sequence[str]]) -> np.ndarray:
        """Rows allowed by ``filters`` (field -> allowed values), cached per filter."""
        key = tuple(sorted((k, tuple(sorted(v))) for k, v in filters.items()))
        cached = self._masks.get(key)
        if cached is None:
            allowed = np.ones(len(self.chunks), dtype=bool)
            for field, values in filters.items():
                wanted = set(values)
                allowed &= np.fromiter(
                    (_stored(c, field) in wanted for c in self.chunks), bool, len(self.chunks)
                )
            self._masks[key] = cached = allowed
        return cached

    def dense(
        self, model: int, vector: list[float], k: int, filters: Mapping[str, Sequence[str]]
    ) -> list[tuple[int, float]]:
        """Top ``k`` (row, cosine similarity) pairs of one model that pass ``filters``: exact
        in memory for an index of up to ``store.exact_chunks`` chunks, else Chroma's HNSW with
        the same filter as its ``where``."""
        if not self.chunks:
            return []
        if self.exact:
            return self.exact_dense(model, vector, k, filters)
        hits = self.vectorstores[model].similarity_search_by_vector_with_relevance_scores(
            vector, k=min(k, len(self.chunks)), filter=chroma_where(filters)
        )
        results = []
        for document, distance in hits:
            row = self.row_of.get(str(document.id))
            if row is not None:
                results.append((row, 1.0 - float(distance)))
        return results

    def exact_dense(
        self, model: int, vector: list[float], k: int, filters: Mapping[str, Sequence[str]]
    ) -> list[tuple[int, float]]:
        """:meth:`dense` by brute force: every allowed row's cosine, the best ``k``, ties
        broken by row, so the same query always gets the same list."""
        return self.best(self.cosines(model, vector), k, filters)

    def cosines(self, model: int, vector: list[float]) -> np.ndarray:
        """Every chunk row's cosine with ``vector`` under one model: a search computes this once
        per model and picks from it per language with :meth:`best`."""
        if not self._norms:
            self._norms = _row_norms(self.vectors)
        query = np.asarray(vector, dtype=np.float32)
        length = float(np.linalg.norm(query)) or 1.0
        # einsum, not @: numpy's BLAS spreads a product this size over threads that, with a
        # server's concurrent requests on few cores, mostly wait for each other (p50 0.4 ms
        # against 16 ms at 10k chunks here: scripts/bench_dense.py, docs/deployment.md).
        products = np.einsum("ij,j->i", self.vectors[model], query)
        result: np.ndarray = products / (self._norms[model] * length)
        return result

    def best(
        self, scores: np.ndarray, k: int, filters: Mapping[str, Sequence[str]]
    ) -> list[tuple[int, float]]:
        """The ``k`` best (row, score) pairs of ``scores`` among the rows ``filters`` allow,
        ties broken by row, so the same query always gets the same list."""
        rows = np.flatnonzero(self.mask(filters)) if filters else np.arange(len(self.chunks))
        if not len(rows):
            return []
        allowed = scores[rows]
        take = min(k, len(rows))
        # Every row scoring at least the k-th best, so ties at the cut are broken by row too.
        kth = np.partition(allowed, len(rows) - take)[len(rows) - take]
        tied = np.flatnonzero(allowed >= kth)
        order = tied[np.lexsort((rows[tied], -allowed[tied]))][:take]
        return [(int(rows[i]), float(allowed[i])) for i in order]

    def topic_scores(self, model: int, vector: list[float]) -> np.ndarray:
        """Each chunk row's cosine with ``vector`` by its topic under one model.

        Topics are few (one per page section or FAQ question), so this is an exact product in
        memory rather than a second vector collection; a query computes it once per model and
        masks it per language.
        """
        if not self.chunks or not len(vector):
            return np.zeros(len(self.chunks), dtype=np.float32)
        per_topic = np.asarray(self.topic_vectors[model] @ np.asarray(vector, dtype=np.float32))
        return per_topic[self.topics.rows]

    def close(self) -> None:
        if self._client is not None:
            _close(self._client)


def _row_norms(matrices: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each matrix's row lengths (1 for an all-zero row), for cosines."""
    norms = (np.linalg.norm(np.asarray(m, dtype=np.float32), axis=1) for m in matrices)
    return [np.where(n > 0, n, 1.0).astype(np.float32) for n in norms]


def _stored(chunk: Chunk, field: str) -> str:
    """A chunk's value of one filter field, as the vector store holds it."""
    return plan_key(chunk.plans) if field == "plans" else str(getattr(chunk, field))


def chroma_where(filters: Mapping[str, Sequence[str]]) -> dict[str, Any] | None:
    """A Chroma ``where`` clause requiring each field to take one of its allowed values."""
    clauses: list[dict[str, Any]] = [
        {field: {"$in": list(values)}} for field, values in sorted(filters.items())
    ]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
