"""Sources: where the knowledge base's documents come from besides its folder (a website, a
Zendesk Guide or Intercom Articles account, an export file), declared in sources.yaml and
brought in by ``helpdesk sync``. See :mod:`.base` for the contract a connector keeps."""

from __future__ import annotations

import importlib

from .base import (
    Connector,
    Fetched,
    Page,
    SourceConfig,
    SourceError,
    SourceUnreachable,
    nested_markdown,
)

__all__ = [
    "CONNECTORS",
    "Connector",
    "Fetched",
    "Page",
    "SourceConfig",
    "SourceError",
    "SourceUnreachable",
    "connector",
    "nested_markdown",
]

# type -> "module:factory"; imported only when a source of that type is synced, so a deployment
# without a website source never imports the crawler's libraries. Each factory takes the
# SourceConfig and returns a Connector.
CONNECTORS = {
    "website": "helpdesk.sources.website:WebsiteSource",
    "zendesk": "helpdesk.sources.zendesk:ZendeskSource",
    "intercom": "helpdesk.sources.intercom:IntercomSource",
    "zendesk-export": "helpdesk.sources.exports:ZendeskExport",
    "intercom-export": "helpdesk.sources.exports:IntercomExport",
    "notion-export": "helpdesk.sources.exports:NotionExport",
    "confluence-export": "helpdesk.sources.exports:ConfluenceExport",
}
# The knowledge-base folder itself: not fetched, ingest reads it in place.
FOLDER = "folder"


def connector(config: SourceConfig) -> Connector:
    """The connector for ``config``'s type (its module imported now)."""
    where = CONNECTORS.get(config.type)
    if where is None:
        known = ", ".join(sorted([FOLDER, *CONNECTORS]))
        raise SourceError(f"source {config.name!r}: unknown type {config.type!r} (known: {known})")
    module, name = where.split(":")
    factory = getattr(importlib.import_module(module), name)
    made: Connector = factory(config)
    return made
