"""Zendesk Guide (Help Center) articles through its API: one Markdown page per article and
locale, under its category and section headings, cited by its ``html_url``.

sources.yaml::

    - name: zd
      type: zendesk
      subdomain: acme            # or base_url: https://help.acme.com (a host-mapped center)
      locales: [en-us, ko]       # optional; default: the help center's default locale
      token_env: HELPDESK_ZENDESK_TOKEN   # the variable's name; never the token itself
      email: agent@acme.com      # optional: API-token basic auth ("email/token:TOKEN");
                                 # without it the token is sent as an OAuth bearer token
      restricted: internal       # or skip: articles limited to a user segment

Without a token (the variable unset) the requests are anonymous and Zendesk answers what any
visitor sees. Drafts are always left out; an article restricted to a user segment
(``user_segment_id`` or ``user_segment_ids`` set) never reaches the public audience: it is kept
as ``internal`` (for agents) by default, or left out with ``restricted: skip``.

Each sync lists every article again (the Help Center API is paged with ``next_page``, or
``links.next`` under cursor pagination); an article's path is ``{locale}/{id}.md``, from its
id alone, so an unchanged article is an unchanged file that ingest does not re-embed, a
retitled or moved one keeps its document id, and a deleted one is simply not listed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from .apiclient import JsonApi, api_for, env_token, number_option, string_list
from .base import Fetched, Page, Progress, SourceConfig, SourceError, nested_markdown
from .markup import html_to_markdown

DEFAULT_TOKEN_ENV = "HELPDESK_ZENDESK_TOKEN"
RESTRICTED = ("internal", "skip")


class ZendeskSource:
    """A Zendesk Guide help center, read through ``/api/v2/help_center``."""

    def __init__(self, config: SourceConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        base = str(config.option("base_url") or "").strip()
        if not base:
            base = f"https://{config.required('subdomain')}.zendesk.com"
        self.base_url = base.rstrip("/")
        self.locales = string_list(config.option("locales", []))
        self.restricted = str(config.option("restricted", "internal"))
        if self.restricted not in RESTRICTED:
            raise SourceError(
                f"source {config.name!r}: restricted must be one of {', '.join(RESTRICTED)}"
            )
        self.per_page = int(number_option(config, "per_page", 100))
        self.transport = transport
        self.waited = 0.0  # seconds the last fetch waited on 429s and retries

    def _api(self) -> JsonApi:
        config = self.config
        variable = str(config.option("token_env") or DEFAULT_TOKEN_ENV)
        token = env_token(variable)
        if not token and config.option("token_env"):
            raise SourceError(f"source {config.name!r}: the variable {variable} is not set")
        headers = {}
        if token:
            email = str(config.option("email") or "").strip()
            if email:
                pair = base64.b64encode(f"{email}/token:{token}".encode()).decode()
                headers["Authorization"] = f"Basic {pair}"
            else:
                headers["Authorization"] = f"Bearer {token}"
        return api_for(config, self.base_url, headers, transport=self.transport)

    def fetch(self, state: Mapping[str, Any], progress: Progress) -> Fetched:
        """Every published article of every locale (one listing per locale)."""
        fetched = Fetched()
        with self._api() as api:
            for locale in self.locales or [""]:
                catalog = Catalog()
                articles: list[Mapping[str, Any]] = []
                prefix = f"/api/v2/help_center/{locale}" if locale else "/api/v2/help_center"
                params = {"include": "sections,categories", "per_page": self.per_page}
                for page in api.pages(f"{prefix}/articles.json", params, _next_page):
                    articles.extend(page.get("articles") or [])
                    catalog.add(page)
                    progress(len(fetched.pages) + len(articles), None)
                sections = {a.get("section_id") for a in articles} - {None}
                if not all(catalog.knows(section) for section in sections):
                    # No sideloads (an older API or a proxy that drops them): list them instead.
                    for kind in ("sections", "categories"):
                        listing = api.pages(f"{prefix}/{kind}.json", {"per_page": 100}, _next_page)
                        for page in listing:
                            catalog.add(page)
                pages, skipped = article_pages(articles, catalog, self.restricted)
                fetched.pages.extend(pages)
                fetched.skipped.extend(skipped)
            fetched.requests = api.requests
            self.waited = api.waited
        progress(len(fetched.pages), len(fetched.pages))
        return fetched


class Catalog:
    """Sections and categories by locale and id, as the API sideloads or lists them."""

    def __init__(self) -> None:
        self.sections: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.categories: dict[tuple[str, str], Mapping[str, Any]] = {}

    def add(self, page: Mapping[str, Any]) -> None:
        for kind, found in (("sections", self.sections), ("categories", self.categories)):
            for item in page.get(kind) or []:
                if isinstance(item, Mapping):
                    found[(str(item.get("locale") or "").lower(), str(item.get("id")))] = item

    def knows(self, section: Any) -> bool:
        return any(ident == str(section) for _, ident in self.sections)

    @staticmethod
    def _find(
        items: Mapping[tuple[str, str], Mapping[str, Any]], ident: Any, locale: str
    ) -> Mapping[str, Any] | None:
        """The item in ``locale``, else in any locale (a name beats no heading at all)."""
        if ident is None:
            return None
        found = items.get((locale, str(ident)))
        if found is None:
            found = next((v for (_, i), v in items.items() if i == str(ident)), None)
        return found

    def headings(self, article: Mapping[str, Any]) -> list[str]:
        """Category, then parent sections, then the article's section, outermost first."""
        locale = str(article.get("locale") or "").lower()
        chain: list[str] = []
        section = self._find(self.sections, article.get("section_id"), locale)
        seen: set[str] = set()
        category = None
        while section is not None and str(section.get("id")) not in seen:
            seen.add(str(section.get("id")))
            chain.insert(0, str(section.get("name") or ""))
            category = section.get("category_id", category)
            section = self._find(self.sections, section.get("parent_section_id"), locale)
        found = self._find(self.categories, category, locale)
        if found is not None:
            chain.insert(0, str(found.get("name") or ""))
        return [name for name in chain if name.strip()]


def article_pages(
    articles: Iterable[Mapping[str, Any]], catalog: Catalog, restricted: str = "internal"
) -> tuple[list[Page], list[tuple[str, str]]]:
    """Zendesk article objects as pages, and what was left out and why."""
    pages: list[Page] = []
    skipped: list[tuple[str, str]] = []
    for article in articles:
        locale = str(article.get("locale") or "").lower()
        ident = str(article.get("id") or "").strip()
        title = str(article.get("title") or article.get("name") or "").strip()
        what = article.get("html_url") or f"article {ident}"
        if not ident.isdigit():
            skipped.append((str(what), "no article id"))
            continue
        if article.get("draft"):
            skipped.append((str(what), "draft"))
            continue
        audience = ""
        # One segment (user_segment_id) or, on newer accounts, several (user_segment_ids).
        if article.get("user_segment_id") is not None or article.get("user_segment_ids"):
            if restricted == "skip":
                skipped.append((str(what), "restricted to a user segment"))
                continue
            audience = "internal"
        url = str(article.get("html_url") or "")
        body = html_to_markdown(str(article.get("body") or ""), url)
        if not body and not title:
            skipped.append((str(what), "no text"))
            continue
        pages.append(
            Page(
                path=f"{locale}/{ident}.md" if locale else f"{ident}.md",
                title=title,
                body=nested_markdown(catalog.headings(article), title, body),
                url=url,
                language=locale.split("-")[0],
                audience=audience,
                updated=str(article.get("updated_at") or article.get("edited_at") or ""),
            )
        )
    return pages, skipped


def _next_page(page: Any) -> str | None:
    """Offset pagination's ``next_page``, or cursor pagination's ``links.next``."""
    if not isinstance(page, Mapping):
        return None
    if page.get("next_page"):
        return str(page["next_page"])
    meta, links = page.get("meta") or {}, page.get("links") or {}
    if meta.get("has_more") and links.get("next"):
        return str(links["next"])
    return None
