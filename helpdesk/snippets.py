"""Snippets with the matched query terms marked, for search results and citations.

Marks are returned as character offsets into the plain snippet (front ends render text and wrap
the ranges themselves, so document text is never parsed as HTML) and, for convenience, as an
HTML string where the text is escaped and only the ``<mark>`` tags are markup.
"""

from __future__ import annotations

import re

from .text import Tokenizer, has_hangul, plain_text
from .types import Chunk, Citation, Snippet

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _matches(text: str, terms: set[str], tokenizer: Tokenizer) -> list[tuple[int, int]]:
    korean_terms = [t for t in terms if has_hangul(t) and len(t) >= 2]  # not 하, 수, ...
    words = list(_WORD.finditer(text))
    latin = [m.group(0) for m in words if not has_hangul(m.group(0))]
    stems = dict(zip(latin, tokenizer.stem_words(latin), strict=True))
    spans = []
    for match in words:
        word = match.group(0)
        if has_hangul(word):
            hit = any(term in word for term in korean_terms)
        else:
            hit = stems.get(word) in terms
        if hit:
            spans.append((match.start(), match.end()))
    return spans


def cite(number: int, chunk: Chunk, question: str, tokenizer: Tokenizer) -> Citation:
    """Citation ``[number]`` of ``chunk``, with the snippet that best matches ``question``."""
    return Citation(
        id=number,
        chunk_id=chunk.id,
        title=chunk.title,
        url=chunk.url,
        snippet=make_snippet(chunk.text, question, tokenizer).text,
        source=chunk.source,
        language=chunk.language,
    )


def make_snippet(
    text: str,
    question: str,
    tokenizer: Tokenizer,
    width: int = 240,
    terms: set[str] | None = None,
) -> Snippet:
    """The ``width``-character window of ``text`` with the most query terms, marked.

    Pass ``terms`` (the question's index terms) when making several snippets for one question.
    """
    terms = set(tokenizer.tokenize(question)) if terms is None else terms
    flat = " ".join(plain_text(text).split())  # a snippet shows words, not Markdown
    spans = _matches(flat, terms, tokenizer) if terms else []
    if len(flat) <= width:
        return Snippet(flat, tuple(spans))
    best_start, best_count = 0, -1
    for start, _ in spans or [(0, 0)]:
        begin = max(0, start - width // 4)
        count = sum(1 for s, e in spans if s >= begin and e <= begin + width)
        if count > best_count:
            best_start, best_count = begin, count
    # Move the window to word boundaries so no word is cut in half.
    if best_start > 0:
        space = flat.rfind(" ", 0, best_start + 1)
        best_start = space + 1 if space >= 0 else best_start
    end = min(len(flat), best_start + width)
    if end < len(flat):
        space = flat.rfind(" ", best_start, end)
        end = space if space > best_start else end
    prefix = "…" if best_start > 0 else ""
    suffix = "…" if end < len(flat) else ""
    window = prefix + flat[best_start:end] + suffix
    shift = len(prefix) - best_start
    inside = tuple((s + shift, e + shift) for s, e in spans if s >= best_start and e <= end)
    return Snippet(window, inside)
