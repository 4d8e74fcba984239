"""Loaders: each format on small files written here, on the real sample files, on broken ones."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import docx
import pytest
from conftest import CAMERA_MD, FAQ_YAML, SAMPLE_KB, SPEAKER_MD, write_files

from helpdesk.documents import LoadError, discover, load_document
from helpdesk.types import Document


def load(root: Path, relative: str, content: str | bytes | None = None) -> Document:
    if content is not None:
        write_files(root, {relative: content})
    return load_document(root / relative, root)


def headings(document: Document) -> list[tuple[str, ...]]:
    return [section.headings for section in document.sections]


def minimal_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A small valid PDF with one line of Helvetica text per page (no PDF library needed)."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> " + f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(
            f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
        )
    trailer_extra = b""
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode("latin-1"))
        trailer_extra = f" /Info {len(objects)} 0 R".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R".encode() + trailer_extra
    out += f" >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(path: Path, title: str = "Hub Setup Guide") -> Path:
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading("Setup", level=1)
    document.add_paragraph("Plug the hub into your router with the ethernet cable.")
    table = document.add_table(rows=2, cols=2)
    for row, (light, meaning) in enumerate([("Light", "Meaning"), ("Blue", "Online")]):
        table.cell(row, 0).text = light
        table.cell(row, 1).text = meaning
    document.add_heading("Wi-Fi", level=2)
    document.add_paragraph("The hub also connects over 2.4 GHz Wi-Fi.")
    document.add_heading("Troubleshooting", level=1)
    document.add_paragraph("Restart the hub from the app.", style="List Bullet")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


# -- Markdown -------------------------------------------------------------------------------------


def test_markdown_front_matter_becomes_metadata(tmp_path: Path) -> None:
    document = load(tmp_path, "manuals/speaker.md", SPEAKER_MD)
    meta = document.meta
    assert meta.source == "manuals/speaker.md"
    assert meta.title == "Aura Speaker Guide"
    assert meta.url == "https://help.example/en/speaker"
    assert meta.language == "en"
    assert meta.audience == "public"
    assert meta.product == "aura-speaker"
    assert meta.updated == "2026-01-10"  # a YAML date comes back as ISO text


def test_markdown_nested_headings_become_heading_paths(tmp_path: Path) -> None:
    document = load(tmp_path, "speaker.md", SPEAKER_MD)
    assert headings(document) == [
        ("Aura Speaker Guide",),
        ("Aura Speaker Guide", "Setup"),
        ("Aura Speaker Guide", "Troubleshooting", "Light ring"),
        ("Aura Speaker Guide", "Troubleshooting", "Bluetooth"),
    ]
    light_ring = document.sections[2].text
    assert light_ring.startswith("A red light ring means")
    assert "#" not in light_ring  # heading lines are not repeated in the text


def test_markdown_without_front_matter_takes_title_from_h1_and_detects_korean(
    tmp_path: Path,
) -> None:
    text = (
        "# 스피커 연결\n\n## 블루투스\n\n동작 버튼을 5초 동안 누르면 블루투스 연결 모드가 됩니다.\n"
    )
    document = load(tmp_path, "ko/speaker.md", text)
    assert document.meta.title == "스피커 연결"
    assert document.meta.language == "ko"
    assert document.meta.audience == "public"
    assert headings(document) == [("스피커 연결", "블루투스")]
    # Without an `updated` field the date stays unknown: a file date would change with every
    # fresh clone, and with it every chunk id.
    assert document.meta.updated == ""


def test_markdown_without_any_title_is_named_after_the_file(tmp_path: Path) -> None:
    document = load(tmp_path, "getting-started_guide.md", "Just some plain instructions.\n")
    assert document.meta.title == "Getting started guide"
    assert headings(document) == [()]


def test_locale_style_language_is_reduced_to_the_language(tmp_path: Path) -> None:
    document = load(tmp_path, "a.md", "---\nlanguage: ko-KR\n---\n# 제목\n\n본문입니다.\n")
    assert document.meta.language == "ko"


def test_plain_text_file_with_front_matter(tmp_path: Path) -> None:
    document = load(tmp_path, "notes.txt", "---\ntitle: Notes\n---\nLine one.\n\n\n\nLine two.\n")
    assert document.meta.title == "Notes"
    assert [s.text for s in document.sections] == ["Line one.\n\nLine two."]


# -- HTML -----------------------------------------------------------------------------------------

HTML = """\
<!doctype html>
<html lang="en-GB">
<head>
  <title>Hub lights | Help Center</title>
  <meta name="helpdesk:url" content="https://help.example/en/hub-lights">
  <meta name="helpdesk:product" content="nimbus-hub">
  <meta name="helpdesk:updated" content="2026-02-01">
  <meta name="description" content="not a helpdesk field">
  <script>var tracking = "SCRIPTTEXT";</script>
  <style>body { color: red; }</style>
</head>
<body>
  <nav><ul><li><a href="/">NAVTEXT home</a></li></ul></nav>
  <main>
    <h1>Hub lights</h1>
    <p>The light on the front of the hub shows its state.</p>
    <h2>Colours</h2>
    <table>
      <tr><th>Light</th><th>Meaning</th></tr>
      <tr><td>Solid blue</td><td><p>Online</p></td></tr>
      <tr><td>Red</td><td>No internet</td></tr>
    </table>
    <h3>Blinking</h3>
    <ul><li>Blinking white: <strong>updating</strong></li><li>Blinking orange: setup</li></ul>
    <h2>Reset</h2>
    <p>Hold the button for ten seconds.</p>
    <aside>ASIDETEXT related articles</aside>
  </main>
  <footer><p>FOOTERTEXT copyright</p></footer>
</body>
</html>
"""


def test_html_meta_tags_and_lang_become_metadata(tmp_path: Path) -> None:
    meta = load(tmp_path, "hub.html", HTML).meta
    assert meta.title == "Hub lights | Help Center"
    assert meta.url == "https://help.example/en/hub-lights"
    assert meta.product == "nimbus-hub"
    assert meta.updated == "2026-02-01"
    assert meta.language == "en"


def test_html_headings_tables_and_lists_are_read(tmp_path: Path) -> None:
    document = load(tmp_path, "hub.html", HTML)
    assert headings(document) == [
        ("Hub lights",),
        ("Hub lights", "Colours"),
        ("Hub lights", "Colours", "Blinking"),
        ("Hub lights", "Reset"),
    ]
    table = document.sections[1].text
    assert table.splitlines() == ["Light | Meaning", "Solid blue | Online", "Red | No internet"]
    assert document.sections[2].text.splitlines() == [
        "- Blinking white: updating",
        "- Blinking orange: setup",
    ]


def test_html_navigation_scripts_and_footer_are_stripped(tmp_path: Path) -> None:
    text = "\n".join(s.text for s in load(tmp_path, "hub.html", HTML).sections)
    for noise in ("NAVTEXT", "SCRIPTTEXT", "FOOTERTEXT", "ASIDETEXT", "color: red"):
        assert noise not in text


def test_html_title_falls_back_to_h1(tmp_path: Path) -> None:
    page = "<html><body><article><h1>Returns</h1><p>Send it back.</p></article></body></html>"
    document = load(tmp_path, "returns.htm", page)
    assert document.meta.title == "Returns"
    assert document.sections[0].text == "Send it back."


def test_html_text_directly_inside_a_div_is_kept(tmp_path: Path) -> None:
    page = (
        "<html><body><main><h1>Care</h1><p>Wipe with a dry cloth.</p>"
        '<div class="note">Never use solvents on the fabric.</div></main></body></html>'
    )
    text = "\n".join(s.text for s in load(tmp_path, "care.html", page).sections)
    assert "Never use solvents" in text


def test_html_heading_inside_the_article_header_is_kept(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Site</title></head><body><header>Site banner</header>"
        "<article><header><h1>Battery care</h1></header><p>Charge monthly.</p></article>"
        "</body></html>"
    )
    document = load(tmp_path, "battery.html", page)
    assert headings(document) == [("Battery care",)]


# -- PDF ------------------------------------------------------------------------------------------


def test_pdf_pages_become_sections_and_info_title_is_used(tmp_path: Path) -> None:
    pdf = minimal_pdf(["Charge the camera for five hours.", "Mount it at head height."], "Cam")
    document = load(tmp_path, "manuals/cam.pdf", pdf)
    assert document.meta.title == "Cam"
    assert document.meta.language == "en"
    assert headings(document) == [("p. 1",), ("p. 2",)]
    assert "five hours" in document.sections[0].text
    assert "head height" in document.sections[1].text


def test_pdf_sidecar_overrides_what_the_file_says(tmp_path: Path) -> None:
    sidecar = (
        "title: Lumo Cam Quick Start\nurl: https://help.example/cam.pdf\n"
        "product: lumo-cam\nlanguage: en\nupdated: 2026-03-01\n"
    )
    files = {
        "cam.pdf": minimal_pdf(["Charge it first."], "cam-v3-final"),
        "cam.pdf.meta.yaml": sidecar,
    }
    write_files(tmp_path, files)
    meta = load_document(tmp_path / "cam.pdf", tmp_path).meta
    assert meta.title == "Lumo Cam Quick Start"
    assert meta.url == "https://help.example/cam.pdf"
    assert meta.product == "lumo-cam"
    assert meta.updated == "2026-03-01"


def test_pdf_without_text_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no extractable text"):
        load(tmp_path, "scan.pdf", minimal_pdf([""]))


@pytest.mark.parametrize("keep", [0.5, 0.2])
def test_truncated_pdf_is_a_load_error(tmp_path: Path, keep: float) -> None:
    pdf = minimal_pdf(["Some text on the first page.", "And the second."], "T")
    with pytest.raises(LoadError, match="not a readable PDF"):
        load(tmp_path, "cut.pdf", pdf[: int(len(pdf) * keep)])


def sample_files(suffix: str) -> list[Path]:
    return sorted((SAMPLE_KB).rglob(f"*{suffix}")) if SAMPLE_KB.is_dir() else []


@pytest.mark.parametrize("path", sample_files(".pdf"), ids=lambda p: p.name)
def test_sample_pdf_truncated_is_a_load_error(tmp_path: Path, path: Path) -> None:
    data = path.read_bytes()
    with pytest.raises(LoadError) as caught:
        load(tmp_path, "cut.pdf", data[: len(data) // 2])
    assert str(caught.value)


# -- DOCX -----------------------------------------------------------------------------------------


def test_docx_heading_styles_become_heading_paths(tmp_path: Path) -> None:
    make_docx(tmp_path / "hub.docx")
    document = load_document(tmp_path / "hub.docx", tmp_path)
    assert document.meta.title == "Hub Setup Guide"
    by_text = {s.text: s.headings for s in document.sections}
    setup = "Plug the hub into your router with the ethernet cable.\nLight | Meaning\nBlue | Online"
    assert by_text[setup] == ("Setup",)
    assert by_text["The hub also connects over 2.4 GHz Wi-Fi."] == ("Setup", "Wi-Fi")
    assert by_text["- Restart the hub from the app."] == ("Troubleshooting",)


def test_docx_table_keeps_the_heading_it_appears_under(tmp_path: Path) -> None:
    make_docx(tmp_path / "hub.docx")
    document = load_document(tmp_path / "hub.docx", tmp_path)
    table = next(s for s in document.sections if "Light | Meaning" in s.text)
    assert table.headings == ("Setup",)


def test_docx_title_style_is_used_without_core_title(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("Router Guide", style="Title")
    document.add_paragraph("Keep the router in the open.")
    document.save(str(tmp_path / "router.docx"))
    loaded = load_document(tmp_path / "router.docx", tmp_path)
    assert loaded.meta.title == "Router Guide"
    assert [s.text for s in loaded.sections] == ["Keep the router in the open."]


def test_docx_sidecar_overrides_and_internal_folder_wins(tmp_path: Path) -> None:
    make_docx(tmp_path / "internal" / "hub.docx")
    sidecar = "title: Hub Agent Notes\naudience: public\nproduct: nimbus-hub\nlanguage: en\n"
    write_files(tmp_path, {"internal/hub.docx.meta.yaml": sidecar})
    meta = load_document(tmp_path / "internal" / "hub.docx", tmp_path).meta
    assert meta.title == "Hub Agent Notes"
    assert meta.product == "nimbus-hub"
    assert meta.audience == "internal"


def test_random_bytes_docx_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="not a readable Word document"):
        load(tmp_path, "broken.docx", os.urandom(2048))


def test_zip_that_is_not_a_word_document_is_a_load_error(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "fake.docx", "w") as archive:
        archive.writestr("hello.txt", "not word")
    with pytest.raises(LoadError, match="not a readable Word document"):
        load_document(tmp_path / "fake.docx", tmp_path)


# -- FAQ files ------------------------------------------------------------------------------------


def test_faq_yaml_mapping(tmp_path: Path) -> None:
    document = load(tmp_path, "faq/en.yaml", FAQ_YAML)
    assert document.meta.title == "Help Center FAQ"
    assert document.meta.url == "https://help.example/en/faq"
    assert [s.kind for s in document.sections] == ["faq", "faq"]
    first = document.sections[0]
    assert first.question == "How long do I have to return a product?"
    assert first.answer.startswith("You can return any product within 30 days")
    assert first.text == f"{first.question}\n{first.answer}"
    assert first.anchor == "returns-window"
    assert first.headings == ("Returns",)


def test_faq_yaml_list_with_per_entry_overrides(tmp_path: Path) -> None:
    text = (
        "- question: Can I pause my plan?\n  answer: Yes, for up to three months.\n"
        "  product: nimbus-care\n  audience: internal\n  url: https://x.example/pause\n"
    )
    document = load(tmp_path, "care.yml", text)
    section = document.sections[0]
    assert section.overrides == {
        "product": "nimbus-care",
        "audience": "internal",
        "url": "https://x.example/pause",
    }
    assert document.meta.title == "Care"


def test_faq_json(tmp_path: Path) -> None:
    body = {
        "title": "보증 FAQ",
        "language": "ko",
        "faqs": [
            {"id": "w1", "question": "보증 기간은?", "answer": "2년입니다.", "category": "보증"}
        ],
    }
    document = load(tmp_path, "warranty.json", json.dumps(body, ensure_ascii=False))
    assert document.meta.title == "보증 FAQ"
    assert document.meta.language == "ko"
    assert document.sections[0].anchor == "w1"
    assert document.sections[0].headings == ("보증",)


def test_faq_csv(tmp_path: Path) -> None:
    text = (
        "\ufeffQuestion,Answer,Category,Product,Language,URL\n"
        'When am I charged?,"On the day you subscribed, monthly.",Billing,nimbus-care,en,'
        "https://x.example/billing#date\n"
        "Where are receipts?,In Account > Billing history.,Billing,,en,\n"
    )
    document = load(tmp_path, "billing.csv", text)
    assert document.meta.language == "en"
    assert len(document.sections) == 2
    first, second = document.sections
    assert first.answer == "On the day you subscribed, monthly."
    assert first.overrides["url"] == "https://x.example/billing#date"
    assert first.overrides["product"] == "nimbus-care"
    assert "product" not in second.overrides


# -- audience -------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", ["internal/playbook.md", "team/internal/deep/playbook.md"])
def test_internal_folder_forces_internal_even_if_front_matter_says_public(
    tmp_path: Path, relative: str
) -> None:
    text = "---\ntitle: Playbook\naudience: public\n---\nOverride steps for agents.\n"
    assert load(tmp_path, relative, text).meta.audience == "internal"


def test_front_matter_can_mark_a_document_internal(tmp_path: Path) -> None:
    text = "---\ntitle: Notes\naudience: Internal\n---\nAgent-only notes.\n"
    assert load(tmp_path, "manuals/notes.md", text).meta.audience == "internal"


def test_a_file_named_internal_is_not_forced_internal(tmp_path: Path) -> None:
    assert load(tmp_path, "internal.md", "# Internal wiring\n\nThe cable.\n").meta.audience == (
        "public"
    )


def test_unknown_audience_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="audience must be 'public' or 'internal'"):
        load(tmp_path, "a.md", "---\naudience: partners\n---\nText.\n")


# -- broken files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "content", "reason"),
    [
        ("faq.yaml", "faqs:\n  - question: [unclosed\n", "not valid YAML"),
        (
            "faq.yaml",
            "title: x\nfaqs:\n  - question: Q?\n    answer: A.\n  - question: Q2?\n",
            "entry 2 needs both",
        ),
        ("faq.yaml", "title: x\nfaqs: []\n", "no question/answer pairs"),
        ("faq.yaml", "title: Only a title\n", "needs a 'faqs' list"),
        ("faq.yaml", "just a string\n", "list of pairs or a mapping"),
        ("faq.yaml", "- just a string\n", "entry 1 is not a mapping"),
        ("faq.json", '{"faqs": [{"question": "Q?", "answer": "A."}', "not valid JSON"),
        ("faq.json", '{"faqs": [{"question": "Q?", "answer": ""}]}', "entry 1 needs both"),
        ("faq.csv", "question,category\nQ?,Billing\n", "header row"),
        ("faq.csv", "question,answer\nQ?,\n", "row 1 needs both"),
        ("a.md", "---\ntitle: [broken\n---\nText\n", "front matter is not valid YAML"),
        ("a.md", "---\n- a\n- b\n---\nText\n", "front matter must be a mapping"),
        ("a.md", "---\ntitle: Empty\n---\n", "no text found"),
        ("a.md", "Caf\xe9 au lait".encode("latin-1"), "not UTF-8"),
        ("a.xyz", "whatever", "unsupported file type '.xyz'"),
        ("Makefile", "all:\n", "unsupported file type '(none)'"),
    ],
)
def test_broken_file_raises_load_error_with_a_reason(
    tmp_path: Path, relative: str, content: str | bytes, reason: str
) -> None:
    with pytest.raises(LoadError) as caught:
        load(tmp_path, relative, content)
    assert reason in str(caught.value)


def test_yaml_error_names_the_line(tmp_path: Path) -> None:
    text = "title: x\nfaqs:\n  - question: ok\n    answer: ok\n  - question: [unclosed\n"
    with pytest.raises(LoadError, match=r"line \d+"):
        load(tmp_path, "faq.yaml", text)


def test_invalid_sidecar_is_a_load_error_naming_it(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.md": "# A\n\nText.\n", "a.md.meta.yaml": "title: [broken\n"})
    with pytest.raises(LoadError, match=re.escape("a.md.meta.yaml")):
        load_document(tmp_path / "a.md", tmp_path)


# -- discovery ------------------------------------------------------------------------------------


def test_discover_skips_hidden_private_sidecars_and_root_readme(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "README.md": "# About this folder\n",
            "glossary.yaml": "a: b\n",
            "manuals/README.md": "# Manuals readme is a document\n",
            "manuals/b.md": CAMERA_MD,
            "manuals/a.pdf": b"%PDF",
            "manuals/a.pdf.meta.yaml": "title: A\n",
            ".git/config": "x",
            "manuals/.draft.md": "x",
            "_drafts/c.md": "x",
            "faq/en.yaml": FAQ_YAML,
        },
    )
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["faq/en.yaml", "manuals/README.md", "manuals/a.pdf", "manuals/b.md"]


# -- the real sample knowledge base ---------------------------------------------------------------


def sample_documents() -> list[Path]:
    return list(discover(SAMPLE_KB)) if SAMPLE_KB.is_dir() else []


@pytest.mark.skipif(not SAMPLE_KB.is_dir(), reason="knowledge_base/ is not there")
@pytest.mark.parametrize(
    "path", sample_documents(), ids=lambda p: p.relative_to(SAMPLE_KB).as_posix()
)
def test_every_sample_file_loads(path: Path) -> None:
    document = load_document(path, SAMPLE_KB)
    meta = document.meta
    assert meta.source == path.relative_to(SAMPLE_KB).as_posix()
    assert meta.title.strip()
    assert meta.language in {"ko", "en"}
    assert meta.audience in {"public", "internal"}
    if "internal" in Path(meta.source).parts[:-1]:
        assert meta.audience == "internal"
    assert document.sections
    assert all(section.text.strip() for section in document.sections)
    if path.suffix in {".yaml", ".yml", ".json", ".csv"}:
        assert all(s.kind == "faq" and s.question and s.answer for s in document.sections)


@pytest.mark.skipif(not SAMPLE_KB.is_dir(), reason="knowledge_base/ is not there")
def test_sample_sidecars_are_applied() -> None:
    import yaml

    sidecars = sorted(SAMPLE_KB.rglob("*.meta.yaml"))
    for sidecar in sidecars:
        target = sidecar.with_name(sidecar.name.removesuffix(".meta.yaml"))
        assert target.exists(), f"{sidecar} describes a missing file"
        declared = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        meta = load_document(target, SAMPLE_KB).meta
        for field in ("title", "url", "product"):
            if declared.get(field):
                assert getattr(meta, field) == str(declared[field]), (sidecar.name, field)
