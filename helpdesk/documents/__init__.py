"""Source files -> Documents -> Chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .chunking import chunk_document
from .loaders import LOADERS, SIDECAR_SUFFIX, LoadError, load_document

__all__ = ["LOADERS", "LoadError", "SkippedFile", "chunk_document", "discover", "load_document"]


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


# Files that describe the folder rather than the product (the glossary is read by ingest).
GLOSSARY_FILES = ("glossary.yaml", "glossary.yml")
_IGNORED_NAMES = {"readme.md", "readme.txt", *GLOSSARY_FILES}


def discover(root: Path) -> Iterator[Path]:
    """Every candidate document under ``root`` in a stable order (hidden files and sidecars out)."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in relative.parts):
            continue
        if not path.is_file() or path.name.endswith(SIDECAR_SUFFIX):
            continue
        if len(relative.parts) == 1 and path.name.lower() in _IGNORED_NAMES:
            continue
        yield path
