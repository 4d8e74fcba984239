"""The lexical side: Korean morphemes without particles, stemmed English, masked BM25."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpdesk.index.lexical import LexicalIndex, TermStats
from helpdesk.text import Tokenizer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("스피커를", ["스피커"]),
        ("스피커가", ["스피커"]),
        ("루모 캠의 배터리가", ["루모", "캠", "배터리"]),
        ("환불은 구매 후 14일 이내에", ["환불", "구매", "후", "14", "이내"]),
    ],
)
def test_korean_particles_are_dropped(tokenizer: Tokenizer, text: str, expected: list[str]) -> None:
    assert tokenizer.tokenize(text) == expected


def test_korean_question_keeps_its_content_words(tokenizer: Tokenizer) -> None:
    terms = tokenizer.tokenize("스피커를 와이파이에 연결하려면 어떻게 하나요?")
    assert {"스피커", "와이파이", "연결"} <= set(terms)
    assert not {"를", "에", "요", "?"} & set(terms)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connecting", ["connect"]),
        ("connected", ["connect"]),
        ("Speakers", ["speaker"]),
        ("The speaker is charging", ["speaker", "charg"]),
    ],
)
def test_english_is_lower_cased_stemmed_and_stop_words_dropped(
    tokenizer: Tokenizer, text: str, expected: list[str]
) -> None:
    assert tokenizer.tokenize(text) == expected


def test_latin_words_in_korean_text_share_tokens_with_english(tokenizer: Tokenizer) -> None:
    korean = tokenizer.tokenize("Wi-Fi 연결")
    english = tokenizer.tokenize("wi-fi connection")
    assert {"wi", "fi"} <= set(korean) & set(english)
    assert "연결" in korean


def test_tokenize_many_matches_tokenize(tokenizer: Tokenizer) -> None:
    texts = ["스피커를 연결", "connecting speakers", "", "Wi-Fi 연결", "the"]
    assert tokenizer.tokenize_many(texts) == [tokenizer.tokenize(t) for t in texts]


DOCS = [
    "reset the speaker by holding the button",
    "charge the camera battery overnight",
    "speaker volume and speaker light ring",
    "refund within thirty days",
]


@pytest.fixture
def index(tokenizer: Tokenizer) -> LexicalIndex:
    return LexicalIndex.build(tokenizer.tokenize_many(DOCS))


def test_search_ranks_by_bm25_and_returns_only_positive_scores(
    index: LexicalIndex, tokenizer: Tokenizer
) -> None:
    results = index.search(tokenizer.tokenize("speaker"), k=10)
    assert [row for row, _ in results] == [2, 0]  # "speaker" twice beats once; others score 0
    assert all(score > 0 for _, score in results)
    assert results[0][1] > results[1][1]


def test_search_respects_the_mask(index: LexicalIndex, tokenizer: Tokenizer) -> None:
    terms = tokenizer.tokenize("speaker")
    mask = np.array([True, True, False, True])
    assert [row for row, _ in index.search(terms, k=10, mask=mask)] == [0]
    assert index.search(terms, k=10, mask=np.array([False, True, True, True]))[0][0] == 2
    assert index.search(terms, k=10, mask=np.zeros(4, dtype=bool)) == []


def test_search_limits_to_k(index: LexicalIndex, tokenizer: Tokenizer) -> None:
    assert len(index.search(tokenizer.tokenize("speaker"), k=1)) == 1


def test_search_with_no_matching_or_no_terms_is_empty(
    index: LexicalIndex, tokenizer: Tokenizer
) -> None:
    assert index.search(tokenizer.tokenize("thermostat"), k=5) == []
    assert index.search([], k=5) == []


def test_an_empty_document_keeps_the_rows_aligned(tokenizer: Tokenizer) -> None:
    index = LexicalIndex.build(tokenizer.tokenize_many(["", "the", "camera battery"]))
    assert index.size == 3
    assert [row for row, _ in index.search(tokenizer.tokenize("battery"), k=5)] == [2]


def test_korean_search(tokenizer: Tokenizer) -> None:
    docs = ["스피커를 와이파이에 연결하세요", "카메라 배터리를 충전하세요", "환불은 30일 이내"]
    index = LexicalIndex.build(tokenizer.tokenize_many(docs))
    results = index.search(tokenizer.tokenize("스피커 연결은 어떻게 하나요?"), k=5)
    assert results[0][0] == 0
    assert all(score > 0 for _, score in results)


def test_save_and_load_round_trip(
    index: LexicalIndex, tokenizer: Tokenizer, tmp_path: Path
) -> None:
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25", len(DOCS))
    terms = tokenizer.tokenize("camera battery")
    assert loaded.search(terms, k=3) == index.search(terms, k=3)
    assert loaded.search(terms, k=3)[0][0] == 1


@pytest.mark.parametrize(
    "text",
    [
        "refund policy",
        "Aura Speaker Wi-Fi 2.4 GHz",
        "환불 정책 기간",
        "비밀번호 재설정 방법",
        "E-104",
    ],
)
def test_a_list_of_keywords_has_no_sentence_words(tokenizer: Tokenizer, text: str) -> None:
    assert tokenizer.sentence_share(text) == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "how do I reset my speaker",
        "can i send it back if i dont like it",
        "비밀번호를 어떻게 재설정하나요?",
        "스피커 빨간불 깜빡이고 연결이 안돼요",
    ],
)
def test_a_question_written_as_a_sentence_is_mostly_sentence_words(
    tokenizer: Tokenizer, text: str
) -> None:
    assert tokenizer.sentence_share(text) >= 0.4


def test_sentence_share_of_nothing_is_zero(tokenizer: Tokenizer) -> None:
    assert tokenizer.sentence_share("") == 0.0
    assert tokenizer.sentence_share("?!") == 0.0


def test_share_held_weighs_each_distinct_term_by_its_rarity() -> None:
    stats = TermStats({"public": 9, "all": 9}, {"public": {"speaker": 8}, "all": {"speaker": 8}})
    rare = stats.idf("reset")  # in no chunk
    common = stats.idf("speaker")
    assert rare > common
    share = stats.share_held(["reset", "speaker", "speaker"], {"reset"}, "public")
    assert share == pytest.approx(rare / (rare + common))
    assert stats.share_held(["reset"], set(), "public") == 0.0
    assert stats.share_held([], {"reset"}, "public") == 0.0


def test_term_set_is_the_distinct_terms(tokenizer: Tokenizer) -> None:
    assert tokenizer.term_set("Reset the speaker, reset it") == frozenset({"reset", "speaker"})
