"""The Zendesk Guide and Intercom Articles connectors against a loopback server replaying the
vendors' response shapes (tests/replay_api.py): pagination, heading paths, citation URLs,
drafts and restricted articles, translations, 429 with Retry-After, 5xx, deleted articles,
refused tokens and unreachable hosts. Nothing is mocked: real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SPEAKER_MD, write_files
from replay_api import ReplayApi, serve

from helpdesk.config import Settings
from helpdesk.index.generations import Layout
from helpdesk.index.store import read_chunks
from helpdesk.sources import SourceConfig, SourceError, SourceUnreachable, connector
from helpdesk.sources.base import Fetched, Page
from helpdesk.sources.intercom import IntercomSource
from helpdesk.sources.zendesk import ZendeskSource
from helpdesk.types import Chunk

ZENDESK_TOKEN = "zd-secret-4f1c9a77e2"
INTERCOM_TOKEN = "ic-secret-dG9rOjEyMzQ1"


# The replay server's Zendesk articles a public source keeps (drafts left out), by mirror path.
ZENDESK_PAGES = [
    "en-us/1001.md",
    "en-us/1002.md",
    "en-us/1003.md",
    "en-us/1005.md",
    "en-us/1006.md",
    "ko/1001.md",
    "ko/1002.md",
]


def _quiet(done: int, total: int | None) -> None:
    pass


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayApi]:
    monkeypatch.setenv("HELPDESK_ZENDESK_TOKEN", ZENDESK_TOKEN)
    monkeypatch.setenv("HELPDESK_INTERCOM_TOKEN", INTERCOM_TOKEN)
    with serve() as replay:
        replay.zendesk_auth = f"Bearer {ZENDESK_TOKEN}"
        replay.intercom_token = INTERCOM_TOKEN
        yield replay


def zendesk(api: ReplayApi, **options: Any) -> ZendeskSource:
    values: dict[str, Any] = {"base_url": api.url, "locales": ["en-us", "ko"], "per_page": 2}
    values.update(options)
    made = connector(SourceConfig(name="zd", type="zendesk", options=values))
    assert isinstance(made, ZendeskSource)
    return made


def intercom(api: ReplayApi, **options: Any) -> IntercomSource:
    values: dict[str, Any] = {"base_url": api.url, "per_page": 2}
    values.update(options)
    made = connector(SourceConfig(name="ic", type="intercom", options=values))
    assert isinstance(made, IntercomSource)
    return made


def by_path(fetched: Fetched) -> dict[str, Page]:
    return {page.path: page for page in fetched.pages}


def headings(page: Page) -> list[str]:
    return [line for line in page.body.splitlines() if line.startswith("#")]


# -- Zendesk ----------------------------------------------------------------------------------


def test_zendesk_lists_every_published_article_of_each_locale_across_pages(
    api: ReplayApi,
) -> None:
    fetched = zendesk(api).fetch({}, _quiet)
    pages = by_path(fetched)
    assert sorted(pages) == ZENDESK_PAGES
    # en-us: 6 articles, 2 a page (offset pagination, next_page); ko: cursor pagination.
    listings = [s for s in api.seen if s.path.endswith("/articles.json")]
    assert [s.query.get("page", s.query.get("page[after]", "")) for s in listings] == [
        "",
        "2",
        "3",
        "",
        "2",
    ]
    assert fetched.requests == len(api.seen) == 5
    reset = pages["en-us/1001.md"]
    assert reset.title == "Reset your password"
    assert reset.url == "https://acme.zendesk.com/hc/en-us/articles/1001-reset-your-password"
    assert reset.language == "en"
    assert reset.updated == "2026-01-10T09:00:00Z"
    assert reset.audience == ""  # the source's own audience
    assert headings(reset) == [
        "# Getting started",
        "## Account",
        "### Reset your password",
        "##### No email arrived",  # the body's h2, under three levels
    ]
    # A relative link made absolute; the image is gone.
    assert "[Account settings](https://acme.zendesk.com/hc/en-us/articles/1003)" in reset.body
    assert "**Reset password**" in reset.body
    assert "reset.png" not in reset.body and "<" not in reset.body
    # A nested section sits under its parent section.
    assert headings(pages["en-us/1002.md"]) == [
        "# Getting started",
        "## Account",
        "### Security",
        "#### Turn on two-step verification",
    ]
    korean = pages["ko/1002.md"]
    assert korean.language == "ko"
    assert headings(korean) == ["# 시작하기", "## 계정", "### 보안", "#### 2단계 인증 켜기"]


def test_zendesk_leaves_out_drafts_and_keeps_restricted_articles_from_the_public(
    api: ReplayApi,
) -> None:
    fetched = zendesk(api).fetch({}, _quiet)
    pages = by_path(fetched)
    assert "en-us/1004.md" not in pages and "ko/1004.md" not in pages
    drafts = [what for what, why in fetched.skipped if why == "draft"]
    assert sorted(drafts) == [
        "https://acme.zendesk.com/hc/en-us/articles/1004-upcoming-features",
        "https://acme.zendesk.com/hc/ko/articles/1004-%EC%83%88-%EA%B8%B0%EB%8A%A5-%EC%95%88%EB%82%B4",
    ]
    # Restricted to a user segment: for agents (internal), never the public.
    assert pages["en-us/1005.md"].audience == "internal"
    skipping = zendesk(api, restricted="skip").fetch({}, _quiet)
    assert "en-us/1005.md" not in by_path(skipping)
    assert (
        "https://acme.zendesk.com/hc/en-us/articles/1005-vip-support-line",
        "restricted to a user segment",
    ) in skipping.skipped


def test_zendesk_several_user_segments_are_restricted_too() -> None:
    from helpdesk.sources.zendesk import Catalog, article_pages

    article = {"id": 7, "locale": "en-us", "title": "Partners", "body": "<p>Rates.</p>"}
    article.update({"draft": False, "user_segment_id": None, "user_segment_ids": [11, 12]})
    pages, _ = article_pages([article], Catalog())
    assert [p.audience for p in pages] == ["internal"]
    assert article_pages([article], Catalog(), "skip")[0] == []


def test_zendesk_pages_are_the_same_on_the_next_fetch_and_a_deleted_article_is_gone(
    api: ReplayApi,
) -> None:
    source = zendesk(api)
    first = by_path(source.fetch({}, _quiet))
    second = by_path(source.fetch({}, _quiet))
    assert first == second  # same paths, same bodies: ingest re-embeds nothing
    api.delete_zendesk(1006)
    third = by_path(source.fetch({}, _quiet))
    assert set(first) - set(third) == {"en-us/1006.md"}
    assert all(third[path] == first[path] for path in third)


def test_zendesk_retitled_article_keeps_its_path(api: ReplayApi) -> None:
    source = zendesk(api)
    before = by_path(source.fetch({}, _quiet))
    for article in api.zendesk["articles"]:
        if article["id"] == 1003 and article["locale"] == "en-us":
            article["title"] = "Update your email address"
    after = by_path(source.fetch({}, _quiet))
    assert set(after) == set(before)
    assert after["en-us/1003.md"].title == "Update your email address"


def test_zendesk_waits_as_retry_after_asks_then_goes_on(
    api: ReplayApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("/api/v2/help_center/en-us/articles.json", 429, {"Retry-After": "1"})
    source = zendesk(api)
    caplog.set_level(logging.INFO, logger="helpdesk.sources")
    started = time.perf_counter()
    fetched = source.fetch({}, _quiet)
    elapsed = time.perf_counter() - started
    assert len(fetched.pages) == 7
    assert source.waited == 1.0
    assert 1.0 <= elapsed < 5
    assert [s.status for s in api.seen][:2] == [429, 200]
    assert fetched.requests == 6  # the five listings and the one refused
    assert "429 on /api/v2/help_center/en-us/articles.json; waiting 1.0s" in caplog.text


def test_zendesk_gives_up_when_the_wait_asked_is_too_long(api: ReplayApi) -> None:
    api.fail_next("/api/v2/help_center/en-us/articles.json", 429, {"Retry-After": "3600"})
    with pytest.raises(SourceUnreachable, match="rate limited"):
        zendesk(api, max_wait=60).fetch({}, _quiet)


def test_zendesk_retries_a_server_error_with_backoff(api: ReplayApi) -> None:
    api.fail_next("/api/v2/help_center/ko/articles.json", 503)
    api.fail_next("/api/v2/help_center/ko/articles.json", 502)
    source = zendesk(api, backoff=0.05)
    fetched = source.fetch({}, _quiet)
    assert len(fetched.pages) == 7
    assert source.waited == pytest.approx(0.05 + 0.1)


def test_zendesk_error_mid_listing_fails_the_whole_fetch(api: ReplayApi) -> None:
    """A listing cut short must not look like deleted articles."""
    for _ in range(5):
        api.fail_next("/api/v2/help_center/en-us/articles.json", 500)
    with pytest.raises(SourceUnreachable, match="HTTP 500"):
        zendesk(api, backoff=0.01).fetch({}, _quiet)


def test_zendesk_sends_the_token_and_never_logs_it(
    api: ReplayApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's too
    api.fail_next("/api/v2/help_center/en-us/articles.json", 429, {"Retry-After": "0"})
    zendesk(api).fetch({}, _quiet)
    assert {s.headers["authorization"] for s in api.seen} == {f"Bearer {ZENDESK_TOKEN}"}
    assert ZENDESK_TOKEN not in caplog.text
    assert caplog.records  # it did log (requests, the 429), just not the token


def test_zendesk_api_token_with_email_is_basic_auth(
    api: ReplayApi, caplog: pytest.LogCaptureFixture
) -> None:
    pair = base64.b64encode(f"agent@acme.test/token:{ZENDESK_TOKEN}".encode()).decode()
    api.zendesk_auth = f"Basic {pair}"
    caplog.set_level(logging.DEBUG)
    fetched = zendesk(api, email="agent@acme.test").fetch({}, _quiet)
    assert len(fetched.pages) == 7
    assert pair not in caplog.text and ZENDESK_TOKEN not in caplog.text


def test_zendesk_refused_token_is_unreachable(api: ReplayApi) -> None:
    api.zendesk_auth = "Bearer another-token"
    with pytest.raises(SourceUnreachable, match="HTTP 401") as raised:
        zendesk(api).fetch({}, _quiet)
    assert ZENDESK_TOKEN not in str(raised.value)
    assert len(api.seen) == 1  # not retried


def test_zendesk_without_a_token_reads_what_visitors_see(
    api: ReplayApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HELPDESK_ZENDESK_TOKEN")
    fetched = zendesk(api).fetch({}, _quiet)
    assert "authorization" not in api.seen[0].headers
    assert "en-us/1005.md" not in by_path(fetched) and "en-us/1001.md" in by_path(fetched)


def test_zendesk_named_token_variable_must_be_set(api: ReplayApi) -> None:
    with pytest.raises(SourceError, match="HELPDESK_ZD_OTHER"):
        zendesk(api, token_env="HELPDESK_ZD_OTHER").fetch({}, _quiet)


def test_zendesk_unreachable_host(api: ReplayApi) -> None:
    from servers import free_port

    source = zendesk(api, base_url=f"http://127.0.0.1:{free_port()}", backoff=0.01)
    with pytest.raises(SourceUnreachable, match="cannot reach"):
        source.fetch({}, _quiet)


def test_zendesk_lists_sections_when_the_api_does_not_sideload_them(api: ReplayApi) -> None:
    api.sideloads = False
    pages = by_path(zendesk(api).fetch({}, _quiet))
    assert headings(pages["en-us/1002.md"])[:3] == [
        "# Getting started",
        "## Account",
        "### Security",
    ]
    assert any(s.path.endswith("/sections.json") for s in api.seen)


def test_zendesk_default_locale_and_subdomain(api: ReplayApi) -> None:
    fetched = zendesk(api, locales=[]).fetch({}, _quiet)
    assert api.seen[0].path == "/api/v2/help_center/articles.json"
    assert sorted(by_path(fetched)) == [
        "en-us/1001.md",
        "en-us/1002.md",
        "en-us/1003.md",
        "en-us/1005.md",
        "en-us/1006.md",
    ]
    named = connector(SourceConfig(name="zd", type="zendesk", options={"subdomain": "acme"}))
    assert isinstance(named, ZendeskSource) and named.base_url == "https://acme.zendesk.com"
    with pytest.raises(SourceError, match="subdomain"):
        connector(SourceConfig(name="zd", type="zendesk"))


@pytest.mark.parametrize("option", [{"per_page": "many"}, {"max_wait": -1}, {"timeout": 0}])
def test_a_bad_number_option_is_named(api: ReplayApi, option: dict[str, Any]) -> None:
    with pytest.raises(SourceError, match=next(iter(option))):
        zendesk(api, **option).fetch({}, _quiet)


def test_zendesk_next_page_on_another_host_is_refused(api: ReplayApi) -> None:
    """The token goes to base_url only, whatever a next_page link says."""
    source = zendesk(api)
    api.url = "http://127.0.0.2:9"  # the next_page links the server writes now point there
    with pytest.raises(SourceUnreachable, match="only sent to base_url"):
        source.fetch({}, _quiet)
    assert len(api.seen) == 1


# -- Intercom ---------------------------------------------------------------------------------


def test_intercom_lists_published_articles_one_page_per_locale(api: ReplayApi) -> None:
    fetched = intercom(api).fetch({}, _quiet)
    pages = by_path(fetched)
    assert sorted(pages) == ["5.md", "en/1.md", "en/2.md", "en/4.md", "ko/1.md"]
    articles = api.requests_to("/articles")
    assert [s.query["page"] for s in articles] == ["1", "2", "3"]
    assert {s.headers["intercom-version"] for s in api.seen} == {"2.11"}
    assert {s.headers["authorization"] for s in api.seen} == {f"Bearer {INTERCOM_TOKEN}"}
    reset = pages["en/1.md"]
    assert reset.url == "https://help.acme.test/en/articles/1-reset-your-password"
    assert reset.language == "en"
    assert headings(reset) == ["# Getting Started", "## Account basics", "### Reset your password"]
    assert "**Forgot password**" in reset.body
    korean = pages["ko/1.md"]
    assert korean.url == "https://help.acme.test/ko/articles/1-reset-your-password"
    assert headings(korean) == ["# 시작하기", "## 계정 기본", "### 비밀번호 재설정"]
    assert korean.updated == "2026-01-09T23:06:40Z"
    # A nested collection: Billing > Invoices.
    assert headings(pages["en/2.md"]) == [
        "# Billing",
        "## Invoices",
        "### Download an invoice",
        "##### From the web",
    ]
    # No parent, no locale (an older shape): it stands alone, its language detected later.
    assert headings(pages["5.md"]) == ["# Contact us"] and pages["5.md"].language == ""
    reasons = sorted(why for _, why in fetched.skipped)
    assert reasons == ["draft", "draft"]  # the draft article, and the draft Korean translation


def test_intercom_same_pages_next_time_and_a_deleted_article_is_gone(api: ReplayApi) -> None:
    source = intercom(api)
    first = by_path(source.fetch({}, _quiet))
    assert by_path(source.fetch({}, _quiet)) == first
    api.delete_intercom("4")
    third = by_path(source.fetch({}, _quiet))
    assert set(first) - set(third) == {"en/4.md"}


def test_intercom_waits_for_the_rate_limit_window(
    api: ReplayApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Intercom says when the window resets (X-RateLimit-Reset, epoch seconds)."""
    reset = int(time.time()) + 2
    api.fail_next("/articles", 429, {"X-RateLimit-Reset": str(reset)})
    caplog.set_level(logging.INFO, logger="helpdesk.sources")
    source = intercom(api)
    fetched = source.fetch({}, _quiet)
    assert time.time() >= reset - 0.05
    assert 0.5 <= source.waited <= 2.0
    assert len(fetched.pages) == 5
    assert "429 on /articles" in caplog.text


def test_intercom_retry_after(api: ReplayApi) -> None:
    api.fail_next("/articles", 429, {"Retry-After": "1"})
    source = intercom(api)
    assert len(source.fetch({}, _quiet).pages) == 5
    assert source.waited == 1.0


def test_intercom_without_sections_uses_nested_collections(api: ReplayApi) -> None:
    api.intercom_sections = False  # a newer API version: /help_center/sections answers 400
    pages = by_path(intercom(api, api_version="2.14").fetch({}, _quiet))
    assert headings(pages["en/2.md"])[:2] == ["# Billing", "## Invoices"]
    # The section is unknown now; the article keeps its title.
    assert headings(pages["en/1.md"]) == ["# Reset your password"]


def test_intercom_locales_option(api: ReplayApi) -> None:
    pages = by_path(intercom(api, locales="ko").fetch({}, _quiet))
    assert sorted(pages) == ["ko/1.md"]


def test_intercom_refused_token_and_missing_token(
    api: ReplayApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.intercom_token = "rotated"
    with pytest.raises(SourceUnreachable, match="HTTP 401"):
        intercom(api).fetch({}, _quiet)
    assert INTERCOM_TOKEN not in caplog.text
    monkeypatch.delenv("HELPDESK_INTERCOM_TOKEN")
    with pytest.raises(SourceError, match="HELPDESK_INTERCOM_TOKEN"):
        intercom(api).fetch({}, _quiet)


def test_intercom_unreachable_host(api: ReplayApi) -> None:
    from servers import free_port

    with pytest.raises(SourceUnreachable, match="cannot reach"):
        intercom(api, base_url=f"http://127.0.0.1:{free_port()}", backoff=0.01).fetch({}, _quiet)


# -- end to end: sync -> mirror -> ingest ---------


def sync_settings(tmp_path: Path, *entries: dict[str, Any]) -> Settings:
    """A knowledge base of one manual, a sources file with ``entries``, the fake embedder."""
    kb = write_files(tmp_path / "kb", {"manuals/speaker.md": SPEAKER_MD})
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": list(entries)}, allow_unicode=True), "utf-8")
    return Settings(  # type: ignore[call-arg]  # `sources` arrives with the sources-sync branch
        source_dir=kb,
        data_dir=tmp_path / "data",
        embedding="fake",
        sources=str(sources),
        reload_interval=0.0,
        llm="extractive",
    )


def indexed(settings: Settings) -> dict[str, list[Chunk]]:
    """The serving generation's chunks by document."""
    layout = Layout(settings.data_dir)
    found: dict[str, list[Chunk]] = {}
    for chunk in read_chunks(layout.generations / str(layout.current_name())):
        found.setdefault(chunk.source, []).append(chunk)
    return found


def test_zendesk_sync_end_to_end(api: ReplayApi, tmp_path: Path) -> None:
    from helpdesk.sources.sync import sync

    entry = {"name": "zd", "type": "zendesk", "base_url": api.url, "locales": ["en-us", "ko"]}
    entry.update({"per_page": 2, "token_env": "HELPDESK_ZENDESK_TOKEN", "audience": "public"})
    settings = sync_settings(tmp_path, entry)
    report = sync(settings)
    zd = report.sources[0]
    assert (zd.name, zd.outcome, zd.fetched, zd.added, zd.removed) == ("zd", "ok", 7, 7, 0)
    assert sorted(why for _, why in zd.skipped) == ["draft", "draft"]
    documents = indexed(settings)
    assert set(documents) == {"manuals/speaker.md"} | {f"zd:{path}" for path in ZENDESK_PAGES}
    reset = documents["zd:en-us/1001.md"]
    assert {c.url for c in reset} == {
        "https://acme.zendesk.com/hc/en-us/articles/1001-reset-your-password"
    }
    assert {c.language for c in reset} == {"en"} and {c.audience for c in reset} == {"public"}
    assert any({"Getting started", "Account"} <= set(c.headings) for c in reset)
    assert {c.language for c in documents["zd:ko/1002.md"]} == {"ko"}
    assert {c.audience for c in documents["zd:en-us/1005.md"]} == {"internal"}
    assert report.ingest is not None and report.ingest.embedded > 0

    # Nothing changed at the source: nothing re-embedded.
    again = sync(settings)
    assert (again.sources[0].unchanged, again.sources[0].changed) == (7, 0)
    assert again.ingest is not None and again.ingest.chunks_added == 0

    # Deleted at the source: gone from the index after the next sync.
    api.delete_zendesk(1006)
    after = sync(settings)
    assert (after.sources[0].removed, after.sources[0].unchanged) == (1, 6)
    assert "zd:en-us/1006.md" not in indexed(settings)
    assert after.ingest is not None and after.ingest.documents_removed == 1

    # The token refused: the source keeps its last content, and says why.
    api.zendesk_auth = "Bearer rotated"
    refused = sync(settings)
    assert refused.sources[0].outcome == "unreachable"
    assert "HTTP 401" in refused.sources[0].message
    assert len([d for d in indexed(settings) if d.startswith("zd:")]) == 6


def test_intercom_sync_end_to_end(api: ReplayApi, tmp_path: Path) -> None:
    from helpdesk.sources.sync import sync

    entry = {"name": "ic", "type": "intercom", "base_url": api.url, "per_page": 2}
    settings = sync_settings(tmp_path, entry)
    api.fail_next("/articles", 429, {"Retry-After": "1"})
    report = sync(settings)
    ic = report.sources[0]
    assert (ic.outcome, ic.fetched, ic.added) == ("ok", 5, 5)
    documents = indexed(settings)
    assert {d for d in documents if d.startswith("ic:")} == {
        "ic:en/1.md",
        "ic:ko/1.md",
        "ic:en/2.md",
        "ic:en/4.md",
        "ic:5.md",
    }
    korean = documents["ic:ko/1.md"]
    assert {c.language for c in korean} == {"ko"}
    assert {c.url for c in korean} == {"https://help.acme.test/ko/articles/1-reset-your-password"}
    assert any("계정 기본" in c.headings for c in korean)
    api.delete_intercom("4")
    after = sync(settings)
    assert after.sources[0].removed == 1 and "ic:en/4.md" not in indexed(settings)
