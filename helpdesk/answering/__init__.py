"""Passages -> Answer. Answerers share one protocol so an LLM-written answer slots in later."""

from __future__ import annotations

from typing import Protocol

from ..types import Answer, Passage


class Answerer(Protocol):
    """Writes the reply to a question from the retrieved passages."""

    def answer(self, question: str, passages: list[Passage], language: str) -> Answer: ...
