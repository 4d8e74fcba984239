"""The lexical side: BM25 (bm25s) over the terms :class:`~helpdesk.text.Tokenizer` gives, and
the statistics of those terms (document frequencies, IDF) that confidence and spelling read.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Chunk, Reader
from .hits import top_hits


class LexicalIndex:
    """BM25 over a fixed list of chunk ids; ``mask`` limits which rows may score at all."""

    def __init__(self, bm25: Any, size: int) -> None:
        self._bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> LexicalIndex:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
        bm25 = bm25s.BM25()
        # An empty document would make bm25s drop the row and shift every id after it.
        bm25.index([tokens or ["\u2400"] for tokens in token_lists], show_progress=False)
        return cls(bm25, len(token_lists))

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder))

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        import bm25s

        return cls(bm25s.BM25.load(str(folder)), size)

    def search(
        self, terms: list[str], k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (row, score) pairs with a positive score, best first."""
        if not terms or self.size == 0:
            return []
        weights = None if mask is None else mask.astype(np.float32)
        scores = np.asarray(self._bm25.get_scores(terms, weight_mask=weights), dtype=np.float32)
        return top_hits(np.where(scores > 0, scores, -np.inf), k)


class TermStats:
    """Document frequencies of index terms, per audience scope ("public" and "all").

    Answer confidence weighs question terms by rarity, and a question term the knowledge base
    never uses at all ("iPhone", "비트코인") is strong evidence that the question is out of scope.
    Public requests are judged against the documents every customer reads (public, and not
    limited to some plans) only.
    """

    def __init__(self, documents: dict[str, int], frequencies: dict[str, dict[str, int]]) -> None:
        self.documents = documents
        self.frequencies = frequencies

    @classmethod
    def build(cls, chunks: Sequence[Chunk], token_lists: Sequence[list[str]]) -> TermStats:
        frequencies: dict[str, dict[str, int]] = {"public": {}, "all": {}}
        documents = {"public": 0, "all": 0}
        for chunk, tokens in zip(chunks, token_lists, strict=True):
            scopes = ("public", "all") if chunk.for_everyone else ("all",)
            for scope in scopes:
                documents[scope] += 1
                counts = frequencies[scope]
                for term in set(tokens):
                    counts[term] = counts.get(term, 0) + 1
        return cls(documents, frequencies)

    def save(self, path: Path) -> None:
        body = {"documents": self.documents, "frequencies": self.frequencies}
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TermStats:
        body = json.loads(path.read_text(encoding="utf-8"))
        return cls(body["documents"], body["frequencies"])

    def scope(self, reader: Reader) -> str:
        return "all" if reader == "agent" else "public"

    def idf(self, term: str, reader: Reader = "public") -> float:
        """Inverse document frequency; an unseen term gets the highest value."""
        scope = self.scope(reader)
        total = self.documents.get(scope, 0)
        return math.log((total + 1) / (self.frequencies[scope].get(term, 0) + 0.5))

    def share_held(self, terms: Iterable[str], held: AbstractSet[str], reader: Reader) -> float:
        """The share of ``terms``' weight (IDF, each distinct term once) that ``held`` has."""
        weights = {term: self.idf(term, reader) for term in terms}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        return sum(w for term, w in weights.items() if term in held) / total

    def known(self, term: str, reader: Reader = "public") -> bool:
        return term in self.frequencies[self.scope(reader)]
