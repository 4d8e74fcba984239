"""Typo tolerance: misspelt question words corrected to the knowledge base's own words.

The speller runs over hand-built chunks (real tokenizer, real term statistics); the last tests
go through the small index and the HTTP API.
"""

from __future__ import annotations

import base64

import pytest
from conftest import SECRET, build_small_index, make_passage
from flask.testing import FlaskClient

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.index.lexical import TermStats
from helpdesk.service import Helpdesk
from helpdesk.spelling import Speller, max_edits
from helpdesk.text import Tokenizer
from helpdesk.types import Query

PAGES = [
    ("The warranty covers every device for one year from delivery.", "public"),
    ("Factory reset: hold the button for twenty seconds until the light blinks.", "public"),
    # Each of these words is one edit from a word a "left alone" question below uses, so those
    # questions test their rule: without it, the word would be "corrected" into one of these.
    ("Pair your phone, then update the firmware from the app.", "public"),
    ("Managers may approve a goodwill refund for loyal customers.", "internal"),
    ("스피커 서비스 센터는 평일에 운영합니다. 수리는 지정 센터에서 합니다.", "public"),
]


@pytest.fixture(scope="module")
def speller(tokenizer: Tokenizer) -> Speller:
    chunks = [
        make_passage(text, source=f"p{i}.md", audience=audience).chunk
        for i, (text, audience) in enumerate(PAGES)
    ]
    terms = TermStats.build(chunks, [tokenizer.tokenize(c.embed_text) for c in chunks])
    return Speller(chunks, terms, tokenizer, protected=["warrantee"])


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("warrenty", "warranty"),  # a wrong vowel
        ("fatcory", "factory"),  # two letters swapped
        ("devcie", "device"),
        ("Delivary", "Delivery"),  # the capital is kept
        ("twentyy", "twenty"),  # a doubled letter
    ],
)
def test_misspelt_words_become_the_knowledge_base_words(
    speller: Speller, typed: str, meant: str
) -> None:
    assert speller.correct(f"How long is the {typed}?").text == f"How long is the {meant}?"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("셔비스 센터는 언제 여나요?", "서비스 센터는 언제 여나요?"),  # one vowel (jamo) off
        ("스피커 서비스 셴터는", "스피커 서비스 센터는"),
    ],
)
def test_misspelt_korean_words_become_the_knowledge_base_words(
    speller: Speller, typed: str, meant: str
) -> None:
    assert speller.correct(typed).text == meant


@pytest.mark.parametrize(
    "question",
    [
        "Does the warranty cover water damage?",  # every word known or a stop word
        "Where do firmwares come from?",  # another form of a known word ("firmware")
        "Does it work with my iphone?",  # a common English word ("phone" is one edit away)
        "Can I reset the ligt?",  # four letters: too short to guess
        "Is a warrantee the same thing?",  # a glossary word
        "재정 지원을 받을 수 있나요?",  # a real word Kiwi knows, one jamo from the pages' "지정"
    ],
)
def test_known_common_short_and_glossary_words_are_left_alone(
    speller: Speller, question: str
) -> None:
    correction = speller.correct(question)
    assert correction.changes == ()
    assert correction.text == question


def test_public_questions_are_never_corrected_to_internal_words(speller: Speller) -> None:
    assert speller.correct("approev a refund").changes == ()  # "approve" is internal-only
    internal = speller.correct("approev a refund", reader="agent")
    assert internal.text == "approve a refund"
    assert internal.changes == (("approev", "approve"),)


def test_longer_words_may_be_two_edits_away() -> None:
    assert [max_edits(w) for w in ("abcd", "abcde", "abcdefgh", "abcdefghi")] == [0, 1, 1, 2]
    assert [max_edits(w) for w in ("센", "센터", "서비스센터는")] == [0, 1, 1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("spelling"))


def test_a_misspelt_search_finds_what_the_well_spelt_one_finds(built: Settings) -> None:
    helpdesk = Helpdesk(built)
    clean = helpdesk.search(Query("How do I connect the speaker to Wi-Fi?", k=3))
    typo = helpdesk.search(Query("How do I conect the speakr to Wi-Fi?", k=3))
    assert [h.passage.chunk.id for h in typo.hits] == [h.passage.chunk.id for h in clean.hits]
    assert typo.correction.changes == (("conect", "connect"), ("speakr", "speaker"))
    assert clean.correction.changes == ()
    off = Helpdesk(built.replace(typo_tolerance=False))
    assert off.search(Query("conect the speakr", k=3)).correction.changes == ()


def test_the_search_api_says_what_it_searched_for(built: Settings) -> None:
    settings = built.replace(agent_keys="agent-key")
    client: FlaskClient = create_app(settings, Helpdesk(settings)).test_client()
    body = client.get("/api/search?q=conect+the+speakr").get_json()
    assert body["query"] == "conect the speakr"
    assert body["corrected_query"] == "connect the speaker"
    assert client.get("/api/search?q=connect+the+speaker").get_json()["corrected_query"] is None
    # The internal document's secret word is not offered as a correction to the public.
    assert SECRET not in str(client.get(f"/api/search?q={SECRET[:-1]}").get_json())
    token = base64.b64encode(b"agent:agent-key").decode()
    agent = client.get(
        "/api/agent/search?q=conect+the+speakr", headers={"Authorization": f"Basic {token}"}
    ).get_json()
    assert agent["corrected_query"] == "connect the speaker"
