"""Sections -> Chunks: one FAQ pair is one chunk; other sections are split by size.

Every chunk keeps its heading path and document metadata; its id is a hash of its source and
everything stored for it, so an unchanged chunk keeps its id and a changed one gets a new id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping

from ..types import Chunk, Document, Section, heading_path, normalise_plans

# Paragraphs, lines, then sentence ends in English and Korean, then words.
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "다. ", "요. ", "; ", ", ", " ", ""]


def chunk_id(source: str, payload: Mapping[str, object]) -> str:
    """A stable id from the chunk's source and content."""
    digest = hashlib.sha256()
    digest.update(source.encode("utf-8"))
    digest.update(b"\0")
    digest.update(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:32]


def _embed_text(title: str, headings: tuple[str, ...], body: str) -> str:
    context = " > ".join(h for h in heading_path(title, headings) if h)
    return f"{context}\n{body}" if context else body


def chunk_document(document: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split one document into chunks."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=_SEPARATORS,
        keep_separator="end",
    )
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in document.sections:
        for chunk in _section_chunks(document, section, splitter.split_text):
            if chunk.id not in seen:  # a document repeating a passage verbatim indexes it once
                seen.add(chunk.id)
                chunks.append(chunk)
    return chunks


def _section_chunks(document: Document, section: Section, split) -> Iterator[Chunk]:  # type: ignore[no-untyped-def]
    meta = document.meta
    fields = {
        "source": meta.source,
        "title": meta.title,
        "url": meta.url,
        "language": meta.language,
        "audience": meta.audience,
        "product": meta.product,
        "updated": meta.updated,
    }
    plans = meta.plans
    if section.kind == "faq":
        if section.overrides.get("plans"):
            # An entry may narrow its file's plans, never widen them.
            entry = normalise_plans(section.overrides["plans"])
            narrowed = tuple(p for p in entry if p in meta.plans)
            plans = (narrowed or meta.plans) if meta.plans else entry
        fields.update({k: v for k, v in section.overrides.items() if k in fields})
        if section.overrides.get("audience") == "public" and meta.audience == "internal":
            fields["audience"] = "internal"  # an entry cannot loosen its file's marking
        if section.anchor and "url" not in section.overrides and fields["url"]:
            fields["url"] = f"{fields['url']}#{section.anchor}"
        pieces: Iterable[str] = [section.text]
    else:
        pieces = split(section.text)
    for piece in pieces:
        body = piece.strip()
        if not body:
            continue
        embed_text = _embed_text(fields["title"], section.headings, body)
        payload: dict[str, object] = {
            **fields,
            "text": body,
            "embed_text": embed_text,
            "headings": list(section.headings),
            "kind": section.kind,
            "question": section.question,
            "answer": section.answer,
        }
        if plans:  # only then, so the ids of chunks for every plan stay as they were
            payload["plans"] = list(plans)
        yield Chunk(
            id=chunk_id(meta.source, payload),
            text=body,
            embed_text=embed_text,
            headings=section.headings,
            kind=section.kind,
            question=section.question,
            answer=section.answer,
            plans=plans,
            **fields,
        )
