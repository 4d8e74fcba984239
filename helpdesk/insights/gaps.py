"""The content-gap report: the questions the help center failed, grouped by topic.

A question failed when it was not covered (the assistant had nothing to answer with), when its
conversation was handed off to a person, or when the customer gave its answer a thumbs down.
Those questions, Korean and English together, are embedded with a cross-lingual model and
clustered (scikit-learn's average-linkage agglomerative clustering on cosine distance), so that
"홈킷 지원되나요?" and "Does it work with HomeKit?" land in one gap. Each gap names its most
central questions, the nearest existing article, whether the answer was missing or wrong, and
-- where agents answered those hand-offs -- a draft FAQ entry in the knowledge base's own format,
built from the agents' replies by rules (no LLM). See docs/insights.md.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from ..embeddings import Embedder
from ..errors import IndexNotReady, TicketNotFound
from ..store import Event, Reply, Store, Ticket
from ..text import detect_language, redact
from ..types import Query

if TYPE_CHECKING:
    from ..service import Helpdesk

# Why a question counts as failed, in the order one reason is named when several apply: an
# answer that was missing explains a later hand-off or thumbs down, not the other way round.
REASONS = ("not_covered", "thumbs_down", "handed_off")

# Cosine distance under which average linkage joins two groups of questions. Chosen on the dev
# split of tests/data/gaps.yaml with the USE multilingual model (the best adjusted Rand index
# there, 0.77); the test split, never seen while choosing, measures 0.50: see docs/insights.md
# and scripts/eval_gaps.py.
DISTANCE_THRESHOLD = 0.65
MIN_SIZE = 2  # a question asked once is not yet a pattern: it stays out of the report
EXAMPLES = 3


@dataclass(frozen=True)
class Failure:
    """One customer question the help center failed, and what happened to it."""

    text: str  # the question as asked (redacted when it was recorded)
    language: str
    conversation_id: str | None
    turn_id: str | None
    at: datetime
    why: str  # the first of REASONS that applies
    reasons: tuple[str, ...]  # every reason that applies, in REASONS order
    standalone: str = ""  # a follow-up rewritten to stand alone, when it was one
    answered: bool = False  # the assistant gave an answer (it was not "not covered")
    cited: tuple[dict[str, Any], ...] = ()  # {source, title, url} the answer cited
    replies: tuple[Reply, ...] = ()  # agents' replies on the conversation's tickets

    @property
    def question(self) -> str:
        """What is clustered: the standalone question when there is one."""
        return self.standalone or self.text

    @property
    def id(self) -> str:
        """The answer id, or a hash of where and when it was asked when there is none."""
        if self.turn_id:
            return self.turn_id
        key = f"{self.conversation_id}|{self.at.isoformat()}|{self.text}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "language": self.language,
            "conversation_id": self.conversation_id,
            "turn_id": self.turn_id,
            "at": self.at.isoformat(),
            "why": self.why,
            "reasons": list(self.reasons),
            "cited": list(self.cited),
        }


@dataclass(frozen=True)
class Article:
    """The existing article nearest to a gap."""

    title: str
    source: str
    url: str
    similarity: float  # the search's cosine similarity under the index's primary model

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "similarity": self.similarity,
        }


@dataclass(frozen=True)
class Gap:
    """A group of failed questions about one topic."""

    id: str  # a hash of its members' ids: the same questions give the same id
    size: int
    languages: dict[str, int]  # questions per language, most first
    kind: str  # "missing" (most were not covered) | "wrong" (answered, then handed off/down)
    reasons: dict[str, int]  # how many members each reason applies to
    central: Failure  # the most central question in the majority language
    examples: tuple[Failure, ...]  # the most central few, every language present
    cohesion: float  # the members' mean cosine similarity to their centroid
    nearest: Article | None
    draft: str | None  # a FAQ entry (YAML) from the agents' replies, when there are any
    members: tuple[Failure, ...] = field(repr=False, default=())

    @property
    def language(self) -> str:
        return next(iter(self.languages))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "kind": self.kind,
            "languages": self.languages,
            "reasons": self.reasons,
            "question": self.central.question,
            "examples": [
                {"text": f.question, "language": f.language, "why": f.why} for f in self.examples
            ],
            "cohesion": self.cohesion,
            "nearest": self.nearest.as_json() if self.nearest else None,
            "draft": self.draft,
            "conversations": sorted({f.conversation_id for f in self.members if f.conversation_id}),
        }


# -- gathering the failures ---------------------------------------------------------------------


def failures(events: Iterable[Event], tickets: Iterable[Ticket] = ()) -> list[Failure]:
    """The failed questions among ``events`` (ask, handoff and feedback events; others are
    ignored), oldest first, each once with every reason that applies, and the agents' replies
    from its conversation's ``tickets``."""
    ordered = sorted(events, key=lambda e: (e.at, e.id or 0))
    asks = [e for e in ordered if e.kind == "ask" and (e.text or e.data.get("standalone"))]
    by_turn = {e.turn_id: i for i, e in enumerate(asks) if e.turn_id}
    by_conversation: dict[str, list[int]] = defaultdict(list)
    for i, ask in enumerate(asks):
        if ask.conversation_id:
            by_conversation[ask.conversation_id].append(i)
    reasons: dict[int, set[str]] = defaultdict(set)
    for i, ask in enumerate(asks):
        if ask.outcome == "not_covered":
            reasons[i].add("not_covered")
    for event in ordered:
        if event.kind == "handoff" and event.conversation_id:
            before = [i for i in by_conversation[event.conversation_id] if asks[i].at <= event.at]
            # "Let me talk to a person" is how it was handed off, not what it was about.
            questions = [i for i in before if asks[i].outcome != "person"] or before
            for i in questions:
                reasons[i].add("handed_off")
        elif event.kind == "feedback" and event.outcome == "down":
            rated = by_turn.get(event.turn_id) if event.turn_id else None
            # Only the conversation named (a rating of the whole conversation): its last
            # question. An answer id whose question is not among the events (asked before the
            # period) names no question here.
            if event.turn_id is None and event.conversation_id:
                turns = by_conversation[event.conversation_id]
                earlier = [i for i in turns if asks[i].at <= event.at]
                rated = (earlier or turns)[-1] if turns else None
            if rated is not None:
                reasons[rated].add("thumbs_down")
    replies: dict[str, list[Reply]] = defaultdict(list)
    for ticket in tickets:
        replies[ticket.conversation_id].extend(ticket.replies)
    found = []
    for i in sorted(reasons):
        ask = asks[i]
        why = tuple(r for r in REASONS if r in reasons[i])
        conversation = ask.conversation_id or ""
        found.append(
            Failure(
                text=ask.text,
                language=ask.language or detect_language(ask.text),
                conversation_id=ask.conversation_id,
                turn_id=ask.turn_id,
                at=ask.at,
                why=why[0],
                reasons=why,
                standalone=str(ask.data.get("standalone") or ""),
                answered=ask.outcome == "answered",
                cited=tuple(ask.data.get("cited") or ()),
                replies=tuple(sorted(replies.get(conversation, ()), key=lambda r: r.at)),
            )
        )
    return found


def gather(
    store: Store, since: datetime | None = None, until: datetime | None = None
) -> list[Failure]:
    """The failed questions recorded in ``store`` between ``since`` and ``until``, with the
    replies on the tickets their hand-offs opened (a ticket purged since is skipped)."""
    events = store.events(since, until, kinds=("ask", "handoff", "feedback"))
    tickets = []
    for ticket_id in dict.fromkeys(
        str(e.data["ticket"]) for e in events if e.kind == "handoff" and e.data.get("ticket")
    ):
        try:
            tickets.append(store.ticket(ticket_id))
        except TicketNotFound:
            continue
    return failures(events, tickets)


# -- the report ---------------------------------------------------------------------------------


Nearest = Callable[[str], Article | None]


def nearest_article(helpdesk: Helpdesk) -> Nearest:
    """The ``nearest`` callback of :func:`gap_report` over a Helpdesk's index: the top public
    article the help center's search finds for the question (None when nothing relates). The
    look-ups are not recorded as search events."""

    def nearest(question: str) -> Article | None:
        try:
            results = helpdesk.search(Query(question, k=1), sections=0, record=False)
        except IndexNotReady:
            return None  # no index yet: a gap still shows, without its nearest article
        if not results.hits:
            return None
        chunk = results.hits[0].passage.chunk
        similarity = round(float(results.hits[0].passage.dense_score), 4)
        return Article(title=chunk.title, source=chunk.source, url=chunk.url, similarity=similarity)

    return nearest


def cluster(
    vectors: np.ndarray[Any, Any], distance_threshold: float = DISTANCE_THRESHOLD
) -> list[int]:
    """A cluster label per row of ``vectors``: average linkage on cosine distance, cut at
    ``distance_threshold``."""
    if len(vectors) < 2:
        return [0] * len(vectors)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance_threshold
    )
    return [int(label) for label in model.fit_predict(vectors)]


def gap_report(
    failures: Sequence[Failure],
    embedder: Embedder,
    *,
    nearest: Nearest | None = None,
    distance_threshold: float = DISTANCE_THRESHOLD,
    min_size: int = MIN_SIZE,
    examples: int = EXAMPLES,
) -> list[Gap]:
    """The failed questions clustered into gaps across languages, largest first; clusters of
    fewer than ``min_size`` questions are left out (``min_size=1`` keeps every question)."""
    items = [f for f in failures if f.question.strip()]
    if not items:
        return []
    vectors = np.asarray(embedder.embed_documents([f.question for f in items]), dtype=np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    groups: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(cluster(vectors, distance_threshold)):
        groups[label].append(index)
    gaps = [
        _gap([items[i] for i in members], vectors[members], nearest, examples)
        for members in groups.values()
        if len(members) >= min_size
    ]
    return sorted(gaps, key=lambda g: (-g.size, g.id))


def _gap(
    members: list[Failure], vectors: np.ndarray[Any, Any], nearest: Nearest | None, examples: int
) -> Gap:
    centroid = vectors.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    closeness = vectors @ centroid
    order = [members[i] for i in np.argsort(-closeness, kind="stable")]
    languages = dict(Counter(f.language for f in order).most_common())
    majority = next(iter(languages))
    central = next(f for f in order if f.language == majority)
    reasons = Counter(r for f in members for r in f.reasons)
    missing = sum(1 for f in members if "not_covered" in f.reasons)
    gap_id = hashlib.sha256("\n".join(sorted(f.id for f in members)).encode()).hexdigest()[:12]
    return Gap(
        id=gap_id,
        size=len(members),
        languages=languages,
        kind="missing" if 2 * missing > len(members) else "wrong",
        reasons={r: reasons[r] for r in REASONS if reasons[r]},
        central=central,
        examples=_examples(order, set(languages), examples),
        cohesion=round(float(closeness.mean()), 4),
        nearest=nearest(central.question) if nearest is not None else None,
        draft=draft_entry(gap_id, central.question, majority, _replies(order)),
        members=tuple(order),
    )


def _replies(members: list[Failure]) -> list[Reply]:
    """The agents' replies on the members' conversations, each conversation's once (several of
    its questions carry the same replies)."""
    seen: set[str | None] = set()
    replies: list[Reply] = []
    for failure in members:
        if failure.conversation_id not in seen or failure.conversation_id is None:
            seen.add(failure.conversation_id)
            replies.extend(failure.replies)
    return replies


def _examples(order: list[Failure], languages: set[str], count: int) -> tuple[Failure, ...]:
    """The ``count`` most central distinct questions, with at least one of every language (when
    ``count`` allows): a language missing from the first few replaces the last of the most
    repeated language."""
    distinct: list[Failure] = []
    seen: set[str] = set()
    for failure in order:
        key = _normalised(failure.question)
        if key not in seen:
            seen.add(key)
            distinct.append(failure)
    picked = distinct[:count]
    for language in sorted(languages - {f.language for f in picked}):
        spoken = Counter(f.language for f in picked)
        crowded = [i for i, f in enumerate(picked) if spoken[f.language] > 1]
        first = next((f for f in distinct if f.language == language), None)
        if first is None or not crowded:
            continue
        picked[crowded[-1]] = first
    return tuple(picked)


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold().rstrip(".!?。 ")


# -- the draft ----------------------------------------------------------------------------------


class _FaqDumper(yaml.SafeDumper):
    """YAML as the knowledge base's FAQ files are written: list items indented under their key,
    and a reply of several paragraphs as a literal block (``|``), not a quoted string."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FaqDumper.add_representer(str, _text)


def draft_entry(gap_id: str, question: str, language: str, replies: Iterable[Reply]) -> str | None:
    """A FAQ entry in the knowledge base's FAQ YAML format (``language:`` and a ``faqs:`` list)
    for ``question``: the answer is the agents' ``replies``, redacted again, each distinct reply
    once, the most repeated first (then the earliest), preferring replies in ``language`` when
    there are any. None without replies."""
    counts: Counter[str] = Counter()
    texts: dict[str, str] = {}
    for reply in sorted(replies, key=lambda r: r.at):
        text = redact(re.sub(r"[ \t]+", " ", reply.text).strip())
        if not text:
            continue
        key = _normalised(text)
        counts[key] += 1
        texts.setdefault(key, text)
    if not counts:
        return None
    ranked = sorted(counts, key=lambda key: -counts[key])  # stable: ties keep the earliest first
    same = [key for key in ranked if detect_language(texts[key], language) == language]
    answer = "\n\n".join(texts[key] for key in same or ranked)
    entry = {
        "id": f"gap-{gap_id}",
        "question": redact(question),
        "answer": answer,
        "category": "Drafts",
    }
    body = yaml.dump(
        {"language": language, "faqs": [entry]},
        Dumper=_FaqDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    return f"# Draft from agents' replies (gap {gap_id}): review before adding it.\n{body}"


# -- export -------------------------------------------------------------------------------------


def gaps_as_markdown(gaps: Sequence[Gap]) -> str:
    """The report as Markdown, for the console or a file."""
    if not gaps:
        return "# Content gaps\n\nNo failed questions asked more than once.\n"
    lines = ["# Content gaps", ""]
    for number, gap in enumerate(gaps, start=1):
        languages = ", ".join(f"{language} {count}" for language, count in gap.languages.items())
        reasons = ", ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in gap.reasons.items())
        lines += [
            f"## {number}. {gap.central.question}",
            "",
            f"- **{gap.kind}**: {gap.size} questions ({languages}); {reasons}",
        ]
        if gap.nearest is not None:
            article = gap.nearest
            link = f"[{article.title}]({article.url})" if article.url else article.title
            lines.append(
                f"- nearest article: {link} (`{article.source}`, similarity "
                f"{article.similarity:.2f})"
            )
        else:
            lines.append("- nearest article: none")
        lines.append(f"- gap id: `{gap.id}`")
        lines += ["", "Examples:", ""]
        lines += [f"- ({f.language}) {f.question}" for f in gap.examples]
        if gap.draft:
            lines += ["", "Draft FAQ entry:", "", "```yaml", gap.draft.rstrip("\n"), "```"]
        lines.append("")
    return "\n".join(lines)
