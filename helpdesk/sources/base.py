"""What every source is: its declaration in sources.yaml, the pages it fetches, and the contract a
connector keeps.

A connector (website, Zendesk, Intercom, an export file) turns what lives elsewhere into
:class:`Page` objects; :mod:`helpdesk.sources.sync` writes them as Markdown or HTML files into the
source's *mirror*, ``DATA_DIR/sources/NAME/``, and ingest reads every mirror beside the
knowledge-base folder. The mirror is replaced only after a fetch succeeded, so an unreachable
source keeps its last good content.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import HelpdeskError

AUDIENCES = ("public", "internal")
# A source's name is a folder name and the start of its documents' ids ("website:pricing.md").
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SourceError(HelpdeskError):
    """sources.yaml declares something that cannot work (an unknown type, a missing setting)."""

    status = 422
    code = "bad_source"


class SourceUnreachable(Exception):
    """A fetch failed as a whole (the site, the API or the export cannot be read): the source
    keeps its last good mirror and the sync reports it, never an emptied source."""


@dataclass(frozen=True)
class SourceConfig:
    """One entry of sources.yaml. ``options`` holds the type's own settings, unparsed."""

    name: str
    type: str
    audience: str = "public"
    product: str = ""
    language: str = ""
    schedule: str = ""  # "" (only on `helpdesk sync`), "every 6h", or a crontab line
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def required(self, key: str) -> Any:
        value = self.options.get(key)
        if value in (None, ""):
            raise SourceError(f"source {self.name!r} ({self.type}) needs {key!r}")
        return value


@dataclass(frozen=True)
class Page:
    """One document a source holds now, as it will be written to the mirror.

    ``path`` is the file's place in the mirror (POSIX, no ``..``), ending in ``.md`` (``body`` is
    Markdown: the heading structure as ``#`` headings) or ``.html`` (``body`` is HTML, sectioned
    by its h1-h6). The same path must come back for the same page on the next fetch, so that an
    unchanged page is an unchanged file and ingest re-embeds nothing of it. Empty metadata
    fields fall back to the source's defaults (audience, product, language), then to detection;
    ``plans`` limits the page to customers on those plans, as a file's ``plans:`` does.
    """

    path: str
    title: str
    body: str
    url: str = ""
    language: str = ""
    audience: str = ""
    product: str = ""
    updated: str = ""
    plans: tuple[str, ...] = ()  # the plans the page is limited to; empty: every plan


@dataclass
class Fetched:
    """What one fetch found.

    ``pages``: every page the source holds now that was fetched again. ``unchanged``: mirror
    paths the source says did not change since ``state`` (HTTP 304, the same ``updated_at``):
    the mirror's copy is kept. A path in neither is gone from the source and leaves the mirror.
    ``skipped``: (what, why) for pages left out on purpose (a draft, robots.txt, noindex, a
    404); ``state``: what the next fetch needs (ETags, cursors), kept as JSON.
    """

    pages: list[Page] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    requests: int = 0  # HTTP requests made, for the summary's pages/s


Progress = Callable[[int, int | None], None]  # (done, total or None when unknown)


class Connector(Protocol):
    """A source type. ``fetch`` raises :class:`SourceUnreachable` when the source as a whole
    cannot be read; a single page that fails is ``skipped`` instead."""

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched: ...


ConnectorFactory = Callable[[SourceConfig], Connector]


def nested_markdown(headings: Iterable[str], title: str, body: str) -> str:
    """``body`` (Markdown) under ``headings`` (outermost first, e.g. a Zendesk category and
    section) and the page ``title``: each becomes a heading one level deeper, and the body's
    own headings move down below them (capped at level 6), so every chunk's heading path
    carries where the page sits in the help center."""
    levels = [h.strip() for h in headings if h and h.strip()]
    lines = [f"{'#' * (depth + 1)} {text}" for depth, text in enumerate([*levels, title])]
    shift = len(lines)
    moved = []
    fence = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        heading = None if fence else re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = min(6, len(heading.group(1)) + shift)
            line = f"{'#' * level} {heading.group(2)}"
        moved.append(line)
    return "\n".join(lines) + "\n\n" + "\n".join(moved).strip() + "\n"
