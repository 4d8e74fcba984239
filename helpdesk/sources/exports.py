"""Export files as sources, for a company that cannot give an API token, or keeps its help center
in Notion or Confluence. Each reads the file or folder named by the option ``path`` on every sync
and yields the same pages its API connector would, so replacing an export by a newer one
updates, adds and removes documents the same way.

- ``zendesk-export``: JSON as the Help Center API answers it (``{"articles": [...],
  "sections": [...], "categories": [...]}``, one file or a folder of them, e.g. each listing
  page saved as it came), or a JSON list of articles.
- ``intercom-export``: JSON as the Intercom API answers it (``{"type": "list", "data": [...]}``
  of articles, collections or sections, told apart by each item's ``type``).
- ``notion-export``: a Notion "Markdown & CSV" or "HTML" export zip (or its unzipped folder).
- ``confluence-export``: a Confluence space HTML export zip (or its unzipped folder).

A ``path`` that does not exist or cannot be read is :class:`SourceUnreachable`: the source
keeps what it had.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import intercom, zendesk
from .apiclient import string_list
from .archive import ExportArchive
from .base import Fetched, Progress, SourceConfig, SourceError, SourceUnreachable
from .wikis import confluence_pages, links_from, notion_pages


class _Export:
    suffixes: tuple[str, ...] = (".json",)

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.path = Path(str(config.required("path"))).expanduser()

    def archive(self) -> ExportArchive:
        return ExportArchive(self.config.name, self.path, self.suffixes)

    def documents(self, archive: ExportArchive) -> Iterator[Any]:
        """Each JSON file's content."""
        for name, text in archive.files():
            try:
                yield json.loads(text)
            except json.JSONDecodeError as exc:
                raise SourceUnreachable(f"{self.config.name}: {name} is not JSON ({exc})") from None


class ZendeskExport(_Export):
    """Zendesk Help Center API JSON saved to files."""

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        restricted = str(self.config.option("restricted", "internal"))
        if restricted not in zendesk.RESTRICTED:
            raise SourceError(f"source {self.config.name!r}: restricted must be internal or skip")
        catalog = zendesk.Catalog()
        articles: dict[tuple[str, str], Mapping[str, Any]] = {}
        archive = self.archive()
        for document in self.documents(archive):
            items = document if isinstance(document, list) else []
            if isinstance(document, Mapping):
                catalog.add(document)
                items = list(document.get("articles") or [])
                if isinstance(document.get("article"), Mapping):
                    items.append(document["article"])
            for item in items:
                if isinstance(item, Mapping):
                    # The same article saved twice (overlapping pages) is one article.
                    articles[(str(item.get("id")), str(item.get("locale")))] = item
        pages, skipped = zendesk.article_pages(articles.values(), catalog, restricted)
        progress(len(pages), len(pages))
        return Fetched(pages=pages, skipped=archive.skipped + skipped)


class IntercomExport(_Export):
    """Intercom Articles and Help Center API JSON saved to files."""

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        groups = intercom.Groups()
        articles: dict[str, Mapping[str, Any]] = {}
        archive = self.archive()
        for document in self.documents(archive):
            items: Any = document
            if isinstance(document, Mapping):
                items = document.get("data", [document])
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, Mapping):
                    continue
                if item.get("type") in ("collection", "section"):
                    groups.add([item])
                elif item.get("type", "article") == "article":
                    articles[str(item.get("id"))] = item
        locales = string_list(self.config.option("locales", []))
        pages, skipped = intercom.article_pages(articles.values(), groups, locales)
        progress(len(pages), len(pages))
        return Fetched(pages=pages, skipped=archive.skipped + skipped)


class NotionExport(_Export):
    """A Notion workspace or page export (Markdown or HTML), zipped or unzipped."""

    suffixes = (".md", ".html")

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        archive = self.archive()
        pages, skipped = notion_pages(archive.files(), links_from(self.config.options))
        progress(len(pages), len(pages))
        return Fetched(pages=pages, skipped=archive.skipped + skipped)


class ConfluenceExport(_Export):
    """A Confluence space's HTML export, zipped or unzipped."""

    suffixes = (".html",)

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        archive = self.archive()
        pages, skipped = confluence_pages(archive.files(), links_from(self.config.options))
        progress(len(pages), len(pages))
        return Fetched(pages=pages, skipped=archive.skipped + skipped)
