"""The answer benchmark as questions for ``helpdesk replay``, judged by the benchmark's rules.

It lives here, not in :mod:`helpdesk.insights.replay`: the evaluation is a layer above the
insights, so the insights take the benchmark as a :class:`~helpdesk.insights.replay.Benchmark`
rather than importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..insights.replay import ReplayQuestion, Side
from .answers import Case, load_sets, run_cases

# The answer benchmark, relative to where the command runs (a checkout of the project).
DEFAULT_ANSWER_SETS = Path("tests") / "data" / "answers"
_SET_SUFFIXES = (".yaml", ".yml", ".jsonl", ".json")


class AnswerBenchmark:
    """Labelled answer sets (files, or folders of them): each case is asked like
    ``helpdesk eval-answers`` asks it, and resolved when its verdict is resolved (or, out of
    scope, caught)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        files: list[Path] = []
        for path in map(Path, paths):
            if path.is_dir():
                files += sorted(p for p in path.iterdir() if p.suffix in _SET_SUFFIXES)
            else:
                files.append(path)
        self.paths = [Path(p) for p in paths]
        self.cases: list[Case] = load_sets(files) if files else []

    @classmethod
    def default(cls) -> AnswerBenchmark | None:
        """The project's benchmark when the command runs in a checkout, else None."""
        return cls([DEFAULT_ANSWER_SETS]) if DEFAULT_ANSWER_SETS.is_dir() else None

    @property
    def sources(self) -> list[str]:
        return [str(p) for p in self.paths]

    def questions(self) -> list[ReplayQuestion]:
        return [
            ReplayQuestion(
                kind="benchmark",
                id=case.id,
                question=case.question,
                language=case.language,
                product=case.context.get("product") or None,
                plan=case.context.get("plan") or None,
                locale=case.context.get("locale") or None,
            )
            for case in self.cases
        ]

    def run(self, helpdesk: Any) -> list[Side]:
        return [
            Side(v.correct, v.outcome, v.answer.text, v.cited, v.final_ms)
            for v in run_cases(helpdesk, self.cases)
        ]
