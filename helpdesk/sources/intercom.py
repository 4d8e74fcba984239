"""Intercom Articles through its REST API: one Markdown page per published article and locale,
under its collection and section headings, cited by the article's ``url``.

sources.yaml::

    - name: ic
      type: intercom
      token_env: HELPDESK_INTERCOM_TOKEN   # the variable's name; an access token, sent as Bearer
      region: us                 # or eu, au; or base_url: https://api.eu.intercom.io
      api_version: "2.11"        # the Intercom-Version header
      locales: [en, ko]          # optional: only these of each article's translations

``GET /articles`` is paged (``page``/``per_page``, ``pages.next``); collections
(``/help_center/collections``, nested through ``parent_id``) and sections
(``/help_center/sections``, where the API version still has them) become the heading path.
An article with ``translated_content`` gives one page per locale, each with its own title,
body, URL and state; only ``published`` content is kept. Paths are ``{locale}/{id}.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from .apiclient import JsonApi, api_for, env_token, number_option, string_list
from .base import Fetched, Page, Progress, SourceConfig, SourceError, nested_markdown
from .markup import html_to_markdown

DEFAULT_TOKEN_ENV = "HELPDESK_INTERCOM_TOKEN"
REGIONS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}


class IntercomSource:
    """An Intercom help center, read through the Articles and Help Center APIs."""

    def __init__(self, config: SourceConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        region = str(config.option("region", "us")).lower()
        if region not in REGIONS:
            raise SourceError(f"source {config.name!r}: region must be one of {', '.join(REGIONS)}")
        self.base_url = str(config.option("base_url") or REGIONS[region]).rstrip("/")
        self.api_version = str(config.option("api_version", "2.11"))
        self.per_page = int(number_option(config, "per_page", 50))
        self.locales = string_list(config.option("locales", []))
        self.transport = transport
        self.waited = 0.0  # seconds the last fetch waited on 429s and retries

    def _api(self) -> JsonApi:
        config = self.config
        variable = str(config.option("token_env") or DEFAULT_TOKEN_ENV)
        token = env_token(variable)
        if not token:
            raise SourceError(
                f"source {config.name!r}: set the environment variable {variable} to an "
                "Intercom access token (the API has no anonymous access)"
            )
        headers = {"Authorization": f"Bearer {token}", "Intercom-Version": self.api_version}
        return api_for(config, self.base_url, headers, transport=self.transport)

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        """Every published article in every locale, with the collections and sections."""
        fetched = Fetched()
        groups = Groups()
        articles: list[Mapping[str, Any]] = []
        with self._api() as api:
            for kind in ("collections", "sections"):
                # Sections are gone from newer API versions (collections nest instead).
                optional = kind == "sections"
                listing = api.pages(f"/help_center/{kind}", {}, _next_page, missing_ok=optional)
                for page in listing:
                    groups.add(page.get("data") or [])
            params = {"per_page": self.per_page, "page": 1}
            for page in api.pages("/articles", params, _next_page):
                articles.extend(page.get("data") or [])
                total = (page.get("total_count") if isinstance(page, Mapping) else None) or None
                progress(len(articles), total)
            fetched.requests = api.requests
            self.waited = api.waited
        fetched.pages, fetched.skipped = article_pages(articles, groups, self.locales)
        progress(len(articles), len(articles))
        return fetched


class Groups:
    """Collections and sections by id: the names an article's heading path is made of."""

    def __init__(self) -> None:
        self.by_id: dict[tuple[str, str], Mapping[str, Any]] = {}

    def add(self, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            kind = str(item.get("type") or "collection")
            self.by_id[(kind, str(item.get("id")))] = item

    def find(self, ident: Any, kind: str = "") -> Mapping[str, Any] | None:
        if ident in (None, ""):
            return None
        kinds = [kind, "section", "collection"] if kind else ["section", "collection"]
        for each in kinds:
            found = self.by_id.get((each, str(ident)))
            if found is not None:
                return found
        return None

    def headings(self, article: Mapping[str, Any], locale: str) -> list[str]:
        """Outermost collection first, down to the article's section."""
        parent = article.get("parent_id")
        if parent in (None, "") and article.get("parent_ids"):
            parent = list(article["parent_ids"])[-1]
        group = self.find(parent, str(article.get("parent_type") or ""))
        chain: list[str] = []
        seen: set[tuple[str, str]] = set()
        while group is not None:
            key = (str(group.get("type")), str(group.get("id")))
            if key in seen:
                break
            seen.add(key)
            chain.insert(0, _translated(group, locale, "name"))
            # A section's parent is a collection; a collection's, a parent collection.
            group = self.find(group.get("parent_id"), "collection")
        return [name for name in chain if name.strip()]


def article_pages(
    articles: Iterable[Mapping[str, Any]], groups: Groups, locales: Iterable[str] = ()
) -> tuple[list[Page], list[tuple[str, str]]]:
    """Intercom article objects as one page per published locale; what was left out, and why."""
    wanted = {locale.lower() for locale in locales}
    pages: list[Page] = []
    skipped: list[tuple[str, str]] = []
    for article in articles:
        ident = str(article.get("id") or "").strip()
        if not ident:
            skipped.append((str(article.get("url") or "an article"), "no article id"))
            continue
        for locale, content in _contents(article).items():
            what = str(content.get("url") or f"article {ident} ({locale or 'default'})")
            if wanted and locale.lower() not in wanted:
                continue
            if content.get("state") != "published":
                skipped.append((what, str(content.get("state") or "not published")))
                continue
            title = str(content.get("title") or "").strip()
            url = str(content.get("url") or "")
            body = html_to_markdown(str(content.get("body") or ""), url)
            if not body and not title:
                skipped.append((what, "no text"))
                continue
            pages.append(
                Page(
                    path=f"{locale}/{ident}.md" if locale else f"{ident}.md",
                    title=title,
                    body=nested_markdown(groups.headings(article, locale), title, body),
                    url=url,
                    language=locale.lower().split("-")[0],
                    updated=_iso(content.get("updated_at") or article.get("updated_at")),
                )
            )
    return pages, skipped


def _contents(article: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """locale -> the article's content in it: each ``translated_content`` entry, and the
    default locale's from the article itself when the translations leave it out."""
    default = str(article.get("default_locale") or "")
    found: dict[str, Mapping[str, Any]] = {}
    translated = article.get("translated_content") or {}
    if isinstance(translated, Mapping):
        for locale, content in translated.items():
            if locale != "type" and isinstance(content, Mapping):
                found[str(locale)] = content
    if default not in found:
        found[default] = article
    return found


def _translated(group: Mapping[str, Any], locale: str, key: str) -> str:
    translated = group.get("translated_content") or {}
    content = translated.get(locale) if isinstance(translated, Mapping) else None
    if isinstance(content, Mapping) and content.get(key):
        return str(content[key])
    return str(group.get(key) or "")


def _iso(value: Any) -> str:
    """Intercom's epoch seconds as an ISO 8601 UTC time."""
    if value in (None, ""):
        return ""
    try:
        when = dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return str(value)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_page(page: Any) -> str | Mapping[str, Any] | None:
    """``pages.next`` as a URL or a cursor (``starting_after``), else page + 1 of total_pages."""
    pages = page.get("pages") if isinstance(page, Mapping) else None
    if not isinstance(pages, Mapping):
        return None
    following = pages.get("next")
    if isinstance(following, str) and following:
        return following
    if isinstance(following, Mapping):
        if following.get("starting_after"):
            return {"starting_after": following["starting_after"]}
        if following.get("page"):
            return {"page": following["page"]}
    current, total = pages.get("page"), pages.get("total_pages")
    if isinstance(current, int) and isinstance(total, int) and current < total:
        return {"page": current + 1}
    return None
