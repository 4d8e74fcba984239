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

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .documents import GLOSSARY_FILES
from .errors import IngestError
from .index.lexical import Tokenizer


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
