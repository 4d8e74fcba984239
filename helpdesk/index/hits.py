"""Picking a ranking's best rows out of a score array, shared by every in-memory ranker."""

from __future__ import annotations

import numpy as np


def top_hits(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best (row, score) pairs among the finite ``scores``, best first.

    Rows a ranker must not return (filtered out, or with nothing in common with the question)
    are marked ``-inf`` by the caller.
    """
    candidates = np.flatnonzero(np.isfinite(scores))
    k = min(k, candidates.size)
    if k <= 0:
        return []
    top = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(row), float(scores[row])) for row in top]
