"""Retrieval quality on BEIR-layout datasets, measured through the real ingest and retrieval path.

    DATASET/corpus.jsonl     {"_id", "title", "text", ...}      one document a line
    DATASET/queries.jsonl    {"_id", "text", ...}               one question a line
    DATASET/qrels/test.tsv   query-id<TAB>corpus-id<TAB>score   a header line, then pairs
                                                                (score > 0 is relevant)

Each corpus document becomes a Markdown file with front matter in a temporary knowledge-base folder,
which :func:`helpdesk.index.ingest.ingest` indexes exactly as it indexes a help center. Every query
then goes through :class:`helpdesk.service.Helpdesk`'s retriever; chunk hits map back to corpus ids
(a document counts once, at its best rank) and are scored with binary relevance: nDCG@10,
Recall@5, Recall@10 and MRR@10, plus per-query latency.

The index lives in a persistent data directory per dataset and embedding model, so the embedding
cache and the previous generation make a repeated evaluation skip the embedding work entirely.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .config import Settings
from .errors import ConfigError, HelpdeskError

CORPUS = "corpus.jsonl"
QUERIES = "queries.jsonl"
QRELS = Path("qrels") / "test.tsv"

# How each --retriever choice maps onto the fusion weights; the index is the same for all three.
RETRIEVERS: dict[str, dict[str, float]] = {
    "hybrid": {},
    "dense": {"lexical_weight": 0.0},
    "lexical": {"dense_weight": 0.0},
}

DEFAULT_DATA_ROOT = Path(".cache") / "eval"


class DatasetError(HelpdeskError):
    """A dataset folder that is missing a file or has a malformed line."""

    code = "bad_dataset"
    title = "Bad dataset"


@dataclass(frozen=True)
class CorpusDocument:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Dataset:
    """A loaded BEIR folder; ``qrels`` keeps only relevant pairs (score > 0)."""

    name: str
    path: Path
    corpus: dict[str, CorpusDocument]
    queries: dict[str, str]  # id -> text, in file order
    qrels: dict[str, frozenset[str]]  # query id -> relevant corpus ids

    def judged_queries(self) -> list[str]:
        """Ids of queries with at least one relevant document, in file order."""
        return [qid for qid in self.queries if self.qrels.get(qid)]


# -- loading -------------------------------------------------------------------------------------


def _lines(path: Path, shown: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, blank lines skipped; errors name the line."""
    if not path.is_file():
        raise DatasetError(f"{shown}: file not found")
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"{shown} line {number}: not UTF-8 ({exc.reason} at byte {exc.start})"
                ) from None
            if line.strip():
                yield number, line.rstrip("\r\n")


def _json_records(path: Path, shown: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _lines(path, shown):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{shown} line {number}: not valid JSON ({exc.msg}, column {exc.colno})"
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(f"{shown} line {number}: expected a JSON object")
        yield number, record


def _field(record: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = record.get(key)
    if value is None:
        if required:
            raise DatasetError(f"{where}: missing {key!r}")
        return ""
    # Some BEIR sets store numeric ids as JSON numbers; they are still ids.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DatasetError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    return str(value)


def load_dataset(path: Path) -> Dataset:
    """Read and check a BEIR folder, or raise DatasetError naming the file and line."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a dataset folder")
    name = path.resolve().name

    corpus: dict[str, CorpusDocument] = {}
    shown = str(path / CORPUS)
    for number, record in _json_records(path / CORPUS, shown):
        where = f"{shown} line {number}"
        doc_id = _field(record, "_id", where)
        if not doc_id:
            raise DatasetError(f"{where}: '_id' is empty")
        if doc_id in corpus:
            raise DatasetError(f"{where}: duplicate _id {doc_id!r}")
        corpus[doc_id] = CorpusDocument(
            doc_id,
            _field(record, "title", where, required=False),
            _field(record, "text", where),
        )
    if not corpus:
        raise DatasetError(f"{shown}: no documents")

    queries: dict[str, str] = {}
    shown = str(path / QUERIES)
    for number, record in _json_records(path / QUERIES, shown):
        where = f"{shown} line {number}"
        query_id = _field(record, "_id", where)
        text = _field(record, "text", where).strip()
        if not query_id or not text:
            raise DatasetError(f"{where}: '_id' and 'text' must not be empty")
        if query_id in queries:
            raise DatasetError(f"{where}: duplicate _id {query_id!r}")
        queries[query_id] = text

    relevant: dict[str, set[str]] = {}
    shown = str(path / QRELS)
    for number, line in _lines(path / QRELS, shown):
        where = f"{shown} line {number}"
        parts = line.split("\t")
        if len(parts) != 3:
            raise DatasetError(
                f"{where}: expected query-id<TAB>corpus-id<TAB>score, got {len(parts)} field(s)"
            )
        query_id, doc_id, raw_score = (part.strip() for part in parts)
        try:
            score = float(raw_score)
        except ValueError:
            if number == 1:  # the header line ("query-id corpus-id score")
                continue
            raise DatasetError(f"{where}: score {raw_score!r} is not a number") from None
        if query_id not in queries:
            raise DatasetError(f"{where}: query {query_id!r} is not in {QUERIES}")
        if doc_id not in corpus:
            raise DatasetError(f"{where}: document {doc_id!r} is not in {CORPUS}")
        if score > 0:
            relevant.setdefault(query_id, set()).add(doc_id)
    if not relevant:
        raise DatasetError(f"{shown}: no relevant (score > 0) query-document pairs")

    return Dataset(
        name=name,
        path=path,
        corpus=corpus,
        queries=queries,
        qrels={qid: frozenset(ids) for qid, ids in relevant.items()},
    )


# -- the knowledge base --------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def file_name(doc_id: str) -> str:
    """A safe, stable Markdown file name for a corpus id.

    The ``doc-`` prefix keeps names clear of what ingest ignores (hidden ``.x``/``_x`` files,
    ``README.md``); a hash suffix keeps ids that differ only in unsafe characters or case apart.
    """
    safe = _UNSAFE.sub("_", doc_id)[:80]
    if safe != doc_id or safe.lower() != safe:
        safe += "-" + hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:10]
    return f"doc-{safe}.md"


def _title(document: CorpusDocument) -> str:
    title = " ".join(document.title.split())
    if title:
        return title
    # Without a title the loader would use the file name ("Doc sf0001 a0"), putting id tokens
    # into every chunk's embedded text; a help-center article's first line is a fairer stand-in.
    first = " ".join(document.text.strip().split("\n", 1)[0].split())
    return first if len(first) <= 80 else first[:80].rsplit(" ", 1)[0] + "…"


def write_knowledge_base(dataset: Dataset, folder: Path) -> dict[str, str]:
    """Write each corpus document as a Markdown file; return file name -> corpus id."""
    folder.mkdir(parents=True, exist_ok=True)
    # No "updated" field: chunk ids hash every stored field, and a date that moved with the file
    # would make a repeated evaluation rebuild instead of finding the index up to date.
    names: dict[str, str] = {}
    for document in dataset.corpus.values():
        name = file_name(document.id)
        names[name] = document.id
        # The language is left out on purpose: the loader detects it, as for any help-center file.
        front = yaml.safe_dump(
            {
                "title": _title(document),
                "url": f"beir:{document.id}",
                "audience": "public",
            },
            allow_unicode=True,
            sort_keys=False,
            width=1_000_000,
        )
        (folder / name).write_text(f"---\n{front}---\n\n{document.text}\n", encoding="utf-8")
    return names


# -- metrics -------------------------------------------------------------------------------------


def ndcg_at_k(ranked: Sequence[str], relevant: frozenset[str] | set[str], k: int = 10) -> float:
    """nDCG@k with binary relevance and a log2(rank + 1) discount."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, d in enumerate(ranked[:k], 1) if d in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], relevant: frozenset[str] | set[str], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def reciprocal_rank(
    ranked: Sequence[str], relevant: frozenset[str] | set[str], k: int = 10
) -> float:
    """1 / rank of the first relevant document in the top ``k``, else 0."""
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between ranks like numpy."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- running -------------------------------------------------------------------------------------


@dataclass
class EvalResult:
    """Metrics of one dataset under one retriever configuration."""

    dataset: str
    path: str
    retriever: str
    embedding: str
    k: int
    queries: int
    queries_judged: int
    seed: int | None
    ndcg_10: float
    recall_5: float
    recall_10: float
    mrr_10: float
    latency_ms: dict[str, float]
    docs_per_query: float
    not_covered: float = 0.0  # share of (answerable) queries the answerer would refuse
    index: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict with rounded figures."""
        return {
            "dataset": self.dataset,
            "path": self.path,
            "retriever": self.retriever,
            "embedding": self.embedding,
            "k": self.k,
            "queries": self.queries,
            "queries_judged": self.queries_judged,
            "seed": self.seed,
            "ndcg@10": round(self.ndcg_10, 4),
            "recall@5": round(self.recall_5, 4),
            "recall@10": round(self.recall_10, 4),
            "mrr@10": round(self.mrr_10, 4),
            "latency_ms": {key: round(value, 2) for key, value in self.latency_ms.items()},
            "docs_per_query": round(self.docs_per_query, 2),
            "not_covered": round(self.not_covered, 4),
            "index": self.index,
            "settings": self.settings,
        }


def data_dir_for(root: Path, dataset: str, embedding: str) -> Path:
    """The persistent index folder of one dataset and embedding model under ``root``."""
    model = re.sub(r"[^A-Za-z0-9_.-]+", "_", embedding).strip("_") or "model"
    return Path(root) / f"{dataset}-{model}"


def sample_queries(query_ids: Sequence[str], max_queries: int | None, seed: int) -> list[str]:
    """All ids, or a seeded random sample of ``max_queries`` of them kept in their given order."""
    if max_queries is None or max_queries >= len(query_ids):
        return list(query_ids)
    chosen = set(random.Random(seed).sample(list(query_ids), max_queries))
    return [qid for qid in query_ids if qid in chosen]


def merge_datasets(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset holding every corpus and query set, ids prefixed by their dataset's name.

    A real help center mixes languages and topics in one index; scoring both query sets on the
    union checks that fusion works without knowing which language a document is in.
    """
    corpus: dict[str, CorpusDocument] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, frozenset[str]] = {}
    for dataset in datasets:
        prefix = f"{dataset.name}/"
        for doc_id, document in dataset.corpus.items():
            corpus[prefix + doc_id] = CorpusDocument(prefix + doc_id, document.title, document.text)
        for query_id, text in dataset.queries.items():
            queries[prefix + query_id] = text
        for query_id, relevant in dataset.qrels.items():
            qrels[prefix + query_id] = frozenset(prefix + d for d in relevant)
    name = "+".join(d.name for d in datasets)
    return Dataset(name=name, path=Path(name), corpus=corpus, queries=queries, qrels=qrels)


def evaluate(
    dataset_path: Path | Dataset,
    settings: Settings,
    *,
    retriever: str = "hybrid",
    k: int = 10,
    max_queries: int | None = None,
    seed: int = 1,
    data_root: Path = DEFAULT_DATA_ROOT,
    progress: bool = False,
    status: Callable[[str], None] | None = None,
) -> EvalResult:
    """Index one BEIR dataset with the product's ingest and score the product's retriever on it."""
    from .answering.confidence import confidence
    from .index.ingest import ingest
    from .service import Helpdesk
    from .types import Query

    if retriever not in RETRIEVERS:
        raise ConfigError(f"unknown retriever {retriever!r}; expected one of {sorted(RETRIEVERS)}")
    say = status or (lambda _message: None)
    dataset = (
        dataset_path if isinstance(dataset_path, Dataset) else load_dataset(Path(dataset_path))
    )
    judged = dataset.judged_queries()
    chosen = sample_queries(judged, max_queries, seed)

    data_dir = data_dir_for(data_root, dataset.name, settings.embedding)
    # One embedding cache for every dataset and model combination: each text is embedded once.
    cache = settings.embedding_cache_dir or str(Path(data_root) / "embedding-cache")
    settings = settings.replace(
        data_dir=data_dir, embedding_cache_dir=cache, **RETRIEVERS[retriever]
    )
    # Ingest and the retriever build their own models from the settings, exactly as
    # `helpdesk ingest` and `helpdesk serve` do; loading a model twice costs seconds.
    with tempfile.TemporaryDirectory(prefix=f"helpdesk-eval-{dataset.name}-") as kb:
        names = write_knowledge_base(dataset, Path(kb))
        say(f"{dataset.name}: ingesting {len(names)} documents into {data_dir}")
        report = ingest(settings.replace(source_dir=Path(kb)), progress=progress)
    say(
        f"{dataset.name}: index {'up to date' if report.up_to_date else 'built'} "
        f"({report.chunks} chunks, {report.embedded} embedded, {report.seconds:.1f}s)"
    )

    helpdesk = Helpdesk(settings)
    engine = helpdesk.retriever()
    latencies: list[float] = []
    ndcg: list[float] = []
    recall5: list[float] = []
    recall10: list[float] = []
    rr: list[float] = []
    found: list[int] = []
    refused: list[bool] = []  # the answerer would say "not covered" (confidence under threshold)
    model_ids = [e.model_id for e in helpdesk.embedders]
    try:
        # Not timed: the first query loads the embedding model and the Korean analyser. It is
        # none of the dataset's queries, which the retriever's query cache would then remember.
        engine.retrieve(Query("warm-up 준비", k=k))
        say(f"{dataset.name}: running {len(chosen)} queries ({retriever})")
        for query_id in chosen:
            started = time.perf_counter()
            question = engine.correct(dataset.queries[query_id]).text  # as the service does
            # Several chunks can come from one document; ask for enough chunks to fill k documents.
            passages = engine.retrieve(Query(question, k=k * 3))
            latencies.append((time.perf_counter() - started) * 1000.0)
            ranked: list[str] = []
            for passage in passages:
                doc_id = names.get(passage.chunk.source)
                if doc_id is not None and doc_id not in ranked:
                    ranked.append(doc_id)
            relevant = dataset.qrels[query_id]
            ndcg.append(ndcg_at_k(ranked, relevant, 10))
            recall5.append(recall_at_k(ranked, relevant, 5))
            recall10.append(recall_at_k(ranked, relevant, 10))
            rr.append(reciprocal_rank(ranked, relevant, 10))
            found.append(len(ranked))
            score = confidence(
                question,
                passages[: settings.top_k],
                model_ids,
                helpdesk.tokenizer,
                engine.snapshot.terms,
            )
            refused.append(score < settings.min_confidence)
    finally:
        engine.snapshot.close()

    def mean(values: Sequence[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    return EvalResult(
        dataset=dataset.name,
        path=str(dataset.path),
        retriever=retriever,
        embedding=settings.embedding,
        k=k,
        queries=len(chosen),
        queries_judged=len(judged),
        seed=seed if len(chosen) < len(judged) else None,
        ndcg_10=mean(ndcg),
        recall_5=mean(recall5),
        recall_10=mean(recall10),
        mrr_10=mean(rr),
        latency_ms={
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "mean": mean(latencies),
        },
        docs_per_query=mean(found),
        not_covered=mean([float(r) for r in refused]),
        index={
            "data_dir": str(data_dir),
            "generation": report.generation,
            "documents": report.documents,
            "chunks": report.chunks,
            "skipped": len(report.skipped),
            "embedded": report.embedded,
            "ingest_seconds": round(report.seconds, 1),
        },
        settings={
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "candidates": settings.candidates,
            "fusion": settings.fusion,
            "rrf_k": settings.rrf_k,
            "fusion_weights": settings.fusion_weights,
            "dense_weight": settings.dense_weight,
            "lexical_weight": settings.lexical_weight,
            "keyword_boost": settings.keyword_boost,
            "coverage_boost": settings.coverage_boost,
        },
    )


def format_table(results: Sequence[EvalResult]) -> str:
    """A plain-text table: one row per dataset and retriever, then where each index lives."""
    header = (
        f"{'dataset':<16} {'retriever':<9} {'queries':>9} {'nDCG@10':>8} {'R@5':>7} "
        f"{'R@10':>7} {'MRR@10':>7} {'p50 ms':>8} {'p95 ms':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        queries = f"{r.queries}/{r.queries_judged}"
        lines.append(
            f"{r.dataset:<16} {r.retriever:<9} {queries:>9} {r.ndcg_10:>8.4f} {r.recall_5:>7.4f} "
            f"{r.recall_10:>7.4f} {r.mrr_10:>7.4f} {r.latency_ms['p50']:>8.1f} "
            f"{r.latency_ms['p95']:>8.1f}"
        )
    lines.append("")
    for r in results:
        sample = f", sample seed {r.seed}" if r.seed is not None else ""
        lines.append(
            f"{r.dataset}: {r.embedding}, k={r.k}{sample}; {r.index['documents']} documents, "
            f"{r.index['chunks']} chunks ({r.index['skipped']} skipped), "
            f"{r.docs_per_query:.1f} distinct documents per query, {r.not_covered:.1%} would get "
            f"the not-covered reply; index in {r.index['data_dir']}"
        )
    return "\n".join(lines)
