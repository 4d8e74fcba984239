"""A per-knowledge-base glossary: groups of words customers and documents use for one thing.

    # knowledge_base/glossary.yaml
    synonyms:
      - [와이파이, Wi-Fi, 무선랜, wireless]
      - [초기화, 리셋, factory reset]

Ingest copies it into the generation (so the server always expands with the glossary its index
was built with); retrieval adds the other members' terms to the lexical query when a question
uses one member. The dense rankers need no help with synonyms; BM25 does.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .documents import GLOSSARY_FILES
from .errors import IngestError
from .text import Tokenizer
from .types import Chunk


@dataclass(frozen=True)
class Glossary:
    groups: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_source(cls, source: Path) -> Glossary:
        """The glossary at the top of a knowledge-base folder (empty when there is none)."""
        for name in GLOSSARY_FILES:
            path = source / name
            if path.exists():
                return cls.parse(path)
        return cls()

    @classmethod
    def parse(cls, path: Path) -> Glossary:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise IngestError(
                f"{path.name} is not valid YAML: {exc}", code="bad_glossary"
            ) from None
        groups = data.get("synonyms", []) if isinstance(data, dict) else None
        if not isinstance(groups, list) or not all(
            isinstance(g, list) and all(isinstance(w, str | int | float) for w in g) for g in groups
        ):
            raise IngestError(
                f"{path.name} needs a 'synonyms' list of lists of words", code="bad_glossary"
            )
        return cls(tuple(tuple(str(w).strip() for w in g if str(w).strip()) for g in groups))

    def merged(self, under: Glossary) -> Glossary:
        """This glossary's groups, then ``under``'s (a knowledge base's own come first)."""
        return Glossary(self.groups + under.groups)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps([list(g) for g in self.groups], ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: Path) -> Glossary:
        if not path.exists():
            return cls()
        return cls(tuple(tuple(g) for g in json.loads(path.read_text(encoding="utf-8"))))


class Expander:
    """Adds synonyms' index terms to a question's terms."""

    def __init__(self, glossary: Glossary, tokenizer: Tokenizer) -> None:
        self._groups = [[tokenizer.tokenize(word) for word in group] for group in glossary.groups]

    def expand(self, terms: Sequence[str]) -> list[str]:
        present = set(terms)
        extra: list[str] = []
        for group in self._groups:
            if any(member and set(member) <= present for member in group):
                for member in group:
                    extra.extend(t for t in member if t not in present and t not in extra)
        return [*terms, *extra]


BUILTIN_GLOSSARY = Path(__file__).parent / "data" / "glossary.yaml"

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@functools.cache
def builtin_glossary() -> Glossary:
    """Common Korean and English help-desk abbreviations and slang (``data/glossary.yaml``)."""
    return Glossary.parse(BUILTIN_GLOSSARY)


# Particles that may follow a Korean member; a rewrite drops them, since the typed word's particle
# may not suit the new word ("비번을" -> "비밀번호을"), and Korean reads well without them.
_PARTICLE = (
    r"(?:(?:이랑|에서|으로|하고|이|가|을|를|은|는|도|만|에|로|와|과|랑|의)(?![\uac00-\ud7a3]))?"
)


def _pattern(member: str, particles: bool = False) -> str:
    """A member as a whole word (Latin) or at the start of a word (Korean, particles follow)."""
    body = r"\s*".join(re.escape(part) for part in member.lower().split())
    if _HANGUL.search(member):
        return rf"(?<![\uac00-\ud7a3]){body}" + (_PARTICLE if particles else "")
    return rf"(?<![a-z0-9]){body}(?![a-z0-9])"


class Rewriter:
    """Rewrites question words that no page uses into the glossary member the pages use most.

    "pw" becomes "password", "비번" "비밀번호" and "wifi" "Wi-Fi" when those are the words of the
    knowledge base: every ranker and the answer's confidence then read the knowledge base's own
    word, instead of an unknown one that counts against the question. A word the pages use is
    never rewritten, and only a member in the same script replaces it (an English question keeps
    English words). Counts are per audience scope, so a rewrite never names a word only internal
    or plan-limited pages use for a public request.
    """

    def __init__(self, glossary: Glossary, chunks: Sequence[Chunk]) -> None:
        self.groups = [g for g in glossary.groups if len(g) > 1]
        self.chunks = chunks
        self._counts: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._regex: dict[str, re.Pattern[str] | None] = {}
        self._targets: dict[str, dict[str, str]] = {}
        self._ordered: dict[str, list[str]] = {}

    def _prepare(self, scope: str) -> None:
        texts = [
            f"{c.title} {c.text}".lower()
            for c in self.chunks
            if scope != "public" or c.for_everyone
        ]
        members = {m.lower() for g in self.groups for m in g}
        counts = {}
        for member in members:
            regex = re.compile(_pattern(member))
            counts[member] = sum(1 for text in texts if regex.search(text))
        targets: dict[str, str] = {}
        for group in self.groups:
            for member in group:
                key = member.lower()
                if counts[key] or key in targets:
                    continue  # the pages use it (or an earlier group already maps it)
                script = bool(_HANGUL.search(member))
                used = [m for m in group if counts[m.lower()] and bool(_HANGUL.search(m)) == script]
                if used:
                    targets[key] = max(used, key=lambda m: counts[m.lower()])
        self._targets[scope] = targets
        ordered = sorted(targets, key=len, reverse=True)  # "wi fi" before "fi"
        self._ordered[scope] = ordered
        self._regex[scope] = (
            re.compile("|".join(f"({_pattern(m, particles=True)})" for m in ordered), re.I)
            if ordered
            else None
        )

    def warm_up(self) -> None:
        """Count the public pages' glossary words now, not on the first question."""
        self.rewrite("", "public")

    def rewrite(self, text: str, scope: str = "public") -> tuple[str, list[tuple[str, str]]]:
        """``text`` with unknown glossary words replaced, and the (typed, written) pairs."""
        with self._lock:
            if scope not in self._targets:
                self._prepare(scope)
        regex = self._regex[scope]
        if regex is None:
            return text, []
        targets = self._targets[scope]
        ordered = self._ordered[scope]
        changes: list[tuple[str, str]] = []

        def replace(match: re.Match[str]) -> str:
            # Each member is one group of the alternation, so the group says which one matched
            # (the match itself may include a particle it took along).
            written = targets[ordered[(match.lastindex or 1) - 1]]
            changes.append((match.group(0), written))
            return written

        return regex.sub(replace, text), changes
