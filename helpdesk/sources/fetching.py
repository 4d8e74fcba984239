"""Polite HTTP for the website source: at most one request per ``delay`` on each host,
retries with backoff on 429, 5xx and network errors that honour Retry-After, a size limit on
what is read, and each host's robots.txt (protego: wildcards, longest match, Crawl-delay).

RFC 9309 decides what a missing robots.txt means: a 4xx is no rules, a 5xx or no answer
disallows the whole host (and a site whose own robots.txt cannot be read is unreachable).
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .base import SourceUnreachable
from .webpage import host_of

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 120.0  # a longer Retry-After gives the page up for this sync
MAX_PAGE_BYTES = 10_000_000
HTML_TYPES = ("text/html", "application/xhtml+xml")
DISALLOW_ALL = "User-agent: *\nDisallow: /\n"


class Failed(Exception):
    """A request that got no usable answer after its retries; the message says why."""


@dataclass
class Answer:
    """A response, its body read only when it is an HTML page to read."""

    status: int
    url: str
    headers: httpx.Headers
    body: bytes = b""
    encoding: str = ""
    note: str = ""  # why the body was not read
    canonical_link: str = ""  # a Link: <URL>; rel="canonical" header's URL


class Throttle:
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


class PoliteClient:
    """An httpx client used politely by the crawl's threads; ``requests`` counts what it sent."""

    def __init__(
        self, client: httpx.Client, delay: float, retries: int, agent: str, user_agent: str
    ) -> None:
        self.client = client
        self.user_agent = user_agent
        self.throttle = Throttle(delay)
        self.retries = retries
        self.agent = agent  # the robots.txt token
        self.requests = 0
        self.lock = threading.Lock()
        self.robots: dict[str, Any] = {}
        self.robots_lock = threading.Lock()

    def get(self, url: str, headers: dict[str, str], *, html: bool) -> Answer:
        """GET ``url`` politely: throttled per host, retried on 429/5xx and network errors
        with backoff (Retry-After when the server gives one)."""
        host = host_of(url)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            self.throttle.wait(host)
            try:
                with self.client.stream(
                    "GET",
                    url,
                    headers={"User-Agent": self.user_agent, **headers},
                    follow_redirects=True,  # a client handed in need not follow them itself
                ) as response:
                    with self.lock:
                        self.requests += 1 + len(response.history)
                    if response.status_code in RETRY_STATUSES and not last:
                        wait = retry_after(response.headers.get("retry-after", ""))
                        if wait is None:
                            wait = backoff(attempt)
                        elif wait > MAX_RETRY_AFTER:
                            raise Failed(f"HTTP {response.status_code}, Retry-After {wait:.0f}s")
                        self.throttle.hold(host, wait)
                        continue
                    return self._answer(response, html)
            except httpx.TransportError as exc:  # DNS, refused, reset, timeouts
                if last:
                    raise Failed(f"unreachable ({type(exc).__name__}: {exc})") from None
                time.sleep(backoff(attempt))
            except httpx.HTTPError as exc:  # too many redirects, a malformed URL
                raise Failed(f"{type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _answer(self, response: httpx.Response, html: bool) -> Answer:
        """The response, its body read (up to MAX_PAGE_BYTES) if it is a 200 and, when
        ``html``, an HTML page."""
        answer = Answer(response.status_code, str(response.url), response.headers)
        answer.canonical_link = response.links.get("canonical", {}).get("url", "")
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

    def allowed(self, url: str, *, required: bool = False) -> bool:
        """May ``url`` be fetched? Its host's robots.txt is read on first use; ``required``:
        one that cannot be read makes the site unreachable instead of disallowed."""
        host = host_of(url)
        with self.robots_lock:
            if host not in self.robots:
                self.robots[host] = self._robots(url, required)
            rules = self.robots[host]
        return bool(rules is None or rules.can_fetch(url, self.agent))

    def _robots(self, url: str, required: bool) -> Any:
        """The host's robots.txt rules; None when there are none. RFC 9309: a 4xx means no
        rules, an unreachable or 5xx robots.txt means the whole host is disallowed."""
        from protego import Protego

        parts = urlsplit(url)
        address = f"{parts.scheme}://{parts.netloc}/robots.txt"
        try:
            answer = self.get(address, {}, html=False)
        except Failed as exc:
            if required:
                raise SourceUnreachable(f"{address} cannot be read: {exc}") from None
            return Protego.parse(DISALLOW_ALL)
        if answer.status >= 500:
            if required:
                raise SourceUnreachable(f"{address} answered HTTP {answer.status}")
            return Protego.parse(DISALLOW_ALL)
        if answer.status != 200:
            return None
        rules = Protego.parse(answer.body.decode("utf-8", errors="replace"))
        pause = rules.crawl_delay(self.agent)
        if pause and pause > self.throttle.delay:
            self.throttle.delay = min(float(pause), 60.0)
        return rules


def retry_after(value: str) -> float | None:
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


def backoff(attempt: int) -> float:
    """1, 2, 4... seconds (at most 30), with jitter so that retries do not march in step."""
    return float(min(30, 2**attempt)) * random.uniform(0.5, 1.0)


def _meta_charset(body: bytes) -> str:
    """The charset a page declares in its first bytes (<meta charset>), else UTF-8."""
    found = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", body[:4096], re.IGNORECASE)
    name = found.group(1).decode("ascii") if found else "utf-8"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name
