"""The come-back threshold of the resolution rate, measured on labelled pairs.

    python scripts/eval_comebacks.py [--pairs tests/data/comebacks.yaml]

For each pair (a customer's question, what the same customer typed later, and whether it is
the same problem), the cosine of their USE vectors; prints precision, recall and F1 of "came
back on the same topic" at several thresholds, on the dev and the test split (by a hash of the
pair, so a new pair never moves an old one). Tune on dev; the default lives in
helpdesk/insights/resolution.py (SIMILARITY).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import yaml

from helpdesk.embeddings import USEEmbeddings
from helpdesk.insights.resolution import SIMILARITY

ROOT = Path(__file__).resolve().parent.parent


def split_of(first: str, later: str) -> str:
    digest = hashlib.sha256(f"{first}\n{later}".encode()).digest()
    return "test" if digest[0] % 2 else "dev"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=ROOT / "tests/data/comebacks.yaml")
    args = parser.parse_args()
    pairs = yaml.safe_load(args.pairs.read_text(encoding="utf-8"))
    use = USEEmbeddings()
    firsts = np.asarray(use.embed_documents([p["first"] for p in pairs]))
    laters = np.asarray(use.embed_documents([p["later"] for p in pairs]))
    cosines = (firsts * laters).sum(axis=1)
    labels = np.asarray([bool(p["same"]) for p in pairs])
    splits = np.asarray([split_of(p["first"], p["later"]) for p in pairs])
    print(f"{len(pairs)} pairs: dev {sum(splits == 'dev')}, test {sum(splits == 'test')}")
    print("threshold  split  precision  recall  f1")
    for threshold in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6):
        for split in ("dev", "test"):
            mask = splits == split
            predicted = cosines[mask] >= threshold
            truth = labels[mask]
            tp = int((predicted & truth).sum())
            precision = tp / max(int(predicted.sum()), 1)
            recall = tp / max(int(truth.sum()), 1)
            f1 = 2 * precision * recall / max(precision + recall, 1e-9)
            mark = "  <- default" if abs(threshold - SIMILARITY) < 1e-9 else ""
            print(f"{threshold:9.2f}  {split:5}  {precision:9.3f}  {recall:6.3f}  {f1:.3f}{mark}")


if __name__ == "__main__":
    main()
