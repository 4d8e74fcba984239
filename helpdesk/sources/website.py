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

import email.utils
import hashlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from .base import Fetched, Page, Progress, SourceConfig, SourceError, SourceUnreachable
from .webpage import (
    Reading,
    drop_lines,
    host_of,
    matches,
    mirror_path,
    normalise,
    read_page,
    robots_directives,
    sitemap_urls,
)

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
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 120.0  # a longer Retry-After gives the page up for this sync
MAX_PAGE_BYTES = 10_000_000
MAX_SITEMAPS = 50
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Links to these are files, not pages: skipped without a request.
FILE_SUFFIXES = (
    ".pdf", ".zip", ".gz", ".tar", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico",
    ".mp3", ".mp4", ".mov", ".avi", ".webm", ".css", ".js", ".json", ".xml", ".docx", ".xlsx",
    ".pptx", ".exe", ".dmg", ".woff", ".woff2", ".ttf",
)  # fmt: skip
STATE_VERSION = 1
# Text on at least this share of the pages read is the site's template (a "was this helpful?"
# widget, a contact line) where the extractor left it in; counted once enough pages are read.
TEMPLATE_SHARE = 0.5
TEMPLATE_MIN_PAGES = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """A website entry's options, checked."""

    start_url: str
    sitemaps: tuple[str, ...]
    max_depth: int = 3
    max_pages: int = 1000
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    concurrency: int = 4
    delay: float = 0.25
    timeout: float = 20.0
    user_agent: str = ""
    retries: int = 3

    @classmethod
    def read(cls, config: SourceConfig) -> Options:
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
        return cls(
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

    @property
    def agent_token(self) -> str:
        """The name robots.txt groups and robots meta tags address this crawler by."""
        return self.user_agent.split("/")[0].split()[0].lower()


class _Failed(Exception):
    """A request that got no usable answer after its retries; the message says why."""


@dataclass
class _Answer:
    """A response, its body read only when it is an HTML page to read."""

    status: int
    url: str
    headers: httpx.Headers
    body: bytes = b""
    encoding: str = ""
    note: str = ""  # why the body was not read


@dataclass
class _Visit:
    """What requesting one URL found."""

    url: str
    depth: int
    final: str = ""
    skip: str = ""
    transient: bool = False  # a failure that keeps the page's last copy
    unchanged: bool = False  # 304: ``entry`` is the last fetch's record
    reading: Reading | None = None
    entry: dict[str, Any] = field(default_factory=dict)


class _Throttle:
    """At most one request starts per ``delay`` seconds on each host; a Retry-After holds
    back every request to that host."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.next: dict[str, float] = {}
        self.lock = threading.Lock()

    def wait(self, host: str) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next.get(host, now))
            self.next[host] = start + self.delay
        if start > now:
            time.sleep(start - now)

    def hold(self, host: str, seconds: float) -> None:
        with self.lock:
            self.next[host] = max(self.next.get(host, 0.0), time.monotonic() + seconds)


class WebsiteSource:
    """A website, crawled. ``client`` is the I/O boundary (tests may hand one in)."""

    def __init__(self, config: SourceConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        self.options = Options.read(config)
        self.client = client

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        """Every page of the site now, as the module docstring says."""
        if self.client is not None:
            return _Crawl(self.options, self.client, state, progress).run()
        with self._new_client() as client:
            return _Crawl(self.options, client, state, progress).run()

    def _new_client(self) -> httpx.Client:
        limit = self.options.concurrency
        return httpx.Client(
            headers={"User-Agent": self.options.user_agent},
            timeout=httpx.Timeout(self.options.timeout),
            follow_redirects=True,
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        )


class _Crawl:
    """One fetch: breadth-first, one depth at a time, each depth's URLs in sorted order, so
    the same site gives the same pages, paths and cut-off at ``max_pages``."""

    def __init__(
        self, options: Options, client: httpx.Client, state: Mapping[str, Any], progress: Progress
    ) -> None:
        self.options = options
        self.client = client
        self.progress = progress
        fresh = state.get("version") == STATE_VERSION
        self.old: Mapping[str, dict[str, Any]] = state.get("pages", {}) if fresh else {}
        self.old_paths: Mapping[str, str] = state.get("paths", {}) if fresh else {}
        self.throttle = _Throttle(options.delay)
        self.robots: dict[str, Any] = {}
        self.robots_lock = threading.Lock()
        first = options.start_url or options.sitemaps[0]
        self.primary = host_of(first)
        self.hosts = {self.primary, *(host_of(s) for s in options.sitemaps)}
        self.seen: set[str] = set()
        self.admitted = 0
        self.requests = 0
        self.count_lock = threading.Lock()
        self.result = Fetched()
        self.skipped: dict[str, str] = {}
        self.documents: dict[str, _Visit] = {}  # canonical URL -> the visit that holds it
        self.kept: dict[str, str] = {}  # canonical URL -> path of a page kept from last time
        self.entries: dict[str, dict[str, Any]] = {}
        self.done = 0
        self.blocks: Counter[str] = Counter()  # text block key -> pages read that have it
        self.read = 0
        self.old_template: list[str] = state.get("template", []) if fresh else []
        self.template: list[str] = []

    # -- the crawl ------------------------------------------------------------------------------

    def run(self) -> Fetched:
        frontier: list[tuple[str, int]] = []
        if self.options.start_url:
            start = self._start()
            frontier = self._follow(start, []) if start else []
        for url in self._sitemap_pages():
            frontier.extend(self._admit([url], 0))
        while frontier:
            visits = self._visit_all(frontier)
            frontier = []
            for visit in visits:
                frontier = self._follow(visit, frontier)
        self._finish()
        self.progress(self.done, self.done)
        return self.result

    def _start(self) -> _Visit | None:
        """The start page, requested first: the site's address after redirects, and whether
        the site can be read at all."""
        url = self.options.start_url
        self.seen.add(url)
        if not self._allowed(url, required=True):
            raise SourceUnreachable(f"robots.txt disallows the start page {url}")
        self.admitted += 1
        visit = self._visit(url, 0, start=True)
        self.done += 1
        if visit.transient or visit.skip.startswith(("not found", "HTTP ")):
            raise SourceUnreachable(f"the start page {url} cannot be read: {visit.skip}")
        self._settle(visit)
        return visit

    def _visit_all(self, frontier: list[tuple[str, int]]) -> list[_Visit]:
        visits = []
        with ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="crawl") as pool:
            futures = [pool.submit(self._visit, url, depth) for url, depth in sorted(frontier)]
            for future in as_completed(futures):
                visits.append(future.result())
                self.done += 1
                self.progress(self.done, None)
        visits.sort(key=lambda v: (v.url != v.final, v.url))  # the page at its own URL first
        for visit in visits:
            self._settle(visit)
        return visits

    def _follow(self, visit: _Visit, frontier: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """``frontier`` plus the links of ``visit`` that may be crawled."""
        entry = visit.entry
        canonical = entry.get("canonical", "")
        if canonical and canonical not in self.seen:  # the duplicate's original, at its depth
            frontier.extend(self._admit([canonical], visit.depth))
        if "nofollow" not in entry.get("directives", []):
            frontier.extend(self._admit(entry.get("links", []), visit.depth + 1))
        return frontier

    def _admit(self, urls: list[str], depth: int) -> list[tuple[str, int]]:
        """The URLs of ``urls`` to request, each skipped one noted with why."""
        admitted = []
        for url in urls:
            if url in self.seen:
                continue
            self.seen.add(url)
            reason = self._refusal(url, depth)
            if reason:
                self.skipped[url] = reason
            else:
                self.admitted += 1
                admitted.append((url, depth))
        return admitted

    def _refusal(self, url: str, depth: int) -> str:
        options = self.options
        if host_of(url) not in self.hosts:
            return "off-site"
        if options.exclude and matches(url, options.exclude):
            return "excluded by the exclude option"
        if options.include and not matches(url, options.include):
            return "not included by the include option"
        if urlsplit(url).path.lower().endswith(FILE_SUFFIXES):
            return "not HTML (a file link)"
        if depth > options.max_depth:
            return f"deeper than max_depth ({options.max_depth})"
        if self.admitted >= options.max_pages:
            return f"over max_pages ({options.max_pages})"
        if not self._allowed(url):
            return "disallowed by robots.txt"
        return ""

    # -- one page -------------------------------------------------------------------------------

    def _visit(self, url: str, depth: int, *, start: bool = False) -> _Visit:
        visit = _Visit(url, depth)
        old = self.old.get(url, {})
        headers = {}
        if old.get("etag"):
            headers["If-None-Match"] = old["etag"]
        if old.get("modified"):
            headers["If-Modified-Since"] = old["modified"]
        try:
            answer = self._get(url, headers, html=True)
        except _Failed as exc:
            visit.skip, visit.transient = str(exc), True
            return visit
        visit.final = normalise(answer.url) or url
        if start:  # the site is where its start page ends up (http -> https, a www. host)
            self.hosts.add(host_of(visit.final))
        if visit.final != url:
            if host_of(visit.final) not in self.hosts:
                visit.skip = f"redirects off-site to {visit.final}"
                return visit
            if not self._allowed(visit.final):
                visit.skip = f"redirects to {visit.final}, disallowed by robots.txt"
                return visit
        if answer.status == 304 and old:
            visit.unchanged, visit.entry = True, dict(old)
            return visit
        if answer.status in (404, 410):
            visit.skip = f"not found ({answer.status})"
        elif answer.status >= 400 or answer.status == 304:
            visit.skip = f"HTTP {answer.status}"
            visit.transient = answer.status >= 500
        elif answer.note:
            visit.skip = answer.note
        if visit.skip:
            return visit
        html = answer.body.decode(answer.encoding or "utf-8", errors="replace")
        linked = answer.headers.get("link", "")
        canonical_header = ""
        if 'rel="canonical"' in linked or "rel=canonical" in linked:
            canonical_header = linked.split(">")[0].lstrip(" <")
        reading = read_page(
            html, visit.final, self.options.agent_token, headers_canonical=canonical_header
        )
        tagged = robots_directives(answer.headers.get("x-robots-tag", ""), self.options.agent_token)
        visit.reading = reading
        with self.count_lock:
            self.blocks.update(reading.blocks)
            self.read += 1
        visit.entry = {
            "etag": answer.headers.get("etag", ""),
            "modified": answer.headers.get("last-modified", ""),
            "links": reading.links,
            "directives": sorted(reading.directives | tagged),
            "hash": hashlib.sha256(reading.markdown.encode()).hexdigest()[:16],
        }
        if not reading.updated and visit.entry["modified"]:
            parsed = email.utils.parsedate_to_datetime(visit.entry["modified"])
            reading.updated = parsed.date().isoformat() if parsed else ""
        canonical = reading.canonical
        if (
            canonical
            and canonical != visit.final
            and host_of(canonical) in self.hosts
            and self._allowed(canonical)
        ):
            visit.entry["canonical"] = canonical
        if "noindex" in reading.directives:
            visit.entry["skip"] = "noindex (robots meta tag)"
        elif "noindex" in tagged:
            visit.entry["skip"] = "noindex (X-Robots-Tag header)"
        elif not reading.markdown:
            visit.entry["skip"] = "no main text found"
        return visit

    def _get(self, url: str, headers: dict[str, str], *, html: bool) -> _Answer:
        """GET ``url`` politely: throttled per host, retried on 429/5xx and network errors
        with backoff (Retry-After when the server gives one)."""
        options = self.options
        host = host_of(url)
        for attempt in range(options.retries + 1):
            last = attempt == options.retries
            self.throttle.wait(host)
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    with self.count_lock:
                        self.requests += 1 + len(response.history)
                    if response.status_code in RETRY_STATUSES and not last:
                        wait = _retry_after(response.headers.get("retry-after", ""))
                        if wait is None:
                            wait = _backoff(attempt)
                        elif wait > MAX_RETRY_AFTER:
                            raise _Failed(f"HTTP {response.status_code}, Retry-After {wait:.0f}s")
                        self.throttle.hold(host, wait)
                        continue
                    return self._answer(response, html)
            except httpx.TransportError as exc:  # DNS, refused, reset, timeouts
                if last:
                    raise _Failed(f"unreachable ({type(exc).__name__}: {exc})") from None
                time.sleep(_backoff(attempt))
            except httpx.HTTPError as exc:  # too many redirects, a malformed URL
                raise _Failed(f"{type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _answer(self, response: httpx.Response, html: bool) -> _Answer:
        """The response, its body read (up to MAX_PAGE_BYTES) if it is a 200 and, when
        ``html``, an HTML page."""
        answer = _Answer(response.status_code, str(response.url), response.headers)
        if response.status_code != 200:
            return answer
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if html and kind and kind not in HTML_TYPES:
            answer.note = f"not HTML ({kind})"
            return answer
        size = int(response.headers.get("content-length") or 0)
        chunks, total = [], 0
        if size <= MAX_PAGE_BYTES:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > MAX_PAGE_BYTES:
                    break
                chunks.append(chunk)
        if size > MAX_PAGE_BYTES or total > MAX_PAGE_BYTES:
            answer.note = f"larger than {MAX_PAGE_BYTES:,} bytes"
            return answer
        answer.body = b"".join(chunks)
        answer.encoding = response.charset_encoding or _meta_charset(answer.body)
        return answer

    # -- robots.txt and sitemaps ----------------------------------------------------------------

    def _allowed(self, url: str, *, required: bool = False) -> bool:
        host = host_of(url)
        with self.robots_lock:
            if host not in self.robots:
                self.robots[host] = self._robots(url, required)
            rules = self.robots[host]
        return bool(rules is None or rules.can_fetch(url, self.options.agent_token))

    def _robots(self, url: str, required: bool) -> Any:
        """The host's robots.txt rules; None when there are none. RFC 9309: a 4xx means no
        rules, an unreachable or 5xx robots.txt means the whole host is disallowed."""
        from protego import Protego

        parts = urlsplit(url)
        address = f"{parts.scheme}://{parts.netloc}/robots.txt"
        try:
            answer = self._get(address, {}, html=False)
        except _Failed as exc:
            if required:
                raise SourceUnreachable(f"{address} cannot be read: {exc}") from None
            return Protego.parse("User-agent: *\nDisallow: /\n")
        if answer.status >= 500:
            if required:
                raise SourceUnreachable(f"{address} answered HTTP {answer.status}")
            return Protego.parse("User-agent: *\nDisallow: /\n")
        if answer.status != 200:
            return None
        rules = Protego.parse(answer.body.decode("utf-8", errors="replace"))
        pause = rules.crawl_delay(self.options.agent_token)
        if pause and pause > self.throttle.delay:
            self.throttle.delay = min(float(pause), 60.0)
        return rules

    def _sitemap_pages(self) -> Iterator[str]:
        """The page URLs the sitemaps (and the sitemap indexes they lead to) list."""
        queue = list(self.options.sitemaps)
        read: set[str] = set()
        while queue and len(read) < MAX_SITEMAPS:
            address = queue.pop(0)
            if address in read:
                continue
            read.add(address)
            if not self._allowed(address, required=True):
                raise SourceUnreachable(f"robots.txt disallows the sitemap {address}")
            try:
                answer = self._get(address, {}, html=False)
            except _Failed as exc:
                raise SourceUnreachable(f"the sitemap {address} cannot be read: {exc}") from None
            if answer.status != 200:
                raise SourceUnreachable(f"the sitemap {address} answered HTTP {answer.status}")
            try:
                pages, nested = sitemap_urls(answer.body)
            except (OSError, EOFError, ValueError) as exc:
                raise SourceUnreachable(f"the sitemap {address} is unreadable: {exc}") from None
            self.hosts.add(host_of(normalise(answer.url) or address))
            queue.extend(u for u in map(normalise, nested) if u)
            yield from (u for u in map(normalise, pages) if u)

    # -- the result -----------------------------------------------------------------------------

    def _settle(self, visit: _Visit) -> None:
        """Note what ``visit`` found: a document, a duplicate, a page skipped."""
        old = self.old.get(visit.url, {})
        if visit.skip:
            self.skipped[visit.url] = visit.skip
            if visit.transient and old.get("path"):  # a hiccup never removes a page
                self.skipped[visit.url] += "; its last copy is kept"
                self.kept[old.get("canonical") or old.get("final") or visit.url] = old["path"]
                visit.entry = self.entries[visit.url] = dict(old)  # its links are followed
            return
        entry = visit.entry
        self.entries[visit.url] = entry
        entry["final"] = visit.final or entry.get("final", visit.url)
        self.seen.add(entry["final"])
        key = entry.get("canonical") or entry["final"]
        entry.pop("path", None)
        if entry.get("skip"):
            self.skipped[visit.url] = entry["skip"]
        elif entry.get("canonical"):
            self.skipped[visit.url] = f"duplicate of {key} (its canonical URL)"
        elif key in self.documents:
            self.skipped[visit.url] = f"duplicate of {key} (redirected there)"
        else:
            self.documents[key] = visit

    def _finish(self) -> None:
        """Fold pages with the same text into one, give every document its mirror path, and
        write the state the next fetch starts from."""
        by_text: dict[str, str] = {}
        for key in sorted(self.documents, key=lambda k: (len(k), k)):
            text = self.documents[key].entry.get("hash", "")
            if text in by_text:
                visit = self.documents.pop(key)
                self.skipped[visit.url] = f"duplicate of {by_text[text]} (the same text)"
                self.entries[visit.url]["skip"] = self.skipped[visit.url]
            else:
                by_text[text] = key
        for key in self.documents:
            self.kept.pop(key, None)
        paths: dict[str, str] = dict(self.kept)
        taken: set[str] = set(paths.values())
        self.result.unchanged.extend(paths.values())
        for key in sorted(self.documents):
            kept = self.old_paths.get(key)
            if kept and kept not in taken:
                paths[key] = kept
                taken.add(kept)
        for key in sorted(self.documents):
            if key not in paths:
                path = mirror_path(key, self.primary)
                if path in taken:
                    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
                    path = f"{path.removesuffix('.md')}--{digest}.md"
                paths[key] = path
                taken.add(path)
        for key, visit in sorted(self.documents.items()):
            visit.entry["path"] = paths[key]
            reading = visit.reading
            if visit.unchanged or reading is None:
                self.result.unchanged.append(paths[key])
                continue
            self.result.pages.append(
                Page(
                    path=paths[key],
                    title=reading.title or key,
                    body=reading.markdown,
                    url=key,
                    language=reading.language,
                    updated=reading.updated,
                )
            )
        self._drop_template()
        fetched = {page.path for page in self.result.pages}
        self.result.unchanged = sorted(set(self.result.unchanged) - fetched)
        self.result.skipped = sorted(self.skipped.items())
        self.result.requests = self.requests
        self.result.state = {
            "version": STATE_VERSION,
            "pages": self.entries,
            "paths": paths,
            "template": self.template,
        }

    def _drop_template(self) -> None:
        """Drop from every page read the lines of text that most pages share. Counted over
        this fetch when it read most of the site, else the last full count is kept (a
        re-fetch answered mostly by 304s reads too few pages to tell)."""
        known = len(self.documents) + len(self.kept)
        if self.read >= TEMPLATE_MIN_PAGES and self.read >= known / 2:
            least = max(2, int(self.read * TEMPLATE_SHARE))
            self.template = sorted(key for key, n in self.blocks.items() if n >= least)
        else:
            self.template = list(self.old_template)
        template = set(self.template)
        pages, dropped = [], 0
        for page in self.result.pages:
            body, gone = drop_lines(page.body, template)
            dropped += gone
            if body.strip():
                pages.append(replace(page, body=body))
            else:
                self.skipped[page.url] = "no main text found (only the site's template)"
        self.result.pages = pages
        log.info("%d template text blocks, %d characters of them dropped", len(template), dropped)


def _version() -> str:
    """helpdesk's version (the package's, not imported: the sources layer sits below it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("helpdesk")
    except PackageNotFoundError:
        return "0"


def _retry_after(value: str) -> float | None:
    """Seconds a Retry-After header asks for (a number of seconds or an HTTP date)."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _backoff(attempt: int) -> float:
    """1, 2, 4... seconds (at most 30), with jitter so that retries do not march in step."""
    return float(min(30, 2**attempt)) * random.uniform(0.5, 1.0)


def _meta_charset(body: bytes) -> str:
    """The charset a page declares in its first bytes (<meta charset>), else UTF-8."""
    import re

    found = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", body[:4096], re.IGNORECASE)
    name = found.group(1).decode("ascii") if found else "utf-8"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name
