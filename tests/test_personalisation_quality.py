"""Personalisation on the sample knowledge base with the default embedding models and real
Chroma on disk: the Premium-only and Plus/Premium pages reach only their plans, on the dense and
the lexical path alike, and the customer's product comes first where several products answer.

Uses the shared test index (tests/servers.py's DATA_DIR): ingest is incremental, so seconds
when the knowledge base has not changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers import DATA_DIR, EMBEDDING_CACHE, KNOWLEDGE_BASE

from helpdesk.config import Settings
from helpdesk.index.ingest import ingest
from helpdesk.service import Helpdesk
from helpdesk.types import Passage, Query

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PREMIUM = {"manuals/en/premium-support.md", "manuals/ko/premium-support.md"}
SMART_ALERTS = {"manuals/en/smart-alerts.md", "manuals/ko/smart-alerts.md"}


@pytest.fixture(scope="module")
def settings() -> Settings:
    settings = Settings.from_env(
        source_dir=KNOWLEDGE_BASE,
        data_dir=DATA_DIR,
        embedding_cache_dir=str(EMBEDDING_CACHE),
        llm="extractive",
    )
    ingest(settings)
    return settings


@pytest.fixture(scope="module")
def helpdesk(settings: Settings) -> Helpdesk:
    return Helpdesk(settings)


RANKERS = {"dense": {"lexical_weight": 0.0}, "lexical": {"dense_weight": 0.0}, "hybrid": {}}


@pytest.fixture(scope="module", params=list(RANKERS))
def ranked(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Helpdesk]:
    yield Helpdesk(settings.replace(**RANKERS[request.param]))


def retrieve(helpdesk: Helpdesk, question: str, k: int = 10, **context: object) -> list[Passage]:
    return helpdesk.retriever().retrieve(Query(question, k=k, **context))  # type: ignore[arg-type]


def sources(passages: list[Passage]) -> set[str]:
    return {p.chunk.source for p in passages}


# -- plan-limited documents ---------------------------------------------------------------------

PREMIUM_QUESTIONS = [
    "What is the Premium priority support phone number and how do I request a callback?",
    "프리미엄 우선 상담 전화번호와 콜백 예약 방법을 알려 주세요",
]
SMART_QUESTIONS = [
    "How do I set up package alerts and ignore parked vehicles on smart alerts?",
    "스마트 알림에서 택배 알림과 주차된 차량 무시는 어떻게 설정하나요?",
]


@pytest.mark.parametrize("question", PREMIUM_QUESTIONS)
@pytest.mark.parametrize(
    ("context", "reaches"),
    [
        ({}, False),
        ({"plan": "basic"}, False),
        ({"plan": "plus"}, False),
        ({"plan": "premium"}, True),
        ({"plan": "PREMIUM"}, True),
        ({"reader": "agent"}, True),
        ({"reader": "agent", "plan": "plus"}, False),
    ],
)
def test_the_premium_page_reaches_only_premium(
    ranked: Helpdesk, question: str, context: dict[str, object], reaches: bool
) -> None:
    found = sources(retrieve(ranked, question, k=50, **context))
    assert found  # the page is missing, not the answer
    if reaches:
        assert found & PREMIUM
        top = retrieve(ranked, question, k=3, **context)
        assert sources(top) & PREMIUM, "its own plan finds it near the top"
    else:
        assert not found & PREMIUM


@pytest.mark.parametrize("question", SMART_QUESTIONS)
@pytest.mark.parametrize(
    ("plan", "reaches"), [(None, False), ("basic", False), ("plus", True), ("premium", True)]
)
def test_the_plus_and_premium_page_reaches_both_plans(
    ranked: Helpdesk, question: str, plan: str | None, reaches: bool
) -> None:
    found = sources(retrieve(ranked, question, k=50, plan=plan))
    assert bool(found & SMART_ALERTS) is reaches


def test_the_public_answer_never_cites_the_premium_page(helpdesk: Helpdesk) -> None:
    for question in PREMIUM_QUESTIONS:
        answer = helpdesk.ask(Query(question))
        assert not {c.source for c in answer.citations} & PREMIUM
        assert "1-800-555-0177" not in answer.text and "1670-4899" not in answer.text
        premium = helpdesk.ask(Query(question, plan="premium"))
        assert {c.source for c in premium.citations} & PREMIUM


# -- the customer's product first ---------------------------------------------------------------

# Questions that every device's manual answers, in both languages.
SHARED_QUESTIONS = ["What do the light colours mean?", "와이파이 연결이 안 돼요"]
PRODUCTS = ["aura-speaker", "lumo-cam", "nimbus-hub"]


@pytest.mark.parametrize("question", SHARED_QUESTIONS)
def test_the_customers_product_ranks_first(helpdesk: Helpdesk, question: str) -> None:
    plain = retrieve(helpdesk, question, k=5)
    assert {p.chunk.product for p in plain} >= set(PRODUCTS)  # all three answer it
    for product in PRODUCTS:
        passages = retrieve(helpdesk, question, k=5, customer_product=product)
        assert passages[0].chunk.product == product, (product, passages[0].chunk.source)
    # Without context one product comes first, so the others above moved.
    assert len({p.chunk.product for p in plain[:1]}) == 1


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("How do I factory reset the Aura Speaker?", "aura-speaker"),
        ("How do I add a device to the Nimbus Hub?", "nimbus-hub"),
        ("아우라 스피커 초기화 방법", "aura-speaker"),
        ("루모 캠 배터리 충전은 어떻게 하나요?", "lumo-cam"),
    ],
)
def test_a_question_about_another_product_is_not_hijacked(
    helpdesk: Helpdesk, question: str, named: str
) -> None:
    for product in PRODUCTS:
        passages = retrieve(helpdesk, question, k=5, customer_product=product)
        assert passages[0].chunk.product == named, (product, passages[0].chunk.source)


@pytest.mark.parametrize(
    "question",
    ["How do I return a product?", "How long does shipping take?", "반품은 어떻게 하나요?"],
)
def test_a_question_about_no_product_keeps_its_first_passage(
    helpdesk: Helpdesk, question: str
) -> None:
    plain = retrieve(helpdesk, question, k=5)
    for product in PRODUCTS:
        passages = retrieve(helpdesk, question, k=5, customer_product=product)
        assert passages[0].chunk.id == plain[0].chunk.id


def test_no_customer_context_ranks_as_before(settings: Settings, helpdesk: Helpdesk) -> None:
    off = Helpdesk(settings.replace(product_boost=0.0))
    for question in [*SHARED_QUESTIONS, "How do I return a product?"]:
        today = retrieve(helpdesk, question)
        assert retrieve(off, question, customer_product="lumo-cam") == today
        assert retrieve(helpdesk, question, customer_product=None) == today
