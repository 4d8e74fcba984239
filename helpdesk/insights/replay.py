"""Replay: prove a candidate generation on real questions before it goes live.

``helpdesk ingest --candidate`` builds a generation without serving it. ``helpdesk replay``
asks the same questions of the live generation (CURRENT) and of the candidate (CANDIDATE):

- **past failures** from the store: turns that were not covered, got a thumbs down, or were
  handed off to a person; de-duplicated by normalised question, the newest first;
- the **answer benchmark**'s labelled cases (``tests/data/answers/`` by default), judged by the
  benchmark's own :func:`~helpdesk.evaluation.answers.judge` (see :class:`Benchmark`);
- a **regression sample**: past turns that passed (answered, grounded, cited, no thumbs down, no
  hand-off), drawn with a seed on the first replay and frozen in
  ``DATA_DIR/replay/regression.jsonl``, so every later replay asks the very same questions.

A past failure or sampled turn counts as resolved when its answer is not a hand-off, is
grounded, cites a source and, when an LLM wrote it, the verifier kept what it says. Each
question is then *fixed* (unresolved live, resolved on the candidate), *broken* (the reverse),
or unchanged. The report goes to ``DATA_DIR/replay/last.json`` (and a timestamped copy);
``helpdesk promote`` switches CURRENT to the candidate only when that report is of this very
candidate against the generation serving now, and broke nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import random
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from ..config import Settings
from ..embeddings import Embedder, make_embedders
from ..errors import HelpdeskError
from ..index.generations import Layout
from ..service import Helpdesk
from ..store import ReviewedTurn, Store
from ..text import Tokenizer
from ..types import Answer, CustomerContext, Query

REPLAY_DIR = "replay"
LAST = "last.json"
REGRESSION = "regression.jsonl"
FORMAT = 1
KINDS = ("failure", "benchmark", "regression")
KIND_NAMES = {"failure": "past failures", "benchmark": "benchmark", "regression": "regression"}
# Timestamped copies of earlier reports kept beside last.json.
KEEP_REPORTS = 20


class ReplayError(HelpdeskError):
    """Nothing to replay or promote, or a promotion the last replay does not support."""

    status = 409
    code = "replay"
    title = "Replay"


@dataclass(frozen=True)
class ReplayQuestion:
    """One question to ask of both generations, and where it came from."""

    kind: str  # "failure" | "benchmark" | "regression"
    id: str  # the turn's answer id, or the benchmark case's id
    question: str
    language: str = "en"
    reader: str = "public"
    product: str | None = None
    plan: str | None = None
    locale: str | None = None
    why: tuple[str, ...] = ()  # a failure's reasons: not_covered, thumbs_down, handed_off
    times: int = 1  # how often it was asked (failures, after de-duplication)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "question": self.question,
            "language": self.language,
            "reader": self.reader,
            "product": self.product,
            "plan": self.plan,
            "locale": self.locale,
            "why": list(self.why),
            "times": self.times,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplayQuestion:
        return cls(
            kind=str(data["kind"]),
            id=str(data["id"]),
            question=str(data["question"]),
            language=str(data.get("language") or "en"),
            reader=str(data.get("reader") or "public"),
            product=data.get("product"),
            plan=data.get("plan"),
            locale=data.get("locale"),
            why=tuple(data.get("why") or ()),
            times=int(data.get("times") or 1),
        )


def normalise_question(text: str) -> str:
    """The key two questions share when they differ only in case, spacing or end punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s?!.。？！]+$", "", " ".join(text.split()))


def _from_turn(reviewed: ReviewedTurn, kind: str, why: tuple[str, ...] = ()) -> ReplayQuestion:
    turn = reviewed.turn
    context = turn.context or {}

    def text(key: str) -> str | None:
        value = context.get(key)
        return value if isinstance(value, str) and value else None

    return ReplayQuestion(
        kind=kind,
        id=turn.id,
        # A follow-up is asked as it was retrieved, standing alone: there is no history here.
        question=turn.standalone or turn.question,
        language=turn.language,
        reader=turn.reader if turn.reader in ("public", "agent") else "public",
        product=text("product"),
        plan=text("plan"),
        locale=text("locale"),
        why=why,
    )


def failure_reasons(reviewed: ReviewedTurn) -> tuple[str, ...]:
    """Why a stored turn counts as a failure (empty: it passed)."""
    reasons = []
    if reviewed.turn.not_covered:
        reasons.append("not_covered")
    if reviewed.thumbs_down:
        reasons.append("thumbs_down")
    if reviewed.handed_off:
        reasons.append("handed_off")
    return tuple(reasons)


def past_failures(reviewed: Iterable[ReviewedTurn], limit: int) -> list[ReplayQuestion]:
    """The newest ``limit`` distinct failed questions (``reviewed`` newest first), each with
    every reason any of its askings had and how often it was asked."""
    found: dict[str, ReplayQuestion] = {}
    for item in reviewed:
        reasons = failure_reasons(item)
        if not reasons:
            continue
        question = _from_turn(item, "failure", reasons)
        key = normalise_question(question.question)
        earlier = found.get(key)
        if earlier is None:
            if len(found) < limit:
                found[key] = question
            continue
        merged = tuple(dict.fromkeys(earlier.why + reasons))
        found[key] = replace(earlier, why=merged, times=earlier.times + 1)
    return list(found.values())


def passed(reviewed: ReviewedTurn) -> bool:
    """A stored turn that went well: answered, grounded, cited, no thumbs down, no hand-off."""
    turn = reviewed.turn
    return not failure_reasons(reviewed) and turn.grounded and bool(turn.citations)


def regression_path(layout: Layout) -> Path:
    return layout.data_dir / REPLAY_DIR / REGRESSION


def regression_sample(
    layout: Layout,
    reviewed: Sequence[ReviewedTurn],
    size: int,
    seed: int,
    *,
    refreeze: bool = False,
) -> list[ReplayQuestion]:
    """The frozen regression sample: read back unchanged when it exists; drawn (``size``
    distinct passed questions, seeded) and written on the first replay, or with ``refreeze``.

    Nothing is frozen while there is no passed turn to draw from: an empty sample written on a
    new install would stay empty for good.
    """
    path = regression_path(layout)
    if path.exists() and not refreeze:
        lines = path.read_text(encoding="utf-8").splitlines()
        try:
            return [ReplayQuestion.from_json(json.loads(line)) for line in lines if line.strip()]
        except (ValueError, KeyError, TypeError) as error:
            raise ReplayError(
                f"the regression sample {path} is damaged ({error}): "
                "`helpdesk replay --refreeze` draws a new one",
                code="bad_regression_sample",
            ) from None
    failed = {normalise_question(_from_turn(r, "x").question) for r in reviewed if not passed(r)}
    pool: dict[str, ReplayQuestion] = {}
    for item in reviewed:
        if passed(item):
            question = _from_turn(item, "regression")
            key = normalise_question(question.question)
            if key not in failed:
                pool.setdefault(key, question)
    if not pool or size == 0:  # nothing to draw, or none wanted: nothing frozen either
        return []
    candidates = sorted(pool.values(), key=lambda q: q.id)  # independent of the store's order
    chosen = random.Random(seed).sample(candidates, min(size, len(candidates)))
    body = "".join(json.dumps(q.as_json(), ensure_ascii=False) + "\n" for q in chosen)
    _write_atomically(path, body)
    return chosen


class Benchmark(Protocol):
    """Labelled questions judged by their own rules: the answer benchmark
    (:class:`helpdesk.evaluation.replay.AnswerBenchmark`). The layers keep the evaluation above
    insights, so it comes in from there (the CLI) rather than being imported here."""

    @property
    def sources(self) -> list[str]:
        """Where the questions came from, for the report."""
        ...

    def questions(self) -> list[ReplayQuestion]:
        """The questions, kind "benchmark"."""
        ...

    def run(self, helpdesk: Helpdesk) -> list[Side]:
        """Each question asked of ``helpdesk`` and judged, in the order of :meth:`questions`."""
        ...


def resolved(answer: Answer) -> bool:
    """A past failure or sampled turn is resolved by an answer that is not a hand-off, is
    grounded and cites a source, and (when an LLM wrote it) kept a verified sentence."""
    if answer.handoff or not answer.grounded or not answer.citations:
        return False
    if answer.generated_by != "extractive" and answer.verification is not None:
        return int(answer.verification.get("kept", 0)) > 0
    return True


@dataclass
class Side:
    """One generation's answer to one question."""

    resolved: bool
    outcome: str  # the benchmark's verdict, or resolved / refused / ungrounded
    answer: str
    citations: list[str]
    ms: float

    def as_json(self) -> dict[str, Any]:
        return {
            "resolved": self.resolved,
            "outcome": self.outcome,
            "answer": self.answer,
            "citations": self.citations,
            "ms": round(self.ms, 1),
        }


def _ask(helpdesk: Helpdesk, question: ReplayQuestion) -> Side:
    query = Query(
        question.question,
        k=helpdesk.settings.top_k,
        reader="agent" if question.reader == "agent" else "public",
        product=question.product,
        plan=question.plan,
    )
    context = CustomerContext(product=question.product, plan=question.plan, locale=question.locale)
    started = time.perf_counter()
    answer = helpdesk.ask(query, question.locale, context=context, surface="replay")
    ms = (time.perf_counter() - started) * 1000.0
    ok = resolved(answer)
    outcome = "resolved" if ok else "refused" if answer.handoff else "ungrounded"
    cited = [c.url or c.source for c in answer.citations]
    return Side(ok, outcome, answer.text, cited, ms)


def _change(live: Side, candidate: Side) -> str:
    if live.resolved == candidate.resolved:
        return "still_resolved" if live.resolved else "still_unresolved"
    return "fixed" if candidate.resolved else "broken"


def _counts(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = {"questions": len(items), "fixed": 0, "broken": 0}
    counts |= {"still_resolved": 0, "still_unresolved": 0}
    for item in items:
        counts[item["change"]] += 1
    return counts


def _latency(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50": _percentile(values, 50), "p95": _percentile(values, 95)}


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Linear between ranks, like numpy and ``helpdesk eval``; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def replay(
    settings: Settings,
    *,
    benchmark: Benchmark | None = None,
    failures: int | None = None,
    sample: int | None = None,
    seed: int = 1,
    refreeze: bool = False,
    reviewed_turns: int = 5000,
    embedders: Sequence[Embedder] | None = None,
    store: Store | None = None,
    status: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Ask the replay set of the live generation and of the candidate; write and return the
    report (see the module's docstring).

    The answers are written by ``settings.replay_backend`` (extractive by default), whatever
    HELPDESK_LLM says; ``failures`` and ``sample`` default to HELPDESK_REPLAY_FAILURES and
    HELPDESK_REPLAY_SAMPLE. ``benchmark`` adds labelled questions judged by their own rules
    (the CLI passes the answer benchmark). ``store`` is the database of past turns
    (``Store.from_settings`` when None); its newest ``reviewed_turns`` are read for the
    failures and the sample.
    """
    say = status or (lambda _message: None)
    failures = settings.replay_failures if failures is None else failures
    sample = settings.replay_sample if sample is None else sample
    database_settings = settings
    settings = settings.replace(llm=settings.replay_backend)
    layout = Layout(Path(settings.data_dir))
    live_name = layout.current().name  # IndexNotReady before the first ingest
    candidate_name = the_candidate(layout)

    own_store = store is None
    database = store or Store.from_settings(database_settings)
    try:
        reviewed = database.reviewed_turns(reviewed_turns)
    finally:
        if own_store:
            database.close()
    questions = past_failures(reviewed, failures)
    questions += benchmark.questions() if benchmark is not None else []
    regression = regression_sample(layout, reviewed, sample, seed, refreeze=refreeze)
    questions += regression
    say(
        f"replaying {len(questions)} questions on {live_name} (live) and "
        f"{candidate_name} (candidate)"
    )

    models = list(embedders or make_embedders(settings.embedding))
    live = Helpdesk(settings, embedders=models, store=None, generation=live_name)
    candidate = Helpdesk(
        settings,
        embedders=models,
        store=None,
        generation=candidate_name,
        llm=live.llm,  # one loaded model for both
        reranker=live.reranker,
    )
    # One Korean analyser (seconds to load) for both, and for every replay of this process.
    live.tokenizer = candidate.tokenizer = _shared_tokenizer()
    try:
        live.warm_up()
        candidate.warm_up()
        # Benchmark cases through the benchmark's own runner and judge; the others one by one,
        # each asked of both sides in turn so a slow moment of the machine hits both alike.
        bench = [q for q in questions if q.kind == "benchmark"]
        judged = iter(
            zip(benchmark.run(live), benchmark.run(candidate), strict=True)
            if benchmark is not None and bench
            else ()
        )
        answers = [
            next(judged) if q.kind == "benchmark" else (_ask(live, q), _ask(candidate, q))
            for q in questions
        ]
    finally:
        for helpdesk in (live, candidate):
            with contextlib.suppress(Exception):  # never hide the error that got us here
                helpdesk.retriever().snapshot.close()

    items = []
    for question, (live_side, candidate_side) in zip(questions, answers, strict=True):
        items.append(
            {
                **question.as_json(),
                "change": _change(live_side, candidate_side),
                "live": live_side.as_json(),
                "candidate": candidate_side.as_json(),
            }
        )
    now = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {
        "format": FORMAT,
        "at": now.isoformat(timespec="seconds"),
        "live": live_name,
        "candidate": candidate_name,
        "backend": settings.llm,
        "benchmark": benchmark.sources if benchmark is not None else [],
        "regression_sample": str(regression_path(layout)) if regression else None,
        "counts": _counts(items),
        "by_kind": {k: _counts([i for i in items if i["kind"] == k]) for k in KINDS},
        "latency_ms": {
            side: _latency([i[side]["ms"] for i in items]) for side in ("live", "candidate")
        },
        "fixed": [i for i in items if i["change"] == "fixed"],
        "broken": [i for i in items if i["change"] == "broken"],
        "questions": items,
    }
    report["regressions"] = len(report["broken"])
    body = json.dumps(report, ensure_ascii=False, indent=1)
    folder = layout.data_dir / REPLAY_DIR
    _write_atomically(folder / f"replay-{now.strftime('%Y%m%dT%H%M%S%f')}.json", body)
    _write_atomically(folder / LAST, body)
    for old in sorted(folder.glob("replay-*.json"))[:-KEEP_REPORTS]:
        old.unlink(missing_ok=True)
    return report


def last_replay(where: Layout | Path | str) -> dict[str, Any] | None:
    """The last replay's report (a data directory or its :class:`Layout`), or None when there
    has been none (or its file is unreadable)."""
    data_dir = where.data_dir if isinstance(where, Layout) else Path(where)
    try:
        report = json.loads((data_dir / REPLAY_DIR / LAST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def the_candidate(layout: Layout) -> str:
    """The candidate generation's name: ReplayError when there is none, IndexNotReady when its
    folder is gone."""
    candidate = layout.candidate_name()
    if candidate is None:
        raise ReplayError(
            f"no candidate in {layout.data_dir}: run `helpdesk ingest --candidate` first",
            code="no_candidate",
        )
    layout.named(candidate)
    return candidate


def promotion_problem(layout: Layout) -> str | None:
    """Why the candidate may not go live now (None: it may). Raises ReplayError when there is
    no candidate at all."""
    candidate = the_candidate(layout)
    live = layout.current_name()
    report = last_replay(layout)
    if report is None:
        return f"candidate {candidate} has not been replayed: run `helpdesk replay` first"
    if report.get("candidate") != candidate:
        return (
            f"the last replay was of {report.get('candidate')}, not of the candidate "
            f"{candidate}: run `helpdesk replay`"
        )
    if report.get("live") != live:
        return (
            f"the last replay compared the candidate with {report.get('live')}, but {live} "
            "serves now: run `helpdesk replay` again"
        )
    broken = report.get("broken") or []
    if broken:
        shown = "; ".join(repr(item.get("question", "")) for item in broken[:3])
        more = f" and {len(broken) - 3} more" if len(broken) > 3 else ""
        return (
            f"the last replay found {len(broken)} regression(s) on candidate {candidate}: "
            f"{shown}{more}"
        )
    return None


def promote(settings: Settings, *, force: bool = False) -> tuple[str | None, str, str | None]:
    """Switch CURRENT to the candidate when its last replay allows it (or with ``force``);
    ReplayError otherwise. Returns the generation that served before, the one that serves now,
    and the problem that ``force`` overrode (None when there was none)."""
    layout = Layout(Path(settings.data_dir))
    with layout.ingest_lock():  # not while an ingest is about to switch CURRENT itself
        problem = promotion_problem(layout)
        if problem is not None and not force:
            raise ReplayError(
                f"not promoted: {problem} (or `helpdesk promote --force`)", code="not_proven"
            )
        candidate = layout.candidate_name()
        assert candidate is not None
        before = layout.current_name()
        layout.switch(layout.named(candidate))
        layout.clear_candidate()
    return before, candidate, problem


# -- the table -----------------------------------------------------------------------------------


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_replay(report: dict[str, Any], width: int = 100) -> str:
    """The report as a readable table: counts per source, latency, what the candidate newly
    resolves and what it breaks (both answers shortened), and the verdict."""
    lines = [
        f"Replay of candidate {report['candidate']} against live {report['live']} "
        f"({report['backend']}, {report['at']})",
        "",
        f"{'':<16} {'questions':>9} {'fixed':>6} {'broken':>7} {'still ok':>9} {'still not':>10}",
    ]
    rows = [(KIND_NAMES[k], report["by_kind"][k]) for k in KINDS]
    for name, c in [*rows, ("all", report["counts"])]:
        lines.append(
            f"{name:<16} {c['questions']:>9} {c['fixed']:>6} {c['broken']:>7} "
            f"{c['still_resolved']:>9} {c['still_unresolved']:>10}"
        )
    latency = report["latency_ms"]
    lines += ["", f"{'latency (ms)':<16} {'p50':>6} {'p95':>6}"]
    for side in ("live", "candidate"):
        lines.append(f"{side:<16} {_ms(latency[side]['p50']):>6} {_ms(latency[side]['p95']):>6}")

    def label(item: dict[str, Any]) -> str:
        why = ", ".join(item.get("why") or [])
        times = f" ×{item['times']}" if item.get("times", 1) > 1 else ""
        return f"{item['kind']}{': ' + why if why else ''}{times}"

    fixed = report["fixed"]
    if fixed:
        lines += ["", f"Newly resolved ({len(fixed)}):"]
        for item in fixed:
            lines.append(f"- [{label(item)}] {_short(item['question'], width)}")
            lines.append(f"    candidate: {_short(item['candidate']['answer'], width - 15)}")
    broken = report["broken"]
    if broken:
        lines += ["", f"Broken ({len(broken)}):"]
        for item in broken:
            lines.append(f"- [{label(item)}] {_short(item['question'], width)}")
            lines.append(f"    live:      {_short(item['live']['answer'], width - 15)}")
            outcome = f" ({item['candidate']['outcome']})"
            shown = _short(item["candidate"]["answer"], width - 15 - len(outcome))
            lines.append(f"    candidate: {shown}{outcome}")
    lines.append("")
    if broken:
        lines.append(
            f"{len(broken)} regression(s): `helpdesk promote` refuses this candidate "
            "(`--force` switches anyway)."
        )
    else:
        lines.append("No regression: `helpdesk promote` will switch to this candidate.")
    return "\n".join(lines)


@functools.cache
def _shared_tokenizer() -> Tokenizer:
    return Tokenizer()


def _write_atomically(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(body, encoding="utf-8")
    os.replace(temporary, path)
