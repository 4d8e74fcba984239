"""Where one search's time goes: each stage of ``Helpdesk.search`` timed, in process.

    python scripts/profile_search.py --data-dir D [--queries 60] [--mode full|typing]
                                     [--cprofile out.prof]

Loads the serving generation of ``D`` with the configured models (HELPDESK_EMBEDDING), warms
it, then runs ``--queries`` searches, each a new question (so no cache answers), and prints the
median and p95 milliseconds of each stage: the typo pass (glossary rewrite and speller), each
model's query embedding, each model's Chroma query, the topic products, BM25, fusion, the
confidence check, snippets, the event record, and the whole search. Stages are timed by
wrapping the functions that do them, so a stage a search skips shows fewer calls.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import itertools
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk import service  # noqa: E402
from helpdesk.config import Settings  # noqa: E402
from helpdesk.embeddings import make_embedders, ranker_name  # noqa: E402
from helpdesk.service import Helpdesk  # noqa: E402
from helpdesk.types import Query  # noqa: E402

TIMES: dict[str, list[float]] = defaultdict(list)


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[name].append((time.perf_counter() - started) * 1000)

    return wrapper


def questions() -> list[str]:
    """The labelled answer sets' questions, Korean and English."""
    sets: list[list[str]] = []
    for path in sorted((ROOT / "tests" / "data" / "answers").glob("*.yaml")):
        sets.append([str(c["question"]) for c in yaml.safe_load(path.read_text("utf-8"))["cases"]])
    return [q for group in itertools.zip_longest(*sets) for q in group if q]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--mode", default="full")
    parser.add_argument("--cprofile", type=Path)
    args = parser.parse_args()

    settings = Settings.from_env(data_dir=args.data_dir, llm="extractive")
    embedders = make_embedders(settings.embedding)
    for embedder in embedders:
        name = ranker_name(embedder)
        embedder.embed_query = timed(f"embed {name}", embedder.embed_query)  # type: ignore[method-assign]
    helpdesk = Helpdesk(settings, embedders=embedders, llm=None)
    helpdesk.warm_up()
    retriever = helpdesk.retriever()
    snapshot = retriever.snapshot
    names = [ranker_name(e) for e in embedders]
    dense = snapshot.dense

    def dense_timed(model: int, *a: Any, **k: Any) -> Any:
        return timed(f"chroma {names[model]}", dense)(model, *a, **k)

    snapshot.dense = dense_timed  # type: ignore[method-assign]
    snapshot.topic_scores = timed("topic products", snapshot.topic_scores)  # type: ignore[method-assign]
    snapshot.lexical.search = timed("bm25", snapshot.lexical.search)  # type: ignore[method-assign]
    retriever.correct = timed("typo pass", retriever.correct)  # type: ignore[method-assign]
    retriever.fuse = timed("fusion", retriever.fuse)  # type: ignore[method-assign]
    retriever.coverage = timed("coverage", retriever.coverage)  # type: ignore[method-assign]
    service.evidence = timed("confidence check", service.evidence)
    service.make_snippet = timed("snippets", service.make_snippet)
    helpdesk.record_event = timed("event record", helpdesk.record_event)  # type: ignore[method-assign]

    pool = questions()
    # A new question each time: the question with a counter word the index does not hold.
    texts = [f"{pool[i % len(pool)]} {i}" for i in range(args.queries)]
    profiler = cProfile.Profile() if args.cprofile else None
    search_kwargs: dict[str, Any] = {}
    if args.mode != "full":
        search_kwargs["mode"] = args.mode
    for text in texts:
        if profiler:
            profiler.enable()
        timed("search (total)", helpdesk.search)(Query(text, k=10), **search_kwargs)
        if profiler:
            profiler.disable()
    if profiler and args.cprofile:
        profiler.dump_stats(str(args.cprofile))
    helpdesk.close()
    print(f"{len(snapshot.chunks)} chunks, {args.queries} searches, models {'+'.join(names)}")
    print(f"{'stage':<20} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'ms/search':>10}")
    for name, values in sorted(TIMES.items(), key=lambda item: -sum(item[1])):
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"{name:<20} {len(values):>6} {statistics.median(values):>8.1f} {p95:>8.1f}"
            f" {sum(values) / args.queries:>10.1f}"
        )


if __name__ == "__main__":
    main()
