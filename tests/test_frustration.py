"""The frustration set, the explicit cues and the classifier (fake embedder, then the real one)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from helpdesk.embeddings import FakeEmbeddings, USEEmbeddings
from helpdesk.frustration import (
    LABELS,
    OPERATING_POINT,
    FrustrationClassifier,
    boosted,
    evaluate,
    external_calm_queries,
    external_half,
    false_positives,
    load_dataset,
    message_cues,
)

SHARED = Path(
    os.environ.get("HELPDESK_SHARED_DATA", Path(__file__).parent.parent.parent / "shared" / "data")
)

# --- The labelled set ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


def test_the_set_is_large_enough_in_both_languages(dataset):
    languages = Counter(m.language for m in dataset)
    assert len(dataset) >= 600
    assert languages["en"] >= 250 and languages["ko"] >= 250
    assert set(languages) == {"en", "ko"}


def test_every_label_in_every_split_of_each_language(dataset):
    cells = Counter((m.language, m.label, m.split) for m in dataset)
    for language in ("en", "ko"):
        for label in LABELS:
            total = sum(cells[language, label, split] for split in ("train", "dev", "test"))
            assert total >= 60, (language, label)
            # Stratified, about 60/20/20.
            assert 0.5 <= cells[language, label, "train"] / total <= 0.7, (language, label)
            for split in ("dev", "test"):
                assert 0.15 <= cells[language, label, split] / total <= 0.25, (language, label)


def test_no_text_twice(dataset):
    normalised = Counter(" ".join(m.text.lower().split()) for m in dataset)
    assert [text for text, n in normalised.items() if n > 1] == []


def test_korean_messages_are_korean_and_english_ones_are_not(dataset):
    for m in dataset:
        has_hangul = any("\uac00" <= ch <= "\ud7a3" for ch in m.text)
        assert has_hangul == (m.language == "ko"), m.text


def test_a_bad_entry_is_named(tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text(
        '- {text: "fine", language: en, label: calm, split: train}\n'
        '- {text: "meh", language: en, label: bored, split: train}\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"entry 2: label 'bored'"):
        load_dataset(path)


def test_external_queries_split_by_question_group_and_by_parity():
    assert external_half("sf0000_q0") == external_half("sf0000_q7") == "dev"
    assert external_half("sf0013_q2") == "test"
    assert external_half("wq00004") == "dev"
    assert external_half("wq00009") == "test"
    with pytest.raises(ValueError):
        external_half("q12")


# --- Explicit cues -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "상담원 연결해 주세요",
        "상담원",
        "사람이랑 얘기하고 싶어요",
        "챗봇 말고 사람 바꿔 주세요",
        "담당자분과 통화하고 싶습니다",
        "진짜 사람 없어요?",
        "I want to talk to a human",
        "can I speak with a real person",
        "agent please",
        "Get me a representative now",
        "human",
        "transfer me to a supervisor",
    ],
)
def test_asking_for_a_person(text):
    assert "asked_for_person" in message_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "The agent app on my phone crashes",
        "사람이 지나갈 때만 녹화되나요?",
        "Does the camera detect a person or just motion?",
        "humanly possible?",
    ],
)
def test_mentioning_people_is_not_asking_for_one(text):
    assert "asked_for_person" not in message_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "what the fuck",
        "this is bullshit",
        "WTF is this",
        "f*** this company",
        "damn thing broke again",
        "씨발 또 안 돼",
        "ㅅㅂ 이게 뭐야",
        "존나 느리네",
        "개같은 앱",
        "아 빡치네",
        "시발 진짜",
    ],
)
def test_profanity(text):
    assert "profanity" in message_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "Press Shift and the power button",
        "I'll pass the class",
        "Hello, can you assess the damage?",
        "Scunthorpe delivery address",
        "shell script for the API",
        "이 제품의 시발점은 어디인가요",
        "존재하지 않는 계정이라고 나와요",
        "개인정보 처리방침이 궁금해요",
        "빡빡하게 조여야 하나요?",
    ],
)
def test_no_profanity_inside_other_words(text):
    assert "profanity" not in message_cues(text)


@pytest.mark.parametrize(
    "text",
    ["THIS IS THE WORST SUPPORT EVER", "FIX IT NOW", "why is my HEATING OFF AGAIN IN WINTER ok"],
)
def test_shouting(text):
    assert "shouting" in message_cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "I spoke to the CEO",
        "USB-C HDMI",
        "Does it support HDMI and USB-C?",
        "OK",
        "Lumo Cam v2 LED",
        "카메라가 안 켜져요 LED도 꺼져 있어요",
        "My thermostat shows E4",
    ],
)
def test_not_shouting(text):
    assert "shouting" not in message_cues(text)


@pytest.mark.parametrize(
    "text", ["why?!", "what??", "hello!!!", "seriously?!?!", "왜요??", "네？！"]
)
def test_punctuation(text):
    assert "punctuation" in message_cues(text)


@pytest.mark.parametrize("text", ["why?", "great!", "really? ok!", "배송은 언제 되나요?"])
def test_no_punctuation_run(text):
    assert "punctuation" not in message_cues(text)


def test_cues_are_listed_in_a_stable_order():
    assert message_cues("GET ME A HUMAN RIGHT NOW YOU SHITTY BOT?!") == (
        "asked_for_person",
        "profanity",
        "shouting",
        "punctuation",
    )
    assert message_cues("배송은 언제 되나요") == ()


def test_cues_raise_the_score_but_asking_for_a_person_does_not():
    assert boosted(0.3, ()) == pytest.approx(0.3)
    assert boosted(0.3, ("asked_for_person",)) == pytest.approx(0.3)
    assert boosted(0.3, ("profanity",)) > boosted(0.3, ("punctuation",)) > 0.3
    assert boosted(0.3, ("profanity", "shouting")) > boosted(0.3, ("profanity",))
    assert boosted(0.99, ("profanity", "shouting", "punctuation")) <= 1.0


# --- The classifier, with the fake embedder ------------------------------------------------


def test_moods_are_well_formed():
    classifier = FrustrationClassifier(FakeEmbeddings())
    moods = classifier.moods(["How do I reset the hub?", "WHAT THE FUCK?!", "상담원 연결"])
    assert len(moods) == 3
    for mood in moods:
        assert set(mood.probabilities) == set(LABELS)
        assert sum(mood.probabilities.values()) == pytest.approx(1.0)
        assert mood.label == max(mood.probabilities, key=mood.probabilities.__getitem__)
        assert 0.0 <= mood.frustration <= 1.0
    assert moods[1].cues == ("profanity", "shouting", "punctuation")
    assert moods[2].cues == ("asked_for_person",)
    assert classifier.moods([]) == []


def test_the_fitted_model_is_cached_by_dataset(tmp_path):
    cache = tmp_path / "cache"
    first = FrustrationClassifier(FakeEmbeddings(), cache_dir=cache)
    first.warm_up()
    files = list(cache.glob("frustration-*.joblib"))
    assert len(files) == 1

    again = FrustrationClassifier(FakeEmbeddings(), cache_dir=cache)
    assert again.mood("hello there") == first.mood("hello there")

    smaller = tmp_path / "smaller.yaml"
    entries = [line for line in _dataset_lines() if "split: train" in line][::2]
    smaller.write_text("\n".join(entries) + "\n", encoding="utf-8")
    FrustrationClassifier(FakeEmbeddings(), cache_dir=cache, dataset=smaller).warm_up()
    assert len(list(cache.glob("frustration-*.joblib"))) == 2


def _dataset_lines() -> list[str]:
    from helpdesk.frustration import default_dataset

    return default_dataset().read_text(encoding="utf-8").splitlines()


def test_evaluate_counts_per_language():
    messages = [m for m in load_dataset() if m.split == "dev"]
    scores = evaluate(FrustrationClassifier(FakeEmbeddings()), messages, OPERATING_POINT)
    assert set(scores) == {"en", "ko"}
    for language, s in scores.items():
        assert s.count == sum(m.language == language for m in messages)
        assert sum(map(sum, s.confusion)) == s.count
        assert 0.0 <= s.precision <= 1.0 and 0.0 <= s.recall <= 1.0


# --- The classifier, with the real model ---------------------------------------------------


@pytest.fixture(scope="module")
def use_classifier():
    classifier = FrustrationClassifier(USEEmbeddings())
    classifier.warm_up()
    return classifier


# Measured on the test split (docs/frustration.md): en P 0.97 R 0.97, ko P 0.97 R 0.94; a test
# split of ~35 upset messages per language moves 0.03 per message.
FLOORS = {"en": (0.90, 0.88), "ko": (0.90, 0.90)}


@pytest.mark.integration
def test_held_out_precision_and_recall_per_language(use_classifier):
    test = [m for m in load_dataset() if m.split == "test"]
    scores = evaluate(use_classifier, test, OPERATING_POINT)
    for language, (precision, recall) in FLOORS.items():
        assert scores[language].precision >= precision, scores[language]
        assert scores[language].recall >= recall, scores[language]
        assert scores[language].accuracy >= 0.7, scores[language]


UPSET_MESSAGES = [
    "벌써 세 번째 문의드리는데요 아직도 해결이 안 됐네요",
    "답변이 계속 똑같네요. 제 질문을 읽으신 건가요?",
    "일주일째 기다리고 있는데 언제 연락 주시나요",
    "아 ㅅㅂ 또 안되네",
    "I've asked this three times already and it's still broken",
    "This is useless, I've been waiting two weeks for an answer",
    "this fucking app crashed AGAIN",
]
CALM_MESSAGES = [
    "How do I change the batteries in my thermostat?",
    "배송은 보통 며칠 걸리나요?",
    "카메라가 고장났는데 수리 맡기려면 어떻게 하나요?",
    "My speaker stopped working. How do I send it in for repair?",
    "상담원 연결해 주세요",
    "Can I talk to a person about my invoice?",
]


@pytest.mark.integration
@pytest.mark.parametrize("text", UPSET_MESSAGES)
def test_upset_messages_outside_the_set_reach_the_threshold(use_classifier, text):
    assert text not in {m.text for m in load_dataset()}
    assert use_classifier.mood(text).frustration >= OPERATING_POINT


@pytest.mark.integration
@pytest.mark.parametrize("text", CALM_MESSAGES)
def test_calm_messages_outside_the_set_stay_below_it(use_classifier, text):
    assert text not in {m.text for m in load_dataset()}
    assert use_classifier.mood(text).frustration < OPERATING_POINT


# Real calm questions from outside the set (scripts/eval_frustration.py's external calm check),
# the test half: measured 13/619 (2.1%) in English, 10/1409 (0.7%) in Korean (docs/frustration.md).
# Before the calm messages of the set's last section were written: 7.1% and 2.1%.
EXTERNAL_FP_FLOORS = {"en": 0.03, "ko": 0.015}


@pytest.mark.integration
@pytest.mark.parametrize("language", sorted(EXTERNAL_FP_FLOORS))
def test_real_calm_questions_are_rarely_flagged(use_classifier, language):
    queries = external_calm_queries(SHARED)
    if language not in queries:
        pytest.skip(f"the external calm queries for {language} are not under {SHARED}")
    calm = queries[language]["test"]
    flagged = false_positives(use_classifier, calm, OPERATING_POINT)
    assert len(flagged) / len(calm) < EXTERNAL_FP_FLOORS[language], flagged[:10]
