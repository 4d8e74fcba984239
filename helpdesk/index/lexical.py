"""The lexical side: BM25 (bm25s) over Korean morphemes (kiwipiepy) and stemmed English words.

Text with Hangul goes through Kiwi, which splits particles and endings off Korean words
("스피커를" -> "스피커"); other text is split into words, lower-cased, stop words dropped and
Snowball-stemmed. Latin words inside Korean text get the same stemming, so "Wi-Fi 연결" and
"wi-fi connection" share tokens.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import threading
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import numpy as np

from ..language import has_hangul
from ..types import Chunk
from .hits import top_hits

# Kiwi tags kept as index terms: nouns, numerals, verb/adjective stems, roots, foreign words,
# numbers and hanja. Particles, endings and suffixes carry no topic.
_KEEP_TAGS = ("NNG", "NNP", "NR", "VV", "VA", "XR", "SL", "SN", "SH", "MAG")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Kiwi tags of the words that make a sentence of a question rather than name its topic:
# particles, endings, verb-making suffixes, copula, auxiliaries, verbs, adjectives, pronouns,
# adverbs, determiners and bound nouns. A question made of none of them is a list of keywords.
_SENTENCE_TAGS = (
    *("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA"),
    *("NP", "NNB", "MM", "MAG", "MAJ", "IC"),
)

# A plain string keeps the list readable; split once at import.
ENGLISH_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves""".split()  # noqa: SIM905
)


class Tokenizer:
    """Turns text into BM25 terms; builds the Kiwi model and the stemmer on first use."""

    def __init__(self) -> None:
        self._kiwi: Any = None
        self._stemmer: Any = None
        self._lock = threading.Lock()
        # Passages are tokenised again at answer time (coverage, a second quote); the same few
        # hundred chunk texts come back, so their term sets are kept.
        self._term_sets = functools.lru_cache(maxsize=4096)(self._term_set)

    def _term_set(self, text: str) -> frozenset[str]:
        return frozenset(self.tokenize(text))

    def term_set(self, text: str) -> frozenset[str]:
        """The distinct index terms of ``text``, remembered for recent texts."""
        return self._term_sets(text)

    def _kiwi_model(self) -> Any:
        with self._lock:
            if self._kiwi is None:
                from kiwipiepy import Kiwi

                self._kiwi = Kiwi()
            return self._kiwi

    def _stem(self, words: list[str]) -> list[str]:
        if self._stemmer is None:
            import Stemmer

            self._stemmer = Stemmer.Stemmer("english")
        return list(self._stemmer.stemWords(words))

    def stem_words(self, words: list[str]) -> list[str]:
        """Each word's index term ("" for stop words), in order."""
        lowered = [w.lower() for w in words]
        stems = self._stem(lowered)
        return ["" if w in ENGLISH_STOP_WORDS else s for w, s in zip(lowered, stems, strict=True)]

    def _latin(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]
        return self._stem(words)

    def _korean(self, tokens: Sequence[Any]) -> list[str]:
        terms: list[str] = []
        for token in tokens:
            tag = token.tag.split("-")[0]
            if tag not in _KEEP_TAGS:
                continue
            if tag == "SL":
                terms.extend(self._latin(token.form))
            else:
                terms.append(token.form.lower())
        return terms

    def morphemes(self, text: str) -> list[tuple[str, str]]:
        """Kiwi's (form, tag) pairs of a Korean text."""
        return [(t.form, t.tag) for t in self._kiwi_model().tokenize(text)]

    def sentence_share(self, text: str) -> float:
        """The share of ``text``'s words that make it a sentence rather than a list of
        keywords: English stop words ("how", "do", "my"), Korean particles, endings, verbs and
        the like. 0.0 for a search-box query such as "refund policy" or "환불 정책 기간"."""
        if has_hangul(text):
            tags = [
                t.tag.split("-")[0]
                for t in self._kiwi_model().tokenize(text)
                if not t.tag.startswith("S") or t.tag in ("SL", "SN", "SH")
            ]
            sentence = [t for t in tags if t[0] in "JE" or t in _SENTENCE_TAGS]
            return len(sentence) / len(tags) if tags else 0.0
        words = _WORD.findall(text.lower())
        return sum(w in ENGLISH_STOP_WORDS for w in words) / len(words) if words else 0.0

    def guessed_nouns(self, text: str) -> bool:
        """Whether Kiwi had to guess a noun of ``text``: one not in its dictionary. Kiwi gives
        such nouns one of its reserved ids (below 4), e.g. "셔비스" or "기급복지", while real
        words absent from a knowledge base ("재정", "비트코인") keep their own."""
        return any(t.id < 4 and t.tag.startswith("NN") for t in self._kiwi_model().tokenize(text))

    def tokenize(self, text: str) -> list[str]:
        """Index terms of one text."""
        if has_hangul(text):
            return self._korean(self._kiwi_model().tokenize(text))
        return self._latin(text)

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Index terms of many texts (Korean ones batched through Kiwi)."""
        result: list[list[str]] = [[] for _ in texts]
        korean = [i for i, t in enumerate(texts) if has_hangul(t)]
        for i, text in enumerate(texts):
            if not has_hangul(text):
                result[i] = self._latin(text)
        if korean:
            analysed = self._kiwi_model().tokenize([texts[i] for i in korean])
            for i, tokens in zip(korean, analysed, strict=True):
                result[i] = self._korean(tokens)
        return result


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
    Public requests are judged against public documents only.
    """

    def __init__(self, documents: dict[str, int], frequencies: dict[str, dict[str, int]]) -> None:
        self.documents = documents
        self.frequencies = frequencies

    @classmethod
    def build(cls, chunks: Sequence[Chunk], token_lists: Sequence[list[str]]) -> TermStats:
        frequencies: dict[str, dict[str, int]] = {"public": {}, "all": {}}
        documents = {"public": 0, "all": 0}
        for chunk, tokens in zip(chunks, token_lists, strict=True):
            scopes = ("public", "all") if chunk.audience == "public" else ("all",)
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

    def scope(self, audience: str) -> str:
        return "all" if audience == "internal" else "public"

    def idf(self, term: str, audience: str = "public") -> float:
        """Inverse document frequency; an unseen term gets the highest value."""
        scope = self.scope(audience)
        total = self.documents.get(scope, 0)
        return math.log((total + 1) / (self.frequencies[scope].get(term, 0) + 0.5))

    def share_held(self, terms: Iterable[str], held: AbstractSet[str], audience: str) -> float:
        """The share of ``terms``' weight (IDF, each distinct term once) that ``held`` has."""
        weights = {term: self.idf(term, audience) for term in terms}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        return sum(w for term, w in weights.items() if term in held) / total

    def known(self, term: str, audience: str = "public") -> bool:
        return term in self.frequencies[self.scope(audience)]
