"""The answerer that needs no LLM: it quotes the knowledge base, every sentence cited.

For an FAQ hit the reply is that FAQ's answer; for a manual it is the few sentences of the best
passage that share the most terms with the question. Below the confidence threshold it says the
knowledge base does not cover the question and offers a person, instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..index.lexical import TermStats
from ..snippets import cite
from ..text import Tokenizer, plain_text
from ..text.injection import without_instructions
from ..types import Answer, Passage, Reader
from .calibration import calibration_for
from .confidence import confidence

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")

NOT_COVERED = {
    "en": (
        "I couldn't find this in our help center, and I'd rather not guess. "
        "Would you like me to connect you with a person? You can also reach us at {contact}."
    ),
    "ko": (
        "도움말 센터에서 이 질문에 대한 답을 찾지 못했습니다. 추측으로 답하지 않을게요. "
        "상담원을 연결해 드릴까요? {contact}(으)로도 문의하실 수 있습니다."
    ),
}
# A passage in the asker's language is quoted instead of a better-ranked one in the other language
# when it is among the first LANGUAGE_WINDOW, scores at least LANGUAGE_SHARE of the top one, and
# the cross-lingual model finds it about as close to the question: usually the same FAQ entry or
# manual section in the other language, which a customer reads more easily.
LANGUAGE_WINDOW = 5
LANGUAGE_SHARE = 0.75
# A second passage is quoted when the first lacks SECOND_MISSING of the question's term weight,
# and one of the first SECOND_WINDOW passages, scoring at least SECOND_SHARE of the top one,
# holds SECOND_GAIN of it.
SECOND_WINDOW = 3
SECOND_MISSING = 0.35
SECOND_SHARE = 0.6
SECOND_GAIN = 0.2
OTHER_LANGUAGE_NOTE = {
    "en": "This is documented in Korean only:",
    "ko": "이 내용은 영어 문서에만 있습니다:",
}


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, in order."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


@dataclass
class ExtractiveAnswerer:
    """Grounded answers by quotation. ``model_ids`` pick the confidence calibration."""

    tokenizer: Tokenizer
    model_ids: tuple[str, ...]
    terms: TermStats
    reader: Reader = "public"
    min_confidence: float = 0.5
    min_probability: float = 0.0  # calibrated chance of being right, below which we hand off
    contact: str = "support"
    max_chars: int = 600
    # Which of a passage's dense scores comes from a cross-lingual model (USE), if any.
    cross_lingual: int | None = None

    def answer(self, question: str, passages: list[Passage], language: str) -> Answer:
        score = confidence(
            question, passages, self.model_ids, self.tokenizer, self.terms, self.reader
        )
        if not passages or score < self.min_confidence:
            return self.not_covered(language, score, passages)
        primary = self._primary(passages, language)
        number = passages.index(primary) + 1  # cite by the passage's place among the sources
        # What the customer is shown is the calibrated chance the answer is right, not the
        # retrieval confidence, which is near 1.0 for right and wrong answers alike.
        calibration = calibration_for(self.model_ids)
        if calibration is not None:
            score = calibration.probability(score, passages, number - 1)
            if score < self.min_probability:
                return self.not_covered(language, score, passages)
        chunk = primary.chunk
        body = " ".join(self._quote(question, primary, self.max_chars))
        if not body:  # all of it was instructions to the assistant: nothing to quote
            return self.not_covered(language, score, passages)
        text = f"{body} [{number}]"
        if chunk.language and chunk.language != language and language in OTHER_LANGUAGE_NOTE:
            text = f"{OTHER_LANGUAGE_NOTE[language]} {text}"
        citations = [cite(number, primary.chunk, question, self.tokenizer)]
        second = self._second(question, passages, primary)
        if second is not None:
            extra = passages.index(second) + 1
            quote = " ".join(self._quote(question, second, self.max_chars // 2))
            if quote:
                text = f"{text} {quote} [{extra}]"
                citations.append(cite(extra, second.chunk, question, self.tokenizer))
        return Answer(
            text=text,
            citations=tuple(citations),
            grounded=True,
            confidence=score,
            language=language,
            passages=tuple(passages),
        )

    def not_covered(self, language: str, score: float, passages: list[Passage]) -> Answer:
        """The honest reply: not in the knowledge base, here is a person."""
        template = NOT_COVERED.get(language, NOT_COVERED["en"])
        return Answer(
            text=template.format(contact=self.contact),
            citations=(),
            grounded=False,
            confidence=score,
            language=language,
            handoff=True,
            passages=tuple(passages),
        )

    def _primary(self, passages: list[Passage], language: str) -> Passage:
        """The passage to quote: the best-ranked one, unless one in the asker's language ranks
        nearly as well (the same FAQ often exists in both languages) and is at least as close
        to the question under the cross-lingual model (USE), whose cosines compare across
        languages; e5's favour the question's language, so a Korean page on another subject
        can rank next to the English answer of a Korean question."""
        top = passages[0]
        if top.chunk.language == language:
            return top
        crossing = self.cross_lingual
        for passage in passages[1:LANGUAGE_WINDOW]:
            if passage.chunk.language != language or passage.score < LANGUAGE_SHARE * top.score:
                continue
            if crossing is None or _cosine(passage, crossing) >= _cosine(top, crossing):
                return passage
        return top

    def _quote(self, question: str, passage: Passage, limit: int) -> list[str]:
        """What to quote of ``passage``: an FAQ's whole answer, or a manual's best sentences;
        never a sentence that talks to the assistant or asks for secrets (a poisoned page's)."""
        chunk = passage.chunk
        if chunk.kind == "faq" and chunk.answer:
            answer = without_instructions(plain_text(chunk.answer))
            return [answer] if answer else []
        return self._best_sentences(question, without_instructions(plain_text(chunk.text)), limit)

    def _second(self, question: str, passages: list[Passage], primary: Passage) -> Passage | None:
        """A second passage to quote, when the question asks about more than the first one
        holds ("how long is the warranty and can I return it?"): one of the next few, in the
        first one's language and from another article, that holds a good share of the question's
        term weight (by IDF) the first one lacks."""
        asked = self.tokenizer.tokenize(question)
        held = self.tokenizer.term_set(primary.chunk.embed_text)
        if 1.0 - self.terms.share_held(asked, held, self.reader) < SECOND_MISSING:
            return None
        best: tuple[float, Passage] | None = None
        for passage in passages[:SECOND_WINDOW]:
            chunk = passage.chunk
            if passage is primary or chunk.language != primary.chunk.language:
                continue
            if (chunk.source, chunk.url) == (primary.chunk.source, primary.chunk.url):
                continue
            if passage.score < SECOND_SHARE * passages[0].score:
                continue
            adds = self.tokenizer.term_set(chunk.embed_text) - held
            gain = self.terms.share_held(asked, adds, self.reader)
            if gain >= SECOND_GAIN and (best is None or gain > best[0]):
                best = (gain, passage)
        return best[1] if best else None

    def _best_sentences(self, question: str, text: str, limit: int) -> list[str]:
        """Consecutive sentences from the one sharing most question terms, up to ``limit``."""
        sentences = split_sentences(text)
        if sum(len(s) + 1 for s in sentences) <= limit:
            return sentences
        terms = set(self.tokenizer.tokenize(question))
        overlap = [len(terms & set(self.tokenizer.tokenize(s))) for s in sentences]
        start = max(range(len(sentences)), key=lambda i: (overlap[i], -i))
        # Steps and details usually follow the sentence that matched, so read on from it.
        chosen: list[str] = []
        size = 0
        for sentence in sentences[start:]:
            if chosen and size + len(sentence) > limit:
                break
            chosen.append(sentence)
            size += len(sentence) + 1
        return chosen


def _cosine(passage: Passage, model: int) -> float:
    scores = passage.dense_scores
    return scores[model] if model < len(scores) else 0.0
