"""Retrieval quality regression: `helpdesk eval` on fixed samples of the shared BEIR sets.

Fails when nDCG@10 drops more than 0.02 below the figure recorded in
tests/data/retrieval_baseline.json. The indexes and embedding cache live outside the checkout
(~/.cache/helpdesk-eval, or HELPDESK_TEST_EVAL_DIR) so that repeated runs on one machine embed
nothing; a cold run embeds both corpora once (about 15 minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpdesk.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
SHARED = Path(os.environ.get("HELPDESK_SHARED_DATA", ROOT.parent / "shared" / "data"))
BASELINE = json.loads((Path(__file__).parent / "data" / "retrieval_baseline.json").read_text())
EVAL_DIR = Path(os.environ.get("HELPDESK_TEST_EVAL_DIR", Path.home() / ".cache" / "helpdesk-eval"))
TOLERANCE = 0.02


@pytest.mark.parametrize("dataset", sorted(BASELINE["datasets"]))
def test_ndcg_does_not_regress(dataset: str) -> None:
    folder = SHARED / dataset
    if not folder.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{folder} is missing: CI must lay shared/ beside the checkout")
        pytest.skip(f"{folder} not present on this machine")
    recorded = BASELINE["datasets"][dataset]
    result = CliRunner().invoke(
        main,
        [
            "eval",
            str(folder),
            "--max-queries",
            str(BASELINE["queries"]),
            "--seed",
            str(BASELINE["seed"]),
            "--data-dir",
            str(EVAL_DIR),
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    measured = json.loads(result.stdout)["results"][0]
    print(f"{dataset}: nDCG@10 {measured['ndcg@10']:.4f} (recorded {recorded['ndcg@10']:.4f})")
    assert measured["queries"] == BASELINE["queries"]
    assert measured["ndcg@10"] >= recorded["ndcg@10"] - TOLERANCE, measured
