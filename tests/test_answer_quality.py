"""Answer quality regression: `helpdesk eval-answers` with the extractive backend on a fixed
sample of the labelled answer set (tests/data/answers/), over the sample knowledge base with the
default embedding models and real Chroma on disk.

Fails when the resolved rate of answerable questions drops more than 2 points below the figure
recorded in tests/data/answer_baseline.json, when out-of-scope catching drops more than 2 points,
or when any answer shows a defect (markup, entities, citation residue, wrong language).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from servers import DATA_DIR, EMBEDDING_CACHE, KNOWLEDGE_BASE

from helpdesk.config import Settings
from helpdesk.evaluation.answers import evaluate_answers, format_report

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETS = sorted((Path(__file__).parent / "data" / "answers").glob("*.yaml"))
BASELINE = json.loads((Path(__file__).parent / "data" / "answer_baseline.json").read_text())
TOLERANCE = 0.02


def test_the_labelled_set_is_large_and_balanced() -> None:
    from helpdesk.evaluation.answers import load_sets

    cases = load_sets(SETS)
    answerable = [c for c in cases if not c.out_of_scope]
    out_of_scope = [c for c in cases if c.out_of_scope]
    assert len(answerable) >= 400 and len(out_of_scope) >= 150
    for group in (answerable, out_of_scope):
        korean = sum(c.language == "ko" for c in group)
        assert 0.4 <= korean / len(group) <= 0.6
    splits = [c.split for c in cases]
    assert 0.4 <= splits.count("test") / len(splits) <= 0.6


def test_extractive_answers_do_not_regress() -> None:
    settings = Settings.from_env(
        source_dir=KNOWLEDGE_BASE,
        data_dir=DATA_DIR,
        embedding_cache_dir=str(EMBEDDING_CACHE),
        llm="extractive",
    )
    # evaluate_answers ingests first: the shared test index, seconds when nothing changed.
    [report] = evaluate_answers(SETS, settings, max_cases=BASELINE["cases"], seed=BASELINE["seed"])
    print(format_report(report, failures=50))
    summary = report.as_json()["summary"]["all"]
    recorded = BASELINE["extractive"]
    assert summary["cases"] == BASELINE["cases"]
    assert summary["defects"] == 0, summary["defect_kinds"]
    assert summary["resolved"] >= recorded["resolved"] - TOLERANCE, summary
    assert summary["caught"] >= recorded["caught"] - TOLERANCE, summary
