"""One crawl of a website: breadth-first from the start page and the sitemaps, one depth at a
time, each depth's URLs requested in sorted order by ``concurrency`` threads, so that the same
site gives the same pages, paths and cut-off at ``max_pages``.

Every URL requested is settled as a document (one per canonical URL), a duplicate, or a page
skipped with its reason. A 304 keeps the mirror's copy, and the links the state kept for it are
followed as if the page had been read. Text that most pages read share is the site's template
where the extractor left it in, and is dropped from every page.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from .base import Fetched, Page, Progress, SourceUnreachable
from .fetching import Failed, PoliteClient
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

MAX_SITEMAPS = 50
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

log = logging.getLogger("helpdesk.sources.website")


@dataclass(frozen=True)
class Options:
    """What a crawl may do (read from a website entry by :func:`.website.read_options`)."""

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

    @property
    def agent_token(self) -> str:
        """The name robots.txt groups and robots meta tags address this crawler by."""
        return self.user_agent.split("/")[0].split()[0].lower()


@dataclass
class Visit:
    """What requesting one URL found."""

    url: str
    depth: int
    final: str = ""
    skip: str = ""
    transient: bool = False  # a failure that keeps the page's last copy
    unchanged: bool = False  # 304: ``entry`` is the last fetch's record
    reading: Reading | None = None
    entry: dict[str, Any] = field(default_factory=dict)


class Crawl:
    """One fetch: breadth-first, one depth at a time, each depth's URLs in sorted order, so
    the same site gives the same pages, paths and cut-off at ``max_pages``."""

    def __init__(
        self, options: Options, client: httpx.Client, state: Mapping[str, Any], progress: Progress
    ) -> None:
        self.options = options
        self.progress = progress
        fresh = state.get("version") == STATE_VERSION
        self.old: Mapping[str, dict[str, Any]] = state.get("pages", {}) if fresh else {}
        self.old_paths: Mapping[str, str] = state.get("paths", {}) if fresh else {}
        self.http = PoliteClient(
            client, options.delay, options.retries, options.agent_token, options.user_agent
        )
        first = options.start_url or options.sitemaps[0]
        self.primary = host_of(first)
        self.hosts = {self.primary, *(host_of(s) for s in options.sitemaps)}
        self.seen: set[str] = set()
        self.admitted = 0
        self.count_lock = threading.Lock()
        self.result = Fetched()
        self.skipped: dict[str, str] = {}
        self.documents: dict[str, Visit] = {}  # canonical URL -> the visit that holds it
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
            frontier = self._follow(self._start(), [])
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

    def _start(self) -> Visit:
        """The start page, requested first: the site's address after redirects, and whether
        the site can be read at all."""
        url = self.options.start_url
        self.seen.add(url)
        if not self.http.allowed(url, required=True):
            raise SourceUnreachable(f"robots.txt disallows the start page {url}")
        self.admitted += 1
        visit = self._visit(url, 0, start=True)
        self.done += 1
        if visit.transient or visit.skip.startswith(("not found", "HTTP ")):
            raise SourceUnreachable(f"the start page {url} cannot be read: {visit.skip}")
        self._settle(visit)
        return visit

    def _visit_all(self, frontier: list[tuple[str, int]]) -> list[Visit]:
        visits = []
        with ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="crawl") as pool:
            futures = [pool.submit(self._visit, url, depth) for url, depth in sorted(frontier)]
            for future in as_completed(futures):
                visits.append(future.result())
                self.done += 1
                self.progress(self.done, self.admitted)  # the pages known so far
        visits.sort(key=lambda v: (v.url != v.final, v.url))  # the page at its own URL first
        for visit in visits:
            self._settle(visit)
        return visits

    def _follow(self, visit: Visit, frontier: list[tuple[str, int]]) -> list[tuple[str, int]]:
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
        if not self.http.allowed(url):
            return "disallowed by robots.txt"
        return ""

    # -- one page -------------------------------------------------------------------------------

    def _visit(self, url: str, depth: int, *, start: bool = False) -> Visit:
        visit = Visit(url, depth)
        old = self.old.get(url, {})
        headers = {}
        if old.get("etag"):
            headers["If-None-Match"] = old["etag"]
        if old.get("modified"):
            headers["If-Modified-Since"] = old["modified"]
        try:
            answer = self.http.get(url, headers, html=True)
        except Failed as exc:
            visit.skip, visit.transient = str(exc), True
            return visit
        visit.final = normalise(answer.url) or url
        if start:  # the site is where its start page ends up (http -> https, a www. host)
            self.hosts.add(host_of(visit.final))
        if visit.final != url:
            if host_of(visit.final) not in self.hosts:
                visit.skip = f"redirects off-site to {visit.final}"
                return visit
            if not self.http.allowed(visit.final):
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
        reading = read_page(
            html, visit.final, self.options.agent_token, headers_canonical=answer.canonical_link
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
        if canonical and canonical == url != visit.final:
            # Its canonical URL is the one asked for, which redirected here (/a -> /a/): the
            # page itself, cited at its canonical URL.
            visit.final = url
        elif (
            canonical
            and canonical != visit.final
            and host_of(canonical) in self.hosts
            and self.http.allowed(canonical)
        ):
            visit.entry["canonical"] = canonical
        if "noindex" in reading.directives:
            visit.entry["skip"] = "noindex (robots meta tag)"
        elif "noindex" in tagged:
            visit.entry["skip"] = "noindex (X-Robots-Tag header)"
        elif not reading.markdown:
            visit.entry["skip"] = "no main text found"
        return visit

    # -- sitemaps ----------------------------------------------------------------

    def _sitemap_pages(self) -> Iterator[str]:
        """The page URLs the sitemaps (and the sitemap indexes they lead to) list."""
        queue = list(self.options.sitemaps)
        read: set[str] = set()
        while queue and len(read) < MAX_SITEMAPS:
            address = queue.pop(0)
            if address in read:
                continue
            read.add(address)
            if not self.http.allowed(address, required=True):
                raise SourceUnreachable(f"robots.txt disallows the sitemap {address}")
            try:
                answer = self.http.get(address, {}, html=False)
            except Failed as exc:
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

    def _settle(self, visit: Visit) -> None:
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
                    audience=reading.audience,
                    product=reading.product,
                    updated=reading.updated,
                    plans=reading.plans,
                )
            )
        self._drop_template()
        fetched = {page.path for page in self.result.pages}
        self.result.unchanged = sorted(set(self.result.unchanged) - fetched)
        self.result.skipped = sorted(self.skipped.items())
        self.result.requests = self.http.requests
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
