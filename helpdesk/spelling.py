"""Typo tolerance for questions: a word the knowledge base never uses is replaced by the
closest word it does use, when one is a keystroke or two away.

Customers type "warrenty", "fatcory reset" and "기급복지". BM25 finds nothing for a word no page
contains, and an embedding model reads a misspelt word as a different one, so a single slip can
lose the page that answers. The question is corrected once, before retrieval, so every ranker
and the answer's confidence see the same corrected text, and the search page can say what it
searched.

A word is corrected only when it looks misspelt, not merely new to this knowledge base:
- English: no page uses it, nor its index term ("managing" when pages say "manage"), and it is
  not a common English word (wordfreq's Zipf frequency under 3: "bullying", "iphone" and
  "bitcoin" stay as typed, so out-of-scope questions stay out of scope). Five letters at least:
  shorter words are one edit from too many others.
- Korean: no page uses the word (with its particles: "셔비스는"), and Kiwi had to guess one of
  its nouns because its dictionary lacks it. Without that check, real words the pages happen
  not to use were "corrected" into others ("얻을" into "없을", "재정" into "지정") and well-typed
  questions lost more than misspelt ones won back. Two syllables at least.
- Never: glossary words, or digits (only runs of letters are words here, so "X200" and
  "v4.2.1" are never touched).

Distances are optimal string alignment (swapping two neighbouring letters is one edit),
computed by rapidfuzz; Korean is compared letter by letter (jamo, after Unicode decomposition:
"셔비스" is one vowel from "서비스"). An English word may be one edit from its correction, two
from nine letters on; a Korean word one. Among equally close words the one more pages use wins,
and a correction only ever names a word the asker may read.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .index.lexical import TermStats
from .text import Tokenizer
from .types import Chunk, Correction, Reader

_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
_WORD = re.compile(f"{_LATIN_WORD.pattern}|{_HANGUL_WORD.pattern}")
_CACHE_LIMIT = 100_000  # corrections remembered, per speller
COMMON_ZIPF = 3.0  # wordfreq's log scale: 3 is once per million words ("bullying" is 3.97)


def is_hangul(word: str) -> bool:
    return bool(_HANGUL_WORD.fullmatch(word))


def max_edits(word: str) -> int:
    """How far a word of this length may be from its correction (0: never corrected)."""
    if is_hangul(word):
        return 1 if len(word) >= 2 else 0
    if len(word) < 5:
        return 0
    return 1 if len(word) < 9 else 2


def _letters(word: str) -> str:
    """What distances are measured on: Hangul syllables split into jamo, other text as is."""
    return unicodedata.normalize("NFD", word)


@functools.lru_cache(maxsize=65536)
def is_common_english(word: str) -> bool:
    from wordfreq import zipf_frequency

    return bool(zipf_frequency(word, "en") >= COMMON_ZIPF)


@dataclass(frozen=True)
class _Vocabulary:
    counts: dict[str, int]  # word -> chunks using it
    words: list[str]
    letters: list[str]  # each word as distances see it

    @classmethod
    def of(cls, counts: dict[str, int]) -> _Vocabulary:
        words = list(counts)
        return cls(counts, words, [_letters(w) for w in words])

    def closest(self, word: str, edits: int) -> str | None:
        """The nearest word within ``edits``; among equals, the one more chunks use."""
        matches = process.extract(
            _letters(word), self.letters, scorer=OSA.distance, score_cutoff=edits, limit=None
        )
        if not matches:
            return None
        _letters_of, _distance, index = min(
            matches, key=lambda m: (m[1], -self.counts[self.words[m[2]]], self.words[m[2]])
        )
        return self.words[index]


class Speller:
    """Corrects the English and Korean words of a question against the knowledge base's."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        terms: TermStats,
        tokenizer: Tokenizer,
        protected: Collection[str] = (),
    ) -> None:
        self.chunks = chunks
        self.terms = terms
        self.tokenizer = tokenizer
        self.protected = frozenset(w.lower() for w in protected)
        self._vocabulary: dict[str, tuple[_Vocabulary, _Vocabulary]] = {}
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], str | None] = {}

    def _words(self, scope: str) -> tuple[_Vocabulary, _Vocabulary]:
        """The scope's English and Korean words, with how many chunks use each (built once)."""
        with self._lock:
            if scope not in self._vocabulary:
                latin: dict[str, int] = {}
                hangul: dict[str, int] = {}
                for chunk in self.chunks:
                    if scope == "public" and not chunk.for_everyone:
                        continue
                    text = f"{chunk.title} {chunk.text}".lower()
                    for word in set(_LATIN_WORD.findall(text)):
                        latin[word] = latin.get(word, 0) + 1
                    for word in set(_HANGUL_WORD.findall(text)):
                        hangul[word] = hangul.get(word, 0) + 1
                self._vocabulary[scope] = (_Vocabulary.of(latin), _Vocabulary.of(hangul))
            return self._vocabulary[scope]

    def correction(self, word: str, reader: Reader = "public") -> str | None:
        """The knowledge-base word ``word`` was most likely meant to be, or None."""
        lowered = word.lower()
        scope = self.terms.scope(reader)
        key = (lowered, scope)
        if key not in self._cache:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # bounded: a stream of random words must not grow memory
            self._cache[key] = self._correction(lowered, scope, reader)
        return self._cache[key]

    def warm_up(self) -> None:
        """Build the public vocabulary and load wordfreq's list now, not on a request."""
        self._words(self.terms.scope("public"))
        is_common_english("warmup")

    def _correction(self, word: str, scope: str, reader: Reader) -> str | None:
        edits = max_edits(word)
        latin, hangul = self._words(scope)
        vocabulary = hangul if is_hangul(word) else latin
        if not edits or word in vocabulary.counts or word in self.protected:
            return None
        if vocabulary is hangul:
            if not self.tokenizer.guessed_nouns(word):
                return None  # a real word (or inflection) the pages just don't use
        else:
            stems = [t for t in self.tokenizer.tokenize(word) if t]
            if not stems or any(self.terms.known(t, reader) for t in stems):
                return None  # a stop word, or another form of a word the pages use
            if is_common_english(word):
                return None
        return vocabulary.closest(word, edits)

    def correct(self, text: str, reader: Reader = "public") -> Correction:
        """``text`` with each misspelt word replaced, keeping a capital first letter."""
        changes: list[tuple[str, str]] = []

        def replace(match: re.Match[str]) -> str:
            typed = match.group(0)
            fixed = self.correction(typed, reader)
            if fixed is None:
                return typed
            if typed[0].isupper():
                fixed = fixed[0].upper() + fixed[1:]
            changes.append((typed, fixed))
            return fixed

        return Correction(_WORD.sub(replace, text), tuple(changes))
