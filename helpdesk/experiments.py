"""A/B experiments: two or more variants of the prompt, the answer style or the retrieval
settings served side by side, each visitor always in the same one, and the statistics that
compare them.

An experiment is a YAML file named by ``HELPDESK_EXPERIMENT`` (docs/experiments.md)::

    name: shorter-passages
    variants:
      control: {}
      fewer: {top_k: 3, prompt_template: prompts/short.txt}
    split: {control: 50, fewer: 50}      # optional; equal by default

The first variant is the control: the others are compared with it, and a visitor without an id
is served it. :class:`Variants` holds one :class:`~helpdesk.service.Helpdesk` per variant, all
sharing the base one's models, LLM and store; :func:`compare` turns per-conversation
:class:`Outcome` records into a :class:`Comparison` with confidence intervals and a verdict.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from .answering.prompt import PromptTemplate
from .answering.verify import Verifier
from .config import SETTINGS, Setting, Settings, parse_setting
from .embeddings import Embedder
from .errors import ConfigError
from .frustration import FrustrationClassifier
from .service import Helpdesk
from .store import Store

# A visitor's bucket is one of this many; a split is kept to 0.01 percentage points.
BUCKETS = 10_000

# The settings a variant may change: what the prompt says and in whose voice, how long and from
# how many passages the answer is written, how passages are retrieved, fused and reranked, when
# an answer is withheld, and when a person is offered. Everything else is the server's (folders,
# database, models, keys, limits) or belongs to an edge every variant shares (the LLM backend,
# the reranker model, the verifier's threshold), so a variant could not honour it.
VARIABLE_SETTINGS: frozenset[str] = frozenset(
    {
        # the prompt and the answer style
        "prompt_template",
        "persona",
        "llm_max_tokens",
        "llm_passages",
        "llm_passage_chars",
        "llm_timeout",
        "handoff_contact",
        # retrieval
        "top_k",
        "candidates",
        "fusion",
        "rrf_k",
        "fusion_weights",
        "dense_weight",
        "lexical_weight",
        "keyword_boost",
        "coverage_boost",
        "product_boost",
        "rerank_candidates",
        "typo_tolerance",
        # when an answer gives way to a person
        "min_confidence",
        "min_answer_probability",
        "escalation_rules",
        "frustration_threshold",
    }
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


class ExperimentError(ConfigError):
    """The experiment file cannot be read, or defines something a variant cannot do."""

    code = "bad_experiment"
    title = "Bad experiment"


@dataclass(frozen=True)
class Experiment:
    """A named experiment: its variants (the first is the control), each a set of setting
    overrides, and the share of visitors each gets (weights; equal by default)."""

    name: str
    variants: Mapping[str, Mapping[str, Any]]
    split: Mapping[str, float] = field(default_factory=dict)
    # Where relative prompt_template paths are read from (the experiment file's folder).
    folder: Path | None = None
    # Where each variant's buckets end, in order: the last is BUCKETS.
    _bounds: tuple[int, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        where = f"experiment {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ExperimentError("an experiment needs a name (it seeds the visitors' split)")
        if not isinstance(self.variants, Mapping) or len(self.variants) < 2:
            raise ExperimentError(f"{where}: needs at least two variants, the first the control")
        for variant in self.variants:
            if not isinstance(variant, str) or not _NAME.fullmatch(variant):
                raise ExperimentError(
                    f"{where}: variant name {variant!r} must be 1-40 letters, digits, '_', '.' "
                    "or '-' (it is recorded with every event)"
                )
        parsed = {
            variant: _overrides(f"{where}, variant {variant!r}", overrides, self.folder)
            for variant, overrides in self.variants.items()
        }
        object.__setattr__(self, "variants", parsed)
        object.__setattr__(self, "split", _split(where, self.split, list(parsed)))
        bounds, total = [], 0.0
        weights = sum(self.split.values())
        for variant in parsed:
            total += self.split[variant]
            bounds.append(round(total / weights * BUCKETS))
        object.__setattr__(self, "_bounds", tuple(bounds))

    @classmethod
    def load(cls, path: str | Path) -> Experiment:
        """Read an experiment file; :class:`ExperimentError` names what is wrong with it."""
        file = Path(path).expanduser()
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ExperimentError(f"HELPDESK_EXPERIMENT: cannot read {file}: {exc}") from None
        except yaml.YAMLError as exc:
            raise ExperimentError(f"HELPDESK_EXPERIMENT: {file} is not valid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise ExperimentError(
                f"HELPDESK_EXPERIMENT: {file} must hold a mapping with name and variants"
            )
        unknown = sorted(set(map(str, data)) - {"name", "variants", "split"})
        if unknown:
            raise ExperimentError(
                f"HELPDESK_EXPERIMENT: {file}: unknown key(s) {', '.join(unknown)}; "
                "expected name, variants and split"
            )
        variants = data.get("variants")
        if not isinstance(variants, Mapping):
            raise ExperimentError(
                f"HELPDESK_EXPERIMENT: {file}: 'variants' must map each variant's name to its "
                "setting overrides ({} for the control)"
            )
        split = data.get("split") or {}
        if not isinstance(split, Mapping):
            raise ExperimentError(
                f"HELPDESK_EXPERIMENT: {file}: 'split' must map variants to weights"
            )
        name = data.get("name")
        return cls(
            name=str(name) if name is not None else "",
            variants=variants,
            split=split,
            folder=file.parent,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Experiment | None:
        """The experiment HELPDESK_EXPERIMENT names, or None when it is empty."""
        path = settings.experiment.strip()
        return cls.load(path) if path else None

    @property
    def control(self) -> str:
        """The first variant: the one the others are compared with."""
        return next(iter(self.variants))

    def variant_for(self, visitor_id: str | None) -> str:
        """The visitor's variant, the same in every process and Python run: SHA-256 of the
        experiment's name and the visitor id picks one of :data:`BUCKETS` buckets, and the
        split's weights divide the buckets between the variants in order. A visitor without
        an id (None or "") is served the control, and is better left out of the comparison.
        A new experiment name reshuffles everyone, independently of other experiments."""
        if not visitor_id:
            return self.control
        bucket = self.bucket(visitor_id)
        for variant, bound in zip(self.variants, self._bounds, strict=True):
            if bucket < bound:
                return variant
        return self.control  # unreachable: the last bound is BUCKETS

    def bucket(self, visitor_id: str) -> int:
        """The visitor's bucket, 0 to BUCKETS - 1: the first 8 bytes of SHA-256 of the
        experiment's name, a NUL and the visitor id (UTF-8), big-endian, modulo BUCKETS."""
        digest = hashlib.sha256(f"{self.name}\x00{visitor_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % BUCKETS

    def settings_for(self, variant: str, base: Settings) -> Settings:
        """``base`` with the variant's overrides applied (and validated together)."""
        if variant not in self.variants:
            raise ExperimentError(
                f"experiment {self.name!r} has no variant {variant!r}; it has "
                f"{', '.join(self.variants)}"
            )
        try:
            return base.replace(**self.variants[variant])
        except ConfigError as exc:
            raise ExperimentError(
                f"experiment {self.name!r}, variant {variant!r}: {exc.detail}"
            ) from None

    def compare(self, rows: Sequence[Outcome], **options: Any) -> Comparison:
        """:func:`compare` with this experiment's variants, the control first."""
        return compare(rows, order=list(self.variants), **options)


def _overrides(where: str, overrides: Any, folder: Path | None) -> dict[str, Any]:
    """A variant's overrides, each checked to be a setting a variant may change and parsed by
    that setting's own parser (so ``top_k: "3"`` and ``top_k: 3`` mean the same)."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ExperimentError(f"{where}: expected a mapping of settings to values")
    parsed: dict[str, Any] = {}
    for name, value in overrides.items():
        setting = _BY_NAME.get(str(name))
        if setting is None:
            raise ExperimentError(f"{where}: unknown setting {name!r}")
        if setting.name not in VARIABLE_SETTINGS:
            raise ExperimentError(
                f"{where}: {setting.name} ({setting.variable}) cannot vary per variant; a "
                f"variant may set {', '.join(sorted(VARIABLE_SETTINGS))}"
            )
        if value is None:
            raise ExperimentError(f"{where}: {setting.name} needs a value")
        raw = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        try:
            result = parse_setting(setting, raw, f"{where}: {setting.name}")
        except ConfigError as exc:
            raise ExperimentError(exc.detail) from None
        if setting.name == "prompt_template" and result and folder is not None:
            path = Path(result).expanduser()
            result = str(path if path.is_absolute() else folder / path)
        parsed[setting.name] = result
    return parsed


def _split(where: str, split: Mapping[str, Any], variants: list[str]) -> dict[str, float]:
    """The weight of each variant: equal when no split is given."""
    if not split:
        return dict.fromkeys(variants, 1.0)
    unknown = sorted(set(map(str, split)) - set(variants))
    missing = [v for v in variants if v not in split]
    if unknown or missing:
        raise ExperimentError(
            f"{where}: the split must give a weight to each variant ({', '.join(variants)}); "
            + "; ".join(
                part
                for part in (
                    f"unknown: {', '.join(unknown)}" if unknown else "",
                    f"missing: {', '.join(missing)}" if missing else "",
                )
                if part
            )
        )
    weights: dict[str, float] = {}
    for variant in variants:
        value = split[variant]
        try:
            weight = float(value)
        except (TypeError, ValueError):
            weight = math.nan
        if isinstance(value, bool) or not math.isfinite(weight) or weight < 0:
            raise ExperimentError(f"{where}: split weight of {variant!r} must be >= 0: {value!r}")
        weights[variant] = weight
    if sum(weights.values()) <= 0:
        raise ExperimentError(f"{where}: the split's weights are all 0")
    return weights


# -- serving the variants ----------------------------------------------------------------------


class _VariantHelpdesk(Helpdesk):
    """A variant's help desk: its own settings (and so its own retriever and answerer), every
    edge borrowed from the base: embedders, LLM and its queue, verifier, reranker, classifier,
    and the store, which the base opens, retries and closes. Closing a variant closes nothing."""

    def __init__(self, base: Helpdesk, settings: Settings, prompt: PromptTemplate) -> None:
        self._base = base
        # The embedders, verifier, classifier and store are the base's, through the overrides
        # below, so they stay lazy: the base builds each once, for every variant.
        super().__init__(settings, llm=base.llm, reranker=base.reranker, prompt=prompt, store=None)
        # One queue for the one LLM: variants do not multiply the questions that may wait.
        self.llm_queue = base.llm_queue

    @property
    def embedders(self) -> list[Embedder]:
        return self._base.embedders

    @property
    def verifier(self) -> Verifier:
        return self._base.verifier

    @property
    def classifier(self) -> FrustrationClassifier:
        return self._base.classifier

    def store(self) -> Store | None:
        return self._base.store()

    def require_store(self) -> Store:
        return self._base.require_store()

    def start_background(self) -> None:
        """The base runs the purge for every variant."""

    def close(self) -> None:
        """Nothing of its own to close: the base owns the store and the background work."""


class Variants:
    """One help desk per variant of ``experiment``, sharing ``base``'s edges, each built on its
    first visitor. A variant whose settings are the base's (usually the control) is ``base``.

    Every variant's settings and prompt template are checked here, at start-up.
    """

    def __init__(self, base: Helpdesk, experiment: Experiment | None) -> None:
        self.base = base
        self.experiment = experiment
        self._settings: dict[str, Settings] = {}
        self._prompts: dict[str, PromptTemplate] = {}
        self._built: dict[str, Helpdesk] = {}
        self._lock = threading.Lock()
        self._closed = False
        if experiment is not None:
            for variant in experiment.variants:
                self._check(experiment, variant)

    def _check(self, experiment: Experiment, variant: str) -> None:
        """The variant's settings, validated, and its prompt template, loaded (or the base)."""
        settings = experiment.settings_for(variant, self.base.settings)
        self._settings[variant] = settings
        if settings == self.base.settings:
            self._built[variant] = self.base
        elif settings.prompt_template == self.base.settings.prompt_template:
            self._prompts[variant] = self.base.prompt
        else:
            try:
                self._prompts[variant] = PromptTemplate.load(settings.prompt_template)
            except ConfigError as exc:
                raise ExperimentError(
                    f"experiment {experiment.name!r}, variant {variant!r}: {exc.detail}"
                ) from None

    @classmethod
    def from_settings(cls, base: Helpdesk) -> Variants:
        """The variants of the experiment the base's HELPDESK_EXPERIMENT names (none if empty)."""
        return cls(base, Experiment.from_settings(base.settings))

    def for_visitor(self, visitor_id: str | None) -> tuple[str, Helpdesk]:
        """The visitor's variant name and its help desk; ("", base) with no experiment."""
        if self.experiment is None:
            return "", self.base
        variant = self.experiment.variant_for(visitor_id)
        return variant, self.helpdesk(variant)

    def helpdesk(self, variant: str) -> Helpdesk:
        """The help desk serving ``variant``, built on first use."""
        built = self._built.get(variant)
        if built is not None:
            return built
        if variant not in self._settings:
            raise ExperimentError(f"no variant {variant!r} in this experiment")
        with self._lock:
            built = self._built.get(variant)
            if built is None:
                built = _VariantHelpdesk(self.base, self._settings[variant], self._prompts[variant])
                self._built[variant] = built
        return built

    def warm_up(self) -> None:
        """Build every variant and load its index now, not on its first visitor's question."""
        self.base.warm_up()
        for variant in self._settings:
            self.helpdesk(variant).warm_up()

    def close(self) -> None:
        """Close the base (and with it the shared store) once; the variants own nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for helpdesk in self._built.values():
            if helpdesk is not self.base:
                helpdesk.close()
        self.base.close()


# -- comparing the variants --------------------------------------------------------------------

# Fewer conversations than this in either variant: no verdict but "not yet significant".
MIN_CONVERSATIONS = 100
# The two-sided level of every test, and the coverage (1 - ALPHA) of every interval.
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Outcome:
    """One conversation's outcome, as the events table records it: its variant, whether it was
    resolved, whether it got a thumbs-down, whether it was handed to a person, and how long its
    answers took (milliseconds; NaN when unknown, left out of the latency figures).

    The intervals treat the rows as independent: with visitors who have many conversations,
    give one row per visitor (their first conversation, say)."""

    variant: str
    resolved: bool
    thumbs_down: bool
    handed_off: bool
    latency_ms: float


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Rate:
    """How many of ``n`` conversations had the outcome, with its 95% Wilson score interval."""

    count: int
    n: int
    rate: float
    interval: Interval


@dataclass(frozen=True)
class RateComparison:
    """One metric of one variant against the control. ``difference`` is variant minus control
    (a proportion, 0.05 = 5 points) with its 95% Newcombe hybrid-score interval; ``p_value``
    is two-sided, from the pooled two-proportion z-test, or Fisher's exact test when an
    expected count is under 5 (``test`` says which)."""

    metric: str
    variant: str
    control: str
    control_rate: Rate
    variant_rate: Rate
    difference: float
    interval: Interval
    p_value: float
    test: str
    significant: bool
    verdict: str


@dataclass(frozen=True)
class Latency:
    n: int
    p50: float
    p95: float


@dataclass(frozen=True)
class LatencyComparison:
    """Latency of one variant against the control: the medians' difference (variant minus
    control, ms) with a seeded 95% percentile-bootstrap interval, and the Mann–Whitney U
    test's two-sided p-value."""

    variant: str
    control: str
    control_latency: Latency
    variant_latency: Latency
    median_difference: float
    interval: Interval
    p_value: float
    significant: bool
    verdict: str


@dataclass(frozen=True)
class Comparison:
    """Every non-control variant against the control, metric by metric."""

    control: str
    conversations: dict[str, int]
    rates: tuple[RateComparison, ...]
    latency: tuple[LatencyComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values for the dashboard (NaN where there is no figure: None)."""
        safe: dict[str, Any] = _json_safe(asdict(self))
        return safe


# The rate metrics: the Outcome field, and whether more is better.
RATE_METRICS: dict[str, tuple[str, bool]] = {
    "resolution": ("resolved", True),
    "thumbs_down": ("thumbs_down", False),
    "handoff": ("handed_off", False),
}
_LABELS = {"resolution": "resolution", "thumbs_down": "thumbs-down", "handoff": "hand-off"}


def compare(
    rows: Sequence[Outcome],
    order: Sequence[str] | None = None,
    *,
    min_conversations: int = MIN_CONVERSATIONS,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Comparison:
    """Compare each variant with the control (``order[0]``) on resolution, thumbs-down,
    hand-off and latency. With ``order``, rows of other variants are left out (events served
    without an experiment record the variant ""); without it, every variant is compared, in
    the order they first appear.

    A difference is called significant only when both variants have ``min_conversations``,
    the test's p-value is under 0.05 *and* the 95% interval of the difference excludes 0.
    Each metric is tested on its own: with several variants and four metrics, about one
    comparison in twenty of identical variants still comes out "significant" by chance.
    """
    by_variant: dict[str, list[Outcome]] = {v: [] for v in order or ()}
    for row in rows:
        if order is None:
            by_variant.setdefault(row.variant, []).append(row)
        elif row.variant in by_variant:
            by_variant[row.variant].append(row)
    if not by_variant:
        raise ValueError("nothing to compare: no variants and no rows")
    variants = list(by_variant)
    control = variants[0]
    base = by_variant[control]
    rates: list[RateComparison] = []
    latency: list[LatencyComparison] = []
    for variant in variants[1:]:
        other = by_variant[variant]
        for metric, (attribute, _) in RATE_METRICS.items():
            rates.append(
                _compare_rate(
                    metric,
                    variant,
                    control,
                    sum(bool(getattr(r, attribute)) for r in other),
                    len(other),
                    sum(bool(getattr(r, attribute)) for r in base),
                    len(base),
                    min_conversations,
                )
            )
        latency.append(
            _compare_latency(
                variant,
                control,
                [r.latency_ms for r in other],
                [r.latency_ms for r in base],
                min_conversations,
                seed,
                resamples,
            )
        )
    return Comparison(
        control=control,
        conversations={v: len(r) for v, r in by_variant.items()},
        rates=tuple(rates),
        latency=tuple(latency),
    )


def wilson(count: int, n: int, z: float | None = None) -> Interval:
    """The Wilson score interval of a proportion (95% unless ``z`` says otherwise); (0, 1)
    for no observations."""
    if n == 0:
        return Interval(0.0, 1.0)
    z = _z() if z is None else z
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe(count1: int, n1: int, count2: int, n2: int, z: float | None = None) -> Interval:
    """Newcombe's hybrid score interval (1998, method 10) for p1 - p2, from the two Wilson
    intervals: good coverage even for small counts and rates near 0 or 1."""
    p1, p2 = (count1 / n1 if n1 else 0.0), (count2 / n2 if n2 else 0.0)
    first, second = wilson(count1, n1, z), wilson(count2, n2, z)
    difference = p1 - p2
    below = math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    above = math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Interval(max(-1.0, difference - below), min(1.0, difference + above))


def proportion_test(count1: int, n1: int, count2: int, n2: int) -> tuple[float, str]:
    """Two-sided p-value that two proportions are equal, and the test used: the pooled
    two-proportion z-test, or Fisher's exact test when any expected count is under 5."""
    if n1 == 0 or n2 == 0:
        return math.nan, "none"
    total, successes = n1 + n2, count1 + count2
    expected = [n * share for n in (n1, n2) for share in (successes / total, 1 - successes / total)]
    if min(expected) < 5:
        table = [[count1, n1 - count1], [count2, n2 - count2]]
        return float(stats.fisher_exact(table, alternative="two-sided").pvalue), "fisher"
    pooled = successes / total
    z = (count1 / n1 - count2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2 * stats.norm.sf(abs(z))), "z-test"


def _z() -> float:
    return float(stats.norm.ppf(1 - ALPHA / 2))


def _compare_rate(
    metric: str,
    variant: str,
    control: str,
    count: int,
    n: int,
    control_count: int,
    control_n: int,
    min_conversations: int,
) -> RateComparison:
    ours = Rate(count, n, count / n if n else math.nan, wilson(count, n))
    theirs = Rate(
        control_count,
        control_n,
        control_count / control_n if control_n else math.nan,
        wilson(control_count, control_n),
    )
    difference = ours.rate - theirs.rate
    interval = (
        newcombe(count, n, control_count, control_n)
        if n and control_n
        else Interval(math.nan, math.nan)
    )
    p_value, test = proportion_test(count, n, control_count, control_n)
    enough = min(n, control_n) >= max(1, min_conversations)
    significant = enough and p_value < ALPHA and interval.excludes_zero()
    label = _LABELS[metric]
    sizes = f"n={n} vs {control_n}"
    if not enough:
        verdict = _too_few(sizes, min_conversations)
    elif not significant:
        verdict = (
            f"not yet significant ({sizes}, p={p_value:.2g}): the {label} rates "
            f"{_percent(ours.rate)} vs {_percent(theirs.rate)} may differ by "
            f"{_points(interval.low)} to {_points(interval.high)} points"
        )
    else:
        better = (difference > 0) == RATE_METRICS[metric][1]
        verdict = (
            f"significant: {variant} has a {'better' if better else 'worse'} {label} rate, "
            f"{_percent(ours.rate)} vs {_percent(theirs.rate)} "
            f"({_points(difference)} points, 95% CI {_points(interval.low)} to "
            f"{_points(interval.high)}; {sizes}, p={p_value:.2g})"
        )
    return RateComparison(
        metric,
        variant,
        control,
        theirs,
        ours,
        difference,
        interval,
        p_value,
        test,
        significant,
        verdict,
    )


def _compare_latency(
    variant: str,
    control: str,
    values: Sequence[float],
    control_values: Sequence[float],
    min_conversations: int,
    seed: int,
    resamples: int,
) -> LatencyComparison:
    ours, theirs = _finite(values), _finite(control_values)
    mine, base = _latency(ours), _latency(theirs)
    sizes = f"n={mine.n} vs {base.n}"
    if mine.n == 0 or base.n == 0:
        difference, interval, p_value = math.nan, Interval(math.nan, math.nan), math.nan
    else:
        difference = mine.p50 - base.p50
        interval = bootstrap_median_difference(ours, theirs, seed=seed, resamples=resamples)
        p_value = float(stats.mannwhitneyu(ours, theirs, alternative="two-sided").pvalue)
    enough = min(mine.n, base.n) >= max(1, min_conversations)
    significant = enough and p_value < ALPHA and interval.excludes_zero()
    if not enough:
        verdict = _too_few(sizes, min_conversations)
    elif not significant:
        verdict = (
            f"not yet significant ({sizes}, p={p_value:.2g}): median latency {mine.p50:.0f} vs "
            f"{base.p50:.0f} ms may differ by {interval.low:+.0f} to {interval.high:+.0f} ms"
        )
    else:
        verdict = (
            f"significant: {variant} is {'slower' if difference > 0 else 'faster'}, median "
            f"{mine.p50:.0f} vs {base.p50:.0f} ms ({difference:+.0f} ms, 95% CI "
            f"{interval.low:+.0f} to {interval.high:+.0f}; {sizes}, p={p_value:.2g})"
        )
    return LatencyComparison(
        variant, control, base, mine, difference, interval, p_value, significant, verdict
    )


def bootstrap_median_difference(
    values: np.ndarray,
    control_values: np.ndarray,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Interval:
    """The 95% percentile-bootstrap interval of median(values) - median(control_values), each
    sample resampled on its own; ``seed`` makes it reproducible."""
    rng = np.random.default_rng(seed)
    differences = _bootstrap_medians(np.asarray(values, dtype=float), rng, resamples)
    differences -= _bootstrap_medians(np.asarray(control_values, dtype=float), rng, resamples)
    low, high = np.quantile(differences, [ALPHA / 2, 1 - ALPHA / 2])
    return Interval(float(low), float(high))


# Above this many values, bootstrap medians are drawn from their exact distribution instead of
# by resampling (2,000 resamples of 10,000 latencies take over a second).
_RESAMPLE_UP_TO = 2_000


def _bootstrap_medians(values: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """``resamples`` medians of samples drawn from ``values`` with replacement.

    A large sample's bootstrap medians come from their exact distribution (Maritz and Jarrett,
    1978): the lower median of a resample, its k-th smallest value with k = (n + 1) // 2, is
    at most the j-th smallest value of the sample when at least k of the n draws are, which
    has the binomial chance P(Bin(n, j / n) >= k). At that size the lower median and the
    median differ by less than the gap between two neighbouring values.
    """
    n = len(values)
    if n <= _RESAMPLE_UP_TO:
        medians = np.empty(resamples)
        batch = max(1, 1_000_000 // n)  # about a million draws at a time
        for start in range(0, resamples, batch):
            size = min(batch, resamples - start)
            drawn = rng.choice(values, size=(size, n), replace=True)
            medians[start : start + size] = np.median(drawn, axis=1)
        return medians
    ordered = np.sort(values)
    k = (n + 1) // 2
    at_most = stats.binom.sf(k - 1, n, np.arange(1, n + 1) / n)
    at_most[-1] = 1.0
    return ordered[np.searchsorted(at_most, rng.random(resamples), side="left")]


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def _latency(values: np.ndarray) -> Latency:
    if len(values) == 0:
        return Latency(0, math.nan, math.nan)
    p50, p95 = np.percentile(values, [50, 95])
    return Latency(len(values), float(p50), float(p95))


def _too_few(sizes: str, minimum: int) -> str:
    return f"not yet significant ({sizes}; needs at least {minimum} conversations per variant)"


def _percent(rate: float) -> str:
    return "n/a" if math.isnan(rate) else f"{rate * 100:.1f}%"


def _points(difference: float) -> str:
    return "n/a" if math.isnan(difference) else f"{difference * 100:+.1f}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
