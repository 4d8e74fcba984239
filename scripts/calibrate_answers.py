"""Fit the answer-confidence calibration on the dev split of the labelled answer set.

    python scripts/calibrate_answers.py [--write]

Runs every case of tests/data/answers/ through the extractive answering path (the sample
knowledge base, indexed under .cache/eval like `helpdesk eval-answers`) with the calibration
switched off, records each answer's raw confidence and ranking features
(helpdesk.answering.calibration.FEATURES) with whether it resolved its question, fits a logistic
regression on the dev split's answered cases, and prints the AUC and expected calibration error
(ECE) of the raw confidence and the fitted probability on both splits. ``--write`` stores the fit
in helpdesk/data/answer_calibration.json, which answers then report as their confidence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import helpdesk.answering.extractive as extractive
from helpdesk.answering.calibration import CALIBRATION_FILE, FEATURES, features
from helpdesk.config import Settings
from helpdesk.evaluation import answers as answer_eval
from helpdesk.evaluation import data_dir_for
from helpdesk.index.ingest import ingest
from helpdesk.service import Helpdesk

ROOT = Path(__file__).resolve().parent.parent
SETS = sorted((ROOT / "tests" / "data" / "answers").glob("*.yaml"))


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    which = np.minimum((p * bins).astype(int), bins - 1)
    return float(
        sum((which == b).mean() * abs(p[which == b].mean() - y[which == b].mean())
            for b in range(bins) if (which == b).any())
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="Store the fit for answers to use.")
    args = parser.parse_args()
    settings = Settings.from_env(source_dir=ROOT / "knowledge_base", llm="extractive")
    settings = settings.replace(
        data_dir=data_dir_for(ROOT / ".cache" / "eval", "kb-knowledge_base", settings.embedding)
    )
    ingest(settings)
    extractive.calibration_for = lambda models: None  # type: ignore[assignment]  # raw scores
    helpdesk = Helpdesk(settings)
    rows: dict[str, list[tuple[list[float], bool]]] = {"dev": [], "test": []}
    for verdict in answer_eval.run_cases(helpdesk, answer_eval.load_sets(SETS)):
        answer = verdict.answer
        if verdict.outcome not in ("resolved", "wrong", "missed"):
            continue  # refusals show no confidence to calibrate
        ids = [p.chunk.id for p in answer.passages]
        quoted = ids.index(answer.citations[0].chunk_id) if answer.citations else 0
        x = features(answer.confidence, answer.passages, quoted)
        rows[verdict.case.split].append((x, verdict.outcome == "resolved"))

    def matrix(split: str) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([x for x, _ in rows[split]], float),
            np.array([y for _, y in rows[split]], bool),
        )

    x_dev, y_dev = matrix("dev")
    model = LogisticRegression(max_iter=1000).fit(x_dev, y_dev)
    for split in ("dev", "test"):
        x, y = matrix(split)
        fitted = model.predict_proba(x)[:, 1]
        print(
            f"{split}: {len(y)} answers, {y.mean():.1%} resolved; raw confidence AUC "
            f"{roc_auc_score(y, x[:, 0]):.3f} ECE {ece(x[:, 0], y):.3f}; calibrated AUC "
            f"{roc_auc_score(y, fitted):.3f} ECE {ece(fitted, y):.3f}"
        )
    fit = {
        "_comment": "Written by scripts/calibrate_answers.py --write: P(resolved) of an answer.",
        "models": [e.model_id for e in helpdesk.embedders],
        "features": list(FEATURES),
        "coefficients": [round(float(c), 4) for c in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 4),
        "fitted_on": f"dev split, {len(y_dev)} answered cases",
    }
    print(json.dumps(fit, indent=2))
    if args.write:
        CALIBRATION_FILE.write_text(json.dumps(fit, indent=2) + "\n", "utf-8")
        print(f"wrote {CALIBRATION_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
