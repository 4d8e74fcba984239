"""The help desk itself: the embedder, the serving generation, retrieval and answering.

Built once per process (the Flask app keeps one in ``app.extensions``; the CLI makes its own),
lazily: nothing heavy happens until the first question. It watches the data directory's CURRENT
pointer and moves to a new generation between requests, without a restart.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import replace
from pathlib import Path

from .answering.confidence import evidence, unrelated
from .answering.extractive import ExtractiveAnswerer
from .answering.generative import Generation
from .answering.prompt import PromptTemplate
from .answering.verify import Calibration, Verifier, numbers_in
from .config import Settings, parse_fusion_weights
from .conversation import Conversations, Turn, standalone_question
from .embeddings import Embedder, USEEmbeddings, make_embedders
from .index.generations import Layout
from .index.store import Snapshot
from .llm import ChatModel, make_llm
from .reranking import CrossEncoderReranker
from .retrieval import Fusion, Retriever, fusion_weights, with_twin
from .snippets import make_snippet
from .text import Tokenizer, detect_language
from .types import (
    Answer,
    AnswerEvent,
    Draft,
    Final,
    Passage,
    Query,
    Reader,
    SearchHit,
    SearchResults,
    Sources,
)

log = logging.getLogger(__name__)

_CLOSE_AFTER_SECONDS = 60.0


class _FromSettings:
    """The default of an edge that :class:`Helpdesk` builds from its settings."""


FROM_SETTINGS = _FromSettings()


def article_key(passage: Passage) -> tuple[str, str]:
    """What search lists once: a document, or one FAQ entry (each has its own URL)."""
    chunk = passage.chunk
    return (chunk.source, chunk.url if chunk.kind == "faq" else "")


class Helpdesk:
    """Search and ask over the serving index generation of one data directory."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedders: Sequence[Embedder] | None = None,
        llm: ChatModel | _FromSettings | None = FROM_SETTINGS,
        verifier: Verifier | None = None,
        reranker: CrossEncoderReranker | _FromSettings | None = FROM_SETTINGS,
        prompt: PromptTemplate | None = None,
    ) -> None:
        """The edges come from ``settings`` unless given: the embedding models, the LLM (None
        for extractive answers), the verifier of generated sentences, the reranker (None for
        none) and the prompt template."""
        self.settings = settings
        self.layout = Layout(Path(settings.data_dir))
        self._embedders = list(embedders) if embedders else None
        self.tokenizer = Tokenizer()
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._checked_at = 0.0
        self._warm_for: str | None = None
        if isinstance(reranker, _FromSettings):
            reranker = CrossEncoderReranker(settings.reranker) if settings.reranker else None
        self.reranker = reranker
        self.llm: ChatModel | None = make_llm(settings) if isinstance(llm, _FromSettings) else llm
        # Loaded now, so a broken template or a missing model fails at start-up, not per question.
        self.prompt = prompt or PromptTemplate.load(settings.prompt_template)
        self.conversations = Conversations(turns=settings.conversation_turns)
        self._verifier = verifier
        self._answerers: dict[tuple[str, Reader], ExtractiveAnswerer] = {}
        self._feedback_lock = threading.Lock()

    @property
    def verifier(self) -> Verifier:
        """Checks generated sentences with the cross-lingual USE model (reused if configured)."""
        if self._verifier is None:
            use = next(
                (e for e in self.embedders if e.model_id == USEEmbeddings.model_id),
                None,
            )
            self._verifier = Verifier(
                use or USEEmbeddings(),
                self.tokenizer,
                Calibration(threshold=self.settings.verify_threshold),
            )
        return self._verifier

    @property
    def embedders(self) -> list[Embedder]:
        if self._embedders is None:
            self._embedders = make_embedders(self.settings.embedding)
        return self._embedders

    @functools.cached_property
    def cross_lingual(self) -> int | None:
        """The index of the first cross-lingual model (its cosines compare across languages)."""
        flags = [bool(getattr(e, "cross_lingual", False)) for e in self.embedders]
        return flags.index(True) if True in flags else None

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
                method=self.settings.fusion,
                rrf_k=self.settings.rrf_k,
                dense_weight=self.settings.dense_weight,
                lexical_weight=self.settings.lexical_weight,
                keyword_boost=self.settings.keyword_boost,
                coverage_boost=self.settings.coverage_boost,
                product_boost=self.settings.product_boost,
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
                typo_tolerance=self.settings.typo_tolerance,
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

    def _answerer(self, retriever: Retriever, reader: Reader) -> ExtractiveAnswerer:
        """The extractive answerer of the serving generation, for one reader; built once."""
        key = (retriever.snapshot.name, reader)
        answerer = self._answerers.get(key)
        if answerer is None:
            answerer = ExtractiveAnswerer(
                tokenizer=self.tokenizer,
                model_ids=tuple(e.model_id for e in self.embedders),
                terms=retriever.snapshot.terms,
                reader=reader,
                min_confidence=self.settings.min_confidence,
                min_probability=self.settings.min_answer_probability,
                contact=self.settings.handoff_contact,
                cross_lingual=self.cross_lingual,
            )
            # Only the serving generation's answerers are kept.
            self._answerers = {k: v for k, v in self._answerers.items() if k[0] == key[0]}
            self._answerers[key] = answerer
        return answerer

    @functools.cached_property
    def _generation(self) -> Generation | None:
        """How answers are generated and verified (None without an LLM); built once."""
        if self.llm is None:
            return None
        return Generation(
            llm=self.llm,
            verifier=self.verifier,
            prompt=self.prompt,
            tokenizer=self.tokenizer,
            persona=self.settings.persona,
            max_tokens=self.settings.llm_max_tokens,
            timeout=self.settings.llm_timeout,
            passage_chars=self.settings.llm_passage_chars,
        )

    def warm_up(self) -> None:
        """Load the index, the embedding model and the Korean analyser now, not on a request."""
        retriever = self.retriever()
        if self._warm_for != retriever.snapshot.name:
            retriever.retrieve(Query("warm up", k=1))  # English questions use MiniLM too
            retriever.retrieve(Query("준비", k=1))
            retriever.rewriter.warm_up()
            if retriever.speller is not None:
                retriever.speller.warm_up()
            if self.llm is not None:
                self.llm.warm_up()
                self.verifier.prepare(["warm up 준비"])
            self._warm_for = retriever.snapshot.name

    def record_feedback(self, conversation_id: str, helpful: bool) -> None:
        """Append a thumbs up/down to DATA_DIR/feedback.jsonl (ids and booleans only)."""
        record = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "conversation_id": conversation_id, "helpful": helpful}  # fmt: skip
        path = Path(self.settings.data_dir) / "feedback.jsonl"
        with self._feedback_lock, path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def search(self, query: Query, sections: int = 2) -> SearchResults:
        """Up to ``query.k`` articles, best first, each with its best-matching passage and up to
        ``sections`` more of its passages; none when nothing retrieved relates to the query."""
        retriever = self.retriever()
        correction = retriever.correct(query.text, query.reader)
        query = replace(query, text=correction.text)  # snippets highlight what was searched
        # Several passages often come from one article; ask for enough to fill k articles.
        passages = retriever.retrieve(replace(query, k=query.k * 3))
        model_ids = [e.model_id for e in self.embedders]
        signals = evidence(
            query.text,
            passages[: self.settings.top_k],
            self.tokenizer,
            retriever.snapshot.terms,
            query.reader,
        )
        # BM25 matching a passage (through a glossary synonym, say) proves a known word.
        matched = any(p.lexical_score is not None for p in passages)
        if not matched and unrelated(signals, model_ids):
            # Gibberish or far off topic: the page's "No results" state, not noise.
            return SearchResults([], correction)
        terms = set(self.tokenizer.tokenize(query.text))  # once, not once per result
        articles: dict[tuple[str, str], list[Passage]] = {}
        for passage in passages:
            key = article_key(passage)
            if key in articles or len(articles) < query.k:
                articles.setdefault(key, []).append(passage)

        def hit(passage: Passage) -> SearchHit:
            snippet = make_snippet(passage.chunk.text, query.text, self.tokenizer, terms=terms)
            return SearchHit(passage, snippet)

        hits = [
            replace(hit(group[0]), sections=tuple(hit(p) for p in group[1 : 1 + sections]))
            for group in articles.values()
        ]
        return SearchResults(hits, correction)

    def ask(
        self, query: Query, locale: str | None = None, conversation_id: str | None = None
    ) -> Answer:
        """The final answer (what :meth:`ask_events` ends with)."""
        final: Answer | None = None
        for event in self.ask_events(query, locale, conversation_id):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def ask_events(
        self,
        query: Query,
        locale: str | None = None,
        conversation_id: str | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generator[AnswerEvent, None, None]:
        """sources, draft, token..., final: see :mod:`helpdesk.answering.generative`.

        Answers in the asker's language (the question's, else the locale's). A follow-up in a
        conversation is rewritten into a standalone question before retrieval. ``cancelled``
        says the client has gone: generation then stops and nothing more is yielded.
        """
        started = time.monotonic()
        conversation_id = conversation_id or self.conversations.new_id()
        history = self.conversations.history(conversation_id)
        language = _language(query.text, locale)
        retriever = self.retriever()
        # Typos corrected before anything reads the question: retrieval, confidence, the LLM.
        standalone = retriever.correct(standalone_question(query.text, history), query.reader).text
        passages = retriever.retrieve(replace(query, text=standalone))
        # The best passage's translation into the asker's language, when the index has one.
        passages = with_twin(
            retriever.snapshot,
            self.cross_lingual,
            passages,
            language,
            query.reader,
            place=self.settings.llm_passages,  # after the passages the prompt carries
        )
        # The extractive answer quotes one of the top three; the prompt carries LLM_PASSAGES.
        sources = passages[: max(self.settings.llm_passages, 3)]
        retrieved = time.monotonic()
        yield Sources(sources)
        draft = self._answerer(retriever, query.reader).answer(standalone, passages, language)
        draft = replace(
            draft,
            passages=tuple(passages),
            standalone_question=standalone,
            conversation_id=conversation_id,
            timings={
                "retrieval_ms": round((retrieved - started) * 1000, 1),
                "draft_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        yield Draft(draft)
        final = draft
        if self._generation is not None and not draft.handoff:
            prompted = sources[: self.settings.llm_passages]
            events = self._generation.events(
                standalone, prompted, sources, draft, started, cancelled
            )
            try:
                for event in events:
                    if isinstance(event, Final):
                        final = event.answer
                    else:
                        yield event
            finally:
                events.close()  # a closed stream stops the generation now, not at GC time
            if cancelled is not None and cancelled():
                return
            final = _prefer_faq(draft, final)
        final = replace(
            final,
            timings={**final.timings, "total_ms": round((time.monotonic() - started) * 1000, 1)},
        )
        self.conversations.add(
            conversation_id, Turn(query.text, standalone, final.text, final.language)
        )
        yield Final(final)


def _prefer_faq(draft: Answer, final: Answer) -> Answer:
    """The FAQ's own answer when the generated one only retells it, and drops a fact.

    When the draft quotes an FAQ entry in the asker's language, every generated sentence the
    verifier kept cites that same entry, and the entry states a number (a price, a period, a
    count) that the retelling left out, the LLM added nothing but a lost fact: the entry's
    answer, as its authors wrote it, is sent instead.
    """
    if final.generated_by == draft.generated_by or not draft.citations or not final.citations:
        return final
    quoted = draft.citations[0]
    chunk = next((p.chunk for p in draft.passages if p.chunk.id == quoted.chunk_id), None)
    if chunk is None or chunk.kind != "faq" or chunk.language != draft.language:
        return final
    if {c.chunk_id for c in final.citations} != {quoted.chunk_id}:
        return final
    if numbers_in(chunk.answer) <= numbers_in(final.text):
        return final  # a faithful retelling, perhaps friendlier: keep it
    return replace(
        draft,
        verification=final.verification,
        fallback_reason="the generated answer only retold the FAQ entry it cites",
        timings=final.timings,
    )


def _language(question: str, locale: str | None) -> str:
    fallback = (locale or "en").split("-")[0].split("_")[0].lower() or "en"
    return detect_language(question, default=fallback)
