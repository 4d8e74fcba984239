"""The three front ends in a real headless Chromium (Debian's, driven by Playwright for Python).

One real ``helpdesk serve`` (the sample knowledge base plus a booby-trapped document, the default
embedding models, the bundled local LLM) and two tiny third-party sites on other ports: one in
HELPDESK_CORS_ORIGINS with hostile CSS, one not. Screenshots of every page go to
``artifacts/screenshots/`` (or HELPDESK_SCREENSHOT_DIR), which CI keeps as artifacts.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import playwright.sync_api as playwright_sync
import pytest
from servers import (
    CLI,
    EMBEDDING_CACHE,
    KNOWLEDGE_BASE,
    environment,
    free_port,
    ingest,
    launch,
    running,
)

from helpdesk.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).parent.parent
SHOTS = Path(os.environ.get("HELPDESK_SCREENSHOT_DIR", ROOT / "artifacts" / "screenshots"))
CHROMIUM = os.environ.get("HELPDESK_CHROMIUM", "/usr/bin/chromium")
AGENT_KEY = "browser-test-agent-key"
HELP_HOST = "https://help.nimbushome.example"

# A document whose title and body carry markup: every front end must show it as text.
TRAP = "<img src=x onerror=\"window.__xss='fired'\">"
TRAP_DOC = f"""---
title: Zebra dock {TRAP} pairing
url: {HELP_HOST}/en/manuals/zebra-dock
language: en
product: aura-speaker
---
# Zebra dock pairing

## Pairing the zebra dock {TRAP}

To pair the zebra dock, hold its button for three seconds. {TRAP}
<script>window.__xss = 'script'</script>
"""

HOSTILE_CSS = """
* { color: #f0f !important; font-size: 40px !important; font-family: 'Comic Sans MS' !important;
    line-height: 3 !important; letter-spacing: 4px !important; box-sizing: content-box !important; }
div { display: none !important; }
button { display: none !important; }
body > * { opacity: 0.1 !important; transform: rotate(3deg) !important; }
"""


def _host_page(helpdesk: str, css: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Third-party shop</title><style>{css}</style></head>
<body><header><h1>Shop</h1></header><main><p>Products and prices.</p></main>
<script src="{helpdesk}/widget.js" data-title="Nimbus help" data-color="#b5179e"
  data-greeting="Hi! Ask me anything." data-plan="premium" data-customer-id="c-42"
  data-position="left" async></script></body></html>"""


def _static_site(root: Path, page: str) -> http.server.ThreadingHTTPServer:
    """A third-party site: one page, served from its own port (so its own origin)."""
    root.mkdir()
    (root / "index.html").write_text(page, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """helpdesk serve, plus an allowed and a refused third-party site."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (see .ci/run)")
    work = tmp_path_factory.mktemp("browser")
    kb = work / "kb"
    shutil.copytree(KNOWLEDGE_BASE, kb)
    (kb / "manuals" / "en" / "zebra-dock.md").write_text(TRAP_DOC, encoding="utf-8")
    data = work / "data"
    # Only the trap document is new: everything else comes from the suite's shared cache.
    cache = {"HELPDESK_EMBEDDING_CACHE_DIR": str(EMBEDDING_CACHE)}
    ingest(kb, data, cache)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    allowed = _static_site(work / "allowed", _host_page(url, HOSTILE_CSS))
    refused = _static_site(work / "refused", _host_page(url, ""))
    allowed_url = f"http://127.0.0.1:{allowed.server_address[1]}"
    settings = cache | {
        "HELPDESK_AGENT_KEYS": AGENT_KEY,
        "HELPDESK_CORS_ORIGINS": allowed_url,
        "HELPDESK_LLM_MAX_TOKENS": "90",
    }
    command = [*CLI, "serve", "--source", str(kb), "--data-dir", str(data), "--port", str(port)]
    serve = launch("browser", command, environment(settings), port, "/readyz", work)
    try:
        with running([serve], timeout=180):
            yield {
                "helpdesk": url,
                "allowed": allowed_url,
                "refused": f"http://127.0.0.1:{refused.server_address[1]}",
                "database": f"sqlite:///{data / 'helpdesk.db'}",
            }
    finally:
        for site in (allowed, refused):
            site.shutdown()
            site.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="en-US", viewport={"width": 1200, "height": 860}
    )
    # Source links point at the (imaginary) public help site: answer them locally, so
    # following a link is observable without the internet.
    context.route(
        f"{HELP_HOST}/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Article</h1>"),
    )
    page = context.new_page()
    page.add_init_script("window.__xss = undefined")
    try:
        yield page
    finally:
        context.close()


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def no_xss(page: object) -> None:
    assert page.evaluate("window.__xss") is None  # type: ignore[attr-defined]


# -- the help-center page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("factory reset aura speaker", ("/en/manuals/aura-speaker", "/en/faq#reset-aura-speaker")),
        ("루모 캠 배터리 충전", ("/ko/manuals/lumo-cam", "/ko/faq#")),
    ],
)
def test_search_as_you_type_shows_the_right_article_first(
    sites: dict[str, str], page: object, query: str, expected: tuple[str, ...]
) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    p.fill("#search-input", query)  # type: ignore[attr-defined]
    first = p.locator("#results .result").first  # type: ignore[attr-defined]
    first.wait_for(timeout=15_000)
    href = first.locator("a.result-title").get_attribute("href")
    assert href is not None and any(e in href for e in expected), href
    assert first.locator(".result-snippet mark").count() > 0
    assert first.locator(".result-breadcrumb").inner_text().strip()
    shot(p, "help-center-search-ko" if "루모" in query else "help-center-search")


def test_a_misspelt_search_says_what_it_searched_for(sites: dict[str, str], page: object) -> None:
    """While typing, the cheap ranker runs (no typo pass: a half-typed word is no typo); Enter
    runs the full one, which corrects the query and says so."""
    p = page
    searches: list[str] = []
    p.on(  # type: ignore[attr-defined]
        "request", lambda r: searches.append(r.url) if "/api/search?" in r.url else None
    )
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    p.fill("#search-input", "factory reset aura speakr")  # type: ignore[attr-defined]
    first = p.locator("#results .result").first  # type: ignore[attr-defined]
    first.wait_for(timeout=15_000)
    href = first.locator("a.result-title").get_attribute("href") or ""
    assert "/en/manuals/aura-speaker" in href, href
    assert searches and all("mode=typing" in url for url in searches), searches
    p.press("#search-input", "Enter")  # type: ignore[attr-defined]
    count = p.locator("#results-count")  # type: ignore[attr-defined]
    count.filter(has_text="factory reset aura speaker").wait_for(timeout=15_000)
    assert "mode=" not in searches[-1], searches


def test_results_are_keyboard_navigable(sites: dict[str, str], page: object) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    p.fill("#search-input", "warranty")  # type: ignore[attr-defined]
    p.locator("#results .result").nth(1).wait_for(timeout=15_000)  # type: ignore[attr-defined]
    p.press("#search-input", "ArrowDown")  # type: ignore[attr-defined]
    p.keyboard.press("ArrowDown")  # type: ignore[attr-defined]
    focused = p.evaluate(  # type: ignore[attr-defined]
        "[...document.querySelectorAll('#results .result')].findIndex("
        "r => r.contains(document.activeElement) || r === document.activeElement)"
    )
    assert focused == 1


def test_search_lists_each_article_once_with_its_sections(
    sites: dict[str, str], page: object
) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    p.fill("#search-input", "refund")  # type: ignore[attr-defined]
    results = p.locator("#results .result")  # type: ignore[attr-defined]
    results.nth(1).wait_for(timeout=15_000)
    links = p.evaluate(  # type: ignore[attr-defined]
        "[...document.querySelectorAll('#results .result .result-title')].map(a => a.href)"
    )
    assert len(links) == len(set(links)), links  # no article twice
    p.locator("#results .result-section").first.wait_for(timeout=5_000)  # type: ignore[attr-defined]
    markup = p.locator("#results").inner_text()  # type: ignore[attr-defined]
    assert "**" not in markup and "&gt;" not in markup


def test_ask_mode_shows_a_cited_answer(sites: dict[str, str], page: object) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    p.click("#mode-ask")  # type: ignore[attr-defined]
    p.fill("#ask-input", "How long is the warranty on the Aura Speaker?")  # type: ignore[attr-defined]
    p.click("#ask-submit")  # type: ignore[attr-defined]
    citation = p.locator("#citations a.citation").first  # type: ignore[attr-defined]
    citation.wait_for(timeout=60_000)
    # Done when the answer region is no longer busy (the page's CSP forbids string evaluation,
    # so wait on a selector rather than a function).
    p.locator("#answer[aria-busy=false]").wait_for(timeout=90_000)  # type: ignore[attr-defined]
    assert "warranty" in p.locator("#answer .answer-text").inner_text().lower()  # type: ignore[attr-defined]
    assert citation.get_attribute("href").startswith(HELP_HOST)
    shot(p, "help-center-ask")


def test_the_trap_document_is_shown_as_text_on_the_help_page(
    sites: dict[str, str], page: object
) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    p.fill("#search-input", "zebra dock pairing")  # type: ignore[attr-defined]
    first = p.locator("#results .result").first  # type: ignore[attr-defined]
    first.wait_for(timeout=15_000)
    # Rendering is over when the request is (spinner hidden) and the count is written after the
    # list: from then on, an <img> made from the markup would be in the list for the asserts below.
    p.locator("#search-spinner[hidden]").wait_for(state="attached", timeout=5_000)  # type: ignore[attr-defined]
    p.locator("#results-count:not(:empty)").wait_for(timeout=5_000)  # type: ignore[attr-defined]
    assert "<img src=x" in first.inner_text()  # the markup is visible, as text
    assert p.locator("#results img").count() == 0  # type: ignore[attr-defined]
    assert p.locator("#results script").count() == 0  # type: ignore[attr-defined]
    no_xss(p)
    shot(p, "help-center-xss-inert")


SSE_CHUNKS = [
    # \r\n split across chunks, a bare \r, \n, a comment, multi-line data and no final blank line.
    "event: sources\r",
    '\ndata: {"sources": []}\r\n\r',
    '\nevent: token\rdata: {"text":\r',
    'data: "a"}\r\r',
    ": keep-alive\n",
    'event: final\ndata: {"answer":\ndata: "b"}',
]


def test_the_one_sse_reader_handles_every_line_ending(sites: dict[str, str], page: object) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    events = p.evaluate(  # type: ignore[attr-defined]
        """async (chunks) => {
            const encoder = new TextEncoder();
            const body = new ReadableStream({
                start(c) { chunks.forEach((x) => c.enqueue(encoder.encode(x))); c.close(); },
            });
            const seen = [];
            await Helpdesk.readEvents(body, (name, data) => seen.push([name, data]));
            return seen;
        }""",
        SSE_CHUNKS,
    )
    assert events == [
        ["sources", {"sources": []}],
        ["token", {"text": "a"}],
        ["final", {"answer": "b"}],
    ]


# -- the widget ---------------------------------------------------------------------------------


def test_the_widget_script_is_the_shared_toolkit_plus_the_widget(sites: dict[str, str]) -> None:
    url = sites["helpdesk"]
    widget = httpx.get(url + "/widget.js")
    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("application/javascript")
    assert widget.headers["x-content-type-options"] == "nosniff"
    assert widget.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "max-age=300" in widget.headers["cache-control"]
    for name in ("common.js", "widget.js"):
        source = httpx.get(f"{url}/static/{name}")
        assert source.status_code == 200, name
        assert source.text in widget.text, name  # served as written, not rewritten
    etag = widget.headers["etag"]
    assert not etag.startswith("W/")
    again = httpx.get(url + "/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def _widget_ask(p: object, question: str) -> object:
    widget = p.locator("#helpdesk-widget")  # type: ignore[attr-defined]
    widget.locator("[data-testid=launcher]").click()
    widget.locator("[data-testid=input]").fill(question)
    widget.locator("[data-testid=send]").click()
    return widget


def test_widget_on_the_demo_page_streams_an_answer_with_sources(
    sites: dict[str, str], page: object
) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/demo")  # type: ignore[attr-defined]
    widget = _widget_ask(p, "How do I factory reset my Aura Speaker?")
    bot = widget.locator("[data-testid=message].bot").last
    bot.and_(widget.locator("[data-state=streaming]")).wait_for(timeout=30_000)  # type: ignore[attr-defined]
    assert bot.inner_text().strip()  # the draft shows at once, before generation ends
    widget.locator("[data-testid=message].bot[data-state=final]").last.wait_for(timeout=120_000)
    final = widget.locator("[data-testid=message].bot[data-state=final]").last
    assert "reset" in final.inner_text().lower()
    source = final.locator("a[data-testid=source]").first
    href = source.get_attribute("href")
    # The Aura Speaker manual or its FAQ entry (/en/faq#reset-aura-speaker), whichever ranks first.
    assert href is not None and href.startswith(HELP_HOST) and "aura-speaker" in href, href
    with p.expect_popup() as popup:  # type: ignore[attr-defined]
        source.click()
    assert popup.value.url.startswith(HELP_HOST)
    assert popup.value.locator("h1").inner_text() == "Article"
    popup.value.close()
    widget.locator("[data-testid=thumbs-up]").click()
    assert widget.locator("[data-testid=thumbs-up]").is_disabled()
    # With a conversation, "Talk to a person" opens the hand-off form (Cancel closes it)...
    widget.locator("[data-testid=handoff]").click()
    form = widget.locator("[data-testid=handoff-form]")
    form.locator("[data-testid=handoff-cancel]").click()
    assert form.count() == 0
    shot(p, "widget-demo")


def test_without_a_conversation_the_widget_shows_the_contact(
    sites: dict[str, str], page: object
) -> None:
    # ...and before any question, it shows the contact route, as it always did.
    p = page
    p.goto(sites["helpdesk"] + "/demo")  # type: ignore[attr-defined]
    widget = p.locator("#helpdesk-widget")  # type: ignore[attr-defined]
    widget.locator("[data-testid=launcher]").click()
    widget.locator("[data-testid=handoff]").click()
    contact = widget.locator("[data-testid=contact]")
    contact.filter(has_text="@").wait_for(timeout=10_000)
    assert widget.locator("[data-testid=handoff-form]").count() == 0


def test_the_widget_shows_the_trap_document_as_text(sites: dict[str, str], page: object) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/demo")  # type: ignore[attr-defined]
    widget = _widget_ask(p, "How do I pair the zebra dock?")
    final = widget.locator("[data-testid=message].bot[data-state=final]").last
    final.wait_for(timeout=120_000)
    sources = widget.locator("a[data-testid=source]")
    assert any("<img src=x" in sources.nth(i).inner_text() for i in range(sources.count()))
    assert widget.locator("img").count() == 0
    no_xss(p)


def test_hostile_host_css_cannot_break_the_widget(sites: dict[str, str], page: object) -> None:
    p = page
    p.goto(sites["allowed"] + "/index.html")  # type: ignore[attr-defined]
    launcher = p.locator("#helpdesk-widget [data-testid=launcher]")  # type: ignore[attr-defined]
    launcher.wait_for(timeout=15_000)
    # The shared toolkit stays inside the widget's script: the one global is the widget's.
    names = p.evaluate("[typeof Helpdesk, typeof window.HelpdeskWidget]")  # type: ignore[attr-defined]
    assert names == ["undefined", "object"], names
    box = launcher.bounding_box()
    assert box is not None and 30 <= box["width"] <= 100 and 30 <= box["height"] <= 100, box
    assert box["x"] < 200  # data-position="left"
    widget = _widget_ask(p, "How long is the warranty?")
    panel = widget.locator("[data-testid=panel]")
    assert panel.is_visible()
    size = panel.evaluate("e => getComputedStyle(e).fontSize")
    colour = panel.evaluate("e => getComputedStyle(e).color")
    assert size == "14px", size
    assert colour != "rgb(255, 0, 255)", colour
    # Cross-origin, from an allowed site: the answer arrives through CORS.
    final = widget.locator("[data-testid=message].bot[data-state=final]").last
    final.wait_for(timeout=120_000)
    assert "warranty" in final.inner_text().lower()
    # ...and the widget's styles did not leak out: the host page's text is still magenta.
    assert p.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(255, 0, 255)"  # type: ignore[attr-defined]
    shot(p, "widget-hostile-css")


def test_one_visitor_is_followed_from_the_help_page_to_the_widget(
    sites: dict[str, str], page: object
) -> None:
    """The journey the insights show: searched on the help page, then asked the widget; both
    events carry the browser's one anonymous visitor id and their own surface."""
    p = page
    p.goto(sites["helpdesk"] + "/")  # type: ignore[attr-defined]
    p.fill("#search-input", "zebra dock pairing button")  # type: ignore[attr-defined]
    p.locator("#results .result").first.wait_for(timeout=15_000)  # type: ignore[attr-defined]
    p.goto(sites["helpdesk"] + "/demo")  # type: ignore[attr-defined]
    widget = _widget_ask(p, "How long do I hold the zebra dock button?")
    widget.locator("[data-testid=message].bot[data-state=final]").last.wait_for(timeout=120_000)  # type: ignore[attr-defined]
    visitor = p.evaluate("window.localStorage.getItem('helpdesk.visitor')")  # type: ignore[attr-defined]
    assert visitor and visitor.startswith("v-")
    store = Store(sites["database"])
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            mine = [e for e in store.events() if e.visitor_id == visitor]
            if {e.kind for e in mine} >= {"search", "ask"}:
                break
            time.sleep(0.5)
    finally:
        store.close()
    searched = [e for e in mine if e.kind == "search"]
    asked = [e for e in mine if e.kind == "ask"]
    assert searched and searched[-1].surface == "help"
    assert "zebra dock" in searched[-1].text
    assert asked and asked[-1].surface == "widget" and asked[-1].conversation_id
    assert asked[-1].text == "How long do I hold the zebra dock button?"


def test_a_site_not_in_the_allow_list_is_refused(sites: dict[str, str], page: object) -> None:
    p = page
    p.goto(sites["refused"] + "/index.html")  # type: ignore[attr-defined]
    widget = _widget_ask(p, "How long is the warranty?")
    error = widget.locator("[data-testid=error]")
    error.wait_for(timeout=30_000)
    assert error.inner_text().strip()
    assert widget.locator("[data-testid=message].bot[data-state=final]").count() == 0
    shot(p, "widget-refused-origin")


def test_a_thumbs_down_asks_why_and_offers_a_person(sites: dict[str, str], page: object) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/demo")  # type: ignore[attr-defined]
    widget = _widget_ask(p, "How long is the warranty on the Aura Speaker?")
    final = widget.locator("[data-testid=message].bot[data-state=final]").last
    final.wait_for(timeout=120_000)
    assert widget.locator("[data-testid=offer]").count() == 0  # a calm question: no offer
    widget.locator("[data-testid=thumbs-down]").last.click()
    picker = widget.locator("[data-testid=reason-picker]")
    picker.locator("[data-testid=reason-incomplete]").check()
    picker.locator("[data-testid=reason-comment]").fill(
        "I wanted to know about the extended warranty"
    )
    shot(p, "feedback-reasons")
    picker.locator("[data-testid=reason-send]").click()
    widget.locator("[data-testid=feedback-thanks]").wait_for(timeout=10_000)
    offer = widget.locator("[data-testid=offer]")
    offer.wait_for(timeout=10_000)
    assert offer.locator("[data-testid=offer-handoff]").is_visible()
    shot(p, "feedback-offer")


def test_a_thumbs_down_on_the_help_page_offers_a_person(
    sites: dict[str, str], page: object
) -> None:
    p = page
    p.goto(sites["helpdesk"] + "/#ask")  # type: ignore[attr-defined]
    p.fill("#ask-input", "How long is the warranty on the Aura Speaker?")  # type: ignore[attr-defined]
    p.click("#ask-submit")  # type: ignore[attr-defined]
    p.locator("#answer-footer:not([hidden])").wait_for(timeout=120_000)  # type: ignore[attr-defined]
    assert p.locator("#escalation").is_hidden()  # type: ignore[attr-defined]
    p.click("#feedback-no")  # type: ignore[attr-defined]
    p.locator("#feedback-reasons [data-testid=reason-wrong]").check()  # type: ignore[attr-defined]
    p.click("#feedback-reasons [data-testid=reason-send]")  # type: ignore[attr-defined]
    p.locator("#escalation:not([hidden])").wait_for(timeout=10_000)  # type: ignore[attr-defined]
    p.click("#escalation-button")  # type: ignore[attr-defined]
    p.fill("#escalation [data-testid=handoff-message]", "The warranty card says two years")  # type: ignore[attr-defined]
    p.click("#escalation [data-testid=handoff-send]")  # type: ignore[attr-defined]
    confirmation = p.locator("#handoff-confirmation")  # type: ignore[attr-defined]
    confirmation.filter(has_text=re.compile(r"HD-[A-Z0-9]+")).wait_for(timeout=15_000)
    shot(p, "help-center-handoff")


def test_a_hand_off_that_cannot_be_stored_says_so_and_gives_the_contact(
    sites: dict[str, str], page: object
) -> None:
    p = page
    # The database is away: the server answers 503 store_unavailable (played here by the route).
    problem = {"title": "Store unavailable", "status": 503, "code": "store_unavailable"}
    p.route(  # type: ignore[attr-defined]
        "**/api/handoff",
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body=json.dumps(problem)
        ),
    )
    p.goto(sites["helpdesk"] + "/demo")  # type: ignore[attr-defined]
    widget = _widget_ask(p, "How long is the warranty?")
    widget.locator("[data-testid=message].bot[data-state=final]").last.wait_for(timeout=120_000)
    widget.locator("[data-testid=handoff]").click()
    form = widget.locator("[data-testid=handoff-form]")
    form.locator("[data-testid=handoff-send]").click()
    status = form.locator("[data-testid=handoff-status].is-error")
    status.wait_for(timeout=10_000)
    assert "try again" in status.inner_text() and "@" in status.inner_text()
    assert not form.locator("[data-testid=handoff-send]").is_disabled()  # free to retry
    shot(p, "handoff-store-unavailable")


# -- from the widget's offer to an agent and back -----------------------------------------------

FRUSTRATED = {
    "en": "This is the third time I'm asking and nothing works!!! I want a real person",
    "ko": "벌써 세 번째 문의드리는데요 상담원 연결해 주세요",
}
NOTE = {
    "en": "My Aura Speaker keeps dropping off the Wi-Fi since the last update.",
    "ko": "지난 업데이트 이후로 아우라 스피커가 계속 와이파이 연결이 끊겨요.",
}
REPLY = {
    "en": "Sorry about that! I've reset your speaker's cloud link; please restart it.",
    "ko": "불편을 드려 죄송합니다. 스피커 클라우드 연결을 초기화했으니 다시 켜 주세요.",
}
OFFER_WORD = {"en": "person", "ko": "상담원"}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_frustrated_customer_reaches_an_agent_and_hears_back(
    sites: dict[str, str], browser: object, lang: str
) -> None:
    suffix = "" if lang == "en" else "-ko"
    locale = "en-US" if lang == "en" else "ko-KR"
    customer = browser.new_context(locale=locale, viewport={"width": 1200, "height": 860})  # type: ignore[attr-defined]
    agent = browser.new_context(  # type: ignore[attr-defined]
        locale=locale,
        http_credentials={"username": "agent", "password": AGENT_KEY},
        viewport={"width": 1280, "height": 1300},  # room for the whole context packet
    )
    try:
        # 1. The widget offers a person, and creates the ticket.
        p = customer.new_page()
        p.goto(sites["helpdesk"] + "/demo")
        p.locator("#helpdesk-widget").wait_for(state="attached", timeout=15_000)
        p.evaluate("HelpdeskWidget.init({handoffPoll: 1})")  # check for replies every second
        widget = _widget_ask(p, FRUSTRATED[lang])
        offer = widget.locator("[data-testid=offer]")
        offer.wait_for(timeout=120_000)
        assert OFFER_WORD[lang] in offer.inner_text()
        shot(p, f"handoff-1-widget-offer{suffix}")
        offer.locator("[data-testid=offer-handoff]").click()
        form = widget.locator("[data-testid=handoff-form]")
        form.locator("[data-testid=handoff-message]").fill(NOTE[lang])
        shot(p, f"handoff-2-widget-form{suffix}")
        form.locator("[data-testid=handoff-send]").click()
        confirmation = widget.locator("[data-testid=handoff-confirmation]")
        confirmation.wait_for(timeout=15_000)
        found = re.search(r"HD-[A-Z0-9]+", confirmation.inner_text())
        assert found, confirmation.inner_text()
        reference = found.group(0)
        shot(p, f"handoff-3-widget-confirmation{suffix}")

        # 2. The agent finds it in the console, reads the packet, claims, replies, resolves.
        a = agent.new_page()
        response = a.goto(sites["helpdesk"] + "/agent#tickets")
        assert response is not None and response.status == 200
        row = a.locator("#ticket-list .ticket-row", has_text=reference)
        row.wait_for(timeout=15_000)
        shot(a, f"handoff-4-console-list{suffix}")
        row.click()
        detail = a.locator("#ticket-detail")
        detail.locator(".ticket-title", has_text=reference).wait_for(timeout=15_000)
        assert detail.locator(".ticket-summary-text").inner_text().strip()
        assert FRUSTRATED[lang] in detail.locator(".turns").inner_text()
        assert NOTE[lang] in detail.locator(".ticket-note").inner_text()
        assert "premium" in detail.locator(".facts").inner_text()  # the demo page's data-plan
        assert detail.locator(".sparkline rect").count() >= 1
        a.click("#ticket-claim")
        detail.locator(".ticket-head .status-claimed").wait_for(timeout=10_000)
        a.fill("#ticket-reply-text", REPLY[lang])
        a.click("#ticket-reply-send")
        detail.locator(".ticket-reply-text", has_text=REPLY[lang]).wait_for(timeout=10_000)
        a.evaluate("window.scrollTo(0, 0)")  # typing the reply scrolled it into view
        shot(a, f"handoff-5-console-ticket{suffix}")
        a.click("#ticket-resolve")
        detail.locator(".ticket-head .status-resolved").wait_for(timeout=10_000)

        # 3. The customer sees the agent's reply in the widget.
        reply = widget.locator("[data-testid=agent-reply]", has_text=REPLY[lang])
        reply.wait_for(timeout=20_000)
        shot(p, f"handoff-6-widget-agent-reply{suffix}")
        no_xss(p)
    finally:
        customer.close()
        agent.close()


# -- the agents' console ------------------------------------------------------------------------


def test_the_agent_console_is_refused_without_a_credential(
    sites: dict[str, str], page: object
) -> None:
    # Chromium itself gives up on a page that asks for credentials it doesn't have...
    with pytest.raises(playwright_sync.Error, match="ERR_INVALID_AUTH_CREDENTIALS"):
        page.goto(sites["helpdesk"] + "/agent")  # type: ignore[attr-defined]
    # ...so read the refusal from the browser context's own request API.
    refused = page.request.get(sites["helpdesk"] + "/agent")  # type: ignore[attr-defined]
    assert refused.status == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert "goodwill" not in refused.text().lower()
    api = httpx.get(sites["helpdesk"] + "/api/agent/search?q=goodwill")
    assert api.status_code == 401


def test_the_agent_console_shows_internal_results_with_badges(
    sites: dict[str, str], browser: object
) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        http_credentials={"username": "agent", "password": AGENT_KEY},
        viewport={"width": 1280, "height": 900},
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    p = context.new_page()
    try:
        response = p.goto(sites["helpdesk"] + "/agent")
        assert response is not None and response.status == 200
        p.fill("#agent-query", "goodwill credit override")
        p.select_option("#filter-audience", "all")
        p.click("#agent-search")
        first = p.locator("#agent-results .result").first
        first.wait_for(timeout=15_000)
        badges = p.locator("#agent-results .result .badge").all_inner_texts()
        assert "internal" in [b.strip().lower() for b in badges], badges
        p.click("#agent-ask")
        p.locator("#agent-answer a.citation").first.wait_for(timeout=120_000)
        p.click("#copy-answer")
        p.locator("#copy-status").filter(has_text="Copied").wait_for(timeout=5_000)
        copied = p.evaluate("navigator.clipboard.readText()")
        # Any numbered citation: the answer may cite any passage it was given (it cited [3]
        # in full-suite runs once the hand-off tests ran before it).
        assert re.search(r"\[\d+\] ", copied), copied
        shot(p, "agent-console")
    finally:
        context.close()
