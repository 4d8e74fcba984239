"""Notion and Confluence exports as pages: the page tree becomes the heading path, links
between pages become their public URLs where known, attachments and images are left out.

- **Notion** (Markdown & CSV, or HTML export): every page is ``Title <32-hex id>.md`` (or
  ``.html``) and its subpages sit in the folder ``Title <id>/`` beside it, so a page's folders
  are its ancestors. The id is the page's path (``{id}.md``) and finds its public URL:
  ``url_map[id]``, else ``{base_url}/{Title-Words}-{id}`` (a notion.site page's address).
- **Confluence** (space export, HTML): ``SPACE/index.html`` and one ``Title_123456.html`` (or
  ``123456.html``) per page, each with breadcrumbs (space home, then ancestors) and its content
  in ``#main-content``. The page id finds its URL: ``url_map[id]``, else
  ``{base_url}/pages/viewpage.action?pageId={id}`` (Confluence Cloud and Data Center alike).

``url_map`` may also be keyed by a page's title. A link to a page whose URL is unknown, or to an
attachment, keeps its text and loses the link: a path inside a zip means nothing to a reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from .base import Page, nested_markdown
from .markup import html_to_markdown, markdown_from_soup

_NOTION_NAME = re.compile(r"^(?P<title>.*?)\s*(?P<id>[0-9a-f]{32})$", re.IGNORECASE)
_NOTION_ID = re.compile(r"([0-9a-f]{32})(?:\.(?:md|html))?(?:[?#].*)?$", re.IGNORECASE)
_CONFLUENCE_ID = re.compile(r"(?:^|_)(\d+)\.html$")
# [text](target "title") and ![alt](target): Markdown links in a Notion page.
_MD_LINK = re.compile(r"(!?)\[([^\]]*)\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class Links:
    """Where pages of an export live in public: ``url_map`` (id or title -> URL), then
    ``base_url`` in the export type's own URL form."""

    base_url: str = ""
    url_map: Mapping[str, str] | None = None

    def lookup(self, *keys: str) -> str:
        for key in keys:
            if key and self.url_map and key in self.url_map:
                return str(self.url_map[key])
        return ""


def links_from(options: Mapping[str, Any]) -> Links:
    raw = options.get("url_map") or {}
    url_map = {_key(str(k)): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
    return Links(str(options.get("base_url") or "").rstrip("/"), url_map)


def _key(value: str) -> str:
    """A Notion id with or without dashes is one key; any other key stays as written."""
    bare = value.replace("-", "").lower()
    return bare if re.fullmatch(r"[0-9a-f]{32}", bare) else value


# -- Notion -------------------------------------------------------------------------------------


def notion_pages(
    files: Iterable[tuple[str, str]], links: Links
) -> tuple[list[Page], list[tuple[str, str]]]:
    """Pages from a Notion export's ``(path, text)`` files."""
    parsed: dict[str, tuple[str, str, list[str], str, bool]] = {}  # id -> title, path, ...
    titles: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    for path, text in files:
        pure = PurePosixPath(path)
        match = _NOTION_NAME.match(pure.stem)
        if match is None and pure.name.lower() == "index.html":
            continue  # a workspace export's list of its top pages
        ident = match["id"].lower() if match else _slug(pure.with_suffix("").as_posix())
        ancestors = [m["id"].lower() for p in pure.parts[:-1] if (m := _NOTION_NAME.match(p))]
        is_html = pure.suffix.lower() == ".html"
        title, body = _notion_html(text) if is_html else _notion_markdown(text)
        title = title or (match["title"] if match else pure.stem)
        titles[ident] = title
        parsed[ident] = (title, path, ancestors, body, is_html)
    pages = []
    for ident, (title, path, ancestors, body, is_html) in parsed.items():
        here = notion_url(ident, title, links)

        def rewrite(href: str) -> str | None:
            return _notion_link(href, titles, links)

        text = html_to_markdown(body, here, rewrite) if is_html else _markdown_links(body, rewrite)
        if not text.strip() and not title:
            skipped.append((path, "no text"))
            continue
        headings = [titles.get(a, "") for a in ancestors]
        pages.append(
            Page(
                path=f"{ident}.md",
                title=title,
                body=nested_markdown(headings, title, text),
                url=here,
            )
        )
    return pages, skipped


def notion_url(ident: str, title: str, links: Links) -> str:
    found = links.lookup(ident, title)
    if found or not links.base_url or not re.fullmatch(r"[0-9a-f]{32}", ident):
        return found
    words = re.sub(r"[^\w]+", "-", title).strip("-")
    return f"{links.base_url}/{words}-{ident}" if words else f"{links.base_url}/{ident}"


def _notion_link(href: str, titles: Mapping[str, str], links: Links) -> str | None:
    parts = urlsplit(href)
    internal = not parts.scheme or parts.netloc.endswith(("notion.so", "notion.site"))
    if not internal:
        return href
    match = _NOTION_ID.search(unquote(parts.path))
    if match is None:
        return None  # an attachment or an image inside the export
    ident = match[1].lower()
    if ident not in titles:  # a page outside this export: public only if the map says so
        return links.lookup(ident) or None
    return notion_url(ident, titles[ident], links) or None


def _notion_markdown(text: str) -> tuple[str, str]:
    """A Markdown export's title (its first ``# `` line) and the rest."""
    lines = text.lstrip("\ufeff").splitlines()
    if lines and lines[0].startswith("# "):
        return lines[0][2:].strip(), "\n".join(lines[1:])
    return "", text


def _notion_html(text: str) -> tuple[str, str]:
    """An HTML export's title and its page body (the header, with title and properties, out)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    heading = soup.select_one(".page-title") or soup.find("h1")
    title = heading.get_text(" ", strip=True) if heading else ""
    if not title and soup.title and soup.title.string:
        title = soup.title.string.strip()
    body = soup.select_one(".page-body") or soup.find("article") or soup.body or soup
    for header in body.find_all("header"):
        header.decompose()
    return title, str(body)


def _markdown_links(text: str, rewrite: Any) -> str:
    """Images out; each link to its public URL, or its text alone."""

    def replace(match: re.Match[str]) -> str:
        image, label, target = match.group(1), match.group(2), match.group(3)
        if image:
            return ""
        if target.startswith("#"):
            return label
        found = rewrite(target)
        return f"[{label}]({found})" if found else label

    return re.sub(r"\n{3,}", "\n\n", _MD_LINK.sub(replace, text))


# -- Confluence ---------------------------------------------------------------------------------


def confluence_pages(
    files: Iterable[tuple[str, str]], links: Links
) -> tuple[list[Page], list[tuple[str, str]]]:
    """Pages from a Confluence space export's ``(path, text)`` HTML files."""
    from bs4 import BeautifulSoup

    soups = {}
    titles: dict[str, str] = {}  # file name -> page title
    for path, text in files:
        name = PurePosixPath(path).name
        if name.lower() == "index.html" or "/attachments/" in f"/{path}":
            continue
        soup = BeautifulSoup(text, "html.parser")
        crumbs = [a.get_text(" ", strip=True) for a in soup.select("#breadcrumbs li a")]
        title = _confluence_title(soup, crumbs[0] if crumbs else "")
        soups[path] = (soup, crumbs, title)
        titles[name] = title
    pages: list[Page] = []
    skipped: list[tuple[str, str]] = []
    for path, (soup, crumbs, title) in soups.items():
        name = PurePosixPath(path).name
        here = confluence_url(name, title, links)

        def rewrite(href: str) -> str | None:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                return href
            target = PurePosixPath(unquote(parts.path)).name
            if not target.lower().endswith(".html") or target.lower() == "index.html":
                return None  # an attachment, or the space's page list
            return confluence_url(target, titles.get(target, ""), links) or None

        main = soup.select_one("#main-content") or soup.select_one(".wiki-content")
        if main is None:
            skipped.append((path, "no #main-content (not a Confluence page?)"))
            continue
        text = markdown_from_soup(main, here, rewrite)
        if not text.strip():
            skipped.append((path, "no text"))
            continue
        ident = _CONFLUENCE_ID.search(name)
        pages.append(
            Page(
                path=f"{ident[1] if ident else _slug(PurePosixPath(path).stem)}.md",
                title=title,
                body=nested_markdown(crumbs, title, text),
                url=here,
            )
        )
    return pages, skipped


def confluence_url(name: str, title: str, links: Links) -> str:
    ident = _CONFLUENCE_ID.search(name)
    key = ident[1] if ident else ""
    found = links.lookup(key, title, PurePosixPath(name).stem)
    if found or not links.base_url or not key:
        return found
    return f"{links.base_url}/pages/viewpage.action?pageId={key}"


def _confluence_title(soup: Any, space: str) -> str:
    """``#title-text`` reads "Space Name : Page Title"; the page title is what follows."""
    node = soup.select_one("#title-text") or soup.title
    text = node.get_text(" ", strip=True) if node else ""
    if space and text.startswith(f"{space} : "):
        return text[len(space) + 3 :].strip()
    return text.split(" : ", 1)[-1].strip() if " : " in text else text


def _slug(value: str) -> str:
    return re.sub(r"[^\w]+", "-", value.lower()).strip("-") or "page"
