"""Plain dataclasses that cross the boundaries between the parts of the pipeline."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

# Who is asking decides what may be read. A document's ``audience`` says whom it is for
# ("public" or "internal"); a reader is either the public, who reads public documents only, or
# a support agent, who reads both.
Reader = Literal["public", "agent"]


def readable(reader: Reader) -> tuple[str, ...]:
    """The document audiences ``reader`` may read."""
    return ("public", "internal") if reader == "agent" else ("public",)


# A document may be limited to some plans (front matter ``plans: [plus, premium]``). Its chunks
# store the plans as one string, sorted and joined by "|" ("" for a document every plan gets),
# so the plan filter is one more field -> allowed values filter, inside the query like the rest.
PLAN_SEPARATOR = "|"


def plan_key(plans: tuple[str, ...]) -> str:
    """The stored form of a chunk's plans: "" for every plan, else "plus|premium"."""
    return PLAN_SEPARATOR.join(plans)


def normalise_plans(plans: object) -> tuple[str, ...]:
    """Plan names as stored: lowercase, sorted, each once. ``plans`` is a list, or a string
    of names separated by commas or "|" (an HTML meta tag, a CSV cell, the stored form)."""
    if plans is None:
        return ()
    if isinstance(plans, str):
        items: list[object] = re.split(r"[,|]", plans)
    elif isinstance(plans, Iterable):
        items = list(plans)
    else:
        items = [plans]
    names = {str(item).strip().lower() for item in items if item is not None}
    return tuple(sorted(name for name in names if name))


def plan_values(reader: Reader, plan: str | None, stored: Iterable[str]) -> tuple[str, ...] | None:
    """The stored plan strings a reader with ``plan`` may read, of those in ``stored``; None
    when nothing needs filtering.

    Documents for every plan ("") are for everyone; a plan-limited one only for customers of
    one of its plans. An agent without a plan helps every plan and reads everything; an agent
    asking for a customer (with their plan) reads what that customer reads.
    """
    limited = sorted(key for key in set(stored) if key)
    if not limited or (reader == "agent" and not plan):
        return None
    wanted = (plan or "").strip().lower()
    return ("", *(key for key in limited if wanted and wanted in key.split(PLAN_SEPARATOR)))


@dataclass(frozen=True)
class DocumentMeta:
    """What a source document says about itself (front matter, sidecar or folder)."""

    source: str  # path relative to the knowledge-base folder, with forward slashes
    title: str
    url: str = ""
    language: str = ""
    audience: str = "public"
    product: str = ""
    updated: str = ""
    plans: tuple[str, ...] = ()  # the plans the document is limited to (none: every plan)


@dataclass(frozen=True)
class Section:
    """A piece of a document under one heading path, before size splitting."""

    text: str
    headings: tuple[str, ...] = ()
    kind: Literal["section", "faq"] = "section"
    # FAQ pairs carry their own question and answer, and may override the document's metadata.
    question: str = ""
    answer: str = ""
    anchor: str = ""
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """A loaded source file: its metadata and its sections in order."""

    meta: DocumentMeta
    sections: tuple[Section, ...]


def heading_path(title: str, headings: tuple[str, ...]) -> list[str]:
    """The title, then the headings above a passage, without the title twice."""
    if headings and headings[0].strip().lower() == title.strip().lower():
        headings = headings[1:]  # a Markdown page usually repeats its title as the first heading
    return [title, *headings]


@dataclass(frozen=True)
class Chunk:
    """The unit that is embedded, indexed and cited."""

    id: str
    text: str  # what is shown and quoted
    embed_text: str  # what is embedded and BM25-indexed (text with title and heading path)
    source: str
    title: str
    url: str
    language: str
    audience: str
    product: str
    updated: str
    headings: tuple[str, ...] = ()
    kind: str = "section"
    question: str = ""
    answer: str = ""
    plans: tuple[str, ...] = ()  # limited to these plans (lowercase, sorted); () for every plan

    @property
    def for_everyone(self) -> bool:
        """Whether every customer may read it: public and not limited to some plans. Words
        built from the index for the public (spelling, glossary rewrites, term statistics)
        come from these chunks only."""
        return self.audience == "public" and not self.plans

    @property
    def topic(self) -> str:
        """What the chunk is about, without its body: title, heading path and FAQ question.

        Embedded on its own beside the chunk, so a question that rephrases a page's title or an
        FAQ's question finds every chunk under it even when the body words things otherwise.
        """
        parts = heading_path(self.title, self.headings)
        if self.question and self.question not in parts:
            parts.append(self.question)
        return " > ".join(part.strip() for part in parts if part.strip())

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (scalar values only)."""
        return {
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "language": self.language,
            "audience": self.audience,
            "product": self.product,
            "updated": self.updated,
            "headings": " > ".join(self.headings),
            "kind": self.kind,
            "question": self.question,
            "answer": self.answer,
            "plans": plan_key(self.plans),
        }

    @classmethod
    def from_record(cls, chunk_id: str, text: str, embed_text: str, meta: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from what the index stored."""
        headings = tuple(h for h in str(meta.get("headings", "")).split(" > ") if h)
        return cls(
            id=chunk_id,
            text=text,
            embed_text=embed_text,
            source=str(meta.get("source", "")),
            title=str(meta.get("title", "")),
            url=str(meta.get("url", "")),
            language=str(meta.get("language", "")),
            audience=str(meta.get("audience", "public")),
            product=str(meta.get("product", "")),
            updated=str(meta.get("updated", "")),
            headings=headings,
            kind=str(meta.get("kind", "section")),
            question=str(meta.get("question", "")),
            answer=str(meta.get("answer", "")),
            plans=normalise_plans(str(meta.get("plans", ""))),
        )


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and the per-ranker evidence behind it."""

    chunk: Chunk
    score: float
    dense_scores: tuple[float, ...] = ()  # cosine similarity per embedding model, primary first
    lexical_score: float | None = None  # BM25 score, when the lexical ranker found it
    dense_rank: int | None = None
    lexical_rank: int | None = None
    rerank_score: float | None = None  # the cross-encoder's score, when a reranker ran

    @property
    def dense_score(self) -> float:
        """Cosine similarity under the primary embedding model (0 when unknown)."""
        return self.dense_scores[0] if self.dense_scores else 0.0


@dataclass(frozen=True)
class Citation:
    id: int  # the [n] marker in the answer
    chunk_id: str
    title: str
    url: str
    snippet: str
    source: str
    language: str


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]
    grounded: bool
    confidence: float
    language: str
    handoff: bool = False  # the reply offers a person instead of an answer
    passages: tuple[Passage, ...] = ()
    generated_by: str = "extractive"  # the backend whose text this is
    # What the verifier kept and dropped ({"kept": n, "dropped": [...]}); None when nothing was
    # generated. For analytics and debugging, never shown to the customer.
    verification: dict[str, Any] | None = None
    fallback_reason: str = ""  # why a generated answer was replaced by the extractive one
    standalone_question: str = ""  # the question as retrieved (follow-ups rewritten)
    conversation_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    answer_id: str = ""  # this answer, for feedback and hand-off
    escalation: Escalation | None = None  # whether the reply offers a person, and why


@dataclass(frozen=True)
class CustomerContext:
    """What the host page knows about its customer (the widget's data-* attributes, or the
    API's ``context``): used to rank, to filter plan-limited documents and for the hand-off."""

    product: str | None = None
    plan: str | None = None
    locale: str | None = None
    customer_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class Escalation:
    """Whether a reply offers a person, why, and how frustrated the message read (0-1)."""

    offer: bool
    reasons: tuple[str, ...] = ()
    frustration: float = 0.0


@dataclass(frozen=True)
class Query:
    """A retrieval request: the text, and who is asking with what filters."""

    text: str
    k: int = 5
    reader: Reader = "public"
    product: str | None = None  # this product's documents and general ones
    language: str | None = None  # only documents in this language
    # The customer's context (personalisation): their plan, whose plan-limited documents they
    # may read (see plan_values), and their product, whose documents rank first (a preference,
    # not a filter: see Fusion.product_boost).
    plan: str | None = None
    customer_product: str | None = None

    def filters(self) -> dict[str, tuple[str, ...]]:
        filters: dict[str, tuple[str, ...]] = {"audience": readable(self.reader)}
        if self.product:
            filters["product"] = (self.product, "")
        if self.language:
            filters["language"] = (self.language,)
        return filters


@dataclass(frozen=True)
class Correction:
    text: str  # the question as retrieval sees it
    changes: tuple[tuple[str, str], ...]  # (typed, corrected) pairs, in order


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]

    @property
    def html(self) -> str:
        parts, last = [], 0
        for start, end in self.highlights:
            parts.append(html.escape(self.text[last:start]))
            parts.append(f"<mark>{html.escape(self.text[start:end])}</mark>")
            last = end
        parts.append(html.escape(self.text[last:]))
        return "".join(parts)


@dataclass(frozen=True)
class SearchHit:
    passage: Passage
    snippet: Snippet
    # Further matching sections of the same article, best first (search lists an article once).
    sections: tuple[SearchHit, ...] = ()


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    correction: Correction  # the query as searched, with any misspelt words corrected


# -- answer events: what an answer streams, in order (see helpdesk.answering.generative) ------


@dataclass(frozen=True)
class Sources:
    """The passages the answer may draw on, numbered [1], [2]... in order."""

    passages: list[Passage]
    name: ClassVar[str] = "sources"


@dataclass(frozen=True)
class Draft:
    """The extractive answer, sent at once so the customer never stares at nothing."""

    answer: Answer
    name: ClassVar[str] = "draft"


@dataclass(frozen=True)
class Token:
    """Verified generated text, one or more sentences."""

    text: str
    name: ClassVar[str] = "token"


@dataclass(frozen=True)
class Final:
    """The answer as the customer keeps it: generated and verified, or the draft."""

    answer: Answer
    name: ClassVar[str] = "final"


AnswerEvent = Sources | Draft | Token | Final
