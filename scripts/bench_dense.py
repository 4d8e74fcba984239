"""Exact dense search in numpy against Chroma's HNSW: latency and recall, at several index sizes.

    python scripts/bench_dense.py [--sizes 1000,10000] [--queries 200] [--dim 384]
                                  [--seed-generation DATA_DIR/generations/g-...]
                                  [--chroma-server HOST:PORT] [--json out.json]

For each size it builds a corpus of unit vectors, one Chroma collection in a temporary
PersistentClient folder (``hnsw:space=cosine``, Chroma's default HNSW parameters, as ingest
writes them) and, with ``--chroma-server``, the same collection on a running Chroma server.
Then it asks the same queries of each:

- exact: :meth:`Snapshot.exact_dense`'s computation (a matrix-vector product over the vectors,
  the audience mask, a partial sort), as the server runs it for an index up to
  ``HELPDESK_EXACT_SEARCH_CHUNKS``;
- embedded / server: ``collection.query`` with the same ``where`` and the documents and
  metadata included, as LangChain's Chroma (the Snapshot's HNSW path) asks.

It prints p50/p95 latency in milliseconds and recall@10 of HNSW against the exact top 10, with
and without the audience filter (one chunk in ten internal, public readers filter it out).

The corpus: ``--seed-generation`` takes a real generation's first model's vectors and spreads
each into nearby points (the base plus Gaussian noise, renormalised); without it, clusters of
random directions. Queries are corpus points plus noise, like a question near its passage.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk.index.store import chroma_where, close_client


def corpus(size: int, dim: int, seed: Path | None, rng: np.random.Generator) -> np.ndarray:
    if seed is not None:
        base = np.load(sorted(seed.glob("vectors-*.npy"))[0]).astype(np.float32)
    else:
        base = rng.normal(size=(max(size // 20, 1), dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    picks = base[rng.integers(0, len(base), size)]
    spread = 0.6 / np.sqrt(base.shape[1])
    points = picks + rng.normal(scale=spread, size=picks.shape).astype(np.float32)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def exact(
    vectors: np.ndarray, norms: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None
) -> list[int]:
    """The same computation as Snapshot.exact_dense."""
    scores = np.einsum("ij,j->i", vectors, query) / (norms * (float(np.linalg.norm(query)) or 1.0))
    rows = np.flatnonzero(mask) if mask is not None else np.arange(len(vectors))
    allowed = scores[rows]
    take = min(k, len(rows))
    kth = np.partition(allowed, len(rows) - take)[len(rows) - take]
    tied = np.flatnonzero(allowed >= kth)
    order = tied[np.lexsort((rows[tied], -allowed[tied]))][:take]
    return [int(rows[i]) for i in order]


def timed(run: Callable[[np.ndarray], list[int]], queries: np.ndarray) -> tuple[list[float], list]:
    for q in queries[:5]:
        run(q)  # warm up
    times, results = [], []
    for q in queries:
        started = time.perf_counter()
        results.append(run(q))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / sum(len(t) for t in truth)


def fill(client: Any, name: str, vectors: np.ndarray, audience: list[str]) -> Any:
    collection = client.create_collection(
        name, metadata={"hnsw:space": "cosine"}, embedding_function=None
    )
    for start in range(0, len(vectors), 1000):
        end = min(start + 1000, len(vectors))
        collection.add(
            ids=[str(i) for i in range(start, end)],
            embeddings=vectors[start:end],
            documents=[f"chunk {i}" for i in range(start, end)],
            metadatas=[{"audience": audience[i]} for i in range(start, end)],
        )
    return collection


def chroma_search(collection: Any, k: int, where: dict[str, Any] | None) -> Callable:
    def run(query: np.ndarray) -> list[int]:
        hits = collection.query(
            query_embeddings=[query],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [int(i) for i in hits["ids"][0]]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed-generation", type=Path)
    parser.add_argument("--chroma-server", help="HOST:PORT of a running Chroma server")
    parser.add_argument("--exact-sizes", default="", help="sizes timed for exact search only")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    rng = np.random.default_rng(7)
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        vectors = corpus(size, args.dim, args.seed_generation, rng)
        norms = np.linalg.norm(vectors, axis=1)
        audience = ["internal" if i % 10 == 0 else "public" for i in range(size)]
        public = np.array([a == "public" for a in audience])
        picks = vectors[rng.integers(0, size, args.queries)]
        queries = picks + rng.normal(scale=0.8 / np.sqrt(vectors.shape[1]), size=picks.shape)
        queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
        where = chroma_where({"audience": ("public",)})
        stores: dict[str, Any] = {}
        clients = []
        folder = tempfile.TemporaryDirectory(prefix="bench-dense-")
        embedded = chromadb.PersistentClient(
            path=folder.name, settings=ChromaSettings(anonymized_telemetry=False)
        )
        clients.append(embedded)
        started = time.perf_counter()
        stores["embedded"] = fill(embedded, "bench", vectors, audience)
        build = {"embedded": time.perf_counter() - started}
        if args.chroma_server:
            host, _, port = args.chroma_server.rpartition(":")
            server = chromadb.HttpClient(host=host, port=int(port))
            clients.append(server)
            name = f"bench-{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            stores["server"] = fill(server, name, vectors, audience)
            build["server"] = time.perf_counter() - started
        for filtered in (False, True):
            mask = public if filtered else None
            truth_times, truth = timed(
                lambda q, v=vectors, n=norms, m=mask: exact(v, n, q, args.k, m), queries
            )
            row: dict[str, Any] = {
                "chunks": size,
                "dim": int(vectors.shape[1]),
                "filter": "public" if filtered else "none",
                "exact_p50_ms": percentile(truth_times, 50),
                "exact_p95_ms": percentile(truth_times, 95),
            }
            for label, collection in stores.items():
                times, found = timed(
                    chroma_search(collection, args.k, where if filtered else None), queries
                )
                row[f"{label}_p50_ms"] = percentile(times, 50)
                row[f"{label}_p95_ms"] = percentile(times, 95)
                row[f"{label}_recall@{args.k}"] = recall(found, truth)
                row[f"{label}_build_s"] = build[label]
            rows.append(row)
            print(
                json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
            )
        if args.chroma_server:
            clients[1].delete_collection(name)
        for client in clients:
            close_client(client)
        folder.cleanup()

    for size in (int(s) for s in args.exact_sizes.split(",") if s):
        vectors = corpus(size, args.dim, args.seed_generation, rng)
        norms = np.linalg.norm(vectors, axis=1)
        public = np.array([i % 10 != 0 for i in range(size)])
        queries = vectors[rng.integers(0, size, args.queries)]
        for mask in (None, public):
            times, _ = timed(
                lambda q, v=vectors, n=norms, m=mask: exact(v, n, q, args.k, m), queries
            )
            row = {
                "chunks": size,
                "dim": int(vectors.shape[1]),
                "filter": "none" if mask is None else "public",
                "exact_p50_ms": percentile(times, 50),
                "exact_p95_ms": percentile(times, 95),
            }
            rows.append(row)
            print(json.dumps(row))

    print()
    labels = ["exact", "embedded"] + (["server"] if args.chroma_server else [])
    header = "| chunks | filter | " + " | ".join(f"{x} p50 / p95 ms" for x in labels)
    header += " | " + " | ".join(f"{x} recall@{args.k}" for x in labels[1:]) + " |"
    print(header)
    print("|" + "---|" * (2 + len(labels) + len(labels) - 1))
    for row in rows:
        if "embedded_p50_ms" not in row:
            print(
                f"| {row['chunks']} | {row['filter']} | {row['exact_p50_ms']:.2f} / "
                f"{row['exact_p95_ms']:.2f} | (not built) |"
            )
            continue
        cells = [f"{row[f'{x}_p50_ms']:.2f} / {row[f'{x}_p95_ms']:.2f}" for x in labels]
        cells += [f"{row[f'{x}_recall@{args.k}']:.3f}" for x in labels[1:]]
        print(f"| {row['chunks']} | {row['filter']} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(f"\n{statistics.mean(r['exact_p50_ms'] for r in rows):.2f} ms mean exact p50")


if __name__ == "__main__":
    main()
