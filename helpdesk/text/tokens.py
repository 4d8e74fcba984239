"""Text into index terms: Korean morphemes (kiwipiepy) and stemmed English words.

Text with Hangul goes through Kiwi, which splits particles and endings off Korean words
("스피커를" -> "스피커"); other text is split into words, lower-cased, stop words dropped and
Snowball-stemmed. Latin words inside Korean text get the same stemming, so "Wi-Fi 연결" and
"wi-fi connection" share tokens. BM25, confidence, verification and snippets all read text
through one :class:`Tokenizer`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from typing import Any

from .language import has_hangul

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
