"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, fused by weighted RRF.

Filters (audience, product, language) are applied inside each ranker's query: Chroma gets a
``where`` clause and BM25 a row mask, so a public request never scores an internal chunk.
Near-duplicate chunks (the same FAQ in two files, a repeated paragraph) are collapsed to the best.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .embeddings import Embedder
from .index.lexical import Tokenizer
from .index.store import Snapshot
from .types import Passage

_WORDS = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Query:
    """A retrieval request: the text and who is asking."""

    text: str
    k: int = 5
    audience: str = "public"  # "internal" also sees internal documents
    product: str | None = None  # this product's documents and general ones
    language: str | None = None  # only documents in this language

    def filters(self) -> dict[str, tuple[str, ...]]:
        filters: dict[str, tuple[str, ...]] = {
            "audience": ("public", "internal") if self.audience == "internal" else ("public",)
        }
        if self.product:
            filters["product"] = (self.product, "")
        if self.language:
            filters["language"] = (self.language,)
        return filters


@dataclass(frozen=True)
class Fusion:
    """How the two rankers are combined."""

    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 30


class Retriever:
    """Question -> Passages over one loaded generation."""

    def __init__(
        self, snapshot: Snapshot, embedder: Embedder, tokenizer: Tokenizer, fusion: Fusion
    ) -> None:
        self.snapshot = snapshot
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.fusion = fusion
        self._vectors = np.load(snapshot.folder / "vectors.npy", mmap_mode="r")

    def retrieve(self, query: Query) -> list[Passage]:
        """The ``query.k`` best passages, fused, filtered and de-duplicated."""
        filters = query.filters()
        pool = max(self.fusion.candidates, query.k * 3)
        vector = self.embedder.embed_query(query.text)
        dense = self.snapshot.dense(vector, pool, filters) if self.fusion.dense_weight > 0 else []
        lexical: list[tuple[int, float]] = []
        if self.fusion.lexical_weight > 0:
            terms = self.tokenizer.tokenize(query.text)
            lexical = self.snapshot.lexical.search(terms, pool, self.snapshot.mask(filters))
        return self._fuse(vector, dense, lexical, query.k)

    def _fuse(
        self,
        vector: Sequence[float],
        dense: list[tuple[int, float]],
        lexical: list[tuple[int, float]],
        k: int,
    ) -> list[Passage]:
        fusion = self.fusion
        scores: dict[int, float] = {}
        dense_rank = {row: rank for rank, (row, _) in enumerate(dense, start=1)}
        lexical_rank = {row: rank for rank, (row, _) in enumerate(lexical, start=1)}
        lexical_score = dict(lexical)
        for row, rank in dense_rank.items():
            scores[row] = scores.get(row, 0.0) + fusion.dense_weight / (fusion.rrf_k + rank)
        for row, rank in lexical_rank.items():
            scores[row] = scores.get(row, 0.0) + fusion.lexical_weight / (fusion.rrf_k + rank)
        ordered = sorted(scores, key=lambda row: (-scores[row], row))
        # Every candidate gets its true cosine, also those only BM25 found: confidence needs it.
        query_vector = np.asarray(vector, dtype=np.float32)
        passages: list[Passage] = []
        kept_shingles: list[set[str]] = []
        for row in ordered:
            chunk = self.snapshot.chunks[row]
            shingles = _shingles(chunk.text)
            if any(_jaccard(shingles, other) >= 0.9 for other in kept_shingles):
                continue
            kept_shingles.append(shingles)
            passages.append(
                Passage(
                    chunk=chunk,
                    score=scores[row],
                    dense_score=float(np.dot(self._vectors[row], query_vector)),
                    lexical_score=lexical_score.get(row),
                    dense_rank=dense_rank.get(row),
                    lexical_rank=lexical_rank.get(row),
                )
            )
            if len(passages) == k:
                break
        return passages


def _shingles(text: str, size: int = 3) -> set[str]:
    words = _WORDS.findall(text.lower())
    if len(words) < size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
