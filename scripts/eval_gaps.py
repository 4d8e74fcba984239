"""Evaluate the content-gap report's clustering on the dev and test splits of its labelled set.

    python scripts/eval_gaps.py [--embedding use] [--threshold 0.65]

Prints, for a sweep of distance thresholds, the adjusted Rand index and purity on the dev split
(where the threshold is chosen), then the chosen threshold's figures on dev and test (the test
topics are never looked at while choosing). The same figures are in docs/insights.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from helpdesk.embeddings import make_embedder
from helpdesk.evaluation.gaps import embed, load_labelled, score
from helpdesk.insights.gaps import DISTANCE_THRESHOLD

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "gaps.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding", default="use")
    parser.add_argument("--threshold", type=float, default=DISTANCE_THRESHOLD)
    args = parser.parse_args()
    embedder = make_embedder(args.embedding)
    questions = load_labelled(DATA)
    splits = {name: [q for q in questions if q.split == name] for name in ("dev", "test")}
    vectors = {name: embed(items, embedder) for name, items in splits.items()}
    print(f"dev sweep ({embedder.model_id}): threshold, adjusted Rand, purity, clusters")
    for threshold in np.arange(0.40, 0.801, 0.025):
        dev = score(splits["dev"], vectors["dev"], float(threshold))
        print(f"  {threshold:.3f}  {dev.adjusted_rand:.3f}  {dev.purity:.3f}  {dev.clusters}")
    print(f"\nthreshold {args.threshold}:")
    for name, items in splits.items():
        result = score(items, vectors[name], args.threshold)
        print(
            f"  {name:4}  {result.questions} questions, {result.topics} topics -> "
            f"{result.clusters} clusters; adjusted Rand {result.adjusted_rand:.3f}, purity "
            f"{result.purity:.3f}; topics whole {result.whole_topics}/{result.topics}, "
            f"with English and Korean together {result.bilingual_topics}/{result.topics}"
        )


if __name__ == "__main__":
    main()
