"""The help desk itself: the embedder, the serving generation, retrieval and answering.

Built once per process (the Flask app keeps one in ``app.extensions``; the CLI makes its own),
lazily: nothing heavy happens until the first question. It watches the data directory's CURRENT
pointer and moves to a new generation between requests, without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .answering.extractive import ExtractiveAnswerer
from .config import Settings, parse_fusion_weights
from .embeddings import Embedder, make_embedders
from .index.generations import Layout
from .index.lexical import Tokenizer
from .index.store import Snapshot
from .language import detect_language
from .reranking import CrossEncoderReranker
from .retrieval import Fusion, Query, Retriever, fusion_weights
from .snippets import Snippet, make_snippet
from .types import Answer, Passage

log = logging.getLogger(__name__)

_CLOSE_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class SearchHit:
    passage: Passage
    snippet: Snippet


class Helpdesk:
    """Search and ask over the serving index generation of one data directory."""

    def __init__(self, settings: Settings, embedders: Sequence[Embedder] | None = None) -> None:
        self.settings = settings
        self.layout = Layout(Path(settings.data_dir))
        self._embedders = list(embedders) if embedders else None
        self.tokenizer = Tokenizer()
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._checked_at = 0.0
        self._warm_for: str | None = None
        self.reranker = CrossEncoderReranker(settings.reranker) if settings.reranker else None

    @property
    def embedders(self) -> list[Embedder]:
        if self._embedders is None:
            self._embedders = make_embedders(self.settings.embedding)
        return self._embedders

    @property
    def model_id(self) -> str:
        """The primary embedding model (its cosines feed answer confidence)."""
        return self.embedders[0].model_id

    def retriever(self) -> Retriever:
        """The retriever over the current generation, reloading when CURRENT has moved."""
        now = time.monotonic()
        current = self._retriever
        if current is not None and now - self._checked_at < self.settings.reload_interval:
            return current
        with self._lock:
            self._checked_at = now
            name = self.layout.current_name()
            if self._retriever is not None and self._retriever.snapshot.name == name:
                return self._retriever
            folder = self.layout.current()  # raises IndexNotReady before the first ingest
            snapshot = Snapshot(folder, self.embedders)
            fusion = Fusion(
                rrf_k=self.settings.rrf_k,
                dense_weight=self.settings.dense_weight,
                lexical_weight=self.settings.lexical_weight,
                candidates=self.settings.candidates,
                weights=fusion_weights(parse_fusion_weights(self.settings.fusion_weights)),
            )
            retriever = Retriever(
                snapshot,
                self.embedders,
                self.tokenizer,
                fusion,
                reranker=self.reranker,
                rerank_candidates=self.settings.rerank_candidates,
            )
            previous, self._retriever = self._retriever, retriever
            log.info("serving index generation %s (%d chunks)", name, len(snapshot.chunks))
            if previous is not None:
                # Requests still holding the old retriever finish on their own reference; its
                # Chroma client is closed once they surely have, so reloads leak nothing.
                log.info("left index generation %s", previous.snapshot.name)
                closer = threading.Timer(_CLOSE_AFTER_SECONDS, previous.snapshot.close)
                closer.daemon = True
                closer.start()
            return self._retriever

    def warm_up(self) -> None:
        """Load the index, the embedding model and the Korean analyser now, not on a request."""
        retriever = self.retriever()
        if self._warm_for != retriever.snapshot.name:
            retriever.retrieve(Query("warm up 준비", k=1))
            self._warm_for = retriever.snapshot.name

    def search(self, query: Query) -> list[SearchHit]:
        passages = self.retriever().retrieve(query)
        terms = set(self.tokenizer.tokenize(query.text))  # once, not once per result
        return [
            SearchHit(p, make_snippet(p.chunk.text, query.text, self.tokenizer, terms=terms))
            for p in passages
        ]

    def ask(self, query: Query, locale: str | None = None) -> Answer:
        """Answer in the asker's language (the question's, else the locale's)."""
        language = _language(query.text, locale)
        retriever = self.retriever()
        passages = retriever.retrieve(query)
        answerer = ExtractiveAnswerer(
            tokenizer=self.tokenizer,
            model_ids=tuple(e.model_id for e in self.embedders),
            terms=retriever.snapshot.terms,
            audience=query.audience,
            min_confidence=self.settings.min_confidence,
            contact=self.settings.handoff_contact,
        )
        return answerer.answer(query.text, passages, language)


def _language(question: str, locale: str | None) -> str:
    fallback = (locale or "en").split("-")[0].split("_")[0].lower() or "en"
    return detect_language(question, default=fallback)
