"""How fast the website source crawls, and how much of a page's text it leaves out.

    python scripts/bench_crawl.py [--delay 0.25] [--concurrency 4] [--seed 17]

Serves the generated 300-page help center of the tests (tests/sites.py) on loopback, crawls it
with ``WebsiteSource.fetch`` twice (the second time with the first fetch's state, so answered
by 304s), and prints pages/s for each, then the characters of visible text the pages hold
(everything a browser shows, navigation and footers included), the share trafilatura left
out, the share the template count dropped after it, and the pages still holding the
navigation, footer, banner or "was this helpful" text (0 expected).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from urllib.parse import quote

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk.sources import SourceConfig
from helpdesk.sources.webpage import read_page
from helpdesk.sources.website import WebsiteSource
from tests.sites import BOILERPLATE, make_site, serve

WIDGET = "Was this article helpful?"


def visible_chars(html: str) -> int:
    """Characters of text a reader sees on the page (script and style left out)."""
    tree = lxml.html.document_fromstring(html)
    for element in tree.xpath("//script | //style | //head"):
        element.drop_tree()
    return len(" ".join(tree.text_content().split()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    site = make_site(args.seed)
    with serve(site) as base:
        options = {
            "start_url": f"{base}/",
            "max_pages": 400,
            "delay": args.delay,
            "concurrency": args.concurrency,
        }
        source = WebsiteSource(SourceConfig("site", "website", options=options))
        started = time.perf_counter()
        first = source.fetch({}, lambda done, total: None)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = source.fetch(first.state, lambda done, total: None)
        again = time.perf_counter() - started
        rendered = {base + quote(path): site.render(path) for path in site.indexable()}
    print(
        f"first fetch: {len(first.pages)} pages, {first.requests} requests in {seconds:.1f}s "
        f"= {len(first.pages) / seconds:.1f} pages/s (delay {args.delay}s, "
        f"concurrency {args.concurrency})"
    )
    print(
        f"second fetch: {len(second.pages)} pages read, {len(second.unchanged)} unchanged (304), "
        f"{second.requests} requests in {again:.1f}s"
    )
    total = sum(visible_chars(html) for html in rendered.values())
    extracted = sum(
        len(read_page(html, url, "helpdesk").markdown) for url, html in rendered.items()
    )
    kept = sum(len(page.body) for page in first.pages)
    print(
        f"visible text: {total:,} characters; trafilatura kept {extracted:,} "
        f"({extracted / total:.1%}), the template count dropped {extracted - kept:,} more; "
        f"the pages hold {kept:,} ({kept / total:.1%}: {1 - kept / total:.1%} left out)"
    )
    for text in (*BOILERPLATE, WIDGET):
        holding = sum(text in page.body for page in first.pages)
        print(f"pages holding {text!r}: {holding}")


if __name__ == "__main__":
    main()
