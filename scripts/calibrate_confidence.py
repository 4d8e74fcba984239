"""Calibrate the "not covered" threshold on answerable and out-of-scope questions.

Prints, for the index in --data-dir, the confidence of every labelled question and, for a range
of thresholds, the share of answerable questions refused and of out-of-scope questions caught:

    python scripts/calibrate_confidence.py --data-dir data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from helpdesk.answering.confidence import evidence, score
from helpdesk.config import Settings
from helpdesk.service import Helpdesk
from helpdesk.types import Query

TESTS = Path(__file__).resolve().parent.parent / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--answerable", default=str(TESTS / "questions.yaml"))
    parser.add_argument("--out-of-scope", default=str(TESTS / "out_of_scope.yaml"))
    parser.add_argument("--verbose", action="store_true", help="print every question")
    args = parser.parse_args()

    settings = Settings.from_env(data_dir=args.data_dir)
    helpdesk = Helpdesk(settings)
    retriever = helpdesk.retriever()
    models = [e.model_id for e in helpdesk.embedders]
    model = "+".join(models)
    answerable = [
        q["question"]
        for q in yaml.safe_load(Path(args.answerable).read_text("utf-8"))
        if not q.get("internal_only")
    ]
    outside = [q["question"] for q in yaml.safe_load(Path(args.out_of_scope).read_text("utf-8"))]

    def signals(question: str) -> tuple[float, float, float, float]:
        question = retriever.correct(question).text  # as the answerer reads it
        passages = retriever.retrieve(Query(question, k=settings.top_k))
        found = evidence(question, passages, helpdesk.tokenizer, retriever.snapshot.terms)
        value = score(found, models) if passages else 0.0
        return value, max(found.dense, default=0.0), found.coverage, found.unknown

    rows = [(True, q, *signals(q)) for q in answerable] + [(False, q, *signals(q)) for q in outside]
    if args.verbose:
        for inside, question, value, dense, coverage, unknown in sorted(rows, key=lambda r: r[2]):
            label = "in " if inside else "OUT"
            print(
                f"{label} conf={value:.3f} cos={dense:.3f} cov={coverage:.2f} "
                f"unknown={unknown:.2f}  {question}"
            )
    print(f"model {model}: {len(answerable)} answerable, {len(outside)} out-of-scope questions")
    print("threshold  refused(answerable)  caught(out-of-scope)")
    for step in range(20, 81, 5):
        threshold = step / 100
        refused = sum(1 for r in rows if r[0] and r[2] < threshold) / max(1, len(answerable))
        caught = sum(1 for r in rows if not r[0] and r[2] < threshold) / max(1, len(outside))
        marker = "  <- current" if abs(threshold - settings.min_confidence) < 1e-9 else ""
        print(f"  {threshold:.2f}     {refused:6.1%}              {caught:6.1%}{marker}")


if __name__ == "__main__":
    main()
