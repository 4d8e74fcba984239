"""Personalisation from the customer's context: plan-limited documents reach only their plans,
and the customer's product ranks first.

Front matter to chunks to the index with the loaders and real Chroma on disk (fake embedder);
the fusion preference on hand-made scores. The same on the sample knowledge base with the real
models is in test_personalisation_quality.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SMALL_KB, write_files

from helpdesk.config import Settings
from helpdesk.documents import load_document
from helpdesk.documents.chunking import chunk_document
from helpdesk.documents.loaders import LoadError
from helpdesk.index.generations import Layout
from helpdesk.index.ingest import ingest
from helpdesk.retrieval import PRODUCT_FLOOR, Fusion
from helpdesk.service import Helpdesk
from helpdesk.types import Document, Query, Reader, normalise_plans, plan_values

# Words each found in one plan-limited document only.
PREMIUM_WORD = "QUASARLINE"
PLUS_WORD = "NEBULAZONE"

PREMIUM_MD = f"""\
---
title: Premium Priority Line
url: https://help.example/en/premium
language: en
plans: [Premium]
updated: 2026-01-14
---
# Premium Priority Line

Call the {PREMIUM_WORD} priority phone number any time, day or night, for a speaker callback.
"""

PLUS_MD = f"""\
---
title: Smart Zones
url: https://help.example/en/zones
language: en
product: lumo-cam
plans: [plus, premium]
updated: 2026-01-15
---
# Smart Zones

Draw a {PLUS_WORD} smart zone so the camera only alerts you about people near the door.
"""

PLAN_KB = {**SMALL_KB, "manuals/premium.md": PREMIUM_MD, "manuals/zones.md": PLUS_MD}


# -- plans in front matter and on chunks --------------------------------------------------------


def test_plans_are_lowercase_sorted_and_unique() -> None:
    assert normalise_plans(["Premium", "plus ", "PLUS"]) == ("plus", "premium")
    assert normalise_plans("premium") == ("premium",)
    assert normalise_plans("plus, premium") == ("plus", "premium")
    assert normalise_plans(None) == normalise_plans("") == normalise_plans([]) == ()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.md", "---\ntitle: P\nplans: [Premium, plus]\n---\n# P\n\nText.\n"),
        (
            "page.html",
            '<html><head><title>P</title><meta name="helpdesk:plans" content="plus, Premium">'
            "</head><body><article><p>Text.</p></article></body></html>",
        ),
        ("page.yaml", "title: P\nplans: [premium, plus]\nfaqs:\n  - {question: Q, answer: A}\n"),
    ],
)
def test_every_format_reads_plans(tmp_path: Path, name: str, content: str) -> None:
    write_files(tmp_path, {name: content})
    document = load_document(tmp_path / name, tmp_path)
    assert document.meta.plans == ("plus", "premium")
    assert {c.plans for c in chunk_document(document, 800, 0)} == {("plus", "premium")}


def test_plans_that_are_not_a_list_fail_to_load(tmp_path: Path) -> None:
    write_files(tmp_path, {"page.md": "---\ntitle: P\nplans: {premium: yes}\n---\nText.\n"})
    with pytest.raises(LoadError, match="plans"):
        load_document(tmp_path / "page.md", tmp_path)


def test_an_faq_entry_may_narrow_its_files_plans_but_never_widen_them(tmp_path: Path) -> None:
    faq = """\
title: F
plans: [plus, premium]
faqs:
  - {question: On the file's plans, answer: Yes}
  - {question: On Premium only, answer: Yes, plans: [premium]}
  - {question: On Basic too, answer: No, plans: [basic]}
"""
    write_files(tmp_path, {"f.yaml": faq})
    chunks = chunk_document(load_document(tmp_path / "f.yaml", tmp_path), 800, 0)
    assert [c.plans for c in chunks] == [("plus", "premium"), ("premium",), ("plus", "premium")]


def test_a_document_for_every_plan_keeps_its_chunk_ids(tmp_path: Path) -> None:
    """Adding plans to the index must not re-embed existing knowledge bases; limiting a
    document to some plans gives its chunks new ids, so incremental ingest notices it."""
    write_files(tmp_path, {"a.md": SMALL_KB["manuals/speaker.md"]})
    document = load_document(tmp_path / "a.md", tmp_path)
    ids = [c.id for c in chunk_document(document, 800, 0)]
    # The ids these chunks had before plans existed.
    assert ids == [
        "b95d714cd55a303f20f05f01e70f4e31",
        "bf52cb6f6861792b97ca7089d4861f3e",
        "95a0902c8172138a49395e1d6b55c606",
        "249efdf2e4db00c6662d98848f88c575",
    ]
    limited = Document(replace(document.meta, plans=("premium",)), document.sections)
    moved = [c.id for c in chunk_document(limited, 800, 0)]
    assert len(moved) == len(ids) and set(moved).isdisjoint(ids)


# -- who may read what --------------------------------------------------------------------------

STORED = ["", "premium", "plus|premium"]


@pytest.mark.parametrize(
    ("reader", "plan", "allowed"),
    [
        ("public", None, ("",)),
        ("public", "basic", ("",)),
        ("public", "plus", ("", "plus|premium")),
        ("public", "PREMIUM", ("", "plus|premium", "premium")),
        ("agent", None, None),  # agents help every plan
        ("agent", "basic", ("",)),  # ... or one customer
        ("agent", "premium", ("", "plus|premium", "premium")),
    ],
)
def test_plan_values(reader: Reader, plan: str | None, allowed: tuple[str, ...] | None) -> None:
    assert plan_values(reader, plan, STORED) == allowed


def test_an_index_without_plan_limited_documents_needs_no_plan_filter() -> None:
    assert plan_values("public", None, [""]) is None
    assert plan_values("public", "premium", []) is None


# -- through ingest and both rankers ------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("plans")
    settings = Settings(
        source_dir=write_files(root / "kb", PLAN_KB),
        data_dir=root / "data",
        embedding="fake",
        reload_interval=0.0,
        llm="extractive",
    )
    ingest(settings)
    return settings


RANKERS = {"dense": {"lexical_weight": 0.0}, "lexical": {"dense_weight": 0.0}, "hybrid": {}}


@pytest.fixture(params=list(RANKERS))
def ranked(request: pytest.FixtureRequest, served: Settings) -> Iterator[Helpdesk]:
    yield Helpdesk(served.replace(**RANKERS[request.param]))


def sources(helpdesk: Helpdesk, question: str, **context: object) -> set[str]:
    passages = helpdesk.retriever().retrieve(Query(question, k=50, **context))  # type: ignore[arg-type]
    return {p.chunk.source for p in passages}


QUESTION = f"{PREMIUM_WORD} {PLUS_WORD} priority phone callback smart zone speaker camera"


@pytest.mark.parametrize(
    ("context", "premium", "plus"),
    [
        ({}, False, False),  # no plan: documents for every plan only
        ({"plan": "basic"}, False, False),
        ({"plan": "plus"}, False, True),
        ({"plan": "Premium"}, True, True),  # plans match whatever their case
        ({"reader": "agent"}, True, True),  # an agent without a plan reads everything
        ({"reader": "agent", "plan": "basic"}, False, False),  # ... for a customer, theirs
    ],
)
def test_a_plan_limited_document_reaches_only_its_plans(
    ranked: Helpdesk, context: dict[str, object], premium: bool, plus: bool
) -> None:
    found = sources(ranked, QUESTION, **context)
    assert "manuals/speaker.md" in found  # documents for every plan answer everyone
    assert ("manuals/premium.md" in found) is premium
    assert ("manuals/zones.md" in found) is plus


def test_plans_are_stored_in_the_index(served: Settings) -> None:
    folder = Layout(Path(served.data_dir)).current()
    lines = (folder / "chunks.jsonl").read_text("utf-8").splitlines()
    stored = {json.loads(x)["meta"]["source"]: json.loads(x)["meta"]["plans"] for x in lines}
    assert stored["manuals/premium.md"] == "premium"
    assert stored["manuals/zones.md"] == "plus|premium"
    assert stored["manuals/speaker.md"] == ""


def test_the_plan_filter_keeps_k_results(served: Settings) -> None:
    """Filtering happens inside the query: k passages come back when k are readable."""
    helpdesk = Helpdesk(served)
    passages = helpdesk.retriever().retrieve(Query(QUESTION, k=3))
    assert len(passages) == 3
    assert all(not p.chunk.plans for p in passages)


def test_public_spelling_never_corrects_to_a_plan_limited_word(served: Settings) -> None:
    retriever = Helpdesk(served).retriever()
    typo = PREMIUM_WORD.lower()[:-1] + "r"  # one edit away
    assert retriever.correct(typo).changes == ()
    assert retriever.correct(typo, "agent").changes == ((typo, PREMIUM_WORD.lower()),)


def test_changing_a_documents_plans_is_noticed_by_the_next_ingest(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    kb = write_files(tmp_path / "kb", PLAN_KB)
    settings = settings_for(kb)
    ingest(settings)
    helpdesk = Helpdesk(settings)
    assert "manuals/premium.md" not in sources(helpdesk, QUESTION, plan="plus")
    page = kb / "manuals" / "premium.md"
    page.write_text(PREMIUM_MD.replace("[Premium]", "[premium, plus]"), "utf-8")
    report = ingest(settings)
    assert report.chunks_added and report.chunks_removed
    assert report.embedded == 0  # the text is unchanged: its vectors come from the cache
    assert "manuals/premium.md" in sources(helpdesk, QUESTION, plan="plus")


# -- the customer's product first ---------------------------------------------------------------


PRODUCTS = ["lumo-cam", "", "aura-speaker", "lumo-cam", "aura-speaker"]
SCORES = {0: 8.0, 1: 10.0, 2: 9.0, 3: 6.0, 4: 2.0}


def test_the_customers_product_is_raised_and_nothing_else() -> None:
    raised = Fusion(product_boost=0.5).prefer(SCORES, PRODUCTS, "Lumo-Cam")
    assert raised[0] == pytest.approx(12.0)  # comparable: raised by half, now first
    assert raised[3] == 6.0  # under PRODUCT_FLOOR of the best: a weaker match stays where it is
    assert 6.0 < PRODUCT_FLOOR * 10.0 <= 8.0
    assert {row: raised[row] for row in (1, 2, 4)} == {1: 10.0, 2: 9.0, 4: 2.0}


@pytest.mark.parametrize(
    ("boost", "product"), [(0.5, None), (0.5, ""), (0.0, "lumo-cam"), (0.5, "nimbus-hub")]
)
def test_without_a_product_or_a_boost_the_scores_are_untouched(
    boost: float, product: str | None
) -> None:
    assert Fusion(product_boost=boost).prefer(SCORES, PRODUCTS, product) == SCORES


def test_no_customer_context_retrieves_exactly_as_before(served: Settings) -> None:
    plain = Helpdesk(served).retriever()
    off = Helpdesk(served.replace(product_boost=0.0)).retriever()
    for question in ("camera motion alert", "speaker light ring", "return a product"):
        today = plain.retrieve(Query(question, k=8))
        assert off.retrieve(Query(question, k=8, customer_product="lumo-cam")) == today
        assert plain.retrieve(Query(question, k=8, customer_product="no-such")) == today
