"""Answer quality, end to end: what the customer sees, judged against a labelled answer set.

``helpdesk eval-answers SET...`` sends every case through :meth:`Helpdesk.ask_events`, the path
the HTTP API streams, with any backend, and judges the final answer the way a customer would:

- **resolved**: not handed off, cites a gold source, and carries every required fact
  (and none of the phrases that would contradict it);
- **refused**: an answerable question got "not covered, let me get you a person";
- **wrong**: answered, but without a gold citation, with a fact missing or contradicted;
- **caught**: an out-of-scope question was handed off (else it is **missed**);
- **defects**, whatever the outcome: markup or HTML entities, citation residue, a reply in the
  wrong language.

A set is YAML (``cases:`` list, or a bare list) or JSONL, one case each::

    id: en-wifi-drops
    question: my speaker keeps disconnecting from wifi
    language: en                  # the asker's language
    style: slang                  # phrasing style, for the per-style table
    history: [earlier question]   # optional: asked first, in the same conversation
    context: {product: aura-speaker, plan: premium, locale: en-US}   # optional
    gold: [faq/en.yaml#aura-flashing-red, manuals/en/aura-speaker.md]  # FILE, FILE#FAQ-ID or URL
    facts: [["2.4 GHz", "2.4GHz"], Wi-Fi]   # each fact: a string or a list of accepted variants
    contradictions: ["not covered"]         # optional
    # or, instead of gold/facts:
    out_of_scope: true

A BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) is a set too: every query
is answerable and its relevant documents are the gold sources, without facts.

Each case falls in the ``dev`` or ``test`` split by a hash of its question, so a new case never
moves an old one: tune on dev, report both.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..answering.extractive import OTHER_LANGUAGE_NOTE
from ..errors import HelpdeskError
from ..text import detect_language
from ..types import Answer, Draft, Final, Token

SPLITS = ("dev", "test")
OUTCOMES = ("resolved", "refused", "wrong", "caught", "missed")


class AnswerSetError(HelpdeskError):
    """A set file that is missing, unreadable or has a malformed case."""

    code = "bad_answer_set"
    title = "Bad answer set"


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    language: str
    style: str = "plain"
    out_of_scope: bool = False
    gold: tuple[str, ...] = ()
    facts: tuple[tuple[str, ...], ...] = ()  # each fact: its accepted variants
    contradictions: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)
    set_name: str = ""

    @property
    def split(self) -> str:
        return split_of(self.question)


def split_of(question: str) -> str:
    """``dev`` or ``test``, by a hash of the question (stable, independent of every other case)."""
    key = unicodedata.normalize("NFC", " ".join(question.split())).encode("utf-8")
    return SPLITS[int(hashlib.sha256(key).hexdigest()[:8], 16) % 2]


# -- loading -------------------------------------------------------------------------------------

_CASE_FIELDS = {
    "id", "question", "language", "style", "out_of_scope", "gold", "facts", "contradictions",
    "history", "context", "note",
}  # fmt: skip
_CONTEXT_FIELDS = {"product", "plan", "locale", "customer_id"}


def _strings(value: Any, where: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return (str(value),)
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return tuple(str(v) for v in value)
    raise AnswerSetError(f"{where}: {name!r} must be a string or a list of strings")


def parse_case(record: Any, where: str, set_name: str = "") -> Case:
    """One case from its mapping, or AnswerSetError naming where and what is wrong."""
    if not isinstance(record, Mapping):
        raise AnswerSetError(f"{where}: a case must be a mapping")
    unknown = set(record) - _CASE_FIELDS
    if unknown:
        raise AnswerSetError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise AnswerSetError(f"{where}: 'question' must be a non-empty string")
    language = record.get("language") or detect_language(question)
    if language not in ("en", "ko"):
        raise AnswerSetError(f"{where}: 'language' must be 'en' or 'ko', got {language!r}")
    out_of_scope = bool(record.get("out_of_scope", False))
    gold = _strings(record.get("gold"), where, "gold")
    facts_value = record.get("facts") or []
    if not isinstance(facts_value, list):
        raise AnswerSetError(f"{where}: 'facts' must be a list")
    facts = tuple(_strings(f, where, "facts") for f in facts_value)
    if any(not variants for variants in facts):
        raise AnswerSetError(f"{where}: a fact has no accepted variant")
    if out_of_scope and (gold or facts):
        raise AnswerSetError(f"{where}: an out-of-scope case has no gold sources or facts")
    if not out_of_scope and not gold:
        raise AnswerSetError(f"{where}: an answerable case needs 'gold' sources")
    context = record.get("context") or {}
    if not isinstance(context, Mapping) or set(context) - _CONTEXT_FIELDS:
        raise AnswerSetError(
            f"{where}: 'context' must be a mapping of {', '.join(sorted(_CONTEXT_FIELDS))}"
        )
    return Case(
        id=str(record.get("id") or where),
        question=question.strip(),
        language=language,
        style=str(record.get("style") or "plain"),
        out_of_scope=out_of_scope,
        gold=gold,
        facts=facts,
        contradictions=_strings(record.get("contradictions"), where, "contradictions"),
        history=_strings(record.get("history"), where, "history"),
        context={str(k): str(v) for k, v in context.items()},
        set_name=set_name,
    )


def load_cases(path: Path) -> list[Case]:
    """The cases of one YAML or JSONL set file."""
    path = Path(path)
    if not path.is_file():
        raise AnswerSetError(f"{path}: file not found")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise AnswerSetError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    name = path.stem
    if path.suffix == ".jsonl":
        cases = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AnswerSetError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
            cases.append(parse_case(record, f"{path} line {number}", name))
        return cases
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise AnswerSetError(f"{path}: not valid YAML{at}") from None
    records = data.get("cases") if isinstance(data, Mapping) else data
    if not isinstance(records, list) or not records:
        raise AnswerSetError(f"{path}: expected a non-empty list of cases (or a 'cases:' list)")
    cases = []
    for number, record in enumerate(records, start=1):
        label = record.get("id") if isinstance(record, Mapping) else None
        cases.append(parse_case(record, f"{path} case {label or number}", name))
    return cases


def load_sets(paths: Iterable[Path]) -> list[Case]:
    """Every case of every file, ids unique across them."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in paths:
        for case in load_cases(Path(path)):
            if case.id in seen:
                raise AnswerSetError(f"{path}: case id {case.id!r} also in {seen[case.id]}")
            seen[case.id] = str(path)
            cases.append(case)
    return cases


# -- judging -------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, no whitespace, no thousands separators, entities decoded: for fact matching."""
    text = unicodedata.normalize("NFKC", html.unescape(text)).casefold()
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    return re.sub(r"\s+", "", text)


def contains(text: str, variant: str) -> bool:
    return normalise(variant) in normalise(text)


_CITATION = re.compile(r"\s*\[(\d+)\]")
_MARKUP = [
    ("bold or italic markup", re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__|(?<!\w)\*[^*\s][^*\n]*\*")),
    ("a Markdown list or heading marker", re.compile(r"(?m)^\s*(?:[-*+•]|#{1,6})\s")),
    ("code markup", re.compile(r"`")),
    ("a Markdown link", re.compile(r"\[[^\]]+\]\([^)]*\)")),
    ("an HTML tag", re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")),
]
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,6}|#x[0-9A-Fa-f]{1,6});")
# What is left of a sentence whose leading citation was removed: "에서 설명한 대로, ...",
# "According to , ...", or a citation bracket with nothing in it.
_RESIDUE = [
    re.compile(
        r"(?:^|(?<=[.!?。]\s)|(?<=\n))\s*(?:에서|에 따르면|에 의하면|에 나와|에 안내|에 설명|에 적)"
    ),
    re.compile(
        r"(?i)(?:^|(?<=[.!?]\s)|(?<=\n))\s*(?:according to|as (?:stated|described|mentioned|"
        r"explained|shown) in|see|refer to)\s*[,.:;]"
    ),
    # Two particles in a row where a citation inside the sentence was taken out: "방법은에서".
    re.compile(r"(?<=[가-힣])(?:은|는|을|를)(?:에서|에게)(?![가-힣])"),
    # Empty brackets, but not a function call's "sort()".
    re.compile(r"\[\s*[,;]?\s*\]|(?<!\w)\(\s*\)|\[(?:source|citation|출처)\]", re.IGNORECASE),
    re.compile(r"\s[,.](?=\s|$)"),
]


def defects(answer: Answer, language: str, gold_languages: set[str]) -> list[str]:
    """What the customer would see as broken, whatever the outcome."""
    text = answer.text
    found = [name for name, pattern in _MARKUP if pattern.search(text)]
    if _ENTITY.search(text):
        found.append("an HTML entity")
    if any(pattern.search(text) for pattern in _RESIDUE):
        found.append("citation residue")
    cited = {c.id for c in answer.citations}
    if any(int(n) not in cited for n in _CITATION.findall(text)):
        found.append("a citation marker naming no source")
    shown = _CITATION.sub("", text)
    if answer.handoff:
        reply_language = detect_language(shown, default=language)
    else:
        note = OTHER_LANGUAGE_NOTE.get(language, "")
        if note and shown.startswith(note):
            # A quote from a page in the other language, said so: fine only when no page in the
            # asker's language holds the answer.
            reply_language = language if language not in gold_languages else "other"
        else:
            reply_language = detect_language(shown, default=language)
    if reply_language != language:
        found.append("a reply in the wrong language")
    return found


def gold_match(gold: str, source: str, url: str) -> bool:
    """Whether a citation (its source path and URL) is the gold source ``gold``."""
    if gold.startswith(("http://", "https://", "beir:")):
        if "#" in gold:
            return url == gold
        return url.split("#", 1)[0] == gold
    path, _, anchor = gold.partition("#")
    if source != path:
        return False
    return not anchor or url.endswith("#" + anchor)


@dataclass
class Verdict:
    case: Case
    outcome: str
    answer: Answer  # the final answer as the customer got it
    cited: list[str]  # the sources the answer cites, as "path#anchor" or path
    why: list[str]  # what is missing or wrong, for the failures list
    defects: list[str]
    first_content_ms: float
    final_ms: float

    @property
    def confidence(self) -> float:
        return self.answer.confidence

    @property
    def correct(self) -> bool:
        return self.outcome in ("resolved", "caught")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "set": self.case.set_name,
            "split": self.case.split,
            "language": self.case.language,
            "style": self.case.style,
            "question": self.case.question,
            "outcome": self.outcome,
            "answer": self.answer.text,
            "confidence": self.answer.confidence,
            "generated_by": self.answer.generated_by,
            "cited": self.cited,
            "why": self.why,
            "defects": self.defects,
            "first_content_ms": round(self.first_content_ms, 1),
            "final_ms": round(self.final_ms, 1),
            "fallback_reason": self.answer.fallback_reason,
        }


def judge(
    case: Case,
    answer: Answer,
    first_content_ms: float,
    final_ms: float,
    gold_languages: set[str] | None = None,
) -> Verdict:
    """The outcome of one answer to one case, with the reasons a person needs to check it."""
    cited = [
        c.source + (("#" + c.url.split("#", 1)[1]) if "#" in c.url else "")
        for c in answer.citations
    ]
    why: list[str] = []
    handed_off = answer.handoff or not answer.grounded
    if case.out_of_scope:
        outcome = "caught" if handed_off else "missed"
        if not handed_off:
            why.append("answered a question the knowledge base does not cover")
    elif handed_off:
        outcome = "refused"
        why.append(f"refused (confidence {answer.confidence:.2f})")
    else:
        if not any(gold_match(g, c.source, c.url) for g in case.gold for c in answer.citations):
            why.append(f"cites {cited or 'nothing'}, not {list(case.gold)}")
        for variants in case.facts:
            if not any(contains(answer.text, v) for v in variants):
                why.append(f"missing fact {' | '.join(variants)!r}")
        for phrase in case.contradictions:
            if contains(answer.text, phrase):
                why.append(f"contradicts: says {phrase!r}")
        outcome = "wrong" if why else "resolved"
    found = defects(answer, case.language, gold_languages or set())
    return Verdict(
        case=case,
        outcome=outcome,
        answer=answer,
        cited=cited,
        why=why + [f"defect: {d}" for d in found],
        defects=found,
        first_content_ms=first_content_ms,
        final_ms=final_ms,
    )


# -- running -------------------------------------------------------------------------------------


def run_cases(
    helpdesk: Any,
    cases: Sequence[Case],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Verdict]:
    """Ask each case through ``helpdesk.ask_events`` (earlier turns first) and judge it."""
    from ..types import Query

    chunks = helpdesk.retriever().snapshot.chunks
    languages_of: dict[str, set[str]] = defaultdict(set)
    for chunk in chunks:
        languages_of[chunk.source].add(chunk.language)
    verdicts = []
    for number, case in enumerate(cases, start=1):
        product = case.context.get("product") or None
        locale = case.context.get("locale") or None
        conversation_id = helpdesk.conversations.new_id()
        for earlier in case.history:
            for _ in helpdesk.ask_events(
                Query(earlier, k=helpdesk.settings.top_k, product=product), locale, conversation_id
            ):
                pass
        started = time.perf_counter()
        first = final_ms = 0.0
        final: Answer | None = None
        query = Query(case.question, k=helpdesk.settings.top_k, product=product)
        for event in helpdesk.ask_events(query, locale, conversation_id):
            now = (time.perf_counter() - started) * 1000.0
            if isinstance(event, Draft | Token) and not first:
                first = now
            if isinstance(event, Final):
                final, final_ms = event.answer, now
        assert final is not None
        gold_languages: set[str] = set()
        for gold in case.gold:
            gold_languages |= languages_of.get(gold.partition("#")[0], set())
        verdicts.append(judge(case, final, first or final_ms, final_ms, gold_languages))
        if progress is not None:
            progress(number, len(cases))
    return verdicts


def percentile(values: Sequence[float], q: float) -> float | None:
    """``helpdesk eval``'s percentile, or None for no values (an empty group shows "-")."""
    from .metrics import percentile as interpolated

    return interpolated(values, q) if values else None


def calibration_error(verdicts: Sequence[Verdict], bins: int = 10) -> float | None:
    """Expected calibration error of the confidence shown with each answer that was given:
    the gap between confidence and the share right, averaged over confidence bins."""
    answered = [v for v in verdicts if v.outcome in ("resolved", "wrong", "missed")]
    if not answered:
        return None
    grouped: dict[int, list[Verdict]] = defaultdict(list)
    for verdict in answered:
        grouped[min(bins - 1, int(verdict.confidence * bins))].append(verdict)
    gap = 0.0
    for members in grouped.values():
        mean_confidence = sum(v.confidence for v in members) / len(members)
        accuracy = sum(v.outcome == "resolved" for v in members) / len(members)
        gap += len(members) / len(answered) * abs(mean_confidence - accuracy)
    return gap


def summarise(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Rates over a group of verdicts (answerable and out-of-scope counted apart)."""
    outcomes = Counter(v.outcome for v in verdicts)
    answerable = sum(outcomes[o] for o in ("resolved", "refused", "wrong"))
    out_of_scope = outcomes["caught"] + outcomes["missed"]
    first = [v.first_content_ms for v in verdicts]
    final = [v.final_ms for v in verdicts]

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        "cases": len(verdicts),
        "answerable": answerable,
        "resolved": share(outcomes["resolved"], answerable),
        "refused": share(outcomes["refused"], answerable),
        "wrong": share(outcomes["wrong"], answerable),
        "out_of_scope": out_of_scope,
        "caught": share(outcomes["caught"], out_of_scope),
        "defects": sum(bool(v.defects) for v in verdicts),
        "defect_kinds": dict(Counter(d for v in verdicts for d in v.defects)),
        "first_content_ms": {"p50": percentile(first, 50), "p95": percentile(first, 95)},
        "final_ms": {"p50": percentile(final, 50), "p95": percentile(final, 95)},
        "calibration_error": calibration_error(verdicts),
    }


@dataclass
class AnswerReport:
    """Every verdict of one run, and the breakdowns the table shows."""

    name: str
    backend: str
    verdicts: list[Verdict]
    settings: dict[str, Any] = field(default_factory=dict)

    def groups(self) -> dict[str, list[Verdict]]:
        """all, each split, each language per split, and each language x style (all splits)."""
        groups: dict[str, list[Verdict]] = {"all": list(self.verdicts)}
        for verdict in self.verdicts:
            case = verdict.case
            groups.setdefault(case.split, []).append(verdict)
            groups.setdefault(f"{case.split}/{case.language}", []).append(verdict)
            kind = "out_of_scope:" + case.style if case.out_of_scope else case.style
            groups.setdefault(f"style/{case.language}/{kind}", []).append(verdict)
        return groups

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "settings": self.settings,
            "summary": {key: summarise(group) for key, group in sorted(self.groups().items())},
            "verdicts": [v.as_json() for v in self.verdicts],
        }

    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.correct or v.defects]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_report(report: AnswerReport, failures: int = 20) -> str:
    """The plain-text table, then up to ``failures`` misses: question -> answer -> why."""
    header = (
        f"{'group':<34} {'n':>4} {'resolved':>9} {'refused':>8} {'wrong':>7} {'oos':>4} "
        f"{'caught':>7} {'defects':>7} {'first p50/p95 ms':>17} {'final p50/p95 ms':>17} {'ECE':>5}"
    )
    lines = [f"{report.name}: backend {report.backend}", header, "-" * len(header)]
    groups = report.groups()
    order = ["all", *SPLITS]
    order += [f"{s}/{lang}" for s in SPLITS for lang in ("en", "ko")]
    order += sorted(key for key in groups if key.startswith("style/"))
    for key in order:
        if key not in groups:
            continue
        s = summarise(groups[key])
        ece = s["calibration_error"]
        lines.append(
            f"{key:<34} {s['cases']:>4} {_pct(s['resolved']):>9} {_pct(s['refused']):>8} "
            f"{_pct(s['wrong']):>7} {s['out_of_scope']:>4} {_pct(s['caught']):>7} "
            f"{s['defects']:>7} "
            f"{_ms(s['first_content_ms']['p50']) + ' / ' + _ms(s['first_content_ms']['p95']):>17} "
            f"{_ms(s['final_ms']['p50']) + ' / ' + _ms(s['final_ms']['p95']):>17} "
            f"{'-' if ece is None else f'{ece:.3f}':>5}"
        )
    misses = report.failures()
    if misses and failures:
        lines += ["", f"failures ({len(misses)}; first {min(failures, len(misses))}):"]
        for verdict in misses[:failures]:
            answer = " ".join(verdict.answer.text.split())
            lines.append(f"- [{verdict.case.id}, {verdict.outcome}] {verdict.case.question}")
            lines.append(f"    -> {answer[:240]}{'…' if len(answer) > 240 else ''}")
            lines.append(f"    why: {'; '.join(verdict.why)}")
    return "\n".join(lines)


# -- BEIR folders --------------------------------------------------------------------------------


def beir_cases(
    dataset: Any, names: Mapping[str, str], max_cases: int | None, seed: int
) -> list[Case]:
    """Answerable cases from a loaded BEIR dataset: the gold sources are its relevant files."""
    from .retrieval import sample_queries

    files_of: dict[str, str] = {doc_id: name for name, doc_id in names.items()}
    chosen = sample_queries(dataset.judged_queries(), max_cases, seed)
    cases = []
    for query_id in chosen:
        question = dataset.queries[query_id]
        gold = tuple(files_of[d] for d in sorted(dataset.qrels[query_id]) if d in files_of)
        cases.append(
            Case(
                id=f"{dataset.name}:{query_id}",
                question=question,
                language=detect_language(question),
                style="beir",
                gold=gold,
                set_name=dataset.name,
            )
        )
    return cases


def _beir_index(path: Path, settings: Any, data_root: Path, say: Callable[[str], None]) -> Any:
    """Index a BEIR folder as ``helpdesk eval`` does (same folder, so either reuses the other's)."""
    from ..index.ingest import ingest
    from .beir import load_dataset
    from .knowledge_base import write_knowledge_base
    from .retrieval import data_dir_for

    dataset = load_dataset(path)
    data_dir = data_dir_for(data_root, dataset.name, settings.embedding)
    cache = settings.embedding_cache_dir or str(Path(data_root) / "embedding-cache")
    settings = settings.replace(data_dir=data_dir, embedding_cache_dir=cache)
    with tempfile.TemporaryDirectory(prefix=f"helpdesk-eval-{dataset.name}-") as kb:
        names = write_knowledge_base(dataset, Path(kb))
        say(f"{dataset.name}: ingesting {len(names)} documents into {data_dir}")
        ingest(settings.replace(source_dir=Path(kb)))
    return dataset, names, settings


def _is_beir(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "corpus.jsonl").exists()


def select(
    cases: Sequence[Case],
    *,
    split: str = "all",
    language: str | None = None,
    max_cases: int | None = None,
    seed: int = 1,
) -> list[Case]:
    """The cases of one split and language, or a seeded sample of them kept in file order."""
    chosen = [
        c
        for c in cases
        if (split == "all" or c.split == split) and (language is None or c.language == language)
    ]
    if max_cases is not None and max_cases < len(chosen):
        keep = set(random.Random(seed).sample(range(len(chosen)), max_cases))
        chosen = [c for i, c in enumerate(chosen) if i in keep]
    return chosen


def evaluate_answers(
    paths: Sequence[Path],
    settings: Any,
    *,
    split: str = "all",
    language: str | None = None,
    max_cases: int | None = None,
    seed: int = 1,
    data_root: Path = Path(".cache") / "eval",
    status: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[AnswerReport]:
    """One report for all the labelled set files (over ``settings.source_dir``, indexed into
    ``settings.data_dir``), and one per BEIR folder; the backend is ``settings.llm``."""
    from ..index.ingest import ingest
    from ..service import Helpdesk

    say = status or (lambda _message: None)
    if split not in ("all", *SPLITS):
        raise AnswerSetError(f"unknown split {split!r}; expected all, dev or test")
    labelled = [Path(p) for p in paths if not _is_beir(Path(p))]
    runs: list[tuple[str, Any, list[Case]]] = []
    if labelled:
        cases = select(
            load_sets(labelled), split=split, language=language, max_cases=max_cases, seed=seed
        )
        report = ingest(settings)
        say(f"knowledge base {settings.source_dir}: {report.chunks} chunks in {settings.data_dir}")
        runs.append(("+".join(p.stem for p in labelled), settings, cases))
    for path in (Path(p) for p in paths if _is_beir(Path(p))):
        dataset, names, beir_settings = _beir_index(path, settings, data_root, say)
        cases = beir_cases(dataset, names, None, seed)
        cases = select(cases, split=split, language=language, max_cases=max_cases, seed=seed)
        runs.append((dataset.name, beir_settings, cases))
    reports = []
    llm = None
    for name, run_settings, cases in runs:
        # One loaded model for every index.
        # Evaluation questions are not customers': nothing is stored.
        edges: dict[str, Any] = {"store": None} if llm is None else {"store": None, "llm": llm}
        helpdesk = Helpdesk(run_settings, **edges)
        helpdesk.warm_up()
        llm = helpdesk.llm
        say(f"{name}: {len(cases)} cases, backend {run_settings.llm}")
        verdicts = run_cases(helpdesk, cases, progress=progress)
        helpdesk.retriever().snapshot.close()
        reports.append(
            AnswerReport(
                name=name,
                backend=run_settings.llm,
                verdicts=verdicts,
                settings={
                    "split": split,
                    "language": language,
                    "max_cases": max_cases,
                    "seed": seed,
                    "embedding": run_settings.embedding,
                    "min_confidence": run_settings.min_confidence,
                    "data_dir": str(run_settings.data_dir),
                },
            )
        )
    return reports
