"""An optional cross-encoder reranker (sentence-transformers ``CrossEncoder``).

Set ``HELPDESK_RERANKER`` to a model folder (or a hub id where a hub is reachable); the fused
top ``HELPDESK_RERANK_CANDIDATES`` passages are then re-ordered by the cross-encoder's score of
(question, passage). No cross-encoder ships inside a PyPI package, so none is on by default.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from .embeddings import offline_if_local
from .types import Passage


class CrossEncoderReranker:
    """Re-orders passages by a cross-encoder; the model loads on first use."""

    def __init__(self, name_or_path: str) -> None:
        self.name_or_path = name_or_path
        self._model: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._model is None:
            offline_if_local(self.name_or_path)
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.name_or_path, device="cpu")
        return self._model

    def warm_up(self) -> None:
        """Load the model now rather than on the first question."""
        self._get()

    def scores(self, question: str, passages: list[Passage]) -> list[float]:
        """The cross-encoder's relevance score of each passage for ``question``."""
        if not passages:
            return []
        pairs = [(question, p.chunk.embed_text) for p in passages]
        with self._lock:
            values = self._get().predict(pairs, show_progress_bar=False)
        return [float(v) for v in values]

    def rerank(self, question: str, passages: list[Passage], k: int) -> list[Passage]:
        """The ``k`` best passages by cross-encoder score (ties keep the fused order)."""
        scored = self.scores(question, passages)
        order = sorted(range(len(passages)), key=lambda i: (-scored[i], i))
        return [replace(passages[i], rerank_score=scored[i]) for i in order[:k]]
