"""The per-knowledge-base glossary: synonyms widen the keyword search, with real Chroma on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.config import Settings
from helpdesk.errors import IngestError
from helpdesk.glossary import Expander, Glossary, Rewriter, builtin_glossary
from helpdesk.index.ingest import ingest
from helpdesk.service import Helpdesk
from helpdesk.text import Tokenizer
from helpdesk.types import Chunk, Query

DOCS = {
    "net.md": (
        "---\ntitle: 네트워크\nlanguage: ko\n---\n# 무선랜 설정\n"
        "무선랜 비밀번호를 바꾸면 다시 연결하세요.\n"
    ),
    "cam.md": "---\ntitle: Camera\nlanguage: en\n---\n# Mounting\nScrew the mount to the wall.\n",
}


def _kb(folder: Path, glossary: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    if glossary is not None:
        (folder / "glossary.yaml").write_text(glossary, encoding="utf-8")
    return folder


def _lexical_settings(source: Path, data: Path) -> Settings:
    # Keyword search alone, so only the glossary can bridge 와이파이 and 무선랜.
    return Settings(
        source_dir=source, data_dir=data, embedding="fake", dense_weight=0.0, llm="extractive"
    )


def test_a_synonym_finds_the_document_that_uses_the_other_word(tmp_path: Path) -> None:
    question = "와이어리스가 안 돼요"  # in no built-in glossary group
    without = _lexical_settings(_kb(tmp_path / "plain", None), tmp_path / "d1")
    ingest(without)
    hits = Helpdesk(without).search(Query(question)).hits
    assert not any(hit.passage.chunk.source == "net.md" for hit in hits)

    glossary = "synonyms:\n  - [와이어리스, 무선랜, Wi-Fi]\n"
    settings = _lexical_settings(_kb(tmp_path / "kb", glossary), tmp_path / "d2")
    ingest(settings)
    hits = Helpdesk(settings).search(Query(question)).hits
    assert hits and hits[0].passage.chunk.source == "net.md"


def test_a_changed_glossary_makes_a_new_generation(tmp_path: Path) -> None:
    kb = _kb(tmp_path / "kb", "synonyms:\n  - [와이파이, 무선랜]\n")
    settings = _lexical_settings(kb, tmp_path / "data")
    first = ingest(settings)
    assert ingest(settings).up_to_date
    (kb / "glossary.yaml").write_text("synonyms:\n  - [와이파이, 무선랜, wifi]\n", "utf-8")
    second = ingest(settings)
    assert not second.up_to_date and second.generation != first.generation
    assert second.embedded == 0  # no document changed


@pytest.mark.parametrize("text", ["synonyms: [a, b]\n", "synonyms:\n  - {a: b}\n", "[: bad"])
def test_a_malformed_glossary_stops_ingest_naming_it(tmp_path: Path, text: str) -> None:
    settings = _lexical_settings(_kb(tmp_path / "kb", text), tmp_path / "data")
    with pytest.raises(IngestError) as caught:
        ingest(settings)
    assert caught.value.code == "bad_glossary"
    assert "glossary.yaml" in caught.value.detail


def test_expansion_needs_every_term_of_a_multi_word_member() -> None:
    tokenizer = Tokenizer()
    expander = Expander(Glossary((("factory reset", "초기화"),)), tokenizer)
    assert "초기" in expander.expand(tokenizer.tokenize("how to factory reset"))
    assert expander.expand(tokenizer.tokenize("factory tour")) == tokenizer.tokenize("factory tour")


def _chunk(text: str, audience: str = "public") -> Chunk:
    return Chunk(id=text[:10], text=text, embed_text=text, source="a.md", title="T", url="",
                 language="", audience=audience, product="", updated="")  # fmt: skip


def test_words_no_page_uses_become_the_pages_own_word() -> None:
    chunks = [
        _chunk("Reset your password from the sign-in page. Join Wi-Fi first."),
        _chunk("비밀번호를 잊으면 앱에서 재설정하세요."),
    ]
    rewriter = Rewriter(builtin_glossary(), chunks)
    text, changes = rewriter.rewrite("forgot my pw, wifi wont work")
    assert text == "forgot my password, Wi-Fi wont work"
    assert changes == [("pw", "password"), ("wifi", "Wi-Fi")]
    assert rewriter.rewrite("비번을 까먹었어요")[0] == "비밀번호 까먹었어요"
    assert rewriter.rewrite("비번찾기 어디서 해요")[0] == "비밀번호찾기 어디서 해요"
    # Nothing to map to in the same script: an English word is not turned into Korean.
    assert rewriter.rewrite("my acct is locked")[1] == []


def test_a_word_the_pages_use_is_never_rewritten() -> None:
    chunks = [_chunk("Enter your pw and your password hint.")]
    assert Rewriter(builtin_glossary(), chunks).rewrite("lost pw")[1] == []


def test_a_rewrite_names_only_words_the_audience_can_see() -> None:
    chunks = [_chunk("Agents reset the password.", audience="internal"), _chunk("Hello.")]
    rewriter = Rewriter(builtin_glossary(), chunks)
    assert rewriter.rewrite("pw help", "public")[1] == []
    assert rewriter.rewrite("pw help", "all")[1] == [("pw", "password")]


def test_the_knowledge_base_glossary_comes_first() -> None:
    own = Glossary((("sign in", "access portal"),))
    chunks = [_chunk("Open the access portal. Log in with your e-mail.")]
    rewriter = Rewriter(own.merged(builtin_glossary()), chunks)
    assert rewriter.rewrite("how do i sign in")[0] == "how do i access portal"
