"""Text that must not reach a customer as the help center's word, in English and Korean.

Two kinds, both read sentence by sentence:

* **Instructions** aimed at the assistant or asking for secrets: "ignore previous instructions",
  "you are now ...", a fake ``SYSTEM:`` line, "e-mail your password to ...", "이전 지시는 무시".
  A help-center page never talks to the bot, and never asks for a password, so such a sentence in
  a retrieved passage is a poisoned document: it is removed before the passage is quoted or
  shown to the model, and a generated sentence like it is dropped.
* **Commitments**: a sentence that commits the company (a promise, a guarantee, a refund,
  compensation, a discount). A *first-person* one ("I promise", "I'll refund", "제가 환불해
  드리겠습니다", "약속드립니다") is the assistant making a promise, which it never may; a
  *policy* one ("returns within 30 days get a full refund") is kept only where a passage states
  it (see :mod:`helpdesk.answering.verify`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_I = re.IGNORECASE

# Instructions aimed at the model (OWASP LLM01), and requests for secrets (LLM02).
_INSTRUCTIONS = [
    re.compile(p, _I)
    for p in (
        r"\b(?:ignore|disregard|forget|override|bypass)\b(?:\s+[\w'-]+){0,4}?\s+"
        r"(?:instructions?|rules|prompts?|guidelines|directives|guardrails)\b",
        r"\byou are (?:now|no longer)\b",
        # A page states what customers get; it never has the reader tell all customers things.
        r"\b(?:tell|inform|instruct|advise|ask|offer|promise) (?:every|all|each|any) "
        r"(?:customers?|users?|callers?|visitors?)\b",
        r"\bfrom now on,? (?:you|the (?:assistant|bot|ai|model))\b",
        r"\b(?:act|pretend|behave|role-?play)(?: to be| as)\b(?:\s+\w+){0,3}\s+"
        r"(?:bot|assistant|ai|agent|model|gpt|dan)\b",
        r"\b(?:system|developer|hidden|original|initial) (?:prompt|message|instructions?)\b",
        r"(?:^|\n)\s*[#>*\s]*(?:system|assistant|developer)\s*:",
        r"\[/?(?:system|inst|sys)\]|<\|?(?:im_start|im_end|system)\|?>|<</?sys>>",
        r"\b(?:note|message|instructions?|attention|reminder) (?:to|for) (?:the |any |all )?"
        r"(?:ai|assistants?|models?|bots?|chatbots?|llms?)\b",
        r"\b(?:ai|assistants?|chatbots?|bots?|language models?|llms?)\b[^.!?\n]{0,40}\b"
        r"(?:must|should|shall|always|never|is required to|are required to)\b",
        r"\b(?:e-?mail|send|give|share|text|tell|provide|reply with|type|forward)\s+"
        r"(?:[\w'-]+\s+){0,3}?(?:your|the|their|its|a|us|me)\s+(?:[\w'-]+\s+){0,2}?"
        r"(?:passwords?|passcodes?|pin|pin codes?|one-time codes?|card numbers?|cvv|cvc|"
        r"security codes?|login details|credentials)\b",
        r"\b(?:passwords?|card numbers?|credentials)\b[^.!?\n]{0,30}\bto\s+\S+@\S+",
        r"(?:이전|앞의|위의|기존|모든)\s*(?:지시|지침|명령|규칙|프롬프트)[^.!?\n]{0,15}(?:무시|잊)",
        r"(?:지시|지침|명령|규칙)(?:사항)?[을를은는]?\s*(?:무시|잊어)",
        r"시스템\s*(?:프롬프트|메시지|지시)",
        r"(?:너는|당신은|넌)\s*(?:이제|지금부터)",
        r"(?:AI|에이아이|어시스턴트|챗봇|봇|상담봇|모델)(?:은|는|이|가|에게)?\s[^.!?\n]{0,50}"
        r"(?:해야\s*(?:한다|합니다)|하십시오|하라|할 것)",
        r"(?:비밀번호|패스워드|카드\s*번호|인증\s*번호|CVC|보안\s*코드)[^.!?\n]{0,25}"
        r"(?:보내|알려|전송|공유|메일로|회신)",
    )
]

# Words of a commitment, by what they commit to; a passage holding any word of the same group
# (in either language) states the same kind of commitment.
_COMMITMENT_GROUPS = {
    "refund": ("refund", "money back", "reimburs", "환불"),
    "compensation": ("compensat", "reimburs", "배상", "보상"),
    "credit": ("credit", "크레딧", "적립"),
    "discount": ("discount", "% off", "coupon", "할인", "쿠폰"),
    "replacement": ("replace", "exchange", "교환"),
    "waiver": ("waive", "free", "no charge", "면제", "무상", "무료"),
    "guarantee": ("guarantee", "warrant", "보장", "보증"),
    "promise": ("promise", "약속"),
}
_COMMITMENT_WORD = re.compile(
    r"\b(?:refund\w*|reimburs\w*|compensat\w*|credit\w*|discount\w*|replace\w*|waive\w*|"
    r"guarantee\w*|promise\w*|free|money back|entitled)\b|"
    r"환불|보상|할인|교환|배상|크레딧|보장|무상|무료|면제",
    _I,
)
# The assistant speaking for itself: never allowed to commit the company.
_FIRST_PERSON = [
    re.compile(p, _I)
    for p in (
        r"\bI(?:'m| am)? (?:hereby )?(?:promise|guarantee|assure|pledge|commit|swear)\b",
        r"\b(?:I|I'll|I will|I can|I'm going to|I am going to|let me)\b[^.!?\n]{0,40}"
        r"\b(?:refund|reimburse|compensate|credit|discount|replace|waive|give you|send you|"
        r"pay|approve|issue|offer)\w*",
        r"\b(?:you have my word|my promise|my guarantee)\b",
        r"\bwe (?:promise|guarantee|assure|pledge)\b[^.!?\n]{0,20}\byou\b",
        r"약속",
        r"제가[^.!?\n]{0,40}(?:드리겠|드릴게|드릴께|해\s*드릴|하겠습니다|할게요)",
        r"(?:환불|보상|할인|교환|배상|크레딧|무상|무료|면제|보장|처리|지급|승인)[^.!?\n]{0,20}"
        r"(?:드리겠|드릴게|드릴께|해\s*드릴\s*(?:게|께|수\s*있도록\s*하겠)|하겠습니다|할게요)",
    )
]


@dataclass(frozen=True)
class Commitment:
    """A sentence that commits the company: who speaks, and the stems a passage must hold."""

    first_person: bool
    stems: tuple[str, ...]


def instruction(text: str) -> str:
    """The instruction-like phrase in ``text`` (aimed at the assistant, or asking for a
    secret), or "" when there is none."""
    for pattern in _INSTRUCTIONS:
        match = pattern.search(text)
        if match:
            return match.group(0).strip()
    return ""


def commitment(sentence: str) -> Commitment | None:
    """The commitment a sentence makes, or None when it makes none."""
    words = [m.group(0).lower() for m in _COMMITMENT_WORD.finditer(sentence)]
    stems = tuple(
        group
        for group, forms in _COMMITMENT_GROUPS.items()
        if any(form in word for word in words for form in forms)
    )
    if any(p.search(sentence) for p in _FIRST_PERSON) and (stems or "약속" in sentence):
        return Commitment(True, stems)
    if re.search(r"\bI (?:promise|guarantee)\b", sentence, _I):
        return Commitment(True, stems)
    # Any other mention of a refund, a discount... is a claim of policy, checked against the
    # passage sentence it matches.
    return Commitment(False, stems) if stems else None


def states(text: str, stem: str) -> bool:
    """Does ``text`` hold a word of the commitment group ``stem`` (in either language)?"""
    lowered = text.lower()
    return any(form in lowered for form in _COMMITMENT_GROUPS[stem])


def split_lines(text: str) -> list[str]:
    """Sentences and lines of ``text``, each with what followed it."""
    # A line that starts in lower case goes on with the sentence before it (a PDF's wrapping).
    return re.split(r"(?<=[.!?。])(?=\s)|(?=\n(?![ \t]*[a-z]))", text)


def without_instructions(text: str) -> str:
    """``text`` without its instruction-like sentences (what a poisoned document slips in)."""
    pieces = split_lines(text)
    kept = [p for p in pieces if not instruction(p)]
    if len(kept) == len(pieces):
        return text
    return "".join(kept).strip()
