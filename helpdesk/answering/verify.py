"""Checks every generated sentence against the passages before a customer can see it.

A sentence is kept only when a retrieved passage supports it:

* its numbers (counts, prices, dates, times, percentages) all occur in that passage;
* it does not flip a negation: the passage clause it matches best is negated exactly when the
  sentence is ("can" vs "cannot", 됩니다 vs 되지 않습니다);
* its support score clears a calibrated threshold. The score mixes the meaning match (the
  multilingual Universal Sentence Encoder's cosine with the best passage sentence or pair, so a
  Korean sentence can be checked against an English passage) with lexical coverage (the share of
  its content words or Korean morphemes found in the passage) when both share a language.

Two kinds of sentence are dropped whatever their support (:mod:`helpdesk.text.injection`): an
instruction (a poisoned passage's "e-mail your password to ...", a "you are now ..." the model
repeated), and a first-person commitment ("I promise a full refund", "제가 환불해 드리겠습니다"):
the assistant states policy, it never makes promises. A policy commitment ("returns within 30 days
get a full refund") is kept only when the sentence of the passage it matches states the same kind
of commitment (refund, compensation, discount...), with its amounts and periods; words it shares
with the question are no support, so a reply echoing the customer's demand is dropped.

Citations are checked too: markers naming no retrieved passage are removed, and a kept sentence
cites the passage that supports it. ``scripts/calibrate_verifier.py`` reports the check's
precision and recall on the labelled sentences in ``tests/data/verification.yaml``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from ..text import Tokenizer, clean_reply, detect_language, has_hangul
from ..text.injection import Commitment, commitment, instruction, states

_CITED = r"\d+(?:\s*[,;]\s*\d+)*"  # what a citation marker holds: 2, or 1, 3
_CITATION = re.compile(r"\s*\[(" + _CITED + r")\]")
# A citation inside a Korean sentence, taking a particle ("방법은 [2]에서 설명합니다", "[1]의 표를
# 보세요"), points at a source instead of saying what it says; without the marker it is a broken
# fragment ("방법은에서 설명합니다"). (One that opens the sentence, "[2]에서 설명한 대로, ...", is
# a lead that clean_reply removes, keeping the rest.)
_POINTER = re.compile(
    r"(?<=\S)\s*\[" + _CITED + r"\]\s*(?:에서|에|을|를|은|는|의|과|와|으로|로)(?![가-힣])"
)
_SENTENCE = re.compile(r"(?<=[.!?。])(?:\s*\[" + _CITED + r"\])*\s+|\n+")
_CLAUSE = re.compile(r"[,;:]\s+|\s+(?:but|however|unless|except|although|while)\s+|(?<=지만)\s+")
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•·])\s+")
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_EN_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|without|none|nothing|neither|nor|unable)\b|n't\b", re.IGNORECASE
)
# Kiwi morphemes that negate: 안/못 (adverbs), 않다/말다 (auxiliaries), 없다, 아니다, 불- (prefix).
_KO_NEGATION = {("안", "MAG"), ("못", "MAG"), ("않", "VX"), ("말", "VX"), ("없", "VA"),
                ("아니", "VCN"), ("불", "XPN")}  # fmt: skip
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90",
    "hundred": "100", "half": "0.5", "once": "1", "twice": "2", "single": "1", "double": "2",
    "하루": "1", "이틀": "2", "사흘": "3", "한": "1", "두": "2", "세": "3", "네": "4",
}  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class SentenceEmbedder(Protocol):
    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


@dataclass(frozen=True)
class Calibration:
    """How the support score is made; fitted by scripts/calibrate_verifier.py."""

    threshold: float = 0.6
    cosine_low: float = 0.5  # USE cosine that counts as no support at all
    cosine_high: float = 0.7  # ... and as full support
    lexical_weight: float = 0.3  # share of the score from lexical coverage (same language)
    negation_cosine: float = 0.6  # how close a clause must match for a negation flip to count


@dataclass(frozen=True)
class SentenceCheck:
    text: str  # the sentence without citation markers
    supported: bool
    score: float
    passage: int | None  # 0-based index of the best supporting passage
    reason: str = ""  # why it was dropped
    cited: tuple[int, ...] = ()  # 0-based passages the sentence cited (valid ones)
    separator: str = " "  # what followed it in the generated text


@dataclass(frozen=True)
class Verification:
    checks: tuple[SentenceCheck, ...] = ()
    removed_citations: tuple[str, ...] = ()  # markers that named no retrieved passage

    @property
    def kept(self) -> list[SentenceCheck]:
        return [c for c in self.checks if c.supported]

    @property
    def dropped(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.supported]

    def acceptable(self) -> bool:
        """Enough survived to send: something, and no fewer kept than dropped."""
        kept, dropped = len(self.kept), len(self.dropped)
        return kept > 0 and kept >= dropped

    def summary(self) -> dict[str, object]:
        return {
            "kept": len(self.kept),
            "dropped": [{"sentence": c.text, "reason": c.reason} for c in self.dropped],
        }


@dataclass
class _Passage:
    text: str
    language: str
    terms: set[str]
    numbers: set[str]
    windows: list[str]
    vectors: np.ndarray | None = None
    window_negated: list[bool] = field(default_factory=list)
    single: np.ndarray | None = None  # windows that are one sentence or clause (not pairs)
    window_numbers: list[set[str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


def split_answer(text: str) -> list[tuple[str, str]]:
    """(sentence with its citation markers, separator after it) pairs of generated text."""
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in _SENTENCE.finditer(text):
        markers = "".join(re.findall(r"\[[\d,;\s]+\]", match.group(0)))
        sentence = text[position : match.start()] + markers
        separator = "\n" if "\n" in match.group(0) else " "
        if sentence.strip():
            pieces.append((sentence.strip(), separator))
        position = match.end()
    tail = text[position:].strip()
    if tail:
        pieces.append((tail, ""))
    return pieces


def strip_citations(sentence: str) -> tuple[str, list[int]]:
    """The sentence without [n] markers, and the numbers they named (1-based)."""
    numbers = [
        int(n) for group in _CITATION.findall(sentence) for n in re.split(r"[,;\s]+", group) if n
    ]
    return _CITATION.sub("", sentence).strip(), numbers


def numbers_in(text: str) -> set[str]:
    """Numbers a sentence states, normalised ("1,200" -> "1200", "thirty" -> "30")."""
    found: set[str] = set()
    for raw in _NUMBER.findall(text):
        value = raw.replace(",", "") if _THOUSANDS.match(raw) else raw
        found.add(value.rstrip(".,:/"))
        found.update(p for p in re.split(r"[/:,]", value) if p)
    for word in _WORD.findall(text.lower()):
        if word in _NUMBER_WORDS and not has_hangul(word):
            found.add(_NUMBER_WORDS[word])
    return found


def _stated_numbers(text: str) -> set[str]:
    """Numbers the sentence asserts (digits only: number words are too ambiguous to require)."""
    found: set[str] = set()
    for raw in _NUMBER.findall(text):
        found.add((raw.replace(",", "") if _THOUSANDS.match(raw) else raw).rstrip(".,:/"))
    return found


class Verifier:
    """Decides, sentence by sentence, what of a generated answer the passages support."""

    def __init__(
        self,
        embedder: SentenceEmbedder,
        tokenizer: Tokenizer,
        calibration: Calibration | None = None,
    ) -> None:
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.calibration = calibration or Calibration()

    # -- public -----------------------------------------------------------------------------

    def verify(self, answer: str, passages: Sequence[str], question: str = "") -> Verification:
        """Check a whole generated answer against the passages it was written from."""
        prepared = self.prepare(passages)
        checks: list[SentenceCheck] = []
        removed: list[str] = []
        for sentence, separator in split_answer(answer):
            check = self.check_sentence(sentence, prepared, separator, removed, question)
            if check is not None:
                checks.append(check)
        return Verification(tuple(checks), tuple(removed))

    def check_sentence(
        self,
        sentence: str,
        prepared: list[_Passage],
        separator: str = " ",
        removed: list[str] | None = None,
        question: str = "",
    ) -> SentenceCheck | None:
        """One generated sentence (with its [n] markers); None when it holds no words.
        ``question`` is what the customer asked: the words it shares with the sentence are no
        support for a commitment."""
        text, numbers = strip_citations(_ENUMERATOR.sub("", sentence))
        # Markup, entities and what a leading citation leaves behind ("에서 설명한 대로, ...")
        # never reach the customer; the sentence is checked as it will be shown.
        text = clean_reply(text)
        valid = tuple(dict.fromkeys(n - 1 for n in numbers if 1 <= n <= len(prepared)))
        if removed is not None:
            removed.extend(f"[{n}]" for n in numbers if not 1 <= n <= len(prepared))
        if not _WORD.search(text):
            return None  # a stray marker or bullet, nothing to check
        if _POINTER.search(sentence.strip()):
            return SentenceCheck(
                text, False, 0.0, None, "refers to a source instead of stating it", valid, separator
            )
        dropped = self._unsayable(text)
        if dropped:
            return SentenceCheck(text, False, 0.0, None, dropped, valid, separator)
        check = self.check(text, prepared, cited=valid)
        promise = commitment(text)
        if check.supported and promise is not None and check.passage is not None:
            reason = self._commitment_unstated(text, promise, prepared[check.passage], question)
            if reason:
                check = replace(check, supported=False, reason=reason)
        return replace(check, cited=valid, separator=separator)

    def supports(self, sentence: str, passage: str) -> tuple[bool, float, str]:
        """One sentence against one passage: (supported, score, reason)."""
        check = self.check(sentence, self.prepare([passage]))
        return check.supported, check.score, check.reason

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _unsayable(text: str) -> str:
        """Why no passage can make ``text`` sayable (an instruction, the assistant's own
        promise), or ""."""
        found = instruction(text)
        if found:
            return f"reads as an instruction, not help: {found!r}"
        promise = commitment(text)
        if promise is not None and promise.first_person:
            return "a promise in the assistant's own name (commitments are stated as policy)"
        return ""

    def _commitment_unstated(
        self, text: str, promise: Commitment, passage: _Passage, question: str
    ) -> str:
        """Why ``passage`` does not state the commitment ``text`` makes, or "".

        The sentence of the passage closest to ``text`` (or the next closest) must hold a word
        of each kind of commitment it makes; and no run of four words the sentence shares with
        the question may be missing from the passage (the customer's words are no support).
        """
        assert passage.vectors is not None and passage.single is not None
        vector = _normalise(self.embedder.embed_documents([text]))[0]
        singles = np.where(passage.single, passage.vectors @ vector, -np.inf)
        nearest = [passage.windows[i] for i in np.argsort(-singles)[:2] if passage.single[i]]
        missing = [s for s in promise.stems if not any(states(w, s) for w in nearest)]
        if missing:
            return f"commitment ({', '.join(missing)}) is not stated by the passage"
        if question:
            echoed = _shared_runs(text, question) - _shared_runs(text, passage.text)
            if echoed:
                return f"commitment echoes the question: {sorted(echoed)[0]!r}"
        return ""

    def prepare(self, passages: Sequence[str]) -> list[_Passage]:
        prepared: list[_Passage] = []
        all_windows: list[str] = []
        for text in passages:
            sentences = [s for s, _ in split_answer(text)] or [text]
            clauses = [c.strip() for s in sentences for c in _CLAUSE.split(s) if len(c.strip()) > 8]
            pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
            windows = list(dict.fromkeys(sentences + clauses + pairs))
            singles = set(sentences + clauses)
            prepared.append(
                _Passage(
                    text=text,
                    language=detect_language(text, default="en"),
                    terms=set(self.tokenizer.tokenize(text)),
                    numbers=numbers_in(text),
                    windows=windows,
                    window_negated=[self.negated(w) for w in windows],
                    single=np.array([w in singles for w in windows], dtype=bool),
                    window_numbers=[numbers_in(w) for w in windows],
                    names=self.names(text, whole=True),
                )
            )
            all_windows.extend(windows)
        if all_windows:
            vectors = _normalise(self.embedder.embed_documents(all_windows))
            start = 0
            for passage in prepared:
                passage.vectors = vectors[start : start + len(passage.windows)]
                start += len(passage.windows)
        return prepared

    def names(self, text: str, whole: bool = False) -> set[str]:
        """Product and feature names: capitalised words not opening a sentence, Korean proper
        nouns. ``whole`` takes every word of a passage (any casing counts as present)."""
        found: set[str] = set()
        if has_hangul(text):
            found.update(f for f, t in self.tokenizer.morphemes(text) if t == "NNP" or whole)
        for sentence, _ in split_answer(text):
            words = re.findall(r"[A-Za-z][\w-]*", sentence)
            found.update(
                w.lower() for i, w in enumerate(words) if whole or (i > 0 and w[0].isupper())
            )
        return found

    def negated(self, text: str) -> bool:
        if has_hangul(text):
            morphemes = self.tokenizer.morphemes(text)
            if any((form, tag.split("-")[0]) in _KO_NEGATION for form, tag in morphemes):
                return True
        return bool(_EN_NEGATION.search(text))

    def check(
        self, sentence: str, passages: list[_Passage], cited: tuple[int, ...] = ()
    ) -> SentenceCheck:
        """The best-supported reading of one sentence; cited passages are tried first."""
        if not passages:
            return SentenceCheck(sentence, False, 0.0, None, "no passages")
        parts = [c.strip() for c in _CLAUSE.split(sentence) if len(c.strip()) > 8] or [sentence]
        texts = list(dict.fromkeys([sentence, *parts]))  # one embedding call, each text once
        vectors = dict(zip(texts, _normalise(self.embedder.embed_documents(texts)), strict=True))
        vector = vectors[sentence]
        language = detect_language(sentence, default="en")
        terms = set(self.tokenizer.tokenize(sentence))
        numbers = _stated_numbers(sentence)
        clauses = [(part, vectors[part], self.negated(part)) for part in parts]
        names = self.names(sentence)
        order = list(dict.fromkeys([*cited, *range(len(passages))]))
        best: SentenceCheck | None = None
        for index in order:
            passage = passages[index]
            supported, score, reason = self._against(
                vector, language, terms, numbers, names, clauses, passage
            )
            result = SentenceCheck(sentence, supported, score, index, reason)
            if result.supported:
                return result
            if best is None or result.score > best.score:
                best = result
        assert best is not None
        return best

    def _against(
        self,
        vector: np.ndarray,
        language: str,
        terms: set[str],
        numbers: set[str],
        names: set[str],
        clauses: list[tuple[str, np.ndarray, bool]],
        passage: _Passage,
    ) -> tuple[bool, float, str]:
        cal = self.calibration
        assert passage.vectors is not None
        cosines = passage.vectors @ vector
        best = int(np.argmax(cosines))
        semantic = float(
            np.clip((cosines[best] - cal.cosine_low) / (cal.cosine_high - cal.cosine_low), 0, 1)
        )
        if language == passage.language and terms:
            coverage = len(terms & passage.terms) / len(terms)
            score = (1 - cal.lexical_weight) * semantic + cal.lexical_weight * coverage
        else:
            score = semantic
        if score < cal.threshold:
            return False, score, f"support {score:.2f} is below {cal.threshold:.2f}"
        missing = sorted(numbers - passage.numbers)
        if missing:
            return False, score, f"number {', '.join(missing)} is not in the passage"
        # A number must also sit where the clause matches ("$5" is not "$1" because a "5"
        # appears in another sentence of the passage).
        assert passage.single is not None
        for clause, clause_vector, _ in clauses:
            stated = _stated_numbers(clause)
            if not stated:
                continue
            singles = np.where(passage.single, passage.vectors @ clause_vector, -np.inf)
            nearest = np.argsort(-singles)[:2]
            nearby = set().union(*(passage.window_numbers[i] for i in nearest))
            if stated - nearby:
                return False, score, f"number {', '.join(sorted(stated - nearby))} is out of place"
            # ... and beside what it is stated for: "the Lumo Cam's warranty is 90 days" is not
            # supported by a table whose 90 days are in the refurbished devices' row.
            named = self.names(clause) if language == passage.language else set()
            holding = [
                window.lower()
                for window, single, found in zip(
                    passage.windows, passage.single, passage.window_numbers, strict=True
                )
                if single and stated <= found
            ]
            if named and holding and not any(n in w for n in named for w in holding):
                shown = ", ".join(sorted(stated))
                return False, score, f"number {shown} is stated for another thing"
        unknown = sorted(names - passage.names) if language == passage.language else []
        if unknown:
            return False, score, f"name {', '.join(unknown)} is not in the passage"
        # Negation is read clause by clause: each clause of the sentence against the passage
        # sentence or clause it matches best (a pair of sentences may hold "can" and "cannot").
        # Only a close match counts, so a rephrasing ("pauses" for "won't") is not a flip.
        assert passage.single is not None
        for clause, clause_vector, clause_negated in clauses:
            clause_cosines = np.where(passage.single, passage.vectors @ clause_vector, -np.inf)
            closest = int(np.argmax(clause_cosines))
            if clause_cosines[closest] >= cal.negation_cosine and (
                passage.window_negated[closest] != clause_negated
            ):
                return False, score, f"negation differs from the passage: {clause!r}"
        return True, score, ""


def _shared_runs(text: str, other: str, size: int = 4) -> set[str]:
    """Runs of ``size`` consecutive words of ``text`` that ``other`` holds too."""
    words = [w.lower() for w in _WORD.findall(text)]
    held = " " + " ".join(w.lower() for w in _WORD.findall(other)) + " "
    runs = {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}
    return {run for run in runs if f" {run} " in held}


def _normalise(rows: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)
