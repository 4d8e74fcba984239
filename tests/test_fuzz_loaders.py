"""Fuzzing the loaders: malformed, hostile and huge files are refused by name with a reason, never
crash a loader or the ingest, and the rest of the knowledge base is still ingested.

Two passes: a named catalogue of known-bad files (zip bombs, alias bombs, python tags, truncated
and encrypted PDFs, deep nesting, huge fields...), and hypothesis feeding every loader random bytes
and random mutations of valid files. Real loaders, real Chroma on disk, the fake embedder.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FAQ_YAML, SPEAKER_MD
from hypothesis import HealthCheck, given, settings, strategies
from pypdf import PdfReader, PdfWriter
from test_loaders import make_docx, minimal_pdf

from helpdesk.config import Settings
from helpdesk.documents import LOADERS, LoadError, load_document
from helpdesk.documents.loaders import MAX_UNZIPPED_BYTES
from helpdesk.index.ingest import ingest

MB = 1_000_000
PDF = minimal_pdf(["Reset the camera by holding the button", "Charge it for two hours"], "Cam")


def docx_bytes(tmp: Path) -> bytes:
    return make_docx(tmp / "valid.docx").read_bytes()


def zip_bomb_docx(tmp: Path, path: Path) -> None:
    """A real DOCX whose word/document.xml inflates to ~250 MB (about 250 KB on disk)."""
    with zipfile.ZipFile(io.BytesIO(docx_bytes(tmp))) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    xml = parts.pop("word/document.xml")
    head, tail = xml.split(b"</w:body>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for name, data in parts.items():
            bomb.writestr(name, data)
        with bomb.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(head)
            block = b"<w:p><w:r><w:t>laugh</w:t></w:r></w:p>" * 25_000
            for _ in range(250 * MB // len(block)):
                part.write(block)
            part.write(b"</w:body>" + tail)


def encrypted_pdf(path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(PDF)))
    writer.encrypt("secret", algorithm="RC4-128")
    writer.write(str(path))


def broken_xref_pdf() -> bytes:
    start = PDF.rindex(b"startxref")
    body = PDF[:start].replace(b"xref\n0", b"xref\n7")  # a table that starts at the wrong object
    return body + b"startxref\n999999\n%%EOF\n"


BILLION_LAUGHS = (
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    + "faqs: [{question: *i, answer: *i}]\n"
)

# name -> (file name, writer, what the reason must say)
Writer = Callable[[Path, Path], None]


def _bytes(data: bytes) -> Writer:
    return lambda _tmp, path: path.write_bytes(data)


def _sparse(size: int) -> Writer:
    def write(_tmp: Path, path: Path) -> None:
        with open(path, "wb") as handle:
            handle.truncate(size)

    return write


CASES: dict[str, tuple[str, Writer, str]] = {
    "truncated pdf": ("truncated.pdf", _bytes(PDF[: len(PDF) // 2]), "PDF"),
    "encrypted pdf": ("locked.pdf", lambda _t, p: encrypted_pdf(p), "encrypted"),
    "pdf header then garbage": ("junk.pdf", _bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40), "PDF"),
    "zip-bomb docx": ("bomb.docx", zip_bomb_docx, "zip bomb"),
    "docx that is not a zip": ("plain.docx", _bytes(b"PK\x03\x04 not really a zip"), "not a zip"),
    "docx truncated": ("cut.docx", lambda t, p: p.write_bytes(docx_bytes(t)[:3000]), "Word"),
    "invalid UTF-8 markdown": ("latin1.md", _bytes("# Café\n\nprix".encode("latin-1")), "UTF-8"),
    "invalid UTF-8 text": ("cp949.txt", _bytes("비밀번호 재설정".encode("cp949")), "UTF-8"),
    "invalid UTF-8 csv": ("faq.csv", _bytes(b"question,answer\n\xff\xfe?,\xc3\x28\n"), "UTF-8"),
    "50 MB text file": ("huge.txt", _sparse(50 * MB), "MAX_DOCUMENT_BYTES"),
    "binary with .md extension": ("image.md", _bytes(bytes(range(256)) * 64), "UTF-8"),
    "NUL bytes with .md extension": ("zeros.md", _bytes(b"\x00" * 4096), "binary"),
    "yaml billion laughs": ("laughs.yaml", _bytes(BILLION_LAUGHS.encode()), "alias"),
    "yaml python/object tag": (
        "evil.yaml",
        _bytes(
            b"faqs:\n- question: !!python/object/apply:os.system ['touch pwned']\n  answer: x\n"
        ),
        "python/object",
    ),
    "markdown front matter with a python tag": (
        "evil.md",
        _bytes(b"---\ntitle: !!python/object/new:os.system ['touch pwned']\n---\n# Hi\n\ntext\n"),
        "python/object",
    ),
    "deeply nested json": ("deep.json", _bytes(b"[" * 200_000 + b"]" * 200_000), "nested"),
    "deeply nested yaml": ("deep.yml", _bytes(b"[" * 200_000 + b"]" * 200_000), "nested"),
    "csv with a 10 MB field": (
        "bigfield.csv",
        _bytes(b'question,answer\nwhy,"' + b"x" * (10 * MB) + b'"\n'),
        "CSV",
    ),
    "empty markdown": ("empty.md", _bytes(b""), "no text"),
    "empty text": ("empty.txt", _bytes(b""), "no text"),
    "empty html": ("empty.html", _bytes(b""), "no text"),
    "empty pdf": ("empty.pdf", _bytes(b""), "PDF"),
    "empty docx": ("empty.docx", _bytes(b""), "Word"),
    "empty yaml": ("empty.yaml", _bytes(b""), "FAQ"),
    "empty json": ("empty.json", _bytes(b""), "JSON"),
    "empty csv": ("empty.csv", _bytes(b""), "CSV"),
}


def build(tmp: Path, root: Path, name: str) -> Path:
    filename, write, _ = CASES[name]
    path = root / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    write(tmp, path)
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_file_is_refused_with_a_reason(tmp_path: Path, name: str) -> None:
    root = tmp_path / "kb"
    path = build(tmp_path, root, name)
    with pytest.raises(LoadError) as caught:
        load_document(path, root)
    assert CASES[name][2].lower() in str(caught.value).lower(), str(caught.value)
    assert not (Path.cwd() / "pwned").exists()


def test_the_zip_bomb_is_small_on_disk_and_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = build(tmp_path, tmp_path, "zip-bomb docx")
    with zipfile.ZipFile(path) as archive:
        assert sum(i.file_size for i in archive.infolist()) > 2 * MAX_UNZIPPED_BYTES
    assert path.stat().st_size < MB


def test_a_pdf_with_a_broken_xref_is_recovered_not_refused(tmp_path: Path) -> None:
    (tmp_path / "xref.pdf").write_bytes(broken_xref_pdf())  # pypdf rebuilds the table by scanning
    assert "Reset the camera" in load_document(tmp_path / "xref.pdf", tmp_path).sections[0].text


def test_a_few_yaml_anchors_still_load(tmp_path: Path) -> None:
    text = "base: &base {category: Audio}\nfaqs:\n- {<<: *base, question: 'Pair?', answer: Hold}\n"
    (tmp_path / "faq.yaml").write_text(text, encoding="utf-8")
    assert load_document(tmp_path / "faq.yaml", tmp_path).sections[0].headings == ("Audio",)


def test_the_size_limit_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\n" + "word " * 400, encoding="utf-8")
    load_document(tmp_path / "a.md", tmp_path, max_bytes=4000)
    with pytest.raises(LoadError, match=r"2,005 bytes, larger than .* \(1,000\)"):
        load_document(tmp_path / "a.md", tmp_path, max_bytes=1000)


def test_ingest_names_every_malformed_file_and_ingests_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "manuals").mkdir(parents=True)
    (root / "manuals" / "speaker.md").write_text(SPEAKER_MD, encoding="utf-8")
    (root / "faq.yaml").write_text(FAQ_YAML, encoding="utf-8")
    for name in CASES:
        path = build(tmp_path, root / "broken", name)
        assert path.exists(), name
    # A file name that is not UTF-8 cannot be written to the manifest as it is.
    (root / "broken").joinpath(b"bad-\xff-name.md".decode("utf-8", "surrogateescape")).write_text(
        "# Fine\n\ntext", encoding="utf-8"
    )
    settings = Settings(
        source_dir=root, data_dir=tmp_path / "data", embedding="fake", max_document_bytes=20 * MB
    )
    report = ingest(settings)
    skipped = {s.source: s.reason for s in report.skipped}
    assert len(skipped) == len(CASES) + 1
    for name, (filename, _, reason) in CASES.items():
        assert reason.lower() in skipped[f"broken/{filename}"].lower(), name
    assert skipped["broken/bad-\\udcff-name.md"].startswith("the file name is not valid UTF-8")
    assert report.documents == 2 and report.generation is not None
    for source in skipped:
        assert f"skipped:   {source}: " in report.summary()


# -- hypothesis: random bytes and mutations of valid files, per loader ----------------------------

VALID: dict[str, bytes] = {
    ".md": SPEAKER_MD.encode(),
    ".txt": b"---\ntitle: Notes\n---\nPlain text about the hub.\n",
    ".html": b"<html lang=en><title>T</title><body><h1>A</h1><p>x</p><ul><li>y</li></ul></body>",
    ".pdf": PDF,
    ".yaml": FAQ_YAML.encode(),
    ".json": b'{"faqs": [{"question": "Why?", "answer": "Because.", "category": "C"}]}',
    ".csv": b"question,answer,category\nWhy?,Because.,C\n",
}
SUFFIXES = sorted({*LOADERS, ".docx"})


def check(tmp: Path, suffix: str, data: bytes) -> None:
    path = tmp / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        document = load_document(path, tmp)
    except LoadError as exc:
        assert str(exc).strip()
    else:
        assert document.sections


def mutate(data: bytes, seed: int, edits: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(edits):
        where = rng.randrange(len(out) + 1)
        kind = rng.randrange(4)
        if kind == 0 and out:
            out[min(where, len(out) - 1)] = rng.randrange(256)
        elif kind == 1:
            out[where:where] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif kind == 2:
            del out[where : where + rng.randrange(1, 64)]
        else:
            out = out[:where]
    return bytes(out)


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("suffix", SUFFIXES)
@FUZZ
@given(data=strategies.binary(max_size=4096))
def test_random_bytes_never_crash_a_loader(tmp_path: Path, suffix: str, data: bytes) -> None:
    check(tmp_path, suffix, data)


@pytest.mark.parametrize("suffix", [*sorted(VALID), ".docx"])
@FUZZ
@given(seed=strategies.integers(0, 2**32), edits=strategies.integers(1, 12))
def test_mutated_valid_files_never_crash_a_loader(
    tmp_path: Path, suffix: str, seed: int, edits: int
) -> None:
    valid = docx_bytes(tmp_path) if suffix == ".docx" else VALID[suffix]
    check(tmp_path, suffix, mutate(valid, seed, edits))
