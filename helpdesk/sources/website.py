"""The website source: a help center's pages crawled from its start URL and/or sitemap.

It follows same-site links breadth-first up to ``max_depth`` and ``max_pages``, keeps to
robots.txt (protego: wildcards, longest match, Crawl-delay), one document per canonical URL,
``noindex`` in a robots meta tag or an X-Robots-Tag header, and reads each page's main text
with trafilatura (:mod:`.webpage`). Politeness: ``concurrency`` requests in flight at most, a
``delay`` between requests to a host, timeouts, retries with backoff on 429/5xx that honour
Retry-After. A page fetched before is asked for with If-None-Match / If-Modified-Since; a 304
keeps its mirror copy, and its links (kept in the state) are followed as before.

Errors: bad options raise :class:`SourceError` when the source is built; a site that cannot
be read at all (start URL, sitemap or robots.txt unreachable, a 5xx on the start page) raises
:class:`SourceUnreachable` from ``fetch``; anything about a single page is ``skipped``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from .base import Fetched, Progress, SourceConfig, SourceError
from .crawl import Crawl, Options
from .webpage import normalise

OPTIONS = {
    "start_url": "the page to start from (its links are followed)",
    "sitemap": "a sitemap.xml or sitemap index URL, or a list of them",
    "max_depth": "links followed from a start page, at most (default 3)",
    "max_pages": "pages requested, at most (default 1000)",
    "include": "URL path prefixes or globs to crawl (default: all)",
    "exclude": "URL path prefixes or globs never to crawl",
    "concurrency": "requests in flight at once (default 4)",
    "delay": "seconds between two requests to one host (default 0.25)",
    "timeout": "seconds to wait for a response (default 20)",
    "user_agent": "the User-Agent header (default helpdesk/VERSION (+the site's address))",
    "retries": "retries of a request answered 429 or 5xx, or not answered (default 3)",
}


def read_options(config: SourceConfig) -> Options:
    """The options of ``config``, or a SourceError naming the one that is wrong."""

    def bad(key: str, expected: str) -> SourceError:
        value = config.options.get(key)
        return SourceError(f"source {config.name!r} (website): {key} {expected}, got {value!r}")

    unknown = sorted(set(config.options) - set(OPTIONS))
    if unknown:
        known = ", ".join(OPTIONS)
        raise SourceError(
            f"source {config.name!r} (website): unknown option {unknown[0]!r} (known: {known})"
        )

    def url(key: str, value: Any) -> str:
        found = normalise(value) if isinstance(value, str) else None
        if not found:
            raise bad(key, "must be an http:// or https:// address")
        return found

    def number(key: str, default: float, low: float, high: float, whole: bool) -> Any:
        value = config.options.get(key, default)
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            raise bad(key, f"must be {kind} from {low:g} to {high:g}")
        return value

    def patterns(key: str) -> tuple[str, ...]:
        value = config.options.get(key) or []
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise bad(key, "must be a path prefix or glob, or a list of them")
        return tuple(v if v.startswith(("/", "*")) else f"/{v}" for v in value)

    start = config.options.get("start_url")
    raw_sitemaps = config.options.get("sitemap") or []
    raw_sitemaps = [raw_sitemaps] if isinstance(raw_sitemaps, str) else raw_sitemaps
    if not start and not raw_sitemaps:
        raise SourceError(f"source {config.name!r} (website) needs 'start_url' or 'sitemap'")
    if not isinstance(raw_sitemaps, list):
        raise bad("sitemap", "must be an address or a list of addresses")
    agent = config.options.get("user_agent", "")
    if not isinstance(agent, str):
        raise bad("user_agent", "must be text")
    start_url = url("start_url", start) if start else ""
    sitemaps = tuple(url("sitemap", s) for s in raw_sitemaps)
    if not agent.strip():
        origin = urlsplit(start_url or sitemaps[0])
        agent = f"helpdesk/{_version()} (+{origin.scheme}://{origin.netloc}/)"
    return Options(
        start_url=start_url,
        sitemaps=sitemaps,
        max_depth=number("max_depth", 3, 0, 100, True),
        max_pages=number("max_pages", 1000, 1, 1_000_000, True),
        include=patterns("include"),
        exclude=patterns("exclude"),
        concurrency=number("concurrency", 4, 1, 32, True),
        delay=float(number("delay", 0.25, 0, 60, False)),
        timeout=float(number("timeout", 20, 0.1, 600, False)),
        user_agent=agent.strip(),
        retries=number("retries", 3, 0, 10, True),
    )


class WebsiteSource:
    """A website, crawled. ``client`` is the I/O boundary (tests may hand one in)."""

    def __init__(self, config: SourceConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        self.options = read_options(config)
        self.client = client

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        """Every page of the site now, as the module docstring says."""
        if self.client is not None:
            return Crawl(self.options, self.client, state, progress).run()
        with self._new_client() as client:
            return Crawl(self.options, client, state, progress).run()

    def _new_client(self) -> httpx.Client:
        limit = self.options.concurrency
        return httpx.Client(
            headers={"User-Agent": self.options.user_agent},
            timeout=httpx.Timeout(self.options.timeout),
            follow_redirects=True,
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        )


def _version() -> str:
    """helpdesk's version (the package's, not imported: the sources layer sits below it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("helpdesk")
    except PackageNotFoundError:
        return "0"
