"""A loopback HTTP server that answers like the Zendesk Help Center API and the Intercom
Articles API, for the article connectors' tests.

The response shapes follow the vendors' documented examples: Zendesk's
``/api/v2/help_center[/{locale}]/articles.json`` with offset pagination (``page``,
``per_page``, ``page_count``, ``count``, ``next_page`` as an absolute URL) or cursor pagination
(``meta.has_more``, ``links.next``), ``include=sections,categories`` sideloads, 401 as
``{"error": "Couldn't authenticate you"}``, and anonymous callers seeing neither drafts nor
segment-restricted articles; Intercom's ``{"type": "list", "data": [...], "pages": {...}}``
for ``/articles``, ``/help_center/collections`` and ``/help_center/sections``, epoch-second
timestamps, ``translated_content`` per locale, and ``error.list`` errors.

Tests change the data between fetches (delete an article) and queue canned failures (a 429 with
``Retry-After``, a 503) in front of a path; every request is recorded with its headers.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

_ZENDESK = re.compile(
    r"^/api/v2/help_center(?:/(?P<locale>[a-z]{2}(?:-[a-z]{2})?))?/"
    r"(?P<kind>articles|sections|categories)\.json$"
)
ZENDESK_DEFAULT_LOCALE = "en-us"


@dataclass
class Seen:
    """One request the server answered."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int


@dataclass
class Canned:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class ReplayApi:
    """The server's data and behaviour; :func:`serve` runs it on a free loopback port."""

    def __init__(self) -> None:
        self.url = ""
        self.zendesk = zendesk_fixture()
        self.intercom = intercom_fixture()
        self.zendesk_auth: str | None = None  # the Authorization header it wants; None: any
        self.intercom_token = ""
        self.cursor_locales: set[str] = {"ko"}  # answered with cursor pagination
        self.sideloads = True
        self.intercom_sections = True  # False: a newer API version, sections gone (400)
        self.seen: list[Seen] = []
        self.queued: dict[str, list[Canned]] = {}
        self.lock = threading.Lock()

    # -- what tests do between fetches ------------------------------------------------------

    def fail_next(self, path: str, status: int, headers: Mapping[str, str] | None = None) -> None:
        """Answer the next request for ``path`` with ``status`` (then behave again)."""
        body = {"error": "APIRateLimitExceeded"} if status == 429 else {"error": "unavailable"}
        self.queued.setdefault(path, []).append(Canned(status, dict(headers or {}), body))

    def delete_zendesk(self, ident: int) -> None:
        self.zendesk["articles"] = [a for a in self.zendesk["articles"] if a["id"] != ident]

    def delete_intercom(self, ident: str) -> None:
        self.intercom["articles"] = [a for a in self.intercom["articles"] if a["id"] != ident]

    def requests_to(self, prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(prefix)]

    # -- answers ----------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, str], headers: Mapping[str, str]) -> Canned:
        with self.lock:
            queue = self.queued.get(path)
            if queue:
                return queue.pop(0)
        match = _ZENDESK.match(path)
        if match:
            return self._zendesk(match["locale"] or "", match["kind"], query, headers)
        if path in ("/articles", "/help_center/collections", "/help_center/sections"):
            return self._intercom(path, query, headers)
        return Canned(404, body={"error": "InvalidEndpoint"})

    def _zendesk(
        self, locale: str, kind: str, query: dict[str, str], headers: Mapping[str, str]
    ) -> Canned:
        given = headers.get("authorization")
        if given is not None and self.zendesk_auth is not None and given != self.zendesk_auth:
            return Canned(401, body={"error": "Couldn't authenticate you"})
        locale = locale or ZENDESK_DEFAULT_LOCALE
        items = [x for x in self.zendesk[kind] if x["locale"] == locale]
        if kind == "articles" and given is None:
            # Anonymous callers see what any visitor sees.
            items = [a for a in items if not a["draft"] and a["user_segment_id"] is None]
        size = int(query.get("page[size]") or query.get("per_page") or 30)
        path = f"/api/v2/help_center/{locale}/{kind}.json"
        if locale in self.cursor_locales and kind == "articles":
            start = int(query.get("page[after]") or 0)
            chunk = items[start : start + size]
            more = start + size < len(items)
            after = {k: v for k, v in query.items() if k not in ("per_page", "page[after]")}
            after.update({"page[size]": str(size), "page[after]": str(start + size)})
            body: dict[str, Any] = {
                kind: chunk,
                "meta": {
                    "has_more": more,
                    "after_cursor": str(start + size),
                    "before_cursor": None,
                },
                "links": {"next": f"{self.url}{path}?{urlencode(after)}" if more else None},
            }
        else:
            page = int(query.get("page") or 1)
            chunk = items[(page - 1) * size : page * size]
            count = len(items)
            pages = max(1, -(-count // size))
            following = {**query, "page": str(page + 1), "per_page": str(size)}
            body = {
                kind: chunk,
                "page": page,
                "per_page": size,
                "page_count": pages,
                "count": count,
                "sort_by": "position",
                "sort_order": "asc",
                "previous_page": None,
                "next_page": f"{self.url}{path}?{urlencode(following)}" if page < pages else None,
            }
        if kind == "articles" and self.sideloads and "include" in query:
            wanted = set(query["include"].split(","))
            section_ids = {a["section_id"] for a in chunk}
            sections = [s for s in self.zendesk["sections"] if s["locale"] == locale]
            used = [s for s in sections if s["id"] in section_ids]
            # A nested section's parents come along, as the sideload does.
            parents = {s["parent_section_id"] for s in used}
            used += [s for s in sections if s["id"] in parents and s not in used]
            if "sections" in wanted:
                body["sections"] = used
            if "categories" in wanted:
                category_ids = {s["category_id"] for s in used}
                body["categories"] = [
                    c
                    for c in self.zendesk["categories"]
                    if c["locale"] == locale and c["id"] in category_ids
                ]
        return Canned(200, body=body)

    def _intercom(self, path: str, query: dict[str, str], headers: Mapping[str, str]) -> Canned:
        if headers.get("authorization") != f"Bearer {self.intercom_token}":
            return Canned(401, body=_intercom_error("unauthorized", "Access Token Invalid"))
        if path == "/help_center/sections" and not self.intercom_sections:
            return Canned(400, body=_intercom_error("intercom_version_invalid", "not supported"))
        kind = path.rsplit("/", 1)[-1]
        items = self.intercom[kind]
        if kind == "articles":  # documented: most recently updated first
            items = sorted(items, key=lambda a: -a["updated_at"])
        size = int(query.get("per_page") or 20)
        page = int(query.get("page") or 1)
        total = max(1, -(-len(items) // size))
        pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": size}
        pages["total_pages"] = total
        if page < total:
            pages["next"] = f"{self.url}{path}?{urlencode({'per_page': size, 'page': page + 1})}"
        body = {
            "type": "list",
            "pages": pages,
            "total_count": len(items),
            "data": items[(page - 1) * size : page * size],
        }
        return Canned(200, body=body)


def _intercom_error(code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error.list",
        "request_id": "b5b5c6d0-3f5a-4d0e-9d5e-000000000000",
        "errors": [{"code": code, "message": message}],
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        api = self.server.api
        canned = api.answer(parts.path, query, headers)
        with api.lock:
            api.seen.append(Seen(parts.path, query, headers, canned.status))
        data = json.dumps(canned.body, ensure_ascii=False).encode()
        self.send_response(canned.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in canned.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read api.seen
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: ReplayApi


@contextmanager
def serve(api: ReplayApi | None = None) -> Iterator[ReplayApi]:
    """Run a replay server on a free loopback port while the block runs."""
    api = api or ReplayApi()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.api = api
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the data: a small Korean/English help center, in each vendor's shapes ----------------------


def _zendesk_article(
    ident: int, locale: str, title: str, body: str, section: int, **changes: Any
) -> dict[str, Any]:
    """An article as Zendesk's documented example has it, with these values."""
    host = "https://acme.zendesk.com"
    slug = quote(re.sub(r"[^\w]+", "-", title.lower()).strip("-"))  # Hangul percent-encoded
    article = {
        "id": ident,
        "url": f"{host}/api/v2/help_center/{locale}/articles/{ident}.json",
        "html_url": f"{host}/hc/{locale}/articles/{ident}-{slug}",
        "author_id": 28226296456851,
        "comments_disabled": False,
        "draft": False,
        "promoted": False,
        "position": 0,
        "vote_sum": 0,
        "vote_count": 0,
        "section_id": section,
        "created_at": "2026-01-05T09:00:00Z",
        "updated_at": "2026-01-10T09:00:00Z",
        "name": title,
        "title": title,
        "source_locale": "en-us",
        "locale": locale,
        "outdated": False,
        "outdated_locales": [],
        "edited_at": "2026-01-10T09:00:00Z",
        "user_segment_id": None,
        "permission_group_id": 28523398501139,
        "content_tag_ids": [],
        "label_names": [],
        "body": body,
    }
    article.update(changes)
    return article


def zendesk_fixture() -> dict[str, list[dict[str, Any]]]:
    """Categories, sections (one nested) and articles in en-us and ko: six English articles
    (a draft and a segment-restricted one among them) and three Korean (one a draft)."""
    categories = [
        {"id": 200, "locale": "en-us", "name": "Getting started", "position": 0},
        {"id": 200, "locale": "ko", "name": "시작하기", "position": 0},
    ]
    for category in categories:
        category.update(
            {
                "html_url": f"https://acme.zendesk.com/hc/{category['locale']}/categories/200",
                "description": "",
                "outdated": False,
                "source_locale": "en-us",
            }
        )
    sections = []
    for locale, names in (("en-us", ("Account", "Security")), ("ko", ("계정", "보안"))):
        sections.append({"id": 300, "locale": locale, "name": names[0], "parent_section_id": None})
        sections.append({"id": 301, "locale": locale, "name": names[1], "parent_section_id": 300})
    for section in sections:
        section.update({"category_id": 200, "description": "", "position": 0})
    en, ko = "en-us", "ko"
    articles = [
        _zendesk_article(
            1001,
            en,
            "Reset your password",
            '<p>Open <a href="/hc/en-us/articles/1003">Account settings</a> and choose '
            "<strong>Reset password</strong>.</p><h2>No email arrived</h2><p>Check the spam "
            'folder.</p><p><img src="/hc/article_attachments/9/reset.png" alt="screen"></p>',
            300,
        ),
        _zendesk_article(
            1002,
            en,
            "Turn on two-step verification",
            "<p>Two-step verification asks for a code from your phone at sign-in.</p>"
            "<ol><li>Open Security.</li><li>Choose Turn on.</li></ol>",
            301,
        ),
        _zendesk_article(
            1003, en, "Change your email", "<p>Change the address under Account settings.</p>", 300
        ),
        _zendesk_article(
            1004, en, "Upcoming features", "<p>Not announced yet.</p>", 300, draft=True
        ),
        _zendesk_article(
            1005,
            en,
            "VIP support line",
            "<p>Premium customers call the VIP line at any hour.</p>",
            300,
            user_segment_id=7001,
        ),
        _zendesk_article(
            1006, en, "Delete your account", "<p>Deleting an account cannot be undone.</p>", 300
        ),
        _zendesk_article(
            1001,
            ko,
            "비밀번호 재설정",
            "<p>계정 설정에서 <strong>비밀번호 재설정</strong>을 누르세요.</p>",
            300,
        ),
        _zendesk_article(
            1002,
            ko,
            "2단계 인증 켜기",
            "<p>로그인할 때 휴대폰으로 받은 코드를 입력합니다.</p>",
            301,
        ),
        _zendesk_article(
            1004, ko, "새 기능 안내", "<p>아직 공개되지 않았습니다.</p>", 300, draft=True
        ),
    ]
    return {"categories": categories, "sections": sections, "articles": articles}


def _intercom_article(
    ident: str, title: str, body: str, parent: int | None, parent_type: str | None, **changes: Any
) -> dict[str, Any]:
    """An article as Intercom's documented list example has it, with these values."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    article = {
        "id": ident,
        "type": "article",
        "workspace_id": "this_is_an_id33_that_should_be_at_least_4",
        "parent_id": parent,
        "parent_type": parent_type,
        "parent_ids": [parent] if parent is not None else [],
        "title": title,
        "description": "",
        "body": body,
        "author_id": 991267254,
        "state": "published",
        "created_at": 1767600000,
        "updated_at": 1768000000 + int(ident),
        "url": f"https://help.acme.test/en/articles/{ident}-{slug}",
        "default_locale": "en",
    }
    article.update(changes)
    return article


def _content(title: str, body: str, url: str, state: str = "published") -> dict[str, Any]:
    return {
        "type": "article_content",
        "title": title,
        "description": "",
        "body": body,
        "author_id": 991267254,
        "state": state,
        "created_at": 1767600000,
        "updated_at": 1768000000,
        "url": url,
    }


def intercom_fixture() -> dict[str, list[dict[str, Any]]]:
    """Collections (one nested), a section, and five articles: one translated to Korean, one
    with a Korean draft, a draft, one to delete, and one standing alone in the older shape."""

    def group(ident: int, kind: str, name: str, parent: int | None, ko: str = "") -> dict:
        item: dict[str, Any] = {
            "id": str(ident),
            "type": kind,
            "workspace_id": "this_is_an_id101_that_should_be_at_least_",
            "name": name,
            "url": f"https://help.acme.test/en/{kind}s/{ident}",
            "order": 1,
            "created_at": 1717021363,
            "updated_at": 1717021363,
            "parent_id": parent,
        }
        if kind == "collection":
            item.update({"description": "", "icon": "book-bookmark", "help_center_id": 1})
        if ko:
            item["translated_content"] = {
                "type": "group_translated_content",
                "ko": {"type": "group_content", "name": ko, "description": ""},
            }
        return item

    collections = [
        group(10, "collection", "Getting Started", None, ko="시작하기"),
        group(11, "collection", "Billing", None, ko="결제"),
        group(12, "collection", "Invoices", 11, ko="청구서"),
    ]
    sections = [group(20, "section", "Account basics", 10, ko="계정 기본")]
    reset_en = "https://help.acme.test/en/articles/1-reset-your-password"
    reset_ko = "https://help.acme.test/ko/articles/1-reset-your-password"
    invoice = "https://help.acme.test/en/articles/2-download-an-invoice"
    articles = [
        _intercom_article(
            "1",
            "Reset your password",
            '<p class="no-margin">Choose <b>Forgot password</b> on the sign-in page.</p>',
            20,
            "section",
            translated_content={
                "type": "article_translated_content",
                "en": _content(
                    "Reset your password",
                    '<p class="no-margin">Choose <b>Forgot password</b> on the sign-in page.</p>',
                    reset_en,
                ),
                "ko": _content(
                    "비밀번호 재설정",
                    '<p class="no-margin">로그인 화면에서 <b>비밀번호 찾기</b>를 누르세요.</p>',
                    reset_ko,
                ),
            },
        ),
        _intercom_article(
            "2",
            "Download an invoice",
            "<h2>From the web</h2><p>Open Billing, then Invoices, and choose Download.</p>",
            12,
            "collection",
            translated_content={
                "type": "article_translated_content",
                "en": _content(
                    "Download an invoice",
                    "<h2>From the web</h2><p>Open Billing, then Invoices, and choose Download.</p>",
                    invoice,
                ),
                "ko": _content("청구서 다운로드", "<p>작성 중</p>", invoice, state="draft"),
            },
        ),
        _intercom_article(
            "3", "Roadmap", "<p>Unreleased plans.</p>", 10, "collection", state="draft"
        ),
        _intercom_article(
            "4", "Cancel your plan", "<p>Cancel any time from Billing.</p>", 11, "collection"
        ),
        _intercom_article("5", "Contact us", "<p>Write to us from the Messenger.</p>", None, None),
    ]
    del articles[4]["default_locale"]  # an older API version's shape: no locales at all
    return copy.deepcopy({"collections": collections, "sections": sections, "articles": articles})
