"""Typo tolerance for questions: a word the knowledge base never uses is replaced by the
closest word it does use, when one is a keystroke or two away.

Customers type "warrenty" and "fatcory reset". BM25 finds nothing for a word no page contains,
and an embedding model reads a misspelt word as a different one, so a single slip can lose the
page that answers. The question is corrected once, before retrieval, so every ranker and the
answer's confidence see the same corrected text, and the search page can say what it searched.

What is left alone:
- words the knowledge base uses, and words whose index term it uses ("managing" when pages say
  "manage"): only unknown words are corrected, so a well-spelt question is never changed;
- common English words (wordfreq's Zipf frequency of 3 or more: "bullying", "iphone"), which are
  what the customer meant even when no page mentions them: out-of-scope questions must stay so;
- words shorter than five letters (one edit from too many words), glossary words, and digits:
  only runs of Latin letters are words here, so "X200" or "v4.2.1" are never touched;
- Korean: correcting eojeols (word plus particles) or Kiwi morphemes against the pages' own was
  measured to lose more on well-typed questions than it won back on misspelt ones, because
  e5 already reads most Korean slips; Kiwi handles spacing on its own.

Distances are optimal string alignment (swapping two neighbouring letters is one edit), computed
by rapidfuzz. A word may be one edit from its correction, two from nine letters on. Among equally
close words the one more pages use wins, and a correction only ever names a word the asking
audience's pages use.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .index.lexical import TermStats, Tokenizer
from .types import Chunk

_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
COMMON_ZIPF = 3.0  # wordfreq's log scale: 3 is once per million words ("bullying" is 3.97)


def max_edits(word: str) -> int:
    """How far a word of this length may be from its correction (0: never corrected)."""
    if len(word) < 5:
        return 0
    return 1 if len(word) < 9 else 2


@functools.lru_cache(maxsize=65536)
def is_common_english(word: str) -> bool:
    from wordfreq import zipf_frequency

    return bool(zipf_frequency(word, "en") >= COMMON_ZIPF)


@dataclass(frozen=True)
class Correction:
    text: str  # the question as retrieval sees it
    changes: tuple[tuple[str, str], ...]  # (typed, corrected) pairs, in order


class Speller:
    """Corrects the Latin-script words of a question against the knowledge base's words."""

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
        self._vocabulary: dict[str, tuple[dict[str, int], list[str]]] = {}
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], str | None] = {}

    def _words(self, scope: str) -> tuple[dict[str, int], list[str]]:
        """Each Latin word of the scope's pages and how many chunks use it (built on first use)."""
        with self._lock:
            if scope not in self._vocabulary:
                counts: dict[str, int] = {}
                for chunk in self.chunks:
                    if scope == "public" and chunk.audience != "public":
                        continue
                    text = f"{chunk.title} {chunk.text}".lower()
                    for word in set(_LATIN_WORD.findall(text)):
                        counts[word] = counts.get(word, 0) + 1
                self._vocabulary[scope] = (counts, list(counts))
            return self._vocabulary[scope]

    def correction(self, word: str, audience: str = "public") -> str | None:
        """The knowledge-base word ``word`` was most likely meant to be, or None."""
        lowered = word.lower()
        scope = self.terms.scope(audience)
        key = (lowered, scope)
        if key not in self._cache:
            self._cache[key] = self._correction(lowered, scope, audience)
        return self._cache[key]

    def _correction(self, word: str, scope: str, audience: str) -> str | None:
        edits = max_edits(word)
        counts, words = self._words(scope)
        if not edits or word in counts or word in self.protected:
            return None
        stems = [t for t in self.tokenizer.tokenize(word) if t]
        if not stems or any(self.terms.known(t, audience) for t in stems):
            return None  # a stop word, or another form of a word the pages use
        if is_common_english(word):
            return None
        matches = process.extract(word, words, scorer=OSA.distance, score_cutoff=edits, limit=None)
        if not matches:
            return None
        best, _distance, _index = min(matches, key=lambda m: (m[1], -counts[m[0]], m[0]))
        return str(best)

    def correct(self, text: str, audience: str = "public") -> Correction:
        """``text`` with each misspelt word replaced, keeping a capital first letter."""
        changes: list[tuple[str, str]] = []

        def replace(match: re.Match[str]) -> str:
            typed = match.group(0)
            fixed = self.correction(typed, audience)
            if fixed is None:
                return typed
            if typed[0].isupper():
                fixed = fixed[0].upper() + fixed[1:]
            changes.append((typed, fixed))
            return fixed

        return Correction(_LATIN_WORD.sub(replace, text), tuple(changes))
