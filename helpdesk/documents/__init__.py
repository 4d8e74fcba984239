"""Source files -> Documents -> Chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .chunking import chunk_document
from .loaders import LOADERS, SIDECAR_SUFFIX, LoadError, load_document

__all__ = [
    "LOADERS",
    "LoadError",
    "SkippedFile",
    "chunk_document",
    "discover",
    "load_document",
    "mirrors",
]


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


# Files that describe the folder rather than the product (the glossary is read by ingest).
GLOSSARY_FILES = ("glossary.yaml", "glossary.yml")
# sources.yaml declares where else documents come from (`helpdesk sync`).
SOURCES_FILES = ("sources.yaml", "sources.yml")
_IGNORED_NAMES = {"readme.md", "readme.txt", *GLOSSARY_FILES, *SOURCES_FILES}


def mirrors(folder: Path) -> Iterator[tuple[str, Path]]:
    """(name, folder) of each synced source's mirror under ``folder`` (DATA_DIR/sources), in
    name order; their files are documents too, with ids ``NAME:PATH``."""
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.is_dir() and not path.name.startswith((".", "_")):
            yield path.name, path


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
