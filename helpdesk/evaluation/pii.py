"""Precision and recall of :func:`helpdesk.text.find_pii` per kind, on a labelled set.

The set (tests/data/pii.yaml) lists each text's personal values by kind. A labelled value is
found when findings of its kind cover every one of its characters; a finding is right when it
overlaps a labelled value of its kind. ``leaked`` counts labelled values still present, raw,
after :func:`redact` (whatever kind the finding that hid it had): the number privacy cares about.
Texts alternate in pairs (a text with personal data, then a hard negative): pairs at even
positions are dev, at odd positions test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..text.redaction import KINDS, find_pii, redact


@dataclass(frozen=True)
class PiiText:
    """One labelled text: its personal values as (kind, start, end)."""

    text: str
    spans: tuple[tuple[str, int, int], ...]
    split: str

    def values(self) -> list[str]:
        return [self.text[start:end] for _, start, end in self.spans]


@dataclass
class KindScore:
    found: int = 0
    labelled: int = 0
    right: int = 0
    predicted: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.predicted if self.predicted else 1.0


def load_pii_set(path: Path) -> list[PiiText]:
    """The labelled texts of ``path``, each value located in its text."""
    raw: list[dict[str, Any]] = yaml.safe_load(path.read_text("utf-8"))["texts"]
    texts = []
    for i, item in enumerate(raw):
        text = str(item["text"])
        spans = []
        for kind, values in (item.get("pii") or {}).items():
            if kind not in KINDS:
                raise ValueError(f"{path}: unknown kind {kind!r} in {text!r}")
            searched = 0
            for value in values:
                start = text.find(str(value), searched if kind == "rrn" else 0)
                if start < 0:
                    raise ValueError(f"{path}: {value!r} is not in {text!r}")
                spans.append((kind, start, start + len(str(value))))
                searched = start + len(str(value))
        texts.append(PiiText(text, tuple(spans), "dev" if i // 2 % 2 == 0 else "test"))
    return texts


def score(texts: list[PiiText]) -> tuple[dict[str, KindScore], int]:
    """Per kind scores, and the number of labelled values left raw after redaction."""
    scores = {kind: KindScore() for kind in KINDS}
    leaked = 0
    for item in texts:
        findings = find_pii(item.text)
        for kind, start, end in item.spans:
            s = scores[kind]
            s.labelled += 1
            covered = {i for f in findings if f.kind == kind for i in range(f.start, f.end)}
            if set(range(start, end)) <= covered:
                s.found += 1
            else:
                s.misses.append(f"{item.text[start:end]!r} in {item.text!r}")
        for f in findings:
            s = scores[f.kind]
            s.predicted += 1
            if any(k == f.kind and a < f.end and f.start < b for k, a, b in item.spans):
                s.right += 1
            else:
                s.false_alarms.append(f"{item.text[f.start : f.end]!r} in {item.text!r}")
        redacted = redact(item.text)
        leaked += sum(1 for value in item.values() if value in redacted)
    return scores, leaked
