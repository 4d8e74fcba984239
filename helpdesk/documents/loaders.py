"""One loader per file format: a file becomes a Document of heading-aware Sections.

LangChain's own loaders flatten a file to text; these keep the heading path of every section
(Markdown headings, HTML h1-h6, Word heading styles, PDF pages) because citations and chunking
need it. Markdown sectioning is LangChain's MarkdownHeaderTextSplitter.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..text import detect_language
from ..types import Document, DocumentMeta, Section, normalise_plans

SIDECAR_SUFFIX = ".meta.yaml"
META_FIELDS = ("title", "url", "language", "audience", "product", "updated", "plans")


# Limits that keep one hostile or broken file from exhausting the ingest process. The file size
# limit is a setting (HELPDESK_MAX_DOCUMENT_BYTES); these bound what a small file can expand to.
MAX_DOCUMENT_BYTES = 20_000_000
MAX_UNZIPPED_BYTES = 100_000_000  # a DOCX's parts once decompressed (zip bombs)
MAX_PDF_PAGES = 2_000
MAX_TEXT_CHARS = 5_000_000  # text extracted from one document
MAX_YAML_NODES = 1_000_000  # "billion laughs": a few aliases of aliases expand exponentially


class LoadError(Exception):
    """A file that cannot be loaded; the message says why, for the ingest report."""


class _GuardedYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses alias bombs: before anything is constructed, the node
    graph is measured as it would be once every alias is expanded (linear time, memoised)."""

    def construct_document(self, node: yaml.Node) -> Any:
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise LoadError(
                f"YAML aliases expand to more than {MAX_YAML_NODES:,} values (an alias bomb?)"
            )
        return super().construct_document(node)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    known = sizes.get(id(node))
    if known is not None:
        if known < 0:
            raise LoadError("YAML alias refers to itself (a recursive structure)")
        return known
    sizes[id(node)] = -1
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            total += _expanded_size(key, sizes) + _expanded_size(value, sizes)
    sizes[id(node)] = min(total, MAX_YAML_NODES + 1)
    return sizes[id(node)]


def _safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` with the alias-bomb guard (no python/* tags, no exponential expansion)."""
    loader = _GuardedYamlLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if "\x00" in text:  # valid UTF-8 can still be binary: no text format has NUL characters
        raise LoadError(f"binary data, not text (a NUL byte at character {text.index(chr(0))})")
    return text


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\u00a0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# -- front matter -------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter mapping, body) of a Markdown/text file."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = _safe_yaml(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise LoadError(f"front matter is not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise LoadError("front matter must be a mapping of fields")
    return data, text[match.end() :]


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)


# -- Markdown and plain text --------------------------------------------------------------------


def load_markdown(path: Path) -> tuple[dict[str, Any], list[Section]]:
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    meta, body = split_front_matter(_read_text(path))
    levels = [("#" * n, f"h{n}") for n in range(1, 7)]
    splitter = MarkdownHeaderTextSplitter(levels, strip_headers=True)
    sections = []
    for piece in splitter.split_text(body):
        headings = tuple(
            str(piece.metadata[f"h{n}"]) for n in range(1, 7) if f"h{n}" in piece.metadata
        )
        text = _clean(piece.page_content)
        if text:
            sections.append(Section(text=text, headings=headings))
    if "title" not in meta:
        first = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
        if first:
            meta["title"] = first.group(1).strip()
    return meta, sections


def load_text(path: Path) -> tuple[dict[str, Any], list[Section]]:
    meta, body = split_front_matter(_read_text(path))
    text = _clean(body)
    return meta, [Section(text=text)] if text else []


# -- HTML ---------------------------------------------------------------------------------------

_BLOCKS = ("p", "li", "td", "th", "pre", "blockquote", "dd", "dt", "figcaption")
# Containers whose own loose text is read (their blocks are read on their own).
_LOOSE = ("div", "section", "article", "main", "body", "span", "caption")
# A block inside one of these is read as part of its parent.
_NESTING = ["li", "tr", "pre", "blockquote"]


_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|"
    r"opacity\s*:\s*0(?![.\d]*[1-9])|(?<![-\w])color\s*:\s*(?:#fff\b|#ffffff\b|white\b)",
    re.IGNORECASE,
)


def _hidden(tag: Any) -> bool:
    """Is an HTML element hidden from readers (hidden, aria-hidden, or styled invisible)?"""
    attributes = getattr(tag, "attrs", None) or {}
    return (
        "hidden" in attributes
        or str(attributes.get("aria-hidden", "")).lower() == "true"
        or bool(_HIDDEN_STYLE.search(str(attributes.get("style", ""))))
    )


def load_html(path: Path) -> tuple[dict[str, Any], list[Section]]:
    from bs4 import BeautifulSoup, Comment, NavigableString

    soup = BeautifulSoup(_read_text(path), "html.parser")
    meta: dict[str, Any] = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    html_tag = soup.find("html")
    if html_tag is not None and html_tag.get("lang"):
        meta["language"] = str(html_tag.get("lang")).split("-")[0]
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or "")
        if name.startswith("helpdesk:") and tag.get("content") is not None:
            meta[name.removeprefix("helpdesk:")] = str(tag.get("content"))
    for noise in soup(["script", "style", "nav", "footer", "aside", "noscript", "form"]):
        noise.decompose()
    # What a reader never sees is not content: hidden text is where a poisoned page hides
    # instructions for the assistant.
    for hidden in soup.find_all(_hidden):
        hidden.decompose()
    for header in soup("header"):
        if header.find_parent(["article", "main"]) is None:  # site banner, not the page's own
            header.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buffer: list[str] = []

    def flush() -> None:
        text = _clean("\n".join(buffer))
        if text:
            sections.append(Section(text=text, headings=tuple(t for _, t in stack)))
        buffer.clear()

    for element in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "tr", *_BLOCKS, *_LOOSE]):
        name = element.name or ""
        if name in _LOOSE:
            # Text sitting directly in a container (not in a p or li) is content too.
            loose = " ".join(
                str(child).strip()
                for child in element.children
                if isinstance(child, NavigableString) and not isinstance(child, Comment)
            ).strip()
            if loose and element.find_parent(_NESTING) is None:
                buffer.append(loose)
            continue
        if len(name) == 2 and name[0] == "h" and name[1].isdigit():
            flush()
            level = int(name[1])
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, element.get_text(" ", strip=True)))
        elif name == "tr":
            cells = [c.get_text(" ", strip=True) for c in element.find_all(["td", "th"])]
            buffer.append(" | ".join(c for c in cells if c))
        elif name not in ("td", "th") and element.find_parent(_NESTING) is None:
            text = element.get_text(" ", strip=True)
            if text:
                buffer.append(f"- {text}" if name == "li" else text)
    flush()
    if "title" not in meta:
        h1 = root.find("h1")
        if h1 is not None:
            meta["title"] = h1.get_text(" ", strip=True)
    return meta, sections


# -- PDF and DOCX -------------------------------------------------------------------------------


def load_pdf(path: Path) -> tuple[dict[str, Any], list[Section]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise LoadError("the PDF is encrypted; save an unprotected copy to ingest it")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise LoadError(f"the PDF has {len(reader.pages)} pages, more than {MAX_PDF_PAGES}")
        pages: list[str] = []
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            _check_chars(sum(map(len, pages)))
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"not a readable PDF ({exc})") from None
    meta: dict[str, Any] = {}
    if info is not None and info.title:
        meta["title"] = str(info.title)
    sections = [
        Section(text=_clean(text), headings=(f"p. {number}",))
        for number, text in enumerate(pages, start=1)
        if _clean(text)
    ]
    if not sections:
        raise LoadError("the PDF has no extractable text (scanned images need OCR first)")
    return meta, sections


def load_docx(path: Path) -> tuple[dict[str, Any], list[Section]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_unzipped(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise LoadError(f"not a readable Word document ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile and lxml errors have no common base
        raise LoadError(f"not a readable Word document ({type(exc).__name__}: {exc})") from None
    meta: dict[str, Any] = {}
    if document.core_properties.title:
        meta["title"] = document.core_properties.title
    sections: list[Section] = []
    stack: list[str] = []
    buffer: list[str] = []

    def flush() -> None:
        text = _clean("\n".join(buffer))
        if text:
            sections.append(Section(text=text, headings=tuple(stack)))
        buffer.clear()

    from docx.table import Table

    # Body order matters: a table belongs under the heading it follows.
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
            buffer.append("\n".join(rows))
            continue
        style = block.style.name if block.style is not None else ""
        text = block.text.strip()
        level = _heading_level(style)
        if level and text:
            flush()
            del stack[level - 1 :]
            stack.append(text)
        elif style == "Title" and text:
            meta.setdefault("title", text)
        elif text:
            buffer.append(f"- {text}" if "List" in style else text)
    flush()
    return meta, sections


def _check_unzipped(path: Path) -> None:
    """Refuse a zip whose directory declares more than MAX_UNZIPPED_BYTES before inflating it
    (zipfile also stops at the declared size, so a lying directory cannot go beyond it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoadError(f"not a readable Word document (not a zip: {exc})") from None
    if declared > MAX_UNZIPPED_BYTES:
        raise LoadError(
            f"the Word document unzips to {declared:,} bytes, more than {MAX_UNZIPPED_BYTES:,} "
            "(a zip bomb?)"
        )


def _check_chars(count: int) -> None:
    if count > MAX_TEXT_CHARS:
        raise LoadError(f"more than {MAX_TEXT_CHARS:,} characters of text")


def _check_size(path: Path, max_bytes: int) -> None:
    size = path.stat().st_size
    if size > max_bytes:
        raise LoadError(
            f"{size:,} bytes, larger than HELPDESK_MAX_DOCUMENT_BYTES ({max_bytes:,}); not read"
        )


def _heading_level(style: str) -> int:
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else 0


# -- FAQ files ----------------------------------------------------------------------------------

_FAQ_ENTRY_FIELDS = ("question", "answer", "category", "product", "language", "url", "id")


def _faq_sections(entries: Iterable[Any], where: str) -> list[Section]:
    sections = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise LoadError(f"{where} {number} is not a mapping with question and answer")
        question = _scalar(entry.get("question"))
        answer = _scalar(entry.get("answer"))
        if not question or not answer:
            raise LoadError(f"{where} {number} needs both a question and an answer")
        category = _scalar(entry.get("category"))
        overrides = {
            key: _scalar(entry.get(key))
            for key in ("product", "language", "url", "audience")
            if _scalar(entry.get(key))
        }
        if _plans(entry.get("plans")):
            overrides["plans"] = ",".join(_plans(entry.get("plans")))
        sections.append(
            Section(
                text=f"{question}\n{answer}",
                headings=(category,) if category else (),
                kind="faq",
                question=question,
                answer=answer,
                anchor=_scalar(entry.get("id")),
                overrides=overrides,
            )
        )
    if not sections:
        raise LoadError("the FAQ file has no question/answer pairs")
    return sections


def _faq_mapping(data: Any) -> tuple[dict[str, Any], list[Section]]:
    if isinstance(data, list):
        return {}, _faq_sections(data, "entry")
    if not isinstance(data, Mapping):
        raise LoadError("a FAQ file must be a list of pairs or a mapping with a 'faqs' list")
    entries = data.get("faqs", data.get("questions"))
    if not isinstance(entries, list):
        raise LoadError("a FAQ file needs a 'faqs' list of question/answer pairs")
    meta = {key: data[key] for key in META_FIELDS if key in data}
    return meta, _faq_sections(entries, "entry")


def load_faq_yaml(path: Path) -> tuple[dict[str, Any], list[Section]]:
    try:
        data = _safe_yaml(_read_text(path))
    except yaml.YAMLError as exc:
        raise LoadError(f"not valid YAML: {_yaml_problem(exc)}") from None
    return _faq_mapping(data)


def load_faq_json(path: Path) -> tuple[dict[str, Any], list[Section]]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise LoadError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    return _faq_mapping(data)


def load_faq_csv(path: Path) -> tuple[dict[str, Any], list[Section]]:
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    fields = {name.strip().lower() for name in (reader.fieldnames or [])}
    if not {"question", "answer"} <= fields:
        raise LoadError("a FAQ CSV needs a header row with at least 'question' and 'answer'")
    rows = [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]
    meta: dict[str, Any] = {}
    languages = {r.get("language", "") for r in rows} - {""}
    if len(languages) == 1:
        meta["language"] = languages.pop()
    return meta, _faq_sections(rows, "row")


Loader = Callable[[Path], tuple[dict[str, Any], list[Section]]]

LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".yaml": load_faq_yaml,
    ".yml": load_faq_yaml,
    ".json": load_faq_json,
    ".csv": load_faq_csv,
}


def load_document(
    path: Path, root: Path, max_bytes: int = MAX_DOCUMENT_BYTES, prefix: str = ""
) -> Document:
    """Load one file under ``root`` into a Document, or raise LoadError saying why. Its source
    is ``prefix`` and its path under ``root`` (a synced source's files: ``"site:" + path``).

    A file over ``max_bytes`` is refused from its size alone, before any of it is read.
    """
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        _check_size(path, max_bytes)
        found, sections = loader(path)
    except LoadError:
        raise
    except RecursionError:
        raise LoadError("nested too deeply to read") from None
    except csv.Error as exc:
        raise LoadError(f"not a readable CSV ({exc})") from None
    except Exception as exc:  # a loader library failing on a corrupt file must not stop ingest
        raise LoadError(f"{type(exc).__name__}: {exc}"[:300]) from None
    if not sections:
        raise LoadError("no text found")
    _check_chars(sum(len(s.text) for s in sections))
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.exists():
        try:
            _check_size(sidecar, MAX_DOCUMENT_BYTES)
            extra = _safe_yaml(_read_text(sidecar)) or {}
        except yaml.YAMLError as exc:
            raise LoadError(f"{sidecar.name} is not valid YAML: {_yaml_problem(exc)}") from None
        if not isinstance(extra, dict):
            raise LoadError(f"{sidecar.name} must be a mapping of fields")
        found = {**found, **extra}
    relative = prefix + path.relative_to(root).as_posix()
    return Document(meta=_document_meta(relative, path, found, sections), sections=tuple(sections))


def _document_meta(
    relative: str, path: Path, found: Mapping[str, Any], sections: list[Section]
) -> DocumentMeta:
    values = {key: _scalar(found.get(key)) for key in META_FIELDS if key != "plans"}
    audience = values["audience"].lower() or "public"
    if audience not in ("public", "internal"):
        raise LoadError(f"audience must be 'public' or 'internal', got {values['audience']!r}")
    # The most restrictive marking wins: a file in an internal/ folder is internal whatever it says.
    if "internal" in Path(relative).parts[:-1]:
        audience = "internal"
    language = values["language"].lower().split("-")[0]
    if not language:
        language = detect_language(" ".join(s.text for s in sections[:20]))
    # No file-date fallback: a fresh clone has new dates, and ids must stay the same.
    updated = values["updated"]
    title = values["title"] or path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    return DocumentMeta(
        source=relative,
        title=title,
        url=values["url"],
        language=language,
        audience=audience,
        product=values["product"],
        updated=updated,
        plans=_plans(found.get("plans")),
    )


def _plans(value: Any) -> tuple[str, ...]:
    """``plans:`` as a list (YAML, JSON) or a string of comma-separated names (HTML, CSV)."""
    if value is not None and not isinstance(value, (str, list, tuple)):
        raise LoadError(f"plans must be a list of plan names, got {value!r}")
    return normalise_plans(value)
