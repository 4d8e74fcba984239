"""The context packet a hand-off gives the support agent: everything, so nobody asks twice.

Built from the stored conversation when a customer asks for a person (``POST /api/handoff``):

- ``conversation``: every question and answer so far, with citations, "not covered" marks and
  each message's frustration;
- ``sources``: the passages retrieved along the way, each article once;
- ``frustration``: its trend over the customer's messages, the latest, the peak, the direction;
- ``customer``: the context the host page gave (product, plan, locale, customer id);
- ``summary``: a few sentences in the agents' language (HELPDESK_AGENT_LANGUAGE);
- ``tried``: what the assistant already tried, one line each, so the agent starts after it;
- ``reasons`` and ``message``: why a person was offered, and the customer's own note.

The summary is written from the record by rules, not by the LLM: it must be right about what
happened, in Korean as in English, and the bundled model is weak in Korean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .store import FeedbackRecord, TurnRecord

# A frustration trend moves when the last message differs from the first by this much.
_TREND_STEP = 0.15
_QUOTE_CHARS = 90
_LANGUAGE_NAMES = {
    "en": {"en": "English", "ko": "Korean"},
    "ko": {"en": "영어", "ko": "한국어"},
}
_REASONS = {
    "en": {
        "asked_for_person": "asked for a person",
        "frustration": "sounded frustrated",
        "repeated": "repeated a question",
        "not_covered_twice": "got two “not covered” answers in a row",
        "thumbs_down": "rated an answer unhelpful",
        "requested": "asked for a person from the chat",
    },
    "ko": {
        "asked_for_person": "상담원 연결을 요청함",
        "frustration": "불만이 큼",
        "repeated": "같은 질문을 반복함",
        "not_covered_twice": "두 번 연속 ‘답변 불가’를 받음",
        "thumbs_down": "답변이 도움이 안 됐다고 평가함",
        "requested": "채팅에서 상담원 연결을 요청함",
    },
}
_FEEDBACK_REASONS = {
    "en": {
        "wrong": "wrong",
        "incomplete": "incomplete",
        "not_my_question": "not my question",
        "other": "other",
    },
    "ko": {
        "wrong": "틀림",
        "incomplete": "불완전함",
        "not_my_question": "질문과 다름",
        "other": "기타",
    },
}


def context_packet(
    turns: Sequence[TurnRecord],
    feedback: Sequence[FeedbackRecord],
    *,
    language: str,
    reasons: Sequence[str] = (),
    message: str | None = None,
) -> dict[str, Any]:
    """The packet for a ticket on this conversation, written for agents reading ``language``."""
    language = language if language in _REASONS else "en"
    customer: dict[str, Any] = {}
    for turn in turns:
        customer.update({k: v for k, v in turn.context.items() if v})
    trend = frustration_trend(turns)
    reasons = list(dict.fromkeys([*reasons, *(r for t in turns for r in t.escalation)]))
    return {
        "summary": summary(turns, feedback, customer, trend, reasons, language),
        "reasons": reasons,
        "message": message or None,
        "customer": customer,
        "frustration": trend,
        "conversation": [
            {
                "answer_id": turn.id,
                "at": turn.at.isoformat(),
                "question": turn.question,
                "answer": turn.answer,
                "language": turn.language,
                "not_covered": turn.not_covered,
                "grounded": turn.grounded,
                "confidence": round(turn.confidence, 3),
                "frustration": round(turn.frustration, 3),
                "cues": list(turn.cues),
                "citations": [
                    {"title": c.get("title", ""), "url": c.get("url", "")} for c in turn.citations
                ],
            }
            for turn in turns
        ],
        "sources": sources(turns),
        "tried": tried(turns, feedback, language),
    }


def frustration_trend(turns: Sequence[TurnRecord]) -> dict[str, Any]:
    """One score per customer message, the latest, the peak, and which way it is going."""
    scores = [round(t.frustration, 3) for t in turns]
    if not scores:
        return {"trend": [], "latest": 0.0, "peak": 0.0, "direction": "steady"}
    change = scores[-1] - scores[0]
    direction = "steady"
    if len(scores) > 1 and abs(change) >= _TREND_STEP:
        direction = "rising" if change > 0 else "falling"
    return {"trend": scores, "latest": scores[-1], "peak": max(scores), "direction": direction}


def sources(turns: Sequence[TurnRecord]) -> list[dict[str, Any]]:
    """The articles retrieved over the conversation, each once, in the order first seen."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for turn in turns:
        for source in turn.sources:
            key = (str(source.get("source", "")), str(source.get("url", "")))
            if key not in seen:
                seen[key] = {
                    "title": source.get("title", ""),
                    "url": source.get("url", ""),
                    "source": source.get("source", ""),
                    "audience": source.get("audience", "public"),
                }
    return list(seen.values())


def tried(
    turns: Sequence[TurnRecord], feedback: Sequence[FeedbackRecord], language: str
) -> list[str]:
    """What the assistant did with each question, and what the customer said of it."""
    ratings = {f.answer_id: f for f in feedback if f.answer_id}
    lines = []
    for turn in turns:
        question = _quote(turn.question)
        titles = list(dict.fromkeys(str(c.get("title", "")) for c in turn.citations if c))
        if _asked_for_person(turn):
            line = (
                f"{question}: 상담원 연결을 요청해 연결을 안내함"
                if language == "ko"
                else f"{question}: asked for a person, who was offered"
            )
        elif turn.not_covered:
            line = (
                f"{question}: 도움말에서 답을 찾지 못해 상담 연결을 안내함"
                if language == "ko"
                else f"{question}: found no answer in the help center and offered contact"
            )
        elif language == "ko":
            line = (
                f"{question}: {_titles(titles, '검색된')} 문서로 답변함 "
                f"(확신도 {turn.confidence:.2f})"
            )
        else:
            line = (
                f"{question}: answered from {_titles(titles, 'its passages')} "
                f"(confidence {turn.confidence:.2f})"
            )
        rating = ratings.get(turn.id)
        if rating is not None and not rating.helpful:
            why = _FEEDBACK_REASONS[language].get(rating.reason or "", "")
            if language == "ko":
                line += " → 고객이 도움 안 됨으로 평가" + (f" ({why})" if why else "")
            else:
                line += " → the customer rated it unhelpful" + (f" ({why})" if why else "")
            if rating.comment:
                line += f": {_quote(rating.comment)}"
        lines.append(line)
    return lines


def summary(
    turns: Sequence[TurnRecord],
    feedback: Sequence[FeedbackRecord],
    customer: dict[str, Any],
    trend: dict[str, Any],
    reasons: Sequence[str],
    language: str,
) -> str:
    """Two to four sentences: who, what they asked, what the assistant managed, how they feel."""
    asked = len(turns)
    answered = sum(1 for t in turns if not t.not_covered)
    uncovered = sum(1 for t in turns if t.not_covered and not _asked_for_person(t))
    customer_language = turns[-1].language if turns else "en"
    names = _LANGUAGE_NAMES[language]
    first = _quote(turns[0].question) if turns else ""
    unhelpful = sum(1 for f in feedback if not f.helpful)
    why = [_REASONS[language].get(r, r) for r in reasons]
    product, plan = customer.get("product"), customer.get("plan")
    if language == "ko":
        who = "고객"
        if plan or product:
            who = f"{' '.join(x for x in (product, plan and f'{plan} 요금제') if x)} 고객"
        parts = [
            f"{who}이(가) {names.get(customer_language, customer_language)}로 "
            f"{asked}개의 질문을 했습니다. 첫 질문: {first}.",
            f"도움말로 {answered}개에 답했고 {uncovered}개는 답하지 못했습니다.",
        ]
        if unhelpful:
            parts.append(f"고객이 답변 {unhelpful}개를 도움 안 됨으로 평가했습니다.")
        mood = {"rising": "높아지는 중", "falling": "낮아지는 중", "steady": "비슷함"}
        parts.append(
            f"불만 지수 {trend['latest']:.2f} (최고 {trend['peak']:.2f}, "
            f"{mood[trend['direction']]})" + (f"; {', '.join(why)}." if why else ".")
        )
        return " ".join(parts)
    who = "The customer"
    if plan or product:
        who = "A customer" + (f" on the {plan} plan" if plan else "")
        who += f" with {product}" if product else ""
    parts = [
        f"{who} asked {asked} question{'s' if asked != 1 else ''} in "
        f"{names.get(customer_language, customer_language)}, starting with {first}.",
        f"The assistant answered {answered} from the help center and could not cover {uncovered}.",
    ]
    if unhelpful:
        parts.append(f"They rated {unhelpful} answer{'s' if unhelpful != 1 else ''} unhelpful.")
    parts.append(
        f"Frustration {trend['latest']:.2f} (peak {trend['peak']:.2f}, {trend['direction']})"
        + (f"; they {', '.join(why)}." if why else ".")
    )
    return " ".join(parts)


def _asked_for_person(turn: TurnRecord) -> bool:
    """A message that asked for a person and got one offered, rather than an answer."""
    return turn.not_covered and "asked_for_person" in turn.cues


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _QUOTE_CHARS:
        text = text[: _QUOTE_CHARS - 1].rstrip() + "…"
    return f"“{text}”"


def _titles(titles: list[str], otherwise: str) -> str:
    shown = [f"‘{t}’" for t in titles[:2] if t]
    return ", ".join(shown) or otherwise
