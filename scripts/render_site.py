"""Render the knowledge-base folder as the static website a help center would publish.

    python scripts/render_site.py [--source knowledge_base] [--out .cache/site] \
        [--base-url http://127.0.0.1:8000]

Every document (Markdown, HTML, PDF, Word, FAQ files; public and internal) is read with
helpdesk's own loaders and becomes one HTML page at the path of its ``url`` metadata (a PDF's
or Word file's page drops the suffix; a document without a URL lives at its file path): its
title as ``<h1>``, its heading path as ``<h2>``-``<h6>``, its text as HTML (Markdown rendered
with markdown-it), ``<html lang>``, a canonical link, its updated date as
``article:modified_time`` and its product as ``<meta name="helpdesk:product">`` (the markup
helpdesk reads, see docs/sources-website.md); an FAQ file is one page with each category as
``<h2>`` and each question as ``<h3 id=ANCHOR>``. Around the text, as on a real help center: a
cookie banner, a header with the navigation (every public page), breadcrumbs, a
related-articles box and a footer. Internal documents live under ``/kb/`` with an index of
their own. Also written: ``/`` and ``/kb/`` (listings, noindex), ``robots.txt``,
``sitemap.xml``, and ``site.json``: for each document, its source file, URL path, title,
language and audience, and each FAQ anchor's question (what scripts/eval_crawled.py maps the
benchmark's gold with).

Files: ``/en/manuals/aura-speaker`` is ``OUT/en/manuals/aura-speaker.html``, ``/`` is
``OUT/index.html`` and ``/kb/`` is ``OUT/kb/index.html``; :func:`file_for` maps a URL path, and
:func:`serve_folder` serves the folder on loopback as a static host would (ETags, 304s).
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import html
import json
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from helpdesk.documents import discover, load_document
from helpdesk.documents.loaders import LoadError
from helpdesk.types import Document, Section

BANNER = "We use cookies to keep you signed in and to understand how our help center is used."
FOOTER = "© 2026 Nimbus Home Inc. · 100 Cloud Avenue, Seattle · Nimbus Home Help Center"
NAV_LABEL = "Nimbus Home Help Center: products, policies and answers"


@dataclass(frozen=True)
class Rendered:
    """One document's page."""

    document: Document
    path: str  # the URL path, e.g. /en/manuals/aura-speaker

    @property
    def internal(self) -> bool:
        return self.document.meta.audience == "internal"


def page_path(document: Document) -> str:
    """The URL path of a document's page: its url metadata's path (a file suffix dropped),
    internal pages under /kb/, else its file path without the suffix."""
    meta = document.meta
    path = urlsplit(meta.url).path if meta.url else "/" + meta.source.rsplit(".", 1)[0]
    for suffix in (".pdf", ".docx", ".html", ".htm"):
        path = path.removesuffix(suffix)
    if meta.audience == "internal" and not path.startswith("/kb/"):
        path = "/kb" + path
    return path.rstrip("/") or "/"


def file_for(out: Path, url_path: str) -> Path:
    """The file that holds the page at ``url_path``."""
    if url_path.endswith("/"):
        return out / url_path.strip("/") / "index.html"
    return out / (url_path.strip("/") + ".html")


def _anchor(section: Section) -> str:
    """An FAQ entry's anchor: its id, or the fragment of its own URL (a CSV row's)."""
    return section.anchor or section.overrides.get("url", "").partition("#")[2]


def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark").enable("table").render(text))


def _body(document: Document) -> str:
    """The document's text as HTML, its heading path as h2-h6 (h1 is the title)."""
    title = document.meta.title
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if document.sections and document.sections[0].kind == "faq":
        by_category: dict[str, list[str]] = defaultdict(list)
        for section in document.sections:
            category = section.headings[0] if section.headings else ""
            anchor = f' id="{html.escape(_anchor(section))}"' if _anchor(section) else ""
            by_category[category].append(
                f"<h3{anchor}>{html.escape(section.question)}</h3>{_markdown(section.answer)}"
            )
        for category, entries in by_category.items():
            if category:
                parts.append(f"<h2>{html.escape(category)}</h2>")
            parts.extend(entries)
        return "\n".join(parts)
    previous: tuple[str, ...] = ()
    for section in document.sections:
        headings = section.headings
        if headings and headings[0] == title:  # a Markdown file's own "# Title"
            headings = headings[1:]
        same = 0
        while same < min(len(previous), len(headings)) and previous[same] == headings[same]:
            same += 1
        for depth, heading in enumerate(headings[same:], start=same):
            level = min(6, depth + 2)
            parts.append(f"<h{level}>{html.escape(heading)}</h{level}>")
        previous = headings
        parts.append(_markdown(section.text))
    return "\n".join(parts)


def _layout(
    title: str,
    language: str,
    canonical: str,
    nav: str,
    crumbs: str,
    body: str,
    related: str,
    updated: str = "",
    product: str = "",
    plans: tuple[str, ...] = (),
) -> str:
    e = html.escape
    modified = f'<meta property="article:modified_time" content="{e(updated)}">' if updated else ""
    if product:  # the markup helpdesk reads from HTML pages (docs/sources-website.md)
        modified += f'<meta name="helpdesk:product" content="{e(product)}">'
    if plans:  # a page only some plans may read, marked up the same way
        modified += f'<meta name="helpdesk:plans" content="{e(",".join(plans))}">'
    return f"""<!DOCTYPE html>
<html lang="{e(language or "en")}">
<head><meta charset="utf-8"><title>{e(title)} | Nimbus Home Help Center</title>
<link rel="canonical" href="{e(canonical)}">{modified}
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<div class="cookie-banner" role="dialog" aria-label="Cookies"><p>{e(BANNER)}</p>
<button>Accept all</button> <button>Only necessary cookies</button></div>
<header class="site-header"><a class="logo" href="/">Nimbus Home</a>
<nav class="site-nav" aria-label="{e(NAV_LABEL)}">{nav}</nav>
<form role="search" action="/search"><input name="q" placeholder="Search help"></form></header>
<nav class="breadcrumbs">{crumbs}</nav>
<main><article>
{body}
</article>
<aside class="related"><h2>Related articles</h2><ul>{related}</ul></aside>
</main>
<footer class="site-footer"><p>{e(FOOTER)}</p>
<ul><li><a href="/">Help Center</a></li><li><a href="/en/policies/privacy">Privacy</a></li>
<li><a href="https://status.nimbushome.example/">System status</a></li></ul></footer>
</body></html>
"""


def _nav(pages: list[Rendered]) -> str:
    groups: dict[str, list[Rendered]] = defaultdict(list)
    for page in pages:
        if not page.internal:
            groups[page.document.meta.language or "en"].append(page)
    blocks = []
    for language, members in sorted(groups.items()):
        items = "".join(
            f'<li><a href="{html.escape(p.path)}">{html.escape(p.document.meta.title)}</a></li>'
            for p in members
        )
        blocks.append(f'<ul class="nav-{language}">{items}</ul>')
    return "".join(blocks)


def render(source: Path, out: Path, base_url: str) -> list[Rendered]:
    """Write the site for the documents under ``source`` into ``out`` (emptied first)."""
    base_url = base_url.rstrip("/")
    documents = []
    for file in discover(source):
        try:
            documents.append(load_document(file, source))
        except LoadError as error:
            print(f"render_site: {file.relative_to(source)} left out: {error}")
    pages = [Rendered(d, page_path(d)) for d in documents]
    taken: dict[str, str] = {}
    for page in pages:
        if page.path in taken:
            raise SystemExit(
                f"{page.document.meta.source} and {taken[page.path]} share {page.path}"
            )
        taken[page.path] = page.document.meta.source
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    nav = _nav(pages)
    siblings: dict[tuple[bool, str], list[Rendered]] = defaultdict(list)
    for page in pages:
        siblings[(page.internal, page.document.meta.language)].append(page)
    for page in pages:
        meta = page.document.meta
        group = siblings[(page.internal, meta.language)]
        at = group.index(page)
        related = "".join(
            f'<li><a href="{html.escape(p.path)}">{html.escape(p.document.meta.title)}</a></li>'
            for p in (group[(at + step) % len(group)] for step in (1, 2, 3))
            if p is not page
        )
        home = "/kb/" if page.internal else "/"
        crumbs = f'<a href="{home}">Help Center</a> › <span>{html.escape(meta.title)}</span>'
        text = _layout(
            meta.title,
            meta.language,
            base_url + page.path,
            nav,
            crumbs,
            _body(page.document),
            related,
            meta.updated,
            meta.product,
            meta.plans,
        )
        target = file_for(out, page.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for home, internal, title in (("/", False, "Help Center"), ("/kb/", True, "Agent knowledge")):
        listed = "".join(
            f'<li><a href="{html.escape(p.path)}">{html.escape(p.document.meta.title)}</a></li>'
            for p in pages
            if p.internal == internal
        )
        body = f"<h1>{title}</h1><p>Browse the articles below.</p><ul>{listed}</ul>"
        text = _layout(title, "en", base_url + home, nav, "", body, "")
        # A listing, not an article: kept out of search engines' indexes, and so of helpdesk's.
        text = text.replace("<head>", '<head><meta name="robots" content="noindex, follow">', 1)
        file_for(out, home).parent.mkdir(parents=True, exist_ok=True)
        file_for(out, home).write_text(text, encoding="utf-8")
    (out / "robots.txt").write_text(
        f"User-agent: *\nDisallow: /search\n\nSitemap: {base_url}/sitemap.xml\n", encoding="utf-8"
    )
    urls = "".join(
        f"<url><loc>{html.escape(base_url + p)}</loc></url>"
        for p in ["/", "/kb/", *(page.path for page in pages)]
    )
    (out / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n',
        encoding="utf-8",
    )
    described = [
        {
            "source": page.document.meta.source,
            "path": page.path,
            "title": page.document.meta.title,
            "language": page.document.meta.language,
            "audience": page.document.meta.audience,
            "questions": {
                _anchor(s): s.question
                for s in page.document.sections
                if s.kind == "faq" and _anchor(s)
            },
        }
        for page in pages
    ]
    (out / "site.json").write_text(
        json.dumps({"base_url": base_url, "documents": described}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    return pages


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve the rendered site in ``folder`` on a loopback port (ETags and 304s, like a static
    host); yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            direct = folder / path.lstrip("/")
            target = direct if direct.is_file() else file_for(folder, path)
            if ".." in path or not target.is_file():
                self.send_error(404)
                return
            body = target.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            kind = {".txt": "text/plain", ".xml": "application/xml", ".json": "application/json"}
            self.send_response(200)
            self.send_header("Content-Type", kind.get(target.suffix, "text/html; charset=utf-8"))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", email.utils.formatdate(target.stat().st_mtime))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("knowledge_base"))
    parser.add_argument("--out", type=Path, default=Path(".cache") / "site")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    pages = render(args.source, args.out, args.base_url)
    internal = sum(page.internal for page in pages)
    print(f"{len(pages)} pages ({internal} internal) in {args.out}")


if __name__ == "__main__":
    main()
