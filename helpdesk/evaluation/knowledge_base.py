"""A BEIR corpus as a knowledge-base folder: one Markdown file with front matter a document,
indexed exactly as a help center is."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

from .beir import CorpusDocument, Dataset

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def file_name(doc_id: str) -> str:
    """A safe, stable Markdown file name for a corpus id.

    The ``doc-`` prefix keeps names clear of what ingest ignores (hidden ``.x``/``_x`` files,
    ``README.md``); a hash suffix keeps ids that differ only in unsafe characters or case apart.
    """
    safe = _UNSAFE.sub("_", doc_id)[:80]
    if safe != doc_id or safe.lower() != safe:
        safe += "-" + hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:10]
    return f"doc-{safe}.md"


def _title(document: CorpusDocument) -> str:
    title = " ".join(document.title.split())
    if title:
        return title
    # Without a title the loader would use the file name ("Doc sf0001 a0"), putting id tokens
    # into every chunk's embedded text; a help-center article's first line is a fairer stand-in.
    first = " ".join(document.text.strip().split("\n", 1)[0].split())
    return first if len(first) <= 80 else first[:80].rsplit(" ", 1)[0] + "…"


def write_knowledge_base(dataset: Dataset, folder: Path) -> dict[str, str]:
    """Write each corpus document as a Markdown file; return file name -> corpus id."""
    folder.mkdir(parents=True, exist_ok=True)
    # No "updated" field: chunk ids hash every stored field, and a date that moved with the file
    # would make a repeated evaluation rebuild instead of finding the index up to date.
    names: dict[str, str] = {}
    for document in dataset.corpus.values():
        name = file_name(document.id)
        names[name] = document.id
        # The language is left out on purpose: the loader detects it, as for any help-center file.
        front = yaml.safe_dump(
            {
                "title": _title(document),
                "url": f"beir:{document.id}",
                "audience": "public",
            },
            allow_unicode=True,
            sort_keys=False,
            width=1_000_000,
        )
        (folder / name).write_text(f"---\n{front}---\n\n{document.text}\n", encoding="utf-8")
    return names
