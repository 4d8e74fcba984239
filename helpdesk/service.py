"""The help desk itself: the embedder, the serving generation, retrieval and answering.

Built once per process (the Flask app keeps one in ``app.extensions``; the CLI makes its own),
lazily: nothing heavy happens until the first question. It watches the data directory's CURRENT
pointer and moves to a new generation between requests, without a restart.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .answering.confidence import evidence, unrelated
from .answering.extractive import ExtractiveAnswerer
from .answering.generative import Generation
from .answering.prompt import PromptTemplate
from .answering.verify import Calibration, Verifier, numbers_in
from .config import Settings, parse_fusion_weights
from .conversation import ConversationMemory, standalone_question
from .embeddings import Embedder, QueryCache, USEEmbeddings, make_embedders
from .errors import NotFound
from .escalation import Signals, escalation, person_reply, repeats
from .frustration import FrustrationClassifier, Mood
from .handoff import context_packet
from .index.generations import Layout
from .index.store import Snapshot, VectorStore
from .llm import ChatModel, make_llm
from .llm.admission import LLMQueue
from .reranking import CrossEncoderReranker
from .retrieval import Fusion, Retriever, fusion_weights, with_twin
from .snippets import make_snippet
from .sources.schedule import SyncScheduler
from .store import (
    Event,
    FeedbackRecord,
    Store,
    StoreUnavailable,
    Ticket,
    TurnRecord,
    WebhookDeliverer,
)
from .text import Tokenizer, detect_language, redact
from .types import (
    Answer,
    AnswerEvent,
    Correction,
    CustomerContext,
    Draft,
    Escalation,
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
# After the database failed to open, how long until the next try (answers flow meanwhile).
_STORE_RETRY_SECONDS = 30.0
# How long a hand-off waits for a conversation's turns that another worker has still queued.
_OTHER_WORKERS_WRITE_SECONDS = 2.0
# How often `helpdesk serve` purges data older than HELPDESK_RETENTION_DAYS.
_PURGE_EVERY_SECONDS = 3600.0
# Earlier turns read for the escalation rules (a repeated question, two "not covered" in a row).
_ESCALATION_TURNS = 4


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
        store: Store | _FromSettings | None = FROM_SETTINGS,
        classifier: FrustrationClassifier | None = None,
        generation: str | None = None,
    ) -> None:
        """The edges come from ``settings`` unless given: the embedding models, the LLM (None
        for extractive answers), the verifier of generated sentences, the reranker (None for
        none), the prompt template, the store of conversations and tickets (None: memory
        only, no hand-off tickets; evaluations use that) and the frustration classifier.

        ``generation`` pins the index generation of that name instead of following CURRENT
        (``helpdesk replay`` answers from a candidate that is not serving yet)."""
        self.settings = settings
        self.layout = Layout(Path(settings.data_dir))
        self._embedders = list(embedders) if embedders else None
        self.generation = generation
        self.tokenizer = Tokenizer()
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._checked_at = 0.0
        self._warm_for: str | None = None
        if isinstance(reranker, _FromSettings):
            reranker = CrossEncoderReranker(settings.reranker) if settings.reranker else None
        self.reranker = reranker
        self.llm: ChatModel | None = make_llm(settings) if isinstance(llm, _FromSettings) else llm
        # Questions that may wait for the model; more are refused (503) rather than left hanging.
        self.llm_queue = LLMQueue(settings.llm_queue)
        # Loaded now, so a broken template or a missing model fails at start-up, not per question.
        self.prompt = prompt or PromptTemplate.load(settings.prompt_template)
        self._verifier = verifier
        self._answerers: dict[tuple[str, Reader], ExtractiveAnswerer] = {}
        self._store: Store | None = None if isinstance(store, _FromSettings) else store
        self._store_wanted = store is not None
        self._store_failed_at: float | None = None
        self.conversations = ConversationMemory(
            self.store, max(settings.conversation_turns, _ESCALATION_TURNS)
        )
        self._classifier = classifier
        self._own_use: Embedder | None = None
        self._query_caches: list[QueryCache] | None = None
        # Each question's USE vector by turn id, so the repeated-question rule embeds every
        # question once (its mood brought the vector) and not again on each later turn.
        self._turn_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._background: list[Callable[[], None]] = []
        # Set by start_background (the process that runs scheduled syncs): the console asks it.
        self.scheduler: SyncScheduler | None = None

    def store(self) -> Store | None:
        """The database of conversations and tickets, opened (and migrated) on first use.

        None when there is none (``store=None``), or while it cannot be opened: answers flow
        without it, and the next try comes after a pause.
        """
        if self._store is not None or not self._store_wanted:
            return self._store
        with self._lock:
            failed = self._store_failed_at
            if self._store is None and (
                failed is None or time.monotonic() - failed > _STORE_RETRY_SECONDS
            ):
                try:
                    self._store = Store.from_settings(self.settings)
                except StoreUnavailable as error:
                    self._store_failed_at = time.monotonic()
                    log.warning("conversations are not stored for now: %s", error.detail)
        return self._store

    def require_store(self) -> Store:
        """The store, for what cannot be done without it (tickets): 503 while it is away."""
        store = self.store()
        if store is None:
            raise StoreUnavailable(
                "conversations and tickets are not stored on this server"
                if not self._store_wanted
                else "the database is not reachable; please try again shortly"
            )
        return store

    @property
    def classifier(self) -> FrustrationClassifier:
        """Scores each customer message for frustration (over the cross-lingual USE model)."""
        if self._classifier is None:
            self._classifier = _shared_classifier(self._use())
        return self._classifier

    def sentence_embedder(self) -> Embedder:
        """The cross-lingual USE model: the configured one when the index uses it, else one
        of its own. Mood, repeated questions, verification and the insights compare with it."""
        return self._use()

    def _use(self) -> Embedder:
        if self._own_use is None:
            self._own_use = (
                next((e for e in self.embedders if e.model_id == USEEmbeddings.model_id), None)
                or USEEmbeddings()
            )
        return self._own_use

    @property
    def verifier(self) -> Verifier:
        """Checks generated sentences with the cross-lingual USE model (reused if configured)."""
        if self._verifier is None:
            self._verifier = Verifier(
                self._use(),
                self.tokenizer,
                Calibration(threshold=self.settings.verify_threshold),
            )
        return self._verifier

    @property
    def embedders(self) -> list[Embedder]:
        if self._embedders is None:
            self._embedders = make_embedders(self.settings.embedding)
        return self._embedders

    @property
    def query_caches(self) -> list[QueryCache]:
        """Each model's recent query embeddings, kept across index generations (a model's
        vectors do not depend on the index)."""
        if self._query_caches is None:
            size = self.settings.query_cache
            self._query_caches = [QueryCache(e, size) for e in self.embedders]
        return self._query_caches

    @functools.cached_property
    def typing_models(self) -> tuple[int, ...]:
        """The dense rankers of the cheap search while a customer types: the cross-lingual USE
        model when the index has it (a few milliseconds a query), else the primary one."""
        return (self.cross_lingual if self.cross_lingual is not None else 0,)

    @functools.cached_property
    def cross_lingual(self) -> int | None:
        """The index of the first cross-lingual model (its cosines compare across languages)."""
        flags = [bool(getattr(e, "cross_lingual", False)) for e in self.embedders]
        return flags.index(True) if True in flags else None

    def retriever(self) -> Retriever:
        """The retriever over the current generation, reloading when CURRENT has moved (or
        over the pinned ``generation``, for good)."""
        now = time.monotonic()
        current = self._retriever
        if current is not None and now - self._checked_at < self.settings.reload_interval:
            return current
        with self._lock:
            self._checked_at = now
            name = self.generation or self.layout.current_name()
            if self._retriever is not None and self._retriever.snapshot.name == name:
                return self._retriever
            # IndexNotReady before the first ingest, or when the pinned generation is gone
            folder = (
                self.layout.named(self.generation) if self.generation else self.layout.current()
            )
            snapshot = Snapshot(folder, self.embedders, VectorStore.of(self.settings))
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
                query_caches=self.query_caches,
                cache_size=self.settings.query_cache,
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
            self.classifier.warm_up()
            self.store()
            self._warm_for = retriever.snapshot.name

    def warm_models(self) -> None:
        """Load the models, and nothing that belongs to one process: the embedding models, the
        Korean analyser, the frustration classifier and the verifier (USE), the reranker and
        an in-process LLM; not the index (its Chroma client), not the store (its engine and
        writer thread). `helpdesk serve --workers N` calls it before the fork, so the workers
        share these pages; each worker then opens the index itself (:meth:`warm_up`)."""
        for embedder in self.embedders:
            embedder.embed_query("warm up 준비")
        self.tokenizer.tokenize("환불은 며칠 안에 받을 수 있나요?")
        self.classifier.warm_up()
        if self.reranker is not None:
            self.reranker.warm_up()
        if self.llm is not None:
            self.llm.warm_up()
            self.verifier.prepare(["warm up 준비"])

    def release_store(self) -> None:
        """Close the store and forget it; the next use opens it again. `helpdesk serve
        --workers N` migrates the database once in the master, then releases it, so no engine
        or writer thread crosses the fork."""
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()

    # -- feedback and hand-off --------------------------------------------------------------

    def record_feedback(
        self,
        conversation_id: str,
        helpful: bool,
        *,
        answer_id: str | None = None,
        reason: str | None = None,
        comment: str | None = None,
        visitor: str | None = None,
        variant: str = "",
    ) -> bool:
        """Store a thumbs up or down (queued, like every write on the customer's path).

        Returns whether to offer a person: a thumbs down does, when that rule is on.
        """
        store = self.store()
        if store is not None:
            store.record_feedback(
                FeedbackRecord(
                    conversation_id,
                    answer_id,
                    helpful,
                    reason,
                    redact(comment or "") or None,
                    _now(),
                )
            )
            last = self._last_turn(conversation_id)
            self.record_event(
                Event(
                    at=_now(),
                    kind="feedback",
                    surface=last.surface if last else "api",
                    visitor_id=visitor,
                    variant=variant,
                    customer_id=last.context.get("customer_id") if last else None,
                    language=last.language if last else "",
                    conversation_id=conversation_id,
                    turn_id=answer_id,
                    text=redact(comment or ""),
                    outcome="up" if helpful else "down",
                    data={"reason": reason} if reason else {},
                )
            )
        return not helpful and "thumbs_down" in self.settings.escalation_rules

    def _last_turn(self, conversation_id: str) -> TurnRecord | None:
        """A conversation's last turn (this process's memory, else the store), for the events
        that name only the conversation: where it happened, and for whom."""
        turns = self.conversations.history(conversation_id)
        return turns[-1] if turns else None

    def _conversation(self, store: Store, conversation_id: str, reader: Reader) -> list[TurnRecord]:
        """The stored turns of a conversation this reader may see (a customer never sees an
        agent's), or NotFound."""
        store.flush(timeout=2.0)  # this process's own last turn, if it is still queued
        turns = store.turns(conversation_id)
        if not turns and self.settings.workers > 1:
            # The answer may have come from another worker, its turn still in that worker's
            # write queue (written within milliseconds, unless the database is slow).
            deadline = time.monotonic() + _OTHER_WORKERS_WRITE_SECONDS
            while not turns and time.monotonic() < deadline:
                time.sleep(0.05)
                turns = store.turns(conversation_id)
        if not turns or (reader == "public" and any(t.reader != "public" for t in turns)):
            raise NotFound(
                "no conversation with that id: ask a question first, and send the "
                "conversation_id its answer returned",
                code="unknown_conversation",
            )
        return turns

    def handoff(
        self,
        conversation_id: str,
        *,
        reader: Reader = "public",
        answer_id: str | None = None,
        message: str | None = None,
        visitor: str | None = None,
        variant: str = "",
    ) -> Ticket:
        """A ticket for a person to take over, with the context packet; one per conversation
        while it is open (asking again returns the same ticket)."""
        store = self.require_store()
        turns = self._conversation(store, conversation_id, reader)
        feedback = store.feedback(conversation_id)
        reasons = ["requested"]
        if any(not f.helpful for f in feedback):
            reasons.append("thumbs_down")
        packet = context_packet(
            turns,
            feedback,
            language=self.settings.agent_language,
            reasons=reasons,
            message=redact(message or "") or None,
        )
        packet["answer_id"] = answer_id
        ticket = store.create_ticket(
            conversation_id, packet, turns[-1].language, notify=bool(self.settings.webhook_url)
        )
        self.record_event(
            Event(
                at=_now(),
                kind="handoff",
                surface=turns[-1].surface,
                visitor_id=visitor,
                variant=variant,
                customer_id=turns[-1].context.get("customer_id"),
                conversation_id=conversation_id,
                turn_id=answer_id,
                language=turns[-1].language,
                text=redact(message or ""),
                outcome="created",
                data={"ticket": ticket.id, "reasons": reasons},
            )
        )
        return ticket

    def ticket_for(self, ticket_id: str, conversation_id: str) -> Ticket:
        """A customer's view of their ticket: only with the conversation it came from."""
        ticket = self.require_store().ticket(ticket_id)
        if ticket.conversation_id != conversation_id:
            raise NotFound("no ticket with that id in this conversation", code="unknown_ticket")
        return ticket

    def start_background(self) -> None:
        """`helpdesk serve`'s background work: the sources' scheduled syncs, the webhook
        deliveries and the retention purge."""
        self.scheduler = SyncScheduler(self.settings, self.embedders)
        if self.scheduler.start():
            self._background.append(self.scheduler.stop)
        store = self.store()
        if store is None:
            return
        if self.settings.webhook_url:
            deliverer = WebhookDeliverer(
                store,
                self.settings.webhook_url,
                secret=self.settings.webhook_secret,
                max_backoff=self.settings.webhook_max_backoff,
            )
            deliverer.start()
            self._background.append(deliverer.stop)
        if self.settings.retention_days > 0:
            stop = threading.Event()

            def purge() -> None:
                while not stop.is_set():
                    try:
                        counts = store.purge()
                        if any(counts.values()):
                            log.info("purged data older than the retention: %s", counts)
                    except StoreUnavailable as error:
                        log.warning("purge skipped: %s", error.detail)
                    stop.wait(_PURGE_EVERY_SECONDS)

            threading.Thread(target=purge, name="purge", daemon=True).start()
            self._background.append(stop.set)

    def close(self) -> None:
        """Stop the background work and flush the store's queued writes."""
        for stop in self._background:
            stop()
        self._background.clear()
        if self._store is not None:
            self._store.close()

    def search(
        self,
        query: Query,
        sections: int = 2,
        *,
        surface: str = "api",
        visitor: str | None = None,
        variant: str = "",
        record: bool = True,
        mode: str = "full",
    ) -> SearchResults:
        """Up to ``query.k`` articles, best first, each with its best-matching passage and up to
        ``sections`` more of its passages; none when nothing retrieved relates to the query.
        The search is recorded as an event (``surface``, ``visitor``, ``variant``) unless
        ``record`` is false (the insights' own look-ups are not customers' searches).

        ``mode`` "typing" is the cheap search of a box that searches while the customer types:
        no typo pass (a half-typed last word is not a typo), BM25 and the fast model only (see
        :attr:`typing_models`), no reranker. "full", on Enter, is everything."""
        started = time.monotonic()
        results = self._search(query, sections, typing=mode == "typing")
        if not record:
            return results
        elapsed = round((time.monotonic() - started) * 1000, 1)
        self.record_event(
            Event(
                at=_now(),
                kind="search",
                surface=surface,
                visitor_id=visitor,
                variant=variant,
                language=_language(query.text, None),
                text=redact(query.text),
                outcome="results" if results.hits else "no_results",
                first_ms=elapsed,
                total_ms=elapsed,
                data={
                    "results": [_source(h.passage) for h in results.hits[:5]],
                    "corrected": redact(results.correction.text)
                    if results.correction.changes
                    else None,
                    **({"mode": mode} if mode != "full" else {}),
                },
            )
        )
        return results

    def record_event(self, event: Event) -> None:
        """Queue an event for the insights (nothing without a store)."""
        store = self.store()
        if store is not None:
            store.record_event(event)

    def _search(self, query: Query, sections: int, typing: bool = False) -> SearchResults:
        retriever = self.retriever()
        if typing:
            correction = Correction(query.text, ())
        else:
            correction = retriever.correct(query.text, query.reader)
        query = replace(query, text=correction.text)  # snippets highlight what was searched
        # Several passages often come from one article; ask for enough to fill k articles.
        models = self.typing_models if typing else None
        passages = retriever.retrieve(replace(query, k=query.k * 3), models)
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
        self,
        query: Query,
        locale: str | None = None,
        conversation_id: str | None = None,
        *,
        context: CustomerContext | None = None,
        surface: str = "api",
        visitor: str | None = None,
        variant: str = "",
    ) -> Answer:
        """The final answer (what :meth:`ask_events` ends with)."""
        final: Answer | None = None
        events = self.ask_events(
            query,
            locale,
            conversation_id,
            context=context,
            surface=surface,
            visitor=visitor,
            variant=variant,
        )
        for event in events:
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
        *,
        context: CustomerContext | None = None,
        surface: str = "api",
        visitor: str | None = None,
        variant: str = "",
    ) -> Generator[AnswerEvent, None, None]:
        """sources, draft, token..., final: see :mod:`helpdesk.answering.generative`.

        Answers in the asker's language (the question's, else the locale's). A follow-up in a
        conversation is rewritten into a standalone question before retrieval. ``cancelled``
        says the client has gone: generation then stops and nothing more is yielded.
        ``context`` is what the host page knows of the customer: their plan decides which
        plan-limited documents they read, their product's documents rank first. The final
        answer says whether to offer a person (its ``escalation``); the turn is stored, and
        an ``ask`` event recorded with the ``surface``, the anonymous ``visitor`` and the
        experiment ``variant``.

        With an LLM, the question first takes a place in :attr:`llm_queue`: when that is full,
        the first ``next()`` raises :class:`~helpdesk.errors.Overloaded` before any event.
        """
        visit = _Visit(surface, visitor, variant)
        events = self._events(query, locale, conversation_id, cancelled, context, visit)
        if self._generation is None:
            yield from events
            return
        with self.llm_queue.slot():
            yield from events

    def _events(
        self,
        query: Query,
        locale: str | None,
        conversation_id: str | None,
        cancelled: Callable[[], bool] | None,
        context: CustomerContext | None,
        visit: _Visit,
    ) -> Generator[AnswerEvent, None, None]:
        started = time.monotonic()
        context = context or CustomerContext()
        # A new conversation has no history to read.
        history = self.conversations.history(conversation_id) if conversation_id else []
        if query.reader == "public" and any(t.reader != "public" for t in history):
            # An agent's conversation (its id seen over a shoulder, or guessed): a customer
            # neither reads its turns, which may quote internal documents, nor adds to them.
            history, conversation_id = [], None
        conversation_id = conversation_id or self.conversations.new_id()
        language = _language(query.text, locale or context.locale)
        query = replace(
            query,
            plan=query.plan or context.plan,
            customer_product=query.customer_product or context.product,
        )
        retriever = self.retriever()
        # Agents' questions are not customers': no frustration to read, no person to offer.
        mood = self.classifier.mood(query.text) if query.reader == "public" else _AGENT_MOOD
        follow_up_from = (
            history[-self.settings.conversation_turns :] if self.settings.conversation_turns else []
        )
        # Typos corrected before anything reads the question: retrieval, confidence, the LLM.
        standalone = retriever.correct(
            standalone_question(query.text, follow_up_from), query.reader
        ).text
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
        if "asked_for_person" in mood.cues and "asked_for_person" in self.settings.escalation_rules:
            draft = person_reply(draft, self.settings.handoff_contact)
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
        final = replace(for_plan(final, query.plan), answer_id=secrets.token_urlsafe(12))
        final = replace(
            final,
            escalation=self._escalation(query.text, mood, final, history),
            timings={**final.timings, "total_ms": round((time.monotonic() - started) * 1000, 1)},
        )
        self.conversations.add(turn_record(final, query, mood, context, visit.surface))
        self.record_event(ask_event(final, query, mood, context, visit))
        yield Final(final)

    def _escalation(
        self, question: str, mood: Mood, answer: Answer, history: list[TurnRecord]
    ) -> Escalation:
        """Whether this reply offers a person (HELPDESK_ESCALATION_RULES), and why."""
        rules = self.settings.escalation_rules if mood is not _AGENT_MOOD else ()
        repeated = False
        if "repeated" in rules and history:
            vector = mood.vector or tuple(self._use().embed_documents([question])[0])
            earlier = [t.question for t in history]
            repeated = repeats(question, vector, earlier, self._vectors_of(history))
        if mood.vector:
            self._remember_vector(answer.answer_id, mood.vector)
        signals = Signals(
            asked_for_person="asked_for_person" in mood.cues,
            frustration=mood.frustration,
            repeated=repeated,
            not_covered=answer.handoff,
            previous_not_covered=bool(history) and history[-1].not_covered,
        )
        return escalation(signals, rules, self.settings.frustration_threshold)

    def _vectors_of(self, turns: list[TurnRecord]) -> list[np.ndarray]:
        """The USE vector of each turn's question: remembered when this process answered it,
        embedded (in one batch) when another process did or it has been forgotten."""
        with self._lock:
            known = {t.id: self._turn_vectors.get(t.id) for t in turns}
        missing = [t for t in turns if known[t.id] is None]
        if missing:
            embedded = self._use().embed_documents([t.question for t in missing])
            for turn, vector in zip(missing, embedded, strict=True):
                known[turn.id] = self._remember_vector(turn.id, vector)
        return [v for v in known.values() if v is not None]

    def _remember_vector(self, turn_id: str, vector: Sequence[float]) -> np.ndarray:
        array = np.asarray(vector, dtype=np.float32)
        with self._lock:
            self._turn_vectors[turn_id] = array
            self._turn_vectors.move_to_end(turn_id)
            while len(self._turn_vectors) > _REMEMBERED_VECTORS:
                self._turn_vectors.popitem(last=False)
        return array


# What an answer drawn from a plan-limited page says first, so the customer knows why they are
# told something others are not.
_FOR_PLAN = {
    "en": "As a {plan} plan customer: ",
    "ko": "{plan} 요금제 고객님께 해당하는 안내입니다. ",
}


def for_plan(answer: Answer, plan: str | None) -> Answer:
    """The answer addressed to the customer's plan, when it cites a page limited to plans
    that include theirs."""
    if not plan or answer.handoff or not answer.citations:
        return answer
    cited = {c.chunk_id for c in answer.citations}
    if not any(p.chunk.id in cited and plan in p.chunk.plans for p in answer.passages):
        return answer
    name = plan.title() if answer.language == "en" else plan
    lead = _FOR_PLAN.get(answer.language, _FOR_PLAN["en"]).format(plan=name)
    return replace(answer, text=lead + answer.text)


def turn_record(
    answer: Answer, query: Query, mood: Mood, context: CustomerContext, surface: str
) -> TurnRecord:
    """What the store keeps of one question and its answer: the customer's words without their
    personal data (answers come from the knowledge base, and keep its phone numbers)."""
    cited = {c.chunk_id for c in answer.citations}
    return TurnRecord(
        id=answer.answer_id,
        conversation_id=answer.conversation_id,
        at=_now(),
        question=redact(query.text),
        standalone=redact(answer.standalone_question),
        answer=answer.text,
        language=answer.language,
        reader=query.reader,
        surface=surface,
        not_covered=answer.handoff,
        grounded=answer.grounded,
        confidence=float(answer.confidence),
        generated_by=answer.generated_by,
        citations=[
            {
                "title": c.title,
                "url": c.url,
                "source": c.source,
                "chunk_id": c.chunk_id,
                "language": c.language,
            }
            for c in answer.citations
        ],
        sources=[
            {
                "chunk_id": p.chunk.id,
                "title": p.chunk.title,
                "url": p.chunk.url,
                "source": p.chunk.source,
                "audience": p.chunk.audience,
                "score": round(float(p.score), 4),
                "cited": p.chunk.id in cited,
            }
            for p in answer.passages
        ],
        verification=answer.verification,
        fallback_reason=answer.fallback_reason,
        frustration=float(mood.frustration),
        mood=mood.label,
        cues=list(mood.cues),
        escalation=list(answer.escalation.reasons) if answer.escalation else [],
        timings=dict(answer.timings),
        # the host page's fields are free text too: a customer id may be an e-mail address
        context={k: redact(v) if isinstance(v, str) else v for k, v in context.as_dict().items()},
    )


@dataclass(frozen=True)
class _Visit:
    """Where a question came from, for its event."""

    surface: str = "api"
    visitor: str | None = None
    variant: str = ""


def _source(passage: Passage) -> dict[str, Any]:
    chunk = passage.chunk
    return {"source": chunk.source, "title": chunk.title, "url": chunk.url}


def verification_outcome(answer: Answer) -> str:
    """How the answer the customer saw was checked: passed (generated, every kept sentence
    traced to a passage), quoted (extractive: a passage's own words), fallback (generated,
    refused by the verifier, quoted instead) or none (not covered: nothing to check)."""
    if answer.handoff:
        return "none"
    if answer.fallback_reason:
        return "fallback"
    if answer.verification is not None and answer.generated_by != "extractive":
        return "passed"
    return "quoted"


def ask_event(
    answer: Answer, query: Query, mood: Mood, context: CustomerContext, visit: _Visit
) -> Event:
    """The ``ask`` event of one answer: what the insights count (the question redacted)."""
    timings = answer.timings
    first = timings.get("draft_ms")
    if answer.generated_by != "extractive" and timings.get("first_token_ms") is not None:
        first = timings["first_token_ms"]
    reasons = list(answer.escalation.reasons) if answer.escalation else []
    outcome = "not_covered" if answer.handoff else "answered"
    if "asked_for_person" in mood.cues:
        outcome = "person"
    cited = {c.chunk_id for c in answer.citations}
    return Event(
        at=_now(),
        kind="ask",
        surface=visit.surface,
        visitor_id=visit.visitor,
        customer_id=redact(context.customer_id) if context.customer_id else None,
        conversation_id=answer.conversation_id,
        turn_id=answer.answer_id,
        variant=visit.variant,
        language=answer.language,
        text=redact(query.text),
        outcome=outcome,
        verification=verification_outcome(answer),
        generated_by=answer.generated_by,
        first_ms=first,
        total_ms=timings.get("total_ms"),
        data={
            "standalone": redact(answer.standalone_question),
            "grounded": answer.grounded,
            "confidence": round(float(answer.confidence), 4),
            "cited": [_source(p) for p in answer.passages if p.chunk.id in cited],
            "retrieved": [_source(p) for p in answer.passages[:3]],
            "escalation": reasons,
            "frustration": float(mood.frustration),
            "reader": query.reader,
            "product": context.product,
            "plan": context.plan,
        },
    )


# Question vectors kept for the repeated-question rule (4096 x 512 float32: 8 MB at most); a
# forgotten one is embedded again when needed.
_REMEMBERED_VECTORS = 4096
_AGENT_MOOD = Mood(label="calm", probabilities={}, cues=(), frustration=0.0)
_CLASSIFIERS: dict[str, FrustrationClassifier] = {}
_CLASSIFIERS_LOCK = threading.Lock()


def _shared_classifier(use: Embedder) -> FrustrationClassifier:
    """One classifier per process and model: it trains once, however many Helpdesks there are."""
    with _CLASSIFIERS_LOCK:
        if use.model_id not in _CLASSIFIERS:
            _CLASSIFIERS[use.model_id] = FrustrationClassifier(use)
        return _CLASSIFIERS[use.model_id]


def _now() -> datetime:
    return datetime.now(UTC)


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
