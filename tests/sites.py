"""A generated help-center website served on loopback, for the website source's tests.

:func:`make_site` builds a seeded site of 300 indexable pages (a home page, five section
indexes, 294 articles; one section in Korean) with what real sites have around their text: a
navigation bar, a breadcrumb, a footer and a cookie banner on every page, a "was this
helpful" widget in every article, a robots.txt that disallows ``/private/``, a sitemap index
with two sitemaps, a redirect, a link to a missing page, two articles reachable under a
second URL that names the first as canonical (in a <link> tag, in a Link header), a page with
a noindex meta tag and one with an X-Robots-Tag header, and links to files. Pages answer
conditional requests (ETag, Last-Modified) with 304, and can be changed or removed between
crawls. :func:`serve` runs it on a real HTTP server thread.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

# Text that stands on every page around the content: none of it may reach a document.
NAV_TEXT = "Browse every Quillfeather product category"
FOOTER_TEXT = "Quillfeather Incorporated, 42 Lantern Street, Springfield"
BANNER_TEXT = "We use cookies to make Quillfeather work and to measure its traffic"
BOILERPLATE = (NAV_TEXT, FOOTER_TEXT, BANNER_TEXT)

SECTIONS = {  # path -> (title, language, articles)
    "docs": ("Documentation", "en", 70),
    "guides": ("Setup guides", "en", 60),
    "billing": ("Billing and plans", "en", 56),
    "devices": ("Devices", "en", 60),
    "ko": ("한국어 도움말", "ko", 48),
}
REDIRECT = ("/old/getting-started", "/docs/getting-started")
MISSING = "/docs/no-such-page"
DUPLICATE = "/print/docs/getting-started"  # canonical: /docs/getting-started
# The same, its canonical in a Link header: /billing/article-7
DUPLICATE_BY_HEADER = "/print/billing/article-7"
NOINDEX_META = "/docs/draft-notes"
NOINDEX_HEADER = "/docs/beta-notes"
PRIVATE = ("/private/", "/private/refund-overrides", "/private/escalations")
FILES = ("/files/manual.pdf", "/downloads/price-list")  # the second has no suffix: a PDF by type
OFF_SITE = "https://social.example/quillfeather"
KOREAN_SLUG = "/ko/설정-가이드"

WORDS = (  # noqa: SIM905 (a paragraph of words reads better than a list of 90 strings)
    "account device setting network router password update firmware battery charge cable "
    "screen light button app phone tablet speaker camera hub sensor alert schedule routine "
    "profile payment invoice plan refund order shipping delivery warranty repair replacement "
    "signal bluetooth wireless pairing reset restart install remove connect disconnect backup "
    "storage cloud subscription trial discount receipt address language region timezone "
    "notification privacy permission family member guest owner admin support ticket agent "
    "chat email message history export import report error code status outage maintenance "
    "release version feature setup guide step option menu tab page list search filter sort"
).split()
KOREAN_WORDS = (  # noqa: SIM905  # noqa: SIM905 (a paragraph of words reads better than a list of 90 strings)
    "계정 기기 설정 네트워크 공유기 비밀번호 업데이트 배터리 충전 케이블 화면 조명 버튼 앱 "
    "휴대폰 스피커 카메라 허브 센서 알림 일정 결제 청구서 요금제 환불 주문 배송 보증 수리 교체 "
    "블루투스 연결 초기화 재시작 설치 저장 구독 영수증 주소 언어 지역 권한 가족 고객 지원 문의"
).split()


@dataclass
class SitePage:
    """One page of the site: its URL path, title and sections of text."""

    path: str
    title: str
    language: str
    sections: list[tuple[str, list[str]]]
    links: list[tuple[str, str]] = field(default_factory=list)  # (path, label) in the text
    related: list[str] = field(default_factory=list)
    modified: float = 1_767_225_600.0  # 2026-01-01
    noindex_meta: bool = False
    noindex_header: bool = False
    canonical: str = ""  # a path; the page's own when empty
    canonical_header: bool = False  # named in a Link header instead of a <link> tag
    product: str = ""  # in a <meta name="helpdesk:product"> tag
    article: bool = True


@dataclass
class Site:
    """The site's pages by URL path, and a log of the requests it answered."""

    pages: dict[str, SitePage]
    base: str = ""
    log: list[tuple[str, int]] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)  # User-Agent headers seen
    redirects: dict[str, str] = field(default_factory=lambda: dict([REDIRECT]))  # 301s
    # path -> statuses the next requests get, one each ("*" for every path), with Retry-After
    failures: dict[str, list[int]] = field(default_factory=dict)
    retry_after: str = "0"
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def indexable(self) -> list[str]:
        """URL paths of the pages a crawler should hold: one per canonical, indexable page."""
        return sorted(
            path
            for path, page in self.pages.items()
            if not (page.noindex_meta or page.noindex_header or page.canonical)
            and not path.startswith("/private/")
        )

    def change(self, path: str, text: str) -> None:
        """Add a paragraph to a page's first section (its ETag and Last-Modified change)."""
        page = self.pages[path]
        page.sections[0][1].append(text)
        page.modified += 86_400

    def remove(self, path: str) -> None:
        """Take a page off the site: it answers 404 and its section index no longer lists it."""
        del self.pages[path]
        for page in self.pages.values():
            if page.links and any(target == path for target, _ in page.links):
                page.links = [(t, label) for t, label in page.links if t != path]
                page.modified += 86_400

    def requests(self, status: int | None = None) -> list[str]:
        with self.lock:
            return [path for path, code in self.log if status is None or code == status]

    def render(self, path: str) -> str:
        return render_page(self, self.pages[path])


def _sentence(rng: random.Random, words: tuple[str, ...] | list[str], korean: bool) -> str:
    picked = [rng.choice(words) for _ in range(rng.randint(7, 15))]
    if korean:
        return " ".join(picked) + rng.choice(("을 확인합니다.", "를 설정하세요.", "이 필요합니다."))
    return (" ".join(picked) + ".").capitalize()


def _paragraph(rng: random.Random, words: tuple[str, ...] | list[str], korean: bool) -> str:
    return " ".join(_sentence(rng, words, korean) for _ in range(rng.randint(2, 5)))


def make_site(seed: int = 17) -> Site:
    """The generated site; the same seed gives the same site."""
    rng = random.Random(seed)
    pages: dict[str, SitePage] = {}

    def text_sections(korean: bool, count: int) -> list[tuple[str, list[str]]]:
        words = KOREAN_WORDS if korean else WORDS
        return [
            (
                " ".join(rng.choice(words) for _ in range(3)).capitalize(),
                [_paragraph(rng, words, korean) for _ in range(rng.randint(1, 3))],
            )
            for _ in range(count)
        ]

    for section, (title, language, articles) in SECTIONS.items():
        korean = language == "ko"
        paths = [f"/{section}/article-{n}" for n in range(1, articles + 1)]
        if section == "docs":
            paths[0] = "/docs/getting-started"
        if section == "ko":
            paths[0] = KOREAN_SLUG
        for number, path in enumerate(paths):
            name = path.rsplit("/", 1)[1].replace("-", " ").capitalize()
            pages[path] = SitePage(
                path=path,
                title=f"{title}: {name}",
                language=language,
                sections=text_sections(korean, rng.randint(2, 4)),
                related=[paths[(number + step) % len(paths)] for step in (1, 2, 3)],
                modified=1_767_225_600.0 + rng.randint(0, 300) * 86_400,
                product="nimbus-hub" if section == "devices" else "",
            )
        pages[f"/{section}/"] = SitePage(
            path=f"/{section}/",
            title=title,
            language=language,
            sections=text_sections(korean, 1),
            links=[(path, pages[path].title) for path in paths],
            article=False,
        )
    pages["/"] = SitePage(
        path="/",
        title="Quillfeather Help Center",
        language="en",
        sections=text_sections(False, 2),
        links=[
            *((f"/{s}/", t) for s, (t, _, _) in SECTIONS.items()),
            (REDIRECT[0], "Getting started (old address)"),
            (MISSING, "A page that was never written"),
            (NOINDEX_META, "Draft notes"),
            (NOINDEX_HEADER, "Beta notes"),
            (PRIVATE[0], "Staff area"),
            *((path, "Download") for path in FILES),
        ],
        article=False,
    )
    pages[NOINDEX_META] = SitePage(
        NOINDEX_META, "Draft notes", "en", text_sections(False, 2), noindex_meta=True
    )
    pages[NOINDEX_HEADER] = SitePage(
        NOINDEX_HEADER, "Beta notes", "en", text_sections(False, 2), noindex_header=True
    )
    for path in PRIVATE:
        pages[path] = SitePage(path, "Staff only", "en", text_sections(False, 2))
    pages[PRIVATE[0]].links = [(p, "Staff page") for p in PRIVATE[1:]]
    original = pages[REDIRECT[1]]
    pages[DUPLICATE] = SitePage(
        DUPLICATE,
        original.title,
        "en",
        original.sections,
        canonical=REDIRECT[1],
        article=False,
    )
    original.links = [(DUPLICATE, "Print this article")]
    original = pages["/billing/article-7"]
    pages[DUPLICATE_BY_HEADER] = SitePage(
        DUPLICATE_BY_HEADER,
        original.title,
        "en",
        original.sections,
        canonical="/billing/article-7",
        canonical_header=True,
        article=False,
    )
    original.links = [(DUPLICATE_BY_HEADER, "Print this article")]
    return Site(pages=pages)


def _url(site: Site, path: str) -> str:
    return site.base + quote(path)


def render_page(site: Site, page: SitePage) -> str:
    """The page as a help center's theme would render it."""
    e = html.escape
    nav = "".join(f'<li><a href="/{s}/">{e(t)}</a></li>' for s, (t, _, _) in SECTIONS.items())
    body = [f"<h1>{e(page.title)}</h1>"]
    for heading, paragraphs in page.sections:
        body.append(f"<h2>{e(heading)}</h2>")
        body.extend(f"<p>{e(p)}</p>" for p in paragraphs)
    if page.links:
        items = "".join(f'<li><a href="{quote(p)}">{e(label)}</a></li>' for p, label in page.links)
        body.append(f"<ul>{items}</ul>")
    if page.article:
        body.append(
            '<div class="article-votes"><span>Was this article helpful?</span>'
            "<button>Yes</button><button>No</button></div>"
        )
    related = "".join(
        f'<li><a href="{quote(p)}">{e(site.pages[p].title)}</a></li>'
        for p in page.related
        if p in site.pages
    )
    canonical = _url(site, page.canonical or page.path)
    tag = "" if page.canonical_header else f'<link rel="canonical" href="{canonical}">'
    robots = '<meta name="robots" content="noindex">' if page.noindex_meta else ""
    if page.product:
        robots += f'<meta name="helpdesk:product" content="{page.product}">'
    crumbs = f'<a href="/">Help Center</a> › <span>{e(page.title)}</span>'
    return f"""<!DOCTYPE html>
<html lang="{page.language}">
<head><meta charset="utf-8"><title>{e(page.title)} – Quillfeather Help</title>
{tag}{robots}
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<div id="cookie-consent" class="cookie-banner"><p>{BANNER_TEXT}.
You can accept all cookies or choose which ones we may set.</p>
<button>Accept all</button><button>Manage preferences</button></div>
<header class="site-header"><a class="logo" href="/">Quillfeather Help</a>
<nav class="main-nav"><span>{NAV_TEXT}</span><ul>{nav}
<li><a href="/ko/">한국어</a></li></ul></nav>
<form role="search" action="/search"><input name="q" placeholder="Search"></form></header>
<nav class="breadcrumbs">{crumbs}</nav>
<main><article>{"".join(body)}</article>
<aside class="related"><h3>Related articles</h3><ul>{related}</ul></aside></main>
<footer class="site-footer"><p>{FOOTER_TEXT}. All rights reserved.</p>
<ul><li><a href="/">Home</a></li><li><a href="{OFF_SITE}">Follow us</a></li>
<li><a href="mailto:help@quillfeather.example">Email us</a></li></ul></footer>
</body></html>
"""


def robots_txt(site: Site) -> str:
    return f"User-agent: *\nDisallow: /private/\n\nSitemap: {site.base}/sitemap.xml\n"


def sitemap(site: Site, part: int) -> str:
    """/sitemap.xml (part 0) is an index of two sitemaps that list the indexable pages."""
    if part == 0:
        entries = "".join(
            f"<sitemap><loc>{site.base}/sitemaps/pages-{n}.xml</loc></sitemap>" for n in (1, 2)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>\n'
        )
    paths = site.indexable()
    half = paths[: len(paths) // 2] if part == 1 else paths[len(paths) // 2 :]
    urls = "".join(f"<url><loc>{html.escape(_url(site, p))}</loc></url>" for p in half)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset '
        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
    )


class _Handler(BaseHTTPRequestHandler):
    site: Site
    server_version = "QuillfeatherHelp/1.0"

    def log_message(self, format: str, *args: object) -> None:  # quiet in tests
        pass

    def do_GET(self) -> None:
        site = self.site
        path = unquote(urlsplit(self.path).path)
        with site.lock:
            site.in_flight += 1
            site.most_in_flight = max(site.most_in_flight, site.in_flight)
            site.agents.add(self.headers.get("User-Agent", ""))
            queued = site.failures.get(path) or site.failures.get("*")
            failure = queued.pop(0) if queued else 0
        try:
            if failure:
                body = b"try again later"
                status, headers = failure, {"Retry-After": site.retry_after}
            else:
                status, headers, body = self._answer(site, path)
            with site.lock:
                site.log.append((path, status))
            self._send(status, headers, body)
        finally:
            with site.lock:
                site.in_flight -= 1

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, site: Site, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, robots_txt(site).encode()
        if path in ("/sitemap.xml", "/sitemaps/pages-1.xml", "/sitemaps/pages-2.xml"):
            part = 0 if path == "/sitemap.xml" else int(path[-5])
            return 200, {"Content-Type": "application/xml"}, sitemap(site, part).encode()
        if path in site.redirects:
            return 301, {"Location": _url(site, site.redirects[path])}, b""
        if path in FILES:
            return 200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n%\xe2\xe3\n"
        page = site.pages.get(path)
        if page is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"
        body = site.render(path).encode("utf-8")
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(page.modified, usegmt=True)
        headers = {
            "Content-Type": "text/html; charset=utf-8",
            "ETag": etag,
            "Last-Modified": modified,
        }
        if page.noindex_header:
            headers["X-Robots-Tag"] = "noindex"
        if page.canonical_header:
            headers["Link"] = f'<{_url(site, page.canonical)}>; rel="canonical"'
        match = self.headers.get("If-None-Match")
        since = self.headers.get("If-Modified-Since")
        if match is not None:
            fresh = etag in [tag.strip() for tag in match.split(",")]
        elif since is not None:
            parsed = email.utils.parsedate_to_datetime(since)
            fresh = parsed is not None and page.modified <= parsed.timestamp()
        else:
            fresh = False
        if fresh:
            return 304, {"ETag": etag, "Last-Modified": modified}, b""
        return 200, headers, body


@contextmanager
def serve(site: Site) -> Iterator[str]:
    """Serve ``site`` on a loopback port; yields its base URL (``http://127.0.0.1:PORT``)."""
    handler = type("Handler", (_Handler,), {"site": site})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="site", daemon=True)
    thread.start()
    try:
        yield site.base
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
