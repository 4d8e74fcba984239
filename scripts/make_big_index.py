"""A large index generation for benchmarks, grown from an existing one without re-embedding.

    python scripts/make_big_index.py --from-data-dir D --data-dir OUT [--copies 23] [--noise 0.02]

Copies every chunk of ``D``'s serving generation ``--copies`` times (450 sample chunks x 23 is
10,350). Copy k > 0 is a variant of the original: its title gains " (model k)", about 15% of its
body words are dropped at random, and each stored vector is the original's plus Gaussian noise
of ``--noise`` per dimension, normalised again (cosine about 0.93 to the original at 384
dimensions). So no model runs: e5 embeds only a few chunks a second here, and these are
*precomputed* embeddings, not ones a model made from the variant text. Good for timing the
query path (Chroma, BM25, fusion, snippets at 10k rows); not for measuring quality.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.index.generations import Layout, read_manifest, write_manifest  # noqa: E402
from helpdesk.index.store import (  # noqa: E402
    Topics,
    read_chunks,
    read_topic_vectors,
    read_vectors,
    validate_generation,
    write_generation,
)
from helpdesk.text import Tokenizer  # noqa: E402
from helpdesk.types import Chunk  # noqa: E402


def thinned(text: str, rng: random.Random, share: float = 0.15) -> str:
    words = text.split(" ")
    kept = [w for w in words if rng.random() >= share]
    return " ".join(kept or words)


def noisy(vector: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    out = vector + rng.normal(0.0, noise, vector.shape).astype(np.float32)
    norm = float(np.linalg.norm(out)) or 1.0
    return (out / norm).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-data-dir", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=23)
    parser.add_argument("--noise", type=float, default=0.02)
    args = parser.parse_args()

    source = Layout(args.from_data_dir).current()
    manifest = read_manifest(source)
    model_ids = list(manifest["embedding_models"])
    chunks = read_chunks(source)
    vectors = [np.asarray(m) for m in read_vectors(source, model_ids)]
    topics = Topics.load(source)
    topic_vectors = [np.asarray(m) for m in read_topic_vectors(source, model_ids)]
    rng = random.Random(16)
    nrng = np.random.default_rng(16)

    big: list[Chunk] = []
    rows: list[int] = []  # the original row of each new chunk
    for copy in range(args.copies):
        for row, chunk in enumerate(chunks):
            if copy == 0:
                big.append(chunk)
            else:
                title = f"{chunk.title} (model {copy})"
                embed_text = thinned(chunk.embed_text.replace(chunk.title, title, 1), rng)
                big.append(
                    replace(
                        chunk,
                        id=f"{chunk.id}-{copy}",
                        title=title,
                        text=thinned(chunk.text, rng),
                        embed_text=embed_text,
                        url=f"{chunk.url}-{copy}",
                    )
                )
            rows.append(row)
    matrices = []
    for matrix in vectors:
        out = np.empty((len(big), matrix.shape[1]), dtype=np.float32)
        for new, row in enumerate(rows):
            out[new] = matrix[row] if new < len(chunks) else noisy(matrix[row], nrng, args.noise)
        matrices.append(out)
    big_topics = Topics.of(big)
    topic_source: dict[int, int] = {}  # new topic -> the original chunk's topic
    for new, row in enumerate(rows):
        topic_source.setdefault(int(big_topics.rows[new]), int(topics.rows[row]))
    topic_matrices = []
    for matrix in topic_vectors:
        out = np.empty((len(big_topics.texts), matrix.shape[1]), dtype=np.float32)
        for new_topic, old_topic in topic_source.items():
            out[new_topic] = noisy(matrix[old_topic], nrng, args.noise)
        topic_matrices.append(out)

    layout = Layout(args.data_dir)
    layout.generations.mkdir(parents=True, exist_ok=True)
    folder = layout.new_generation()
    started = time.perf_counter()
    stores = list(zip(model_ids, matrices, strict=True))
    topic_stores = list(zip(model_ids, topic_matrices, strict=True))
    write_generation(folder, big, stores, Tokenizer(), big_topics, topic_stores)
    glossary = source / "glossary.json"
    if glossary.exists():
        (folder / "glossary.json").write_bytes(glossary.read_bytes())
    validate_generation(folder, big, stores, topic_stores)
    write_manifest(
        folder,
        {
            "embedding_models": model_ids,
            "source_dir": f"{manifest.get('source_dir')} x{args.copies} (make_big_index.py)",
            "chunks": len(big),
            "documents": {},
            "skipped": {},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )
    layout.switch(folder)
    print(
        f"{len(big)} chunks, {len(big_topics.texts)} topics in {folder} "
        f"({time.perf_counter() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
