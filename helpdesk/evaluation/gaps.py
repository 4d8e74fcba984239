"""How well the content-gap report's clustering groups questions by topic, on a labelled set.

The set (tests/data/gaps.yaml) lists topics, each with English and Korean paraphrases of one
question and a split: dev topics choose the distance threshold, test topics measure it. The
figures are scikit-learn's adjusted Rand index and purity (the share of questions whose cluster's
most common topic is their own) of :func:`helpdesk.insights.gaps.cluster`'s labels against the
topics, and how many topics end in one cluster with both languages together.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..embeddings import Embedder
from ..insights.gaps import DISTANCE_THRESHOLD, cluster


@dataclass(frozen=True)
class Labelled:
    """One question of the labelled set."""

    text: str
    language: str
    topic: str
    covered: bool
    split: str


@dataclass(frozen=True)
class ClusteringScores:
    questions: int
    topics: int
    clusters: int
    adjusted_rand: float
    purity: float
    whole_topics: int  # topics whose questions, both languages, all landed in one cluster
    bilingual_topics: int  # topics whose largest cluster holds both English and Korean


def load_labelled(path: Path) -> list[Labelled]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Labelled(str(text), language, str(topic["id"]), bool(topic["covered"]), str(topic["split"]))
        for topic in data["topics"]
        for language in ("en", "ko")
        for text in topic.get(language, ())
    ]


def embed(questions: Sequence[Labelled], embedder: Embedder) -> np.ndarray[Any, Any]:
    return np.asarray(embedder.embed_documents([q.text for q in questions]), dtype=np.float64)


def score(
    questions: Sequence[Labelled],
    vectors: np.ndarray[Any, Any],
    distance_threshold: float = DISTANCE_THRESHOLD,
) -> ClusteringScores:
    """The clustering of ``vectors`` at ``distance_threshold`` against the questions' topics."""
    from sklearn.metrics import adjusted_rand_score

    labels = cluster(vectors, distance_threshold)
    topics = [q.topic for q in questions]
    members: dict[int, list[str]] = defaultdict(list)
    for topic, label in zip(topics, labels, strict=True):
        members[label].append(topic)
    right = sum(Counter(group).most_common(1)[0][1] for group in members.values())
    clusters_of: dict[str, set[int]] = defaultdict(set)
    languages: dict[tuple[str, int], set[str]] = defaultdict(set)
    for question, label in zip(questions, labels, strict=True):
        clusters_of[question.topic].add(label)
        languages[question.topic, label].add(question.language)
    largest = {
        topic: Counter(
            label for t, label in zip(topics, labels, strict=True) if t == topic
        ).most_common(1)[0][0]
        for topic in clusters_of
    }
    return ClusteringScores(
        questions=len(questions),
        topics=len(clusters_of),
        clusters=len(members),
        adjusted_rand=round(float(adjusted_rand_score(topics, labels)), 3),
        purity=round(right / len(questions), 3),
        whole_topics=sum(1 for found in clusters_of.values() if len(found) == 1),
        bilingual_topics=sum(1 for t, label in largest.items() if len(languages[t, label]) > 1),
    )
