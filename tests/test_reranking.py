"""The cross-encoder reranker's plumbing, with a tiny cross-encoder built here from scratch.

No cross-encoder ships offline, so this model has random weights: the test checks that the
fused candidates are re-ordered by exactly the model's scores, not that the order is good.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.config import Settings
from helpdesk.index.ingest import ingest
from helpdesk.reranking import CrossEncoderReranker
from helpdesk.service import Helpdesk
from helpdesk.types import Query

WORDS = ["speaker", "camera", "hub", "reset", "wifi", "password", "refund", "warranty", "light"]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    config = BertConfig(
        vocab_size=5 + len(WORDS),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_reranker_orders_by_the_models_scores(tmp_path: Path, cross_encoder: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    for index, word in enumerate(WORDS):
        body = f"{word} " * 5 + " ".join(WORDS[: index + 1])
        (kb / f"doc{index:02d}.md").write_text(f"---\ntitle: {word}\n---\n{body}\n", "utf-8")
    settings = Settings(
        source_dir=kb,
        data_dir=tmp_path / "data",
        embedding="fake",
        reranker=str(cross_encoder),
        rerank_candidates=8,
    )
    ingest(settings)
    helpdesk = Helpdesk(settings)
    passages = helpdesk.retriever().retrieve(Query("reset the speaker button", k=3))

    assert len(passages) == 3
    assert all(p.rerank_score is not None for p in passages)
    # Independently: fuse without the reranker, score the same 8 candidates, sort.
    plain = Helpdesk(settings.replace(reranker=""))
    candidates = plain.retriever().retrieve(Query("reset the speaker button", k=8))
    scores = CrossEncoderReranker(str(cross_encoder)).scores("reset the speaker button", candidates)
    ranked = sorted(zip(scores, candidates, strict=True), key=lambda pair: -pair[0])
    expected = [candidate.chunk.id for _, candidate in ranked][:3]
    assert [p.chunk.id for p in passages] == expected
    assert [p.rerank_score for p in passages] == sorted(scores, reverse=True)[:3]


def test_no_reranker_by_default() -> None:
    assert Settings().reranker == ""
    assert Helpdesk(Settings(embedding="fake")).reranker is None
