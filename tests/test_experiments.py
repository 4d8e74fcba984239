"""A/B experiments: the definition file, the visitors' split, each variant's settings, the help
desks that serve the variants side by side, and the statistics that compare them.

The statistics are checked against published values (Newcombe 1998's worked examples), against
the textbook formulas written out here, and against scipy's own tests.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import build_small_index
from scipy import stats

from helpdesk.config import Settings
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.experiments import (
    BUCKETS,
    Experiment,
    ExperimentError,
    Interval,
    Outcome,
    Variants,
    _bootstrap_medians,
    bootstrap_median_difference,
    compare,
    newcombe,
    proportion_test,
    wilson,
)
from helpdesk.frustration import Mood, message_cues
from helpdesk.service import Helpdesk
from helpdesk.types import Query

Z95 = 1.959963984540054


def two_way(name: str = "shorter-passages", **split: float) -> Experiment:
    return Experiment(name=name, variants={"control": {}, "fewer": {"top_k": 3}}, split=split or {})


def write(tmp_path: Path, text: str, name: str = "experiment.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the split ---------------------------------------------------------------------------------

VISITORS = [
    "visitor-1",
    "visitor-2",
    "visitor-3",
    "a",
    "b",
    "c",
    "3f2b9c1e-0000-4000-8000-000000000001",
    "고객-42",
    "x" * 64,
    "v_10",
]
# Hard-coded: a change of hash, of its input or of the bucket arithmetic moves visitors
# between variants mid-experiment, and must fail here.
SHORTER_PASSAGES = {
    "visitor-1": (5314, "fewer"),
    "visitor-2": (4009, "control"),
    "visitor-3": (4581, "control"),
    "a": (4795, "control"),
    "b": (711, "control"),
    "c": (9996, "fewer"),
    "3f2b9c1e-0000-4000-8000-000000000001": (352, "control"),
    "고객-42": (9134, "fewer"),
    "x" * 64: (9656, "fewer"),
    "v_10": (3489, "control"),
}
TONE = {
    "visitor-1": (8970, "brief"),
    "visitor-2": (6029, "brief"),
    "visitor-3": (9841, "brief"),
    "a": (6364, "brief"),
    "b": (947, "control"),
    "c": (1155, "warm"),
    "3f2b9c1e-0000-4000-8000-000000000001": (1688, "warm"),
    "고객-42": (1026, "warm"),
    "x" * 64: (1415, "warm"),
    "v_10": (7658, "brief"),
}


def tone() -> Experiment:
    return Experiment(
        name="tone",
        variants={"control": {}, "warm": {"persona": "a warm agent"}, "brief": {}},
        split={"control": 10, "warm": 30, "brief": 60},
    )


def test_the_split_is_a_fixed_function_of_the_experiment_and_the_visitor() -> None:
    for experiment, table in ((two_way(), SHORTER_PASSAGES), (tone(), TONE)):
        for visitor, (bucket, variant) in table.items():
            assert experiment.bucket(visitor) == bucket, visitor
            assert experiment.variant_for(visitor) == variant, visitor
            # Built again (as another process would): the same answer.
            assert type(experiment)(**_fields(experiment)).variant_for(visitor) == variant


def _fields(experiment: Experiment) -> dict[str, Any]:
    return {
        "name": experiment.name,
        "variants": dict(experiment.variants),
        "split": dict(experiment.split),
    }


def test_another_python_process_splits_the_same_way() -> None:
    # A different string-hash seed in a fresh interpreter: the split does not use hash().
    code = (
        "from helpdesk.experiments import Experiment\n"
        "e = Experiment(name='tone', variants={'control': {}, 'warm': {}, 'brief': {}},"
        " split={'control': 10, 'warm': 30, 'brief': 60})\n"
        f"print(','.join(e.variant_for(v) for v in {VISITORS!r}))\n"
    )
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip().split(",") == [TONE[v][1] for v in VISITORS]


def test_the_bucket_is_sha256_of_name_nul_visitor() -> None:
    digest = hashlib.sha256("tone\x00고객-42".encode()).digest()
    assert tone().bucket("고객-42") == int.from_bytes(digest[:8], "big") % BUCKETS == 1026


@pytest.mark.parametrize(
    "split",
    [{}, {"control": 50, "fewer": 50}, {"control": 90, "fewer": 10}, {"control": 1, "fewer": 3}],
)
def test_the_split_follows_the_weights(split: dict[str, float]) -> None:
    experiment = two_way(**split)
    counts = Counter(experiment.variant_for(f"visitor-{i}") for i in range(20_000))
    weights = split or {"control": 1, "fewer": 1}
    for variant, weight in weights.items():
        expected = 100 * weight / sum(weights.values())
        assert abs(100 * counts[variant] / 20_000 - expected) < 1.5, (variant, counts)


def test_a_three_way_split_follows_the_weights() -> None:
    counts = Counter(tone().variant_for(f"v{i}") for i in range(20_000))
    for variant, expected in {"control": 10, "warm": 30, "brief": 60}.items():
        assert abs(100 * counts[variant] / 20_000 - expected) < 1.5, counts


def test_splits_of_different_experiments_are_independent() -> None:
    first, second = two_way("first"), two_way("second")
    visitors = [f"visitor-{i}" for i in range(20_000)]
    pairs = Counter((first.variant_for(v), second.variant_for(v)) for v in visitors)
    # Each of the four combinations gets a quarter when the two are independent.
    for pair, count in pairs.items():
        assert abs(100 * count / len(visitors) - 25) < 1.5, (pair, pairs)
    # The same visitors, the same name: the same split.
    assert [first.variant_for(v) for v in visitors[:50]] == [
        two_way("first").variant_for(v) for v in visitors[:50]
    ]


def test_a_visitor_without_an_id_is_served_the_control() -> None:
    experiment = tone()
    assert experiment.control == "control"
    assert experiment.variant_for(None) == "control"
    assert experiment.variant_for("") == "control"


def test_a_variant_weighted_zero_gets_no_one() -> None:
    experiment = two_way(control=1, fewer=0)
    assert {experiment.variant_for(f"v{i}") for i in range(2_000)} == {"control"}


# -- the definition ----------------------------------------------------------------------------

EXAMPLE = """\
name: shorter-passages
variants:
  control: {}
  fewer: {top_k: "3", prompt_template: short.txt, fusion: RRF, typo_tolerance: "no"}
split: {control: 70, fewer: 30}
"""


def test_an_experiment_file_is_read_and_its_values_parsed(tmp_path: Path) -> None:
    experiment = Experiment.load(write(tmp_path, EXAMPLE))
    assert experiment.name == "shorter-passages"
    assert list(experiment.variants) == ["control", "fewer"]
    assert experiment.variants["fewer"] == {
        "top_k": 3,
        # Relative to the experiment file's folder, not to wherever the server starts.
        "prompt_template": str(tmp_path / "short.txt"),
        "fusion": "rrf",
        "typo_tolerance": False,
    }
    assert experiment.split == {"control": 70.0, "fewer": 30.0}


def test_the_setting_names_the_file_and_empty_means_none(tmp_path: Path) -> None:
    assert Experiment.from_settings(Settings()) is None
    path = write(tmp_path, EXAMPLE)
    loaded = Experiment.from_settings(Settings.from_env({"HELPDESK_EXPERIMENT": str(path)}))
    assert loaded is not None and loaded.name == "shorter-passages"


def test_values_are_parsed_by_each_settings_own_parser() -> None:
    as_text = Experiment(
        name="e",
        variants={
            "control": None,
            "b": {"top_k": "3", "min_confidence": "0.4", "escalation_rules": "thumbs_down"},
        },
    )
    as_values = Experiment(
        name="e",
        variants={
            "control": {},
            "b": {"top_k": 3, "min_confidence": 0.4, "escalation_rules": ["thumbs_down"]},
        },
    )
    assert as_text.variants == as_values.variants
    assert as_text.variants["b"] == {
        "top_k": 3,
        "min_confidence": 0.4,
        "escalation_rules": ("thumbs_down",),
    }
    assert as_text.variants["control"] == {}


def test_settings_for_applies_the_variants_overrides() -> None:
    base = Settings(embedding="fake", llm="extractive")
    experiment = Experiment(
        name="e",
        variants={
            "control": {},
            "lexical": {"top_k": "3", "dense_weight": "0", "persona": "a terse engineer"},
        },
    )
    assert experiment.settings_for("control", base) == base
    changed = experiment.settings_for("lexical", base)
    assert (changed.top_k, changed.dense_weight, changed.persona) == (3, 0.0, "a terse engineer")
    assert changed.replace(top_k=5, dense_weight=1.0, persona=base.persona) == base
    # Valid alone, not with this base: validated together, named.
    with pytest.raises(ExperimentError, match=r"variant 'lexical'.*DENSE_WEIGHT"):
        experiment.settings_for("lexical", base.replace(lexical_weight=0.0))
    with pytest.raises(ExperimentError, match="no variant 'other'"):
        experiment.settings_for("other", base)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("name: e\n", "'variants' must map"),
        ("name: e\nvariants: {control: {}}\n", "at least two variants"),
        ("variants: {a: {}, b: {}}\n", "needs a name"),
        ("name: e\nvariants: {a: {}, b: {}}\nsplits: {a: 1}\n", "unknown key.*splits"),
        (
            "name: e\nvariants: {a: {}, b: {colour: blue}}\n",
            "variant 'b'.*unknown setting 'colour'",
        ),
        ("name: e\nvariants: {a: {}, b: {top_k: -1}}\n", "top_k: expected a positive"),
        ("name: e\nvariants: {a: {}, b: {top_k: many}}\n", "top_k"),
        ("name: e\nvariants: {a: {}, b: {fusion: max}}\n", "fusion: expected one of score, rrf"),
        ("name: e\nvariants: {a: {}, b: {top_k: null}}\n", "top_k needs a value"),
        ("name: e\nvariants: {a: {}, b: [top_k]}\n", "expected a mapping of settings"),
        ("name: e\nvariants: {a: {}, 'b c': {}}\n", "variant name 'b c'"),
        ("name: e\nvariants: {a: {}, b: {}}\nsplit: {a: 1}\n", "missing: b"),
        ("name: e\nvariants: {a: {}, b: {}}\nsplit: {a: 1, b: 1, c: 1}\n", "unknown: c"),
        ("name: e\nvariants: {a: {}, b: {}}\nsplit: {a: 1, b: -1}\n", "weight of 'b'"),
        ("name: e\nvariants: {a: {}, b: {}}\nsplit: {a: 1, b: lots}\n", "weight of 'b'"),
        ("name: e\nvariants: {a: {}, b: {}}\nsplit: {a: 0, b: 0}\n", "all 0"),
        ("name: e\nvariants: {a: {}, b: {}}\nsplit: [a, b]\n", "'split' must map"),
    ],
)
def test_a_bad_experiment_file_is_refused_by_name(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ExperimentError, match=match) as error:
        Experiment.load(write(tmp_path, text))
    assert isinstance(error.value, ConfigError) and isinstance(error.value, HelpdeskError)
    assert error.value.code == "bad_experiment"


def test_a_missing_experiment_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match=r"cannot read .*nowhere\.yaml"):
        Experiment.load(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(
    "name",
    [
        "data_dir",
        "database_url",
        "embedding",
        "host",
        "port",
        "agent_keys",
        "cors_origins",
        "rate_limit",
        "llm",
        "llm_model",
        "reranker",
        "verify_threshold",
        "experiment",
    ],
)
def test_a_setting_that_cannot_vary_per_variant_is_refused(name: str) -> None:
    with pytest.raises(ExperimentError, match=f"{name} .*cannot vary per variant"):
        Experiment(name="e", variants={"control": {}, "b": {name: "x"}})


# -- the variants, served side by side ---------------------------------------------------------


class StubClassifier:
    """Calm for everyone: the real classifier loads the USE model, which these tests avoid."""

    def warm_up(self) -> None:
        pass

    def mood(self, text: str) -> Mood:
        return Mood(label="calm", probabilities={}, cues=message_cues(text), frustration=0.1)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("experiments"))


def base_helpdesk(settings: Settings, tmp_path: Path) -> Helpdesk:
    settings = settings.replace(database_url=f"sqlite:///{tmp_path / 'helpdesk.db'}")
    return Helpdesk(settings, classifier=StubClassifier())  # type: ignore[arg-type]


def test_without_an_experiment_every_visitor_gets_the_base(built: Settings, tmp_path: Path) -> None:
    base = base_helpdesk(built, tmp_path)
    variants = Variants.from_settings(base)
    assert variants.experiment is None
    assert variants.for_visitor("visitor-1") == ("", base)
    assert variants.for_visitor(None) == ("", base)
    variants.close()


def test_variants_run_side_by_side_on_shared_edges(built: Settings, tmp_path: Path) -> None:
    prompt = write(tmp_path, _prompt(), "short.txt")
    experiment = Experiment(
        name="shorter-passages",
        variants={
            "control": {},
            "fewer": {"top_k": 1, "persona": "a terse engineer", "prompt_template": str(prompt)},
        },
    )
    base = base_helpdesk(built, tmp_path)
    variants = Variants(base, experiment)
    control, fewer = variants.helpdesk("control"), variants.helpdesk("fewer")
    assert control is base  # the control changes nothing: the base serves it
    assert fewer is not base and fewer.settings.top_k == 1 and base.settings.top_k == 5
    assert fewer.settings.persona == "a terse engineer"
    assert fewer.prompt is not base.prompt
    # The same models, LLM (none here), reranker, classifier, queue and store.
    assert fewer.embedders is base.embedders
    assert fewer.classifier is base.classifier
    assert fewer.llm is base.llm and fewer.reranker is base.reranker
    assert fewer.llm_queue is base.llm_queue
    assert fewer.store() is base.store() is not None
    assert variants.helpdesk("fewer") is fewer  # built once

    # Each answers with its own settings over the same index.
    question = Query("How long do I have to return a product?", k=5)
    assert len(base.search(question).hits) > 1
    answer = fewer.ask(Query("How long do I have to return a product?", k=1))
    assert "30 days" in answer.text
    assert fewer.store() is base.store()

    name, helpdesk = variants.for_visitor("visitor-1")  # "fewer" in the fixed table
    assert (name, helpdesk) == ("fewer", fewer)
    assert variants.for_visitor("visitor-2") == ("control", base)
    assert variants.for_visitor(None) == ("control", base)

    variants.close()
    variants.close()  # a second close does nothing


def _prompt() -> str:
    from importlib import resources

    return (resources.files("helpdesk") / "prompts" / "answer.txt").read_text("utf-8")


def test_variants_are_built_on_their_first_visitor(built: Settings, tmp_path: Path) -> None:
    base = base_helpdesk(built, tmp_path)
    variants = Variants(base, two_way())
    assert "fewer" not in variants._built
    variants.for_visitor("visitor-1")
    assert "fewer" in variants._built
    variants.close()
    variants = Variants(base_helpdesk(built, tmp_path), two_way())
    variants.warm_up()  # what `helpdesk serve` calls at start-up: every variant built, loaded
    assert set(variants._built) == {"control", "fewer"}
    variants.close()


def test_a_variants_unreadable_prompt_template_fails_at_start_up(
    built: Settings, tmp_path: Path
) -> None:
    experiment = Experiment(
        name="e",
        variants={"control": {}, "b": {"prompt_template": str(tmp_path / "missing.txt")}},
    )
    with pytest.raises(ExperimentError, match=r"variant 'b': .*cannot read .*missing\.txt"):
        Variants(base_helpdesk(built, tmp_path), experiment)


def test_closing_the_variants_closes_the_shared_store_once(built: Settings, tmp_path: Path) -> None:
    base = base_helpdesk(built, tmp_path)
    store = base.store()
    assert store is not None
    closes = []
    original = store.close
    store.close = lambda *args, **kwargs: closes.append(1) or original(*args, **kwargs)  # type: ignore[method-assign]
    variants = Variants(base, two_way())
    variants.helpdesk("fewer").close()  # a variant's own close leaves the shared store open
    assert closes == []
    variants.close()
    variants.close()
    assert closes == [1]


# -- the statistics ----------------------------------------------------------------------------


def textbook_wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson (1927): (2np + z² ± z√(z² + 4np(1-p))) / 2(n + z²)."""
    p = x / n
    root = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    return (
        (2 * n * p + z * z - root) / (2 * (n + z * z)),
        (2 * n * p + z * z + root) / (2 * (n + z * z)),
    )


def test_wilson_intervals_match_the_textbook_and_newcombes_table() -> None:
    # Newcombe (1998a), Table I, method 3 (score, no continuity correction).
    for (x, n), (low, high) in {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
        (1, 29): (0.0061, 0.1718),
    }.items():
        interval = wilson(x, n)
        assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)
        assert interval.low == pytest.approx(textbook_wilson(x, n)[0], abs=1e-12)
        assert interval.high == pytest.approx(textbook_wilson(x, n)[1], abs=1e-12)
    assert wilson(0, 0) == Interval(0.0, 1.0)


def test_newcombe_intervals_match_the_worked_examples() -> None:
    # Newcombe (1998b), Table II, method 10 (hybrid score, no continuity correction).
    for (x1, n1, x2, n2), (low, high) in {
        (56, 70, 48, 80): (0.0524, 0.3339),
        (9, 10, 3, 10): (0.1705, 0.8090),
        (6, 7, 2, 7): (0.0582, 0.8062),
        (5, 56, 0, 29): (-0.0381, 0.1926),
    }.items():
        interval = newcombe(x1, n1, x2, n2)
        assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)
        # By hand: d - √((p1-l1)² + (u2-p2)²), d + √((u1-p1)² + (p2-l2)²).
        p1, p2 = x1 / n1, x2 / n2
        (l1, u1), (l2, u2) = textbook_wilson(x1, n1), textbook_wilson(x2, n2)
        assert interval.low == pytest.approx(p1 - p2 - math.hypot(p1 - l1, u2 - p2))
        assert interval.high == pytest.approx(p1 - p2 + math.hypot(u1 - p1, p2 - l2))


def test_p_values_agree_with_scipy() -> None:
    # Large counts: the pooled z-test, whose z² is the uncorrected chi-squared statistic.
    p_value, test = proportion_test(56, 70, 48, 80)
    expected = stats.chi2_contingency([[56, 14], [48, 32]], correction=False).pvalue
    assert test == "z-test" and p_value == pytest.approx(expected, rel=1e-9)
    assert p_value == pytest.approx(0.008045, abs=1e-6)
    # An expected count under 5: Fisher's exact test.
    p_value, test = proportion_test(5, 56, 0, 29)
    assert test == "fisher"
    assert p_value == pytest.approx(stats.fisher_exact([[5, 51], [0, 29]]).pvalue)
    assert proportion_test(0, 50, 0, 50) == (1.0, "fisher")


def outcomes(
    variant: str,
    n: int,
    resolved: int,
    thumbs_down: int,
    handed_off: int,
    latency: list[float] | None = None,
) -> list[Outcome]:
    latency = latency or [1000.0] * n
    return [
        Outcome(variant, i < resolved, i < thumbs_down, i < handed_off, latency[i % len(latency)])
        for i in range(n)
    ]


def test_small_samples_are_not_yet_significant() -> None:
    rows = outcomes("control", 38, 10, 8, 5) + outcomes("fewer", 40, 30, 1, 1)
    comparison = compare(rows, order=["control", "fewer"])
    assert comparison.control == "control"
    assert comparison.conversations == {"control": 38, "fewer": 40}
    assert [r.metric for r in comparison.rates] == ["resolution", "thumbs_down", "handoff"]
    for result in (*comparison.rates, *comparison.latency):
        assert not result.significant
        assert result.verdict.startswith("not yet significant (n=40 vs 38; needs at least 100")
    # The figures are there all the same.
    resolution = comparison.rates[0]
    assert resolution.p_value < 0.001  # a clear difference, but too few to call it yet
    assert resolution.variant_rate.rate == 0.75 and resolution.control_rate.count == 10


def test_a_large_clear_difference_is_significant() -> None:
    rng = np.random.default_rng(1)
    slow = list(rng.normal(1500, 200, 500))
    fast = list(rng.normal(1000, 200, 500))
    rows = outcomes("control", 500, 250, 60, 100, slow) + outcomes("fewer", 500, 350, 20, 100, fast)
    comparison = compare(rows, order=["control", "fewer"])
    resolution, thumbs_down, handoff = comparison.rates
    assert resolution.significant and resolution.difference == pytest.approx(0.2)
    assert resolution.interval.low > 0
    assert resolution.verdict.startswith("significant: fewer has a better resolution rate, 70.0%")
    assert thumbs_down.significant and thumbs_down.difference == pytest.approx(-0.08)
    assert "better thumbs-down rate" in thumbs_down.verdict
    assert not handoff.significant and handoff.difference == 0
    assert handoff.verdict.startswith("not yet significant (n=500 vs 500, p=1)")
    (latency,) = comparison.latency
    assert latency.significant and latency.median_difference < -400
    assert latency.interval.high < 0
    assert "fewer is faster" in latency.verdict
    assert latency.p_value == pytest.approx(
        stats.mannwhitneyu(fast, slow, alternative="two-sided").pvalue
    )
    assert latency.variant_latency.p95 == pytest.approx(np.percentile(fast, 95))
    assert latency.control_latency.p50 == pytest.approx(np.median(slow))


def test_no_difference_on_a_large_sample_is_still_not_significant() -> None:
    rows = outcomes("control", 400, 200, 40, 80) + outcomes("fewer", 400, 204, 40, 80)
    resolution = compare(rows).rates[0]
    assert not resolution.significant
    assert resolution.interval.low < 0 < resolution.interval.high
    assert resolution.verdict.startswith("not yet significant (n=400 vs 400, p=0.")


def test_the_latency_interval_is_reproducible_and_covers_the_difference() -> None:
    rng = np.random.default_rng(7)
    ours, theirs = rng.exponential(900, 300), rng.exponential(1000, 300)
    first = bootstrap_median_difference(ours, theirs, seed=3)
    assert first == bootstrap_median_difference(ours, theirs, seed=3)
    assert first != bootstrap_median_difference(ours, theirs, seed=4)
    assert first.low < float(np.median(ours) - np.median(theirs)) < first.high


def test_large_samples_draw_their_bootstrap_medians_from_the_exact_distribution() -> None:
    # 20,001 latencies, far above the resampling limit: the exact-distribution draws agree with
    # plain resampling (checked here once, slowly) to within a few milliseconds.
    values = np.random.default_rng(5).exponential(1000, 20_001)
    exact = _bootstrap_medians(values, np.random.default_rng(0), 4000)
    rng = np.random.default_rng(0)
    resampled = np.array([np.median(rng.choice(values, len(values))) for _ in range(400)])
    assert np.median(exact) == pytest.approx(np.median(values), abs=5)
    assert np.std(exact) == pytest.approx(np.std(resampled), rel=0.15)
    assert np.quantile(exact, [0.025, 0.975]) == pytest.approx(
        np.quantile(resampled, [0.025, 0.975]), abs=8
    )
    ours = values[:15_000] + 50
    interval = bootstrap_median_difference(ours, values, seed=2)
    assert interval == bootstrap_median_difference(ours, values, seed=2)
    assert interval.low < np.median(ours) - np.median(values) < interval.high


def test_rows_without_latency_are_left_out_of_it() -> None:
    rows = [Outcome("control", True, False, False, math.nan)] * 5 + [
        Outcome("fewer", True, False, False, 800.0)
    ] * 5
    (latency,) = compare(rows).latency
    assert latency.control_latency.n == 0 and math.isnan(latency.median_difference)
    assert latency.variant_latency.p50 == 800.0


def test_the_comparison_is_plain_json_for_the_dashboard() -> None:
    rows = [*outcomes("control", 20, 10, 2, 3), Outcome("fewer", True, False, False, math.nan)]
    data = compare(rows, order=["control", "fewer", "warm"]).to_dict()
    text = json.dumps(data, allow_nan=False)  # NaN became null
    assert json.loads(text) == data
    assert data["conversations"] == {"control": 20, "fewer": 1, "warm": 0}
    assert [r["variant"] for r in data["rates"]] == ["fewer"] * 3 + ["warm"] * 3
    assert data["latency"][0]["median_difference"] is None
    assert data["rates"][3]["interval"] == {"low": None, "high": None}  # warm: no one yet


def test_with_an_order_rows_of_other_variants_are_left_out() -> None:
    rows = outcomes("", 30, 1, 1, 1) + outcomes("control", 10, 5, 1, 1) + outcomes("b", 5, 1, 1, 1)
    assert compare(rows, order=["control", "b"]).conversations == {"control": 10, "b": 5}
    assert compare(rows).conversations == {"": 30, "control": 10, "b": 5}


def test_an_experiment_compares_its_variants_with_its_control() -> None:
    rows = outcomes("fewer", 10, 5, 1, 1) + outcomes("control", 10, 5, 1, 1)
    assert compare(rows).control == "fewer"  # without an order: the first seen
    assert two_way().compare(rows).control == "control"
