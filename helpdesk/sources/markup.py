"""HTML article bodies (Zendesk, Intercom, Notion and Confluence exports) as Markdown.

Markdown rather than keeping ``.html`` pages: :func:`~helpdesk.sources.base.nested_markdown`
puts each page under its category and section headings, so every chunk's heading path says
where the article sits in the help center; the HTML loader would only see the page's own h1-h6.
The conversion is markdownify's (BeautifulSoup underneath, as the HTML loader uses); what the
HTML loader leaves out is left out here too: scripts, styles, forms, and hidden text (where a
poisoned page hides instructions for the assistant). Images and embedded media are dropped;
their alt text says little a customer can search for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..documents.loaders import _hidden  # the HTML loader's own rule for text no reader sees

# What is not text a reader reads: dropped with everything inside it.
_DROPPED = (
    "script",
    "style",
    "noscript",
    "form",
    "img",
    "picture",
    "svg",
    "video",
    "audio",
    "iframe",
    "object",
    "embed",
    "template",
    "button",
)

LinkRewrite = Callable[[str], str | None]  # href -> public URL, or None to keep only the text


def html_to_markdown(html: str, base_url: str = "", rewrite: LinkRewrite | None = None) -> str:
    """``html`` (an article body or a page's main element) as Markdown with ATX headings.

    Relative links are made absolute against ``base_url``; ``rewrite`` may map a link to its
    public URL first, or return None to keep the link's text without the link.
    """
    from bs4 import BeautifulSoup

    return markdown_from_soup(BeautifulSoup(html, "html.parser"), base_url, rewrite)


def markdown_from_soup(soup: Any, base_url: str = "", rewrite: LinkRewrite | None = None) -> str:
    """The same for a parsed (and possibly trimmed) BeautifulSoup tree."""
    from markdownify import MarkdownConverter

    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    for tag in soup.find_all(_hidden):
        tag.decompose()
    for link in soup.find_all("a"):
        href = str(link.get("href") or "").strip()
        target = rewrite(href) if rewrite is not None and href else href
        if target is None or not target or target.startswith(("javascript:", "data:")):
            link.unwrap()
            continue
        if base_url and not target.startswith("#") and not urlsplit(target).scheme:
            target = urljoin(base_url, target)
        link.attrs = {"href": target}
    converter = MarkdownConverter(
        heading_style="ATX",
        bullets="-",
        # Retrieval reads this text: "reset_password" stays as written, not "reset\\_password".
        escape_underscores=False,
        escape_asterisks=False,
        escape_misc=False,
    )
    text = converter.convert_soup(soup)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
