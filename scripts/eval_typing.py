"""Search as you type: what the typing ranker costs in quality, and what the caches would hit.

    python scripts/eval_typing.py --data-dir D [--fractions 0.4,0.6,0.8,1.0] [--customers 2000]

Quality: every answerable question of tests/data/answers/*.yaml, cut to a share of its
characters (what the search box holds part way through typing), searched with the full ranker
and with the typing ranker (``mode=typing``); for each cut, the share of questions whose gold
article comes first (hit@1), is among the ten results (recall@10), and the mean reciprocal
rank. Needs an index of the sample knowledge base with the configured models.

Caches: the texts the search box sends (scripts/bench_search.py's typing trace: 120-320 ms a
key, a search after each pause over the 200 ms debounce, and the question on Enter) run through
the real :class:`QueryCache` over a fake model. Two traces: every question typed once, and
``--customers`` typings drawn from the questions with a Zipf(1.1) popularity, as help-center
traffic repeats a few questions. The typo-correction cache sees the full ranker's texts only.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_search import questions, typed  # noqa: E402

from helpdesk.config import Settings  # noqa: E402
from helpdesk.embeddings import FakeEmbeddings, QueryCache  # noqa: E402
from helpdesk.evaluation.answers import gold_match, load_sets  # noqa: E402
from helpdesk.service import Helpdesk  # noqa: E402
from helpdesk.types import Query  # noqa: E402


def quality(data_dir: Path, fractions: list[float]) -> None:
    settings = Settings.from_env(data_dir=data_dir, llm="extractive")
    helpdesk = Helpdesk(settings, llm=None, store=None)
    cases = [
        c for c in load_sets(sorted((ROOT / "tests" / "data" / "answers").glob("*.yaml"))) if c.gold
    ]
    print(f"{len(cases)} answerable questions")
    print("| typed | ranker | hit@1 | recall@10 | MRR | no results |")
    print("|---|---|---|---|---|---|")
    for fraction in fractions:
        for mode in ("full", "typing"):
            first = found = 0
            reciprocal = 0.0
            empty = 0
            for case in cases:
                text = case.question[: max(2, round(len(case.question) * fraction))].strip()
                hits = helpdesk.search(Query(text, k=10), mode=mode, record=False).hits
                empty += not hits
                for rank, hit in enumerate(hits, start=1):
                    chunk = hit.passage.chunk
                    if any(gold_match(g, chunk.source, chunk.url) for g in case.gold):
                        first += rank == 1
                        found += 1
                        reciprocal += 1 / rank
                        break
            n = len(cases)
            print(
                f"| {fraction:.0%} | {mode} | {first / n:.3f} | {found / n:.3f} "
                f"| {reciprocal / n:.3f} | {empty} |"
            )


def hit_rates(customers: int) -> None:
    pool = questions()
    rng = random.Random(16)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(pool))]
    traces = {
        "each question typed once": [typed(q, rng) for q in pool],
        f"{customers} customers, Zipf(1.1) popularity": [
            typed(q, rng) for q in rng.choices(pool, weights, k=customers)
        ],
    }
    print("| debounce | searches per question typed |")
    print("|---|---|")
    for debounce in (200, 250, 300, 400):
        sent = sum(len(typed(q, random.Random(16), debounce)) for q in pool)
        print(f"| {debounce} ms | {sent / len(pool):.1f} |")
    print()
    print("| trace | searches sent | per question | embedding cache hits | on Enter only |")
    print("|---|---|---|---|---|")
    for name, typings in traces.items():
        everything = QueryCache(FakeEmbeddings(), size=2048)
        enter = QueryCache(FakeEmbeddings(), size=2048)
        sent = 0
        for texts in typings:
            for text in texts:
                everything(text)
                sent += 1
            enter(texts[-1])
        print(
            f"| {name} | {sent} | {sent / len(typings):.1f} "
            f"| {everything.hits / sent:.1%} | {enter.hits / len(typings):.1%} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--fractions", default="0.4,0.6,0.8,1.0")
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    hit_rates(args.customers)
    if args.data_dir:
        quality(args.data_dir, [float(f) for f in args.fractions.split(",")])


if __name__ == "__main__":
    main()
