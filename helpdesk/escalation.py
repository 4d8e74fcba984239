"""When a reply offers a person, and why.

The leading help desks escalate on three signals: the customer asks for a person, shows strong
frustration, or repeats themselves. Two "not covered" answers in a row and a thumbs down are the
assistant's own signals that it is not helping. Each is a rule that HELPDESK_ESCALATION_RULES
turns on or off; when any that is on fires, the reply offers a person proactively and says why
(the reasons travel with the answer, to the front ends and into the hand-off's context packet).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .types import Answer, Escalation

# Two questions this close (cosine of their multilingual sentence vectors) ask the same thing:
# "how do i reset my lumo cam" / "HOW DO I RESET THE CAMERA??" / "루모 캠 초기화 어떻게 해요".
REPEAT_SIMILARITY = 0.8
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Signals:
    """What one customer message and its answer say about the conversation."""

    asked_for_person: bool = False
    frustration: float = 0.0
    repeated: bool = False
    not_covered: bool = False  # this answer was "not covered"
    previous_not_covered: bool = False  # and so was the one before it
    thumbs_down: bool = False


def escalation(signals: Signals, rules: Collection[str], threshold: float) -> Escalation:
    """The rules that fire, in a fixed order; an offer when any does."""
    fired = {
        "asked_for_person": signals.asked_for_person,
        "frustration": signals.frustration >= threshold,
        "repeated": signals.repeated,
        "not_covered_twice": signals.not_covered and signals.previous_not_covered,
        "thumbs_down": signals.thumbs_down,
    }
    reasons = tuple(rule for rule, on in fired.items() if on and rule in rules)
    return Escalation(bool(reasons), reasons, round(float(signals.frustration), 3))


def normalised(text: str) -> str:
    """Lowercase words only: "How do I reset it???" and "how do i reset it" are one text."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


def repeats(
    question: str,
    vector: Sequence[float] | None,
    earlier: Sequence[str],
    earlier_vectors: Sequence[Sequence[float]] | Sequence[np.ndarray] | None,
    similarity: float = REPEAT_SIMILARITY,
) -> bool:
    """Does ``question`` ask again what one of the ``earlier`` questions asked?

    The same words (case and punctuation aside) always do; otherwise two sentence vectors
    (unit length) at least ``similarity`` close in cosine. Very short messages ("yes", "ok",
    "네") never count: saying "ok" twice is not asking twice.
    """
    text = normalised(question)
    if not earlier or len(text) < 6:
        return False
    if any(normalised(e) == text for e in earlier):
        return True
    if vector is None or not earlier_vectors:
        return False
    cosines = np.asarray(earlier_vectors, dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
    return bool(cosines.max() >= similarity)


# A message that asks for a person gets a person, not a quote from a page that merely shares
# its words ("I want a real person" finding a page about voice profiles for each person), unless
# the question in it is answered with this much confidence.
KEEP_ANSWER_CONFIDENCE = 0.7
PERSON_REPLY = {
    "en": (
        "Of course, I'll connect you with a person. They will see this conversation, so you "
        "won't need to explain it again. You can also reach us at {contact}."
    ),
    "ko": (
        "네, 상담원과 연결해 드릴게요. 지금까지의 대화 내용이 함께 전달되니 처음부터 다시 "
        "설명하지 않으셔도 됩니다. {contact}(으)로도 문의하실 수 있습니다."
    ),
}


def person_reply(answer: Answer, contact: str) -> Answer:
    """The reply to a message that asks for a person: the answer when it is confident, else
    (also instead of "I couldn't find this") an acknowledgement that a person is coming; the
    escalation carries the offer itself."""
    if not answer.handoff and answer.confidence >= KEEP_ANSWER_CONFIDENCE:
        return answer
    template = PERSON_REPLY.get(answer.language, PERSON_REPLY["en"])
    return replace(
        answer,
        text=template.format(contact=contact),
        citations=(),
        grounded=False,
        handoff=True,
        fallback_reason="the customer asked for a person",
    )
