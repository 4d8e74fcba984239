"""Precision and recall of the answer verifier on the labelled sentences, and a threshold grid.

    python scripts/calibrate_verifier.py            # report with the shipped calibration
    python scripts/calibrate_verifier.py --grid     # also search the calibration grid

"Positive" is a sentence the verifier keeps. Precision: the share of kept sentences that are
really supported (what matters to the customer). Recall: the share of supported sentences kept.
Also reported: how many of each unsupported kind (number swaps, negation flips...) got through.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import yaml

from helpdesk.answering.verify import Verifier
from helpdesk.embeddings import USEEmbeddings
from helpdesk.text import Tokenizer


class Memo:
    """Embeds each distinct text once across the whole grid."""

    def __init__(self, embedder: USEEmbeddings) -> None:
        self.embedder = embedder
        self.seen: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        fresh = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if fresh:
            self.seen.update(zip(fresh, self.embedder.embed_documents(fresh), strict=True))
        return [self.seen[t] for t in texts]


ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "data" / "verification.yaml"


def evaluate(verifier: Verifier, cases: list[dict], prepared: dict) -> dict:
    counts: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    missed: list[str] = []
    for case in cases:
        for sentence in case["sentences"]:
            check = verifier.check_sentence(sentence["text"], prepared[case["id"]])
            truth = bool(sentence["supported"])
            counts[
                ("true" if truth else "false") + ("-kept" if check.supported else "-dropped")
            ] += 1
            if check.supported and not truth:
                leaked[sentence["kind"]] += 1
            if truth and not check.supported:
                missed.append(f"{case['id']} {sentence['kind']}: {check.reason}")
    tp, fp, fn = counts["true-kept"], counts["false-kept"], counts["true-dropped"]
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "kept": tp + fp,
        "sentences": sum(counts.values()),
        "leaked": dict(leaked),
        "missed": missed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", action="store_true", help="search the calibration grid")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    verifier = Verifier(Memo(USEEmbeddings()), Tokenizer())
    prepared = {c["id"]: verifier.prepare([c["passage"]]) for c in cases}
    report = evaluate(verifier, cases, prepared)
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for case in cases:
        for sentence in case["sentences"]:
            check = verifier.check_sentence(sentence["text"], prepared[case["id"]])
            by_kind[sentence["kind"]]["kept" if check.supported else "dropped"] += 1
    report["by_kind"] = {k: dict(v) for k, v in sorted(by_kind.items())}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"labelled sentences: {report['sentences']} in {len(cases)} passages")
        print(f"precision {report['precision']:.3f}  recall {report['recall']:.3f}")
        for kind, outcome in report["by_kind"].items():
            print(
                f"  {kind:18} kept {outcome.get('kept', 0):3}"
                f"  dropped {outcome.get('dropped', 0):3}"
            )
        for line in report["missed"]:
            print("  missed:", line)
    if args.grid:
        results = []
        base = verifier.calibration
        for threshold, low, high, weight, negation in itertools.product(
            (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65),
            (0.2, 0.3, 0.35, 0.4, 0.5),
            (0.7, 0.8, 0.9),
            (0.3, 0.5, 0.7),
            (0.4, 0.5, 0.6),
        ):
            verifier.calibration = replace(
                base,
                threshold=threshold,
                cosine_low=low,
                cosine_high=high,
                lexical_weight=weight,
                negation_cosine=negation,
            )
            r = evaluate(verifier, cases, prepared)
            f_half = 1.25 * r["precision"] * r["recall"] / (0.25 * r["precision"] + r["recall"])
            results.append(
                (f_half, r["precision"], r["recall"], threshold, low, high, weight, negation)
            )
        results.sort(reverse=True)
        print(
            "best by F0.5 (precision weighs double): f0.5 P R threshold low high lexical negation"
        )
        for row in results[:10]:
            print("  " + "  ".join(f"{x:.3f}" for x in row))


if __name__ == "__main__":
    main()
