"""Which answer the customer gets: search grouped by article, the translation of the best
passage, the FAQ's own words over a lossy retelling, and a calibrated confidence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from conftest import make_passage

from helpdesk.answering.calibration import (
    FEATURES,
    AnswerCalibration,
    calibration_for,
    features,
)
from helpdesk.config import Settings
from helpdesk.index.ingest import ingest
from helpdesk.service import Helpdesk, _prefer_faq
from helpdesk.types import Answer, Citation, Query

GUIDE = """---
title: Refund guide
url: https://help.example/refunds
---
# Refund guide

## Refund timing
We issue the refund within 3 business days of receiving the return.

## Refund method
The refund goes back to the card you paid with. Refund questions go to billing.

## Refund fees
A refund for a change of mind keeps back a 7.95 return label fee.
"""
OTHER = """---
title: Shipping
url: https://help.example/shipping
---
# Shipping

Orders leave the warehouse within two days. A refund for a lost parcel is automatic.
"""


def test_search_lists_an_article_once_with_its_other_sections(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "refunds.md").write_text(GUIDE, "utf-8")
    (kb / "shipping.md").write_text(OTHER, "utf-8")
    settings = Settings(
        source_dir=kb, data_dir=tmp_path / "data", embedding="fake", llm="extractive",
        dense_weight=0.0, chunk_size=120, chunk_overlap=0,
    )  # fmt: skip
    ingest(settings)
    hits = Helpdesk(settings).search(Query("refund", k=5)).hits
    sources = [hit.passage.chunk.source for hit in hits]
    assert sorted(sources) == ["refunds.md", "shipping.md"]  # each article once
    guide = hits[sources.index("refunds.md")]
    assert 1 <= len(guide.sections) <= 2
    assert all(s.passage.chunk.source == "refunds.md" for s in guide.sections)
    assert guide.passage.chunk.id not in {s.passage.chunk.id for s in guide.sections}


def _answer(text: str, chunk_id: str, passages: tuple = (), **extra: object) -> Answer:
    citation = Citation(id=1, chunk_id=chunk_id, title="FAQ", url="", snippet="", source="faq.yaml",
                        language="en")  # fmt: skip
    return Answer(text=text, citations=(citation,), grounded=True, confidence=0.8, language="en",
                  passages=passages, **extra)  # type: ignore[arg-type]  # fmt: skip


def test_the_faq_answer_replaces_a_retelling_that_dropped_a_number() -> None:
    faq = make_passage("Q\nA", source="faq.yaml")
    faq = replace(faq, chunk=replace(faq.chunk, kind="faq",
                                     answer="Returns cost 7.95 within 30 days."))  # fmt: skip
    draft = _answer("Returns cost 7.95 within 30 days. [1]", faq.chunk.id, (faq,))
    lossy = _answer("Returns cost a fee. [1]", faq.chunk.id, generated_by="llamacpp")
    kept = _prefer_faq(draft, lossy)
    assert kept.text == draft.text and kept.fallback_reason
    faithful = _answer("Within 30 days, returns cost 7.95. [1]", faq.chunk.id,
                       generated_by="llamacpp")  # fmt: skip
    assert _prefer_faq(draft, faithful) is faithful
    elsewhere = _answer("Returns cost a fee. [1]", "another-chunk", generated_by="llamacpp")
    assert _prefer_faq(draft, elsewhere) is elsewhere


def test_calibrated_confidence_rises_with_the_evidence() -> None:
    first = make_passage("a", score=6.0, dense_scores=(0.9, 0.7))
    second = make_passage("b", source="other.md", score=3.0, dense_scores=(0.85, 0.5))
    x = features(0.9, [first, second], 0)
    assert len(x) == len(FEATURES)
    assert x[1] == 0.5  # margin: (6 - 3) / 6
    calibration = AnswerCalibration(("m",), (1.0, 1.0, 0, 0, 0, 0, 1.0, 0), -1.5)
    low = calibration.probability(0.3, [first, second], 0)
    high = calibration.probability(0.99, [first, second], 0)
    assert 0 < low < high < 1


def test_the_shipped_calibration_applies_only_to_its_own_models() -> None:
    shipped = AnswerCalibration.load()
    assert shipped is not None and len(shipped.coefficients) == len(FEATURES)
    assert calibration_for(shipped.models) == shipped
    assert calibration_for(("fake",)) is None


class _Snapshot:
    """The parts of a Snapshot that with_twin reads: chunks, their vectors and a filter mask."""

    def __init__(self, passages: list, vectors: list[list[float]]) -> None:
        import numpy as np

        self.chunks = [p.chunk for p in passages]
        self.row_of = {c.id: i for i, c in enumerate(self.chunks)}
        matrix = np.array(vectors, float)
        self.vectors = [matrix / np.linalg.norm(matrix, axis=1, keepdims=True)]

    def mask(self, filters: dict) -> object:
        import numpy as np

        return np.array(
            [c.language in filters["language"] and c.audience in filters["audience"]
             for c in self.chunks]
        )  # fmt: skip


def test_the_best_passage_translation_is_put_second() -> None:
    from helpdesk.retrieval import with_twin

    english = make_passage("Hold it for 15 seconds.", source="faq/en.yaml", score=5.0)
    korean = make_passage("15초간 누르세요.", source="faq/ko.yaml", language="ko", score=1.0)
    unrelated = make_passage("배송은 이틀 걸립니다.", source="ship.md", language="ko")
    snapshot = _Snapshot([english, korean, unrelated], [[1, 0.1, 0], [0.9, 0.2, 0], [0, 0, 1]])
    twinned = with_twin(snapshot, 0, [english], "ko", "public")  # type: ignore[arg-type]
    assert [p.chunk.source for p in twinned] == ["faq/en.yaml", "faq/ko.yaml"]
    assert twinned[1].score == english.score  # as good an answer as the one it translates
    assert with_twin(snapshot, 0, [english], "en", "public") == [english]  # type: ignore[arg-type]
    other = make_passage("Other.", source="other.md", score=4.0)
    placed = with_twin(snapshot, 0, [english, other], "ko", "public", place=2)  # type: ignore[arg-type]
    assert [p.chunk.source for p in placed] == ["faq/en.yaml", "other.md", "faq/ko.yaml"]
    far = _Snapshot([english, korean, unrelated], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert with_twin(far, 0, [english], "ko", "public") == [english]  # type: ignore[arg-type]
