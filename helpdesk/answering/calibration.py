"""Confidence that means something: the chance that an answer resolves the question.

The retrieval confidence (:mod:`.confidence`) says whether the knowledge base covers a question
at all; it is near 1.0 for almost every answered question, right or wrong, so shown as a number
it overstates. This maps it, with a few cheap facts about the ranking, to the probability that
the answer is right (resolved: a gold page cited, every fact present), by a logistic fit on the
dev split of the labelled answer set (``scripts/calibrate_answers.py`` writes
``data/answer_calibration.json``; the test split measures its calibration error).

The fit belongs to the embedding models it was made with: with other models the raw confidence
is reported unchanged.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..types import Passage

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "data" / "answer_calibration.json"

FEATURES = (
    "confidence",  # the retrieval confidence (0-1)
    "margin",  # (first fused score - second) / first: a clear winner is more often right
    "faq",  # the quoted passage is an FAQ entry
    "not_first",  # the quoted passage is not the best-ranked one (a language swap)
    "same_article",  # the first two passages come from one article
    "cosine_primary",  # the primary model's cosine of the best passage
    "cosine_cross_lingual",  # the cross-lingual model's cosine of the best passage
    "lexical",  # BM25 score of the best passage, clipped at 30, over 30
)


def features(confidence: float, passages: Sequence[Passage], quoted: int) -> list[float]:
    """The calibration's inputs for an answer quoting ``passages[quoted]``."""
    if not passages:
        return [confidence, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    first = passages[0]
    second = passages[1].score if len(passages) > 1 else 0.0
    margin = (first.score - second) / first.score if first.score > 0 else 0.0
    cosines = [*first.dense_scores, 0.0, 0.0]
    chunk = passages[quoted].chunk if 0 <= quoted < len(passages) else first.chunk
    same = len(passages) > 1 and passages[1].chunk.source == first.chunk.source
    return [
        confidence,
        margin,
        float(chunk.kind == "faq"),
        float(quoted > 0),
        float(same),
        cosines[0],
        cosines[1],
        min(first.lexical_score or 0.0, 30.0) / 30.0,
    ]


@dataclass(frozen=True)
class AnswerCalibration:
    models: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float

    def probability(self, confidence: float, passages: Sequence[Passage], quoted: int) -> float:
        x = features(confidence, passages, quoted)
        z = self.intercept + sum(c * v for c, v in zip(self.coefficients, x, strict=True))
        return round(1.0 / (1.0 + math.exp(-z)), 4)

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> AnswerCalibration | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text("utf-8"))
        if tuple(data["features"]) != FEATURES:
            return None  # written for another feature list: not applicable
        return cls(tuple(data["models"]), tuple(data["coefficients"]), float(data["intercept"]))


@functools.cache
def calibration_for(models: tuple[str, ...]) -> AnswerCalibration | None:
    """The shipped calibration, when it was fitted with these embedding models."""
    calibration = AnswerCalibration.load()
    if calibration is None or calibration.models != models:
        return None
    return calibration
