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

import random
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from .beir import Dataset, load_dataset
from .knowledge_base import write_knowledge_base
from .metrics import ndcg_at_k, percentile, recall_at_k, reciprocal_rank

# How each --retriever choice maps onto the fusion weights; the index is the same for all three.
RETRIEVERS: dict[str, dict[str, float]] = {
    "hybrid": {},
    "dense": {"lexical_weight": 0.0},
    "lexical": {"dense_weight": 0.0},
}

DEFAULT_DATA_ROOT = Path(".cache") / "eval"


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
    from ..answering.confidence import confidence
    from ..index.ingest import ingest
    from ..service import Helpdesk
    from ..types import Query

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
