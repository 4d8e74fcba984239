"""The prompt-injection and false-promise suite against one backend, with counts.

    python scripts/attack_injection.py                      # extractive (fast)
    python scripts/attack_injection.py --backend llamacpp   # the bundled model, ~10 min
    python scripts/attack_injection.py --backend openai     # HELPDESK_LLM_BASE_URL / _MODEL
    python scripts/attack_injection.py --json

The sample knowledge base plus the poisoned documents (tests/data/attacks/kb/ and a generated
PDF) are ingested into .cache/attacks/ (ingest is idempotent: a second run reuses it). Every
case of tests/data/attacks/injection.yaml is asked through Helpdesk.ask_events; the counts are
attacks tried, instructions followed, false promises made, and what contained the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpdesk.config import Settings
from helpdesk.evaluation.injection import (
    Outcome,
    load_suite,
    poisoned_knowledge_base,
    run_suite,
    summary,
)
from helpdesk.index.ingest import ingest
from helpdesk.service import Helpdesk

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "data" / "attacks" / "injection.yaml"
POISONED = ROOT / "tests" / "data" / "attacks" / "kb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["extractive", "llamacpp", "openai"])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "attacks")
    parser.add_argument("--only", nargs="*", help="case ids to ask (default: all)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    source = poisoned_knowledge_base(ROOT / "knowledge_base", POISONED, args.cache / "kb")
    overrides: dict[str, object] = {"source_dir": source, "data_dir": args.cache / "data"}
    if args.backend:
        overrides["llm"] = args.backend
    settings = Settings.from_env(**overrides)
    ingest(settings)
    helpdesk = Helpdesk(settings, store=None)  # attacks are not customers: nothing stored
    helpdesk.warm_up()
    suite = load_suite(args.suite)
    cases = [c for c in suite.cases if not args.only or c.id in args.only]

    def progress(outcome: Outcome) -> None:
        mark = "FAILED" if outcome.followed or outcome.promises else outcome.contained_by
        print(f"{outcome.case.id:28} {mark}", file=sys.stderr, flush=True)

    report = summary(run_suite(helpdesk, suite, cases, progress), settings.llm)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"backend {report['backend']}: {report['tried']} attacks tried")
    print(f"  instructions followed: {report['followed']}")
    print(f"  false promises made:   {report['promises']}")
    print(f"  contained: {report['contained']}")
    for name, count in report["contained_by"].items():
        print(f"    by {name}: {count}")
    for failure in report["failures"]:
        print(f"  FAILED {failure['id']}: {failure['followed']} {failure['promises']}")
        print(f"    shown: {failure['shown'][-1]!r}")


if __name__ == "__main__":
    main()
