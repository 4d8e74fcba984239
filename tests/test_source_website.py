"""The website source against a generated 300-page help center on a real loopback server
(tests/sites.py): what a crawl keeps and leaves out, conditional re-fetches, politeness, bad
options and a site that is down; then, once sync is there, the crawl through sync and ingest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sites
from sites import BOILERPLATE, Site, make_site, serve

from helpdesk.sources import Fetched, SourceConfig, SourceError, SourceUnreachable, connector
from helpdesk.sources.webpage import drop_lines, line_key, mirror_path, normalise, robots_directives
from helpdesk.sources.website import WebsiteSource

# Every page has it in a widget: the extractor leaves it in some, the template count takes it.
WIDGET_TEXT = "Was this article helpful?"


def source(base: str, **options: Any) -> WebsiteSource:
    settings = {"start_url": f"{base}/", "delay": 0, "max_pages": 400, **options}
    return WebsiteSource(SourceConfig("site", "website", options=settings))


def crawl(base: str, state: dict[str, Any] | None = None, **options: Any) -> Fetched:
    return source(base, **options).fetch(state or {}, lambda done, total: None)


def url(site: Site, path: str) -> str:
    return site.base + quote(path)


@pytest.fixture(scope="module")
def crawled() -> Iterator[tuple[Site, Fetched, float]]:
    """The generated site, crawled once from its start page (and the seconds it took)."""
    site = make_site()
    with serve(site) as base:
        started = time.perf_counter()
        fetched = crawl(base)
        yield site, fetched, time.perf_counter() - started


def test_a_crawl_holds_one_document_per_canonical_page(
    crawled: tuple[Site, Fetched, float],
) -> None:
    site, fetched, seconds = crawled
    expected = {url(site, path) for path in site.indexable()}
    assert len(expected) == 300
    assert sorted(page.url for page in fetched.pages) == sorted(expected)
    assert len({page.path for page in fetched.pages}) == 300
    assert seconds < 20, f"300 pages took {seconds:.1f}s"


def test_no_page_keeps_the_navigation_footer_banner_or_widget(
    crawled: tuple[Site, Fetched, float],
) -> None:
    _, fetched, _ = crawled
    for text in (*BOILERPLATE, WIDGET_TEXT):
        holding = [page.path for page in fetched.pages if text in page.body]
        assert holding == [], f"{text!r} is in {len(holding)} pages"


def test_pages_keep_their_text_headings_title_and_language(
    crawled: tuple[Site, Fetched, float],
) -> None:
    site, fetched, _ = crawled
    by_url = {page.url: page for page in fetched.pages}
    for path in ("/docs/getting-started", "/billing/article-7", sites.KOREAN_SLUG):
        original = site.pages[path]
        page = by_url[url(site, path)]
        assert page.title == original.title
        assert page.body.startswith(f"# {original.title}\n")
        for heading, paragraphs in original.sections:
            assert f"\n## {heading}\n" in page.body
            assert all(paragraph in page.body for paragraph in paragraphs)
        assert page.language == original.language
        assert page.updated  # from Last-Modified
    assert by_url[url(site, "/devices/article-4")].product == "nimbus-hub"  # helpdesk:product
    assert by_url[url(site, "/docs/article-4")].product == ""
    assert by_url[url(site, sites.KOREAN_SLUG)].path == "ko/설정-가이드.md"
    assert by_url[url(site, "/docs/")].path == "docs/index.md"
    assert by_url[url(site, "/")].path == "index.md"


def test_robots_noindex_404_redirect_duplicate_and_files_are_skipped_with_reasons(
    crawled: tuple[Site, Fetched, float],
) -> None:
    site, fetched, _ = crawled
    skipped = dict(fetched.skipped)
    assert skipped[url(site, "/private/")] == "disallowed by robots.txt"
    assert not any(path.startswith("/private/") for path in site.requests())
    assert skipped[url(site, sites.NOINDEX_META)] == "noindex (robots meta tag)"
    assert skipped[url(site, sites.NOINDEX_HEADER)] == "noindex (X-Robots-Tag header)"
    assert skipped[url(site, sites.MISSING)] == "not found (404)"
    assert skipped[url(site, sites.DUPLICATE)] == (
        f"duplicate of {url(site, sites.REDIRECT[1])} (its canonical URL)"
    )
    assert skipped[url(site, sites.DUPLICATE_BY_HEADER)] == (
        f"duplicate of {url(site, '/billing/article-7')} (its canonical URL)"
    )
    assert skipped[url(site, sites.FILES[0])] == "not HTML (a file link)"
    assert skipped[url(site, sites.FILES[1])] == "not HTML (application/pdf)"
    assert skipped[sites.OFF_SITE] == "off-site"
    # The redirect's target is one document, under its own URL.
    assert [page.url for page in fetched.pages].count(url(site, sites.REDIRECT[1])) == 1
    assert url(site, sites.REDIRECT[0]) not in {page.url for page in fetched.pages}


def test_a_second_fetch_gets_304s_and_downloads_no_page() -> None:
    site = make_site()
    with serve(site) as base:
        first = crawl(base)
        site.log.clear()
        second = crawl(base, first.state)
    assert second.pages == []
    assert sorted(second.unchanged) == sorted(page.path for page in first.pages)
    downloaded = [path for path, status in site.log if status == 200 and path in site.pages]
    assert downloaded == []
    assert site.requests(304)
    assert dict(second.skipped) == dict(first.skipped)
    assert second.state["paths"] == first.state["paths"]


def test_a_removed_page_is_gone_and_a_changed_page_comes_back_changed() -> None:
    site = make_site()
    gone, changed = "/guides/article-12", "/devices/article-30"
    with serve(site) as base:
        first = crawl(base)
        site.remove(gone)
        site.change(changed, "Hold the reset button for ten seconds to restore the hub.")
        second = crawl(base, first.state)
    paths = {page.url: page.path for page in first.pages}
    assert paths[url(site, gone)] not in [p.path for p in second.pages] + second.unchanged
    refetched = {page.url: page for page in second.pages}
    assert "Hold the reset button for ten seconds" in refetched[url(site, changed)].body
    assert refetched[url(site, changed)].path == paths[url(site, changed)]
    # Downloaded again: the changed page and those that stopped linking to the removed one.
    linking = [path for path, page in site.pages.items() if gone in page.related]
    expected = sorted(url(site, path) for path in [changed, "/guides/", *linking])
    assert sorted(refetched) == expected
    assert len(second.unchanged) == 300 - 1 - len(expected)


def test_a_canonical_url_that_redirects_to_the_page_is_the_page() -> None:
    site = make_site()
    page = site.pages.pop("/docs/article-9")
    page.canonical, page.path = "/docs/article-9", "/docs/article-9/"
    site.pages[page.path] = page
    site.redirects["/docs/article-9"] = "/docs/article-9/"  # the links still say the first
    site.pages["/"].links.append(("/docs/article-9/", "Article nine"))  # but this one, first
    with serve(site) as base:
        fetched = crawl(base)
    assert url(site, "/docs/article-9") in [p.url for p in fetched.pages]
    assert dict(fetched.skipped)[url(site, "/docs/article-9/")].startswith("duplicate of")
    assert len(fetched.pages) == 300


def test_the_same_text_under_two_urls_without_a_canonical_link_is_one_document() -> None:
    site = make_site()
    original = site.pages["/devices/article-3"]
    copy = replace(original, path="/devices/article-3/comments", related=[], links=[])
    site.pages[copy.path] = copy
    original.links = [(copy.path, "Comments")]
    with serve(site) as base:
        fetched = crawl(base)
    assert dict(fetched.skipped)[url(site, copy.path)] == (
        f"duplicate of {url(site, original.path)} (the same text)"
    )
    assert len(fetched.pages) == 300


def test_a_sitemap_index_seeds_the_crawl() -> None:
    site = make_site()
    with serve(site) as base:
        options = {"sitemap": f"{base}/sitemap.xml", "delay": 0, "max_depth": 0}
        config = SourceConfig("site", "website", options=options)
        calls: list[tuple[int, int | None]] = []
        fetched = connector(config).fetch({}, lambda done, total: calls.append((done, total)))
    assert sorted(page.url for page in fetched.pages) == sorted(
        url(site, path) for path in site.indexable()
    )
    # Progress: pages done of the pages known so far (all of them, from the sitemaps).
    assert calls[0] == (1, 300) and calls[-1] == (300, 300)


def test_limits_and_filters_bound_the_crawl() -> None:
    site = make_site()
    with serve(site) as base:
        small = crawl(base, max_pages=40)
        shallow = crawl(base, max_depth=1)
        only_docs = crawl(base, start_url=f"{base}/docs/", include="/docs/")
        no_korean = crawl(base, exclude=["/ko/*"])
    assert 0 < len(small.pages) <= 40
    assert "over max_pages (40)" in dict(small.skipped).values()
    assert {page.url for page in shallow.pages} >= {url(site, "/"), url(site, "/docs/")}
    assert url(site, "/docs/article-2") not in {page.url for page in shallow.pages}
    assert {page.path.split("/")[0] for page in only_docs.pages} == {"docs"}
    assert len(only_docs.pages) == 71  # its index and 70 articles
    assert not [page for page in no_korean.pages if page.path.startswith("ko/")]
    assert len(no_korean.pages) == 300 - 49  # the Korean index and its 48 articles


def test_it_is_polite_user_agent_concurrency_and_delay() -> None:
    site = make_site()
    with serve(site) as base:
        started = time.perf_counter()
        crawl(base, max_pages=12, delay=0.1, concurrency=2)
        seconds = time.perf_counter() - started
    assert site.agents == {f"helpdesk/0.1.0 (+{base}/)"}
    assert site.most_in_flight <= 2
    assert seconds >= 12 * 0.1  # robots.txt and 12 pages, one each 0.1 s at most


def test_429_and_503_are_retried_after_the_time_asked() -> None:
    site = make_site()
    site.failures = {"/docs/": [429], "/billing/": [503, 503]}
    site.retry_after = "1"
    with serve(site) as base:
        started = time.perf_counter()
        fetched = crawl(base)
        seconds = time.perf_counter() - started
    assert len(fetched.pages) == 300
    assert [s for p, s in site.log if p == "/billing/"] == [503, 503, 200]
    assert seconds >= 2  # the host was held back for each Retry-After


def test_a_page_failing_for_now_keeps_its_last_copy() -> None:
    site = make_site()
    with serve(site) as base:
        first = crawl(base)
        site.failures = {"/docs/article-5": [503] * 10}
        second = crawl(base, first.state, retries=1)
    path = {page.url: page.path for page in first.pages}[url(site, "/docs/article-5")]
    assert path in second.unchanged
    assert "its last copy is kept" in dict(second.skipped)[url(site, "/docs/article-5")]


def test_a_site_that_cannot_be_read_is_unreachable() -> None:
    site = make_site()
    with serve(site) as base:
        site.failures = {"/": [503] * 10}
        with pytest.raises(SourceUnreachable, match="start page"):
            crawl(base, retries=1)
        site.failures = {"/robots.txt": [500] * 10}
        with pytest.raises(SourceUnreachable, match=r"robots\.txt"):
            crawl(base, retries=0)
        site.failures = {}
        with pytest.raises(SourceUnreachable, match="sitemap"):
            crawl(base, sitemap=f"{base}/no-sitemap.xml")
    # The server is gone: nothing listens on its port any more.
    with pytest.raises(SourceUnreachable, match="unreachable"):
        crawl(base, retries=0, timeout=2)


def test_the_http_client_can_be_handed_in() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if request.url.path == "/":
            return httpx.Response(301, headers={"Location": "/start"})
        html = "<html lang='en'><body><main><h1>Start</h1><p>" + "Words. " * 40 + "</p></main>"
        return httpx.Response(200, html=html)

    config = SourceConfig("local", "website", options={"start_url": "https://h.example/"})
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        fetched = WebsiteSource(config, client=client).fetch({}, lambda done, total: None)
    assert [(p.path, p.url, p.title) for p in fetched.pages] == [
        ("start.md", "https://h.example/start", "Start")
    ]
    assert set(seen) == {"helpdesk/0.1.0 (+https://h.example/)"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs 'start_url' or 'sitemap'"),
        ({"start_url": "ftp://example.com/"}, "start_url must be an http"),
        ({"start_url": "https://example.com/", "max_depth": -1}, "max_depth must be a whole"),
        ({"start_url": "https://example.com/", "max_pages": "many"}, "max_pages must be"),
        ({"start_url": "https://example.com/", "concurrency": 0}, "concurrency must be"),
        ({"start_url": "https://example.com/", "delay": True}, "delay must be a number"),
        ({"start_url": "https://example.com/", "include": [3]}, "include must be a path"),
        ({"start_url": "https://example.com/", "sitemap": {"a": 1}}, "sitemap must be"),
        ({"start_url": "https://example.com/", "max_page": 5}, "unknown option 'max_page'"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SourceError, match=message):
        WebsiteSource(SourceConfig("docs", "website", options=options))


def test_options_have_polite_defaults() -> None:
    made = WebsiteSource(
        SourceConfig("docs", "website", options={"start_url": "https://a.example"})
    )
    options = made.options
    assert (options.max_depth, options.max_pages, options.concurrency) == (3, 1000, 4)
    assert options.delay == 0.25 and options.timeout == 20
    assert options.start_url == "https://a.example/"
    assert options.user_agent == "helpdesk/0.1.0 (+https://a.example/)"


def test_urls_and_paths() -> None:
    assert (
        normalise("HTTP://Help.Example:80/a/b?utm_source=x&q=1#top")
        == "http://help.example/a/b?q=1"
    )
    assert normalise("../c", "https://h.example/a/b/") == "https://h.example/a/c"
    assert normalise("mailto:a@b.example") is None
    assert normalise("https://h.example/ko/설정") == normalise(
        "https://h.example/ko/%ec%84%a4%ec%a0%95"
    )
    assert mirror_path("https://h.example/docs/getting-started", "h.example") == (
        "docs/getting-started.md"
    )
    assert mirror_path("https://h.example/docs/", "h.example") == "docs/index.md"
    assert mirror_path("https://h.example/a.html", "h.example") == "a.md"
    assert mirror_path("https://h.example/search?q=x", "h.example").startswith("search--")
    assert mirror_path("https://www.h.example/a", "h.example") == "www.h.example/a.md"
    assert robots_directives("noindex, nofollow", "helpdesk") == {"noindex", "nofollow"}
    assert robots_directives("googlebot: noindex", "helpdesk") == set()
    assert robots_directives("helpdesk: none", "helpdesk") == {"noindex", "nofollow"}


def test_the_sample_help_center_rendered_as_a_site_crawls_to_one_page_per_document(
    tmp_path: Path,
) -> None:
    from helpdesk.documents import discover, load_document
    from scripts.render_site import BANNER, FOOTER, render, serve_folder

    kb = Path(__file__).resolve().parent.parent / "knowledge_base"
    documents = [load_document(path, kb) for path in discover(kb)]
    with serve_folder(tmp_path / "site") as base:
        render(kb, tmp_path / "site", base)
        public = crawl(base, exclude="/kb/")
        internal = crawl(base, start_url=f"{base}/kb/", include="/kb/")
    pages = {page.title: page for page in public.pages + internal.pages}
    for document in documents:
        page = pages[document.meta.title]
        assert page.language == document.meta.language
        assert page.url.startswith(f"{base}/kb/") == (document.meta.audience == "internal")
        for section in document.sections:
            if section.kind == "faq":  # each question a heading of the FAQ page
                assert f"### {section.question}\n" in page.body
    assert len(pages) == len(documents)  # the two home pages are listings, noindex
    for text in (BANNER, FOOTER, "Related articles"):
        assert not [page.path for page in pages.values() if text in page.body]


def test_template_lines_go_and_shared_headings_stay() -> None:
    template = {line_key(t) for t in ("Troubleshooting", "Was this helpful?", "Contact us")}
    page = "# Hub\n\n## Troubleshooting\n\nUnplug it.\n\n**Was this helpful?**\n\n- Contact us\n"
    body, dropped = drop_lines(page, template)
    assert body == "# Hub\n\n## Troubleshooting\n\nUnplug it.\n"
    assert dropped == len("**Was this helpful?**") + len("- Contact us")


def test_sync_keeps_no_template_text_and_re_embeds_only_changed_pages(tmp_path: Path) -> None:
    from conftest import NO_RATE_LIMITS, SPEAKER_MD, write_files

    from helpdesk.config import Settings
    from helpdesk.index.generations import Layout
    from helpdesk.index.store import read_chunks
    from helpdesk.sources.sync import sync

    site = make_site()
    gone, changed = "/guides/article-12", "/devices/article-30"
    with serve(site) as base:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n  - name: site\n    type: website\n    audience: public\n"
            f"    start_url: {base}/\n    max_pages: 400\n    delay: 0\n",
            encoding="utf-8",
        )
        settings = Settings(
            source_dir=write_files(tmp_path / "kb", {"manuals/speaker.md": SPEAKER_MD}),
            data_dir=tmp_path / "data",
            embedding="fake",
            reload_interval=0.0,
            llm="extractive",
            sources=str(sources),
            **NO_RATE_LIMITS,
        )
        first = sync(settings)
        chunks = read_chunks(Layout(settings.data_dir).current())
        site.remove(gone)
        site.change(changed, "Hold the reset button for ten seconds to restore the hub.")
        second = sync(settings)
        after = read_chunks(Layout(settings.data_dir).current())

    (report,) = first.sources
    assert report.outcome == "ok" and report.added == 300
    site_chunks = [c for c in chunks if c.source.startswith("site:")]
    assert len({c.source for c in site_chunks}) == 300
    for text in (*BOILERPLATE, WIDGET_TEXT):
        assert [c.id for c in site_chunks if text in c.text or text in c.embed_text] == []

    (report,) = second.sources
    # The section index stopped listing the removed page: its text reads the same, but its
    # Last-Modified (the document's updated date) moved on.
    assert (report.removed, report.changed) == (1, 2)
    primary = base.removeprefix("http://")
    gone_source, changed_source, index_source = (
        f"site:{mirror_path(url(site, path), primary)}" for path in (gone, changed, "/guides/")
    )
    assert gone_source in {c.source for c in chunks}
    assert gone_source not in {c.source for c in after}
    new_ids = {c.id for c in after} - {c.id for c in chunks}
    assert {c.source for c in after if c.id in new_ids} == {changed_source, index_source}
    assert second.ingest is not None
    # Vectors are computed for the changed text only: the rest comes from the last generation.
    assert 0 < second.ingest.embedded <= len([c for c in after if c.source == changed_source])
