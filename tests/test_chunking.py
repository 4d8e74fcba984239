"""Chunking: an FAQ pair is one chunk, long sections split by size, ids stable and content-bound."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import FAQ_YAML, SAMPLE_KB, SPEAKER_MD, write_files

from helpdesk.documents import chunk_document, discover, load_document
from helpdesk.types import Document, DocumentMeta, Section


def meta(**changes: str) -> DocumentMeta:
    base = DocumentMeta(
        source="manuals/hub.md",
        title="Hub Guide",
        url="https://help.example/hub",
        language="en",
        audience="public",
        product="nimbus-hub",
        updated="2026-01-01",
    )
    return dataclasses.replace(base, **changes)


def long_text(paragraphs: int = 12) -> str:
    return "\n\n".join(
        f"Paragraph {n} explains step {n} of resetting the hub. " * 4 for n in range(paragraphs)
    )


def test_each_faq_pair_is_one_chunk_with_an_anchored_url(tmp_path: Path) -> None:
    write_files(tmp_path, {"faq/en.yaml": FAQ_YAML})
    document = load_document(tmp_path / "faq/en.yaml", tmp_path)
    chunks = chunk_document(document, chunk_size=900, chunk_overlap=120)
    assert len(chunks) == 2
    first = chunks[0]
    assert first.kind == "faq"
    assert first.url == "https://help.example/en/faq#returns-window"
    assert chunks[1].url == "https://help.example/en/faq#warranty-length"
    assert first.question == "How long do I have to return a product?"
    assert first.answer.startswith("You can return any product")
    assert first.text == f"{first.question}\n{first.answer}"
    assert first.headings == ("Returns",)
    assert first.embed_text == f"Help Center FAQ > Returns\n{first.text}"
    # The topic is what the entry answers, without the answer.
    assert first.topic == "Help Center FAQ > Returns > How long do I have to return a product?"


def test_a_long_faq_answer_is_still_one_chunk() -> None:
    answer = "Use the app to book a repair. " * 100
    section = Section(
        text=f"How do I book a repair?\n{answer}",
        kind="faq",
        question="How do I book a repair?",
        answer=answer,
        anchor="repair",
    )
    chunks = chunk_document(Document(meta(), (section,)), chunk_size=300, chunk_overlap=30)
    assert len(chunks) == 1
    assert len(chunks[0].text) > 300


def test_faq_entry_overrides_and_its_own_url_keeps_no_anchor() -> None:
    sections = (
        Section(
            text="Q1?\nA1.",
            kind="faq",
            question="Q1?",
            answer="A1.",
            anchor="q1",
            overrides={"url": "https://other.example/q1", "product": "lumo-cam"},
        ),
        Section(text="Q2?\nA2.", kind="faq", question="Q2?", answer="A2.", anchor="q2"),
        Section(text="Q3?\nA3.", kind="faq", question="Q3?", answer="A3."),
    )
    first, second, third = chunk_document(Document(meta(), sections), 900, 120)
    assert (first.url, first.product) == ("https://other.example/q1", "lumo-cam")
    assert (second.url, second.product) == ("https://help.example/hub#q2", "nimbus-hub")
    assert third.url == "https://help.example/hub"


def test_faq_entry_cannot_make_an_internal_file_public() -> None:
    section = Section(
        text="Q?\nA.", kind="faq", question="Q?", answer="A.", overrides={"audience": "public"}
    )
    (chunk,) = chunk_document(Document(meta(audience="internal"), (section,)), 900, 120)
    assert chunk.audience == "internal"


def test_faq_entry_can_make_itself_internal() -> None:
    section = Section(
        text="Q?\nA.", kind="faq", question="Q?", answer="A.", overrides={"audience": "internal"}
    )
    (chunk,) = chunk_document(Document(meta(), (section,)), 900, 120)
    assert chunk.audience == "internal"


def test_long_sections_are_split_by_size_and_keep_their_heading_path() -> None:
    section = Section(text=long_text(), headings=("Troubleshooting", "Factory reset"))
    chunks = chunk_document(Document(meta(), (section,)), chunk_size=400, chunk_overlap=50)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk.text) <= 400
        assert chunk.headings == ("Troubleshooting", "Factory reset")
        assert chunk.embed_text.startswith("Hub Guide > Troubleshooting > Factory reset\n")
        assert chunk.kind == "section"
        assert (chunk.source, chunk.url, chunk.product) == (
            "manuals/hub.md",
            "https://help.example/hub",
            "nimbus-hub",
        )
    # Nothing is lost: every paragraph's opening words are in some chunk.
    joined = "\n".join(c.text for c in chunks)
    for n in range(12):
        assert f"Paragraph {n} explains" in joined


def test_sections_of_a_real_markdown_file_keep_their_paths(tmp_path: Path) -> None:
    write_files(tmp_path, {"speaker.md": SPEAKER_MD})
    document = load_document(tmp_path / "speaker.md", tmp_path)
    chunks = chunk_document(document, 900, 120)
    bluetooth = next(c for c in chunks if "Bluetooth pairing" in c.text)
    assert bluetooth.headings == ("Aura Speaker Guide", "Troubleshooting", "Bluetooth")
    context, _, body = bluetooth.embed_text.partition("\n")
    assert context.startswith("Aura Speaker Guide > ")
    assert context.endswith(" > Troubleshooting > Bluetooth")
    assert body == bluetooth.text
    # The topic is the heading path alone, the page title not repeated by its first heading.
    assert bluetooth.topic == context
    assert bluetooth.topic.count("Aura Speaker Guide") == 1


def test_a_passage_repeated_in_one_document_is_chunked_once() -> None:
    sections = (Section(text="Restart the hub.", headings=("A",)),) * 2
    assert len(chunk_document(Document(meta(), sections), 900, 120)) == 1


def test_blank_sections_make_no_chunks() -> None:
    sections = (Section(text="   \n  "), Section(text="Real text."))
    assert [c.text for c in chunk_document(Document(meta(), sections), 900, 120)] == ["Real text."]


def test_ids_are_stable_across_runs() -> None:
    document = Document(meta(), (Section(text=long_text(), headings=("Reset",)),))
    first = [c.id for c in chunk_document(document, 400, 50)]
    second = [c.id for c in chunk_document(document, 400, 50)]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in first)


def test_changing_one_section_changes_only_its_chunk_ids() -> None:
    before = Document(meta(), (Section("Step one.", ("A",)), Section("Step two.", ("B",))))
    after = Document(meta(), (Section("Step one.", ("A",)), Section("Step 2.", ("B",))))
    old = [c.id for c in chunk_document(before, 900, 120)]
    new = [c.id for c in chunk_document(after, 900, 120)]
    assert old[0] == new[0]
    assert old[1] != new[1]


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Hub Manual"},
        {"url": "https://help.example/hub-v2"},
        {"language": "ko"},
        {"audience": "internal"},
        {"product": "aura-speaker"},
        {"updated": "2026-02-02"},
        {"source": "manuals/hub-copy.md"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_ids_change_when_metadata_changes(change: dict[str, str]) -> None:
    sections = (Section("Step one.", ("A",)),)
    (old,) = chunk_document(Document(meta(), sections), 900, 120)
    (new,) = chunk_document(Document(meta(**change), sections), 900, 120)
    assert old.id != new.id


def test_ids_change_when_the_heading_path_changes() -> None:
    (old,) = chunk_document(Document(meta(), (Section("Step one.", ("A",)),)), 900, 120)
    (new,) = chunk_document(Document(meta(), (Section("Step one.", ("B",)),)), 900, 120)
    assert old.id != new.id


def test_chunk_metadata_round_trips_through_the_store_format() -> None:
    from helpdesk.types import Chunk

    (chunk,) = chunk_document(Document(meta(), (Section("Step one.", ("A", "B")),)), 900, 120)
    again = Chunk.from_record(chunk.id, chunk.text, chunk.embed_text, chunk.metadata())
    assert again == chunk


@pytest.mark.skipif(not SAMPLE_KB.is_dir(), reason="knowledge_base/ is not there")
def test_sample_knowledge_base_chunks_have_unique_ids_and_fit_the_size() -> None:
    seen: set[str] = set()
    for path in discover(SAMPLE_KB):
        document = load_document(path, SAMPLE_KB)
        chunks = chunk_document(document, chunk_size=900, chunk_overlap=120)
        assert chunks, path
        for chunk in chunks:
            assert chunk.id not in seen
            seen.add(chunk.id)
            if chunk.kind == "section":
                assert len(chunk.text) <= 900, (path, chunk.headings)
