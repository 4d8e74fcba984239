"""The JSON API client the article connectors (Zendesk, Intercom) share: one origin, a token in
a header, bounded retries, and every way a listing can fail as a whole turned into
:class:`SourceUnreachable`, so that a half-read listing never reaches the mirror (a page
missing from it would be removed from the index).

- 429: wait what ``Retry-After`` (seconds or an HTTP date) or ``X-RateLimit-Reset`` (Intercom's
  epoch seconds) asks, at most ``max_wait`` seconds a time and ``attempts`` times a request.
- 5xx and network errors: retried with exponential backoff, ``attempts`` times.
- 401/403: the token is wrong or lacks the scope; not retried.
- A next-page link to another origin is refused: the token is only ever sent to ``base_url``.

The token never reaches a log line: only method, path and status are logged.
"""

from __future__ import annotations

import email.utils
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .base import SourceConfig, SourceError, SourceUnreachable

log = logging.getLogger("helpdesk.sources")

USER_AGENT = "helpdesk-sync (help-center article import)"


def env_token(variable: str) -> str:
    """The token in environment variable ``variable`` ("" when unset)."""
    return os.environ.get(variable, "").strip()


def string_list(value: Any) -> list[str]:
    """A list option given as a YAML list or a comma-separated string."""
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value or [] if str(v).strip()]


def number_option(config: SourceConfig, key: str, default: float) -> float:
    """A positive number option; SourceError naming it otherwise."""
    value = config.option(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number < 0 or (number == 0 and key in ("per_page", "timeout")):
        raise SourceError(f"source {config.name!r}: {key} must be a positive number, got {value!r}")
    return number


def api_for(config: SourceConfig, base_url: str, headers: Mapping[str, str], **kw: Any) -> JsonApi:
    """The client for ``config``, with its timeout, max_wait and backoff options."""
    return JsonApi(
        config.name,
        base_url,
        headers,
        timeout=number_option(config, "timeout", 30),
        max_wait=number_option(config, "max_wait", 120),
        backoff=number_option(config, "backoff", 1.0),
        **kw,
    )


class JsonApi:
    """GET JSON from one origin with retries; counts requests and the seconds spent waiting."""

    def __init__(
        self,
        name: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout: float = 30.0,
        attempts: int = 5,
        max_wait: float = 120.0,
        backoff: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(self.base_url)
        self.attempts = max(1, attempts)
        self.max_wait = max_wait
        self.backoff = backoff
        self.sleep = sleep
        self.requests = 0
        self.waited = 0.0  # seconds slept on 429s and backoff, for the summary
        self.client = httpx.Client(
            headers={"Accept": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=timeout,
            # Redirects stay on: httpx drops Authorization when one leaves the origin.
            follow_redirects=True,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> JsonApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path_or_url: str) -> str:
        """``path_or_url`` made absolute against ``base_url``; another origin is refused."""
        url = path_or_url
        if "://" not in url:
            url = urljoin(self.base_url + "/", url.lstrip("/"))
        if _origin(url) != self.origin:
            raise SourceUnreachable(
                f"{self.name}: the API pointed at {_origin(url)}, not {self.origin}; "
                "the token is only sent to base_url"
            )
        return url

    def get(
        self, path_or_url: str, params: Mapping[str, Any] | None = None, *, missing_ok: bool = False
    ) -> Any:
        """The JSON at ``path_or_url``; None for a 400/404 when ``missing_ok`` (an optional
        endpoint this account or API version lacks)."""
        url = self.url(path_or_url)
        shown = urlsplit(url).path
        rate_limited = failed = 0
        while True:
            self.requests += 1
            try:
                response = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                failed += 1
                if failed >= self.attempts:
                    raise SourceUnreachable(
                        f"{self.name}: cannot reach {self.origin} ({type(exc).__name__})"
                    ) from None
                self._wait(self.backoff * 2 ** (failed - 1), f"{type(exc).__name__} on {shown}")
                continue
            status = response.status_code
            if status == 429:
                rate_limited += 1
                wait = _retry_after(response.headers)
                wait = self.backoff * 2 ** (rate_limited - 1) if wait is None else wait
                if rate_limited >= self.attempts or wait > self.max_wait:
                    raise SourceUnreachable(
                        f"{self.name}: rate limited on {shown} (asked to wait {wait:.0f}s, "
                        f"{rate_limited} times; max_wait is {self.max_wait:.0f}s)"
                    )
                self._wait(wait, f"429 on {shown}")
                continue
            if status >= 500:
                failed += 1
                if failed >= self.attempts:
                    raise SourceUnreachable(f"{self.name}: HTTP {status} on {shown}")
                self._wait(self.backoff * 2 ** (failed - 1), f"HTTP {status} on {shown}")
                continue
            if status in (401, 403):
                raise SourceUnreachable(
                    f"{self.name}: HTTP {status} on {shown}: the token was refused or lacks "
                    "the scope to read articles"
                )
            if status in (400, 404) and missing_ok:
                log.info("%s: %s answered %s; skipped (optional)", self.name, shown, status)
                return None
            if status >= 400:
                raise SourceUnreachable(f"{self.name}: HTTP {status} on {shown}")
            try:
                return response.json()
            except ValueError:
                raise SourceUnreachable(f"{self.name}: {shown} did not answer JSON") from None

    def pages(
        self,
        path: str,
        params: Mapping[str, Any],
        next_of: Callable[[Any], str | Mapping[str, Any] | None],
        *,
        missing_ok: bool = False,
        max_pages: int = 10_000,
    ) -> Iterator[Any]:
        """Each page of a listing: ``next_of(page)`` gives the next page's URL, or the params
        for ``path`` again, or None at the end. A link seen before (a loop) or more than
        ``max_pages`` pages is an error, not a shorter listing; with ``missing_ok`` a listing
        whose first page is a 400/404 is empty."""
        url: str = path
        query: Mapping[str, Any] | None = params
        seen: set[str] = set()
        while True:
            key = self.url(url) + "?" + repr(sorted((query or {}).items()))
            if key in seen or len(seen) >= max_pages:
                raise SourceUnreachable(f"{self.name}: the listing of {path} does not end")
            seen.add(key)
            page = self.get(url, query, missing_ok=missing_ok and len(seen) == 1)
            if page is None:
                return
            if not isinstance(page, Mapping):
                raise SourceUnreachable(f"{self.name}: {path} did not answer a JSON object")
            yield page
            following = next_of(page)
            if not following:
                return
            if isinstance(following, str):
                url, query = following, None
            else:
                url, query = path, {**params, **following}

    def _wait(self, seconds: float, why: str) -> None:
        log.info("%s: %s; waiting %.1fs", self.name, why, seconds)
        self.waited += seconds
        self.sleep(seconds)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``
    (Intercom: the epoch second the window resets)."""
    value = headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            return max(0.0, when.timestamp() - time.time())
    reset = headers.get("x-ratelimit-reset", "").strip()
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            return None
    return None
