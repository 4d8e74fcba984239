"""Precision and recall of the personal-data redaction per kind, on tests/data/pii.yaml.

    PYTHONPATH=. python scripts/eval_pii.py [--misses]

Prints, for the dev split (the patterns were tuned on it) and the test split, each kind's
precision and recall and the labelled values left raw after redaction; ``--misses`` lists the
missed values and false alarms of dev only (tune on dev, read test).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from helpdesk.evaluation.pii import load_pii_set, score

PII_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list dev's misses and false alarms")
    args = parser.parse_args()
    texts = load_pii_set(PII_SET)
    for split in ("dev", "test"):
        part = [t for t in texts if t.split == split]
        scores, leaked = score(part)
        values = sum(len(t.spans) for t in part)
        print(f"{split}: {len(part)} texts, {values} values, {leaked} left raw")
        print(f"  {'kind':8} {'precision':>10} {'recall':>8}  (found/labelled, right/predicted)")
        for kind, s in scores.items():
            print(
                f"  {kind:8} {s.precision:10.3f} {s.recall:8.3f}  "
                f"({s.found}/{s.labelled}, {s.right}/{s.predicted})"
            )
        if args.misses and split == "dev":
            for kind, s in scores.items():
                for miss in s.misses:
                    print(f"  missed {kind}: {miss}")
                for alarm in s.false_alarms:
                    print(f"  false {kind}: {alarm}")


if __name__ == "__main__":
    main()
