"""One fetched web page read for the website source: its links, canonical URL, robots
directives, language and title, and its main text as Markdown (trafilatura); and the URL
rules the crawler keeps (normalised URLs, mirror paths, sitemaps).

Main-text extraction is trafilatura's: it drops navigation, headers, footers, cookie banners
and link lists by its own measures; nothing here recognises boilerplate by name.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say where a visitor came from: the same page without them.
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|msclkid|mc_[a-z]+|_hs[a-z]+)$", re.IGNORECASE)
_SEGMENT_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
_MAX_SEGMENT = 80
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def normalise(url: str, base: str = "") -> str | None:
    """``url`` (resolved against ``base``) as the crawler compares it: http(s) only, no
    fragment, lower-case host, no default port, no tracking parameters; None for mailto:,
    javascript: and the like."""
    try:
        parts = urlsplit(urljoin(base, url.strip()) if base else url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, True) if not _TRACKING.match(k)])
    # One spelling per path: raw non-ASCII escaped as browsers send it, escapes in upper case.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    path = re.sub(r"%[0-9a-f]{2}", lambda m: m.group(0).upper(), path)
    return urlunsplit((scheme, host, path, query, ""))


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def matches(url: str, patterns: tuple[str, ...]) -> bool:
    """Does the URL's path (and query) match a path prefix (``/docs/``) or a glob
    (``/blog/*/comments``, ``*.pdf``) of ``patterns``?"""
    parts = urlsplit(url)
    path = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            if fnmatchcase(path, pattern):
                return True
        elif path.startswith(pattern):
            return True
    return False


def mirror_path(url: str, primary_host: str) -> str:
    """Where the page at ``url`` lives in the mirror: its URL path as a Markdown file
    (``/docs/getting-started`` -> ``docs/getting-started.md``, ``/docs/`` ->
    ``docs/index.md``); a query adds a short hash, a host other than the start's a folder."""
    parts = urlsplit(url)
    segments = [s for s in unquote(parts.path).split("/") if s not in ("", ".", "..")]
    if not segments or parts.path.endswith("/"):
        segments.append("index")
    last = re.sub(r"\.(html?|php|aspx?|jsp|md)$", "", segments[-1], flags=re.IGNORECASE)
    segments[-1] = last or "index"
    if parts.query:
        segments[-1] += "--" + hashlib.sha256(parts.query.encode()).hexdigest()[:8]
    if parts.netloc != primary_host:
        segments.insert(0, parts.netloc.replace(":", "_"))
    return "/".join(_segment(s) for s in segments) + ".md"


def _segment(text: str) -> str:
    cleaned = _SEGMENT_UNSAFE.sub("-", text).strip("-.") or "page"
    if len(cleaned) > _MAX_SEGMENT:  # file names have a length limit; keep them apart by hash
        digest = hashlib.sha256(cleaned.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[: _MAX_SEGMENT - 9]}-{digest}"
    return cleaned


def robots_directives(value: str, agent: str) -> set[str]:
    """The directives of an X-Robots-Tag header or robots meta tag that apply to ``agent``
    ("noindex, nofollow"; "googlebot: noindex" applies to googlebot only; "none" is both)."""
    found: set[str] = set()
    scoped_to = ""
    for part in value.split(","):
        token = part.strip().lower()
        if ":" in token:
            name, _, rest = token.partition(":")
            if name.strip() not in ("unavailable_after", "max-snippet", "max-image-preview"):
                scoped_to, token = name.strip(), rest.strip()
        if scoped_to and scoped_to not in (agent, "*"):
            continue
        found.update(("noindex", "nofollow") if token == "none" else (token,))
    return found


@dataclass
class Reading:
    """What the crawler needs from one HTML page."""

    links: list[str] = field(default_factory=list)
    canonical: str = ""
    directives: set[str] = field(default_factory=set)
    language: str = ""
    title: str = ""
    updated: str = ""
    product: str = ""
    audience: str = ""
    plans: tuple[str, ...] = ()
    markdown: str = ""
    blocks: set[str] = field(default_factory=set)  # keys of the page's text blocks


def read_page(html: str, url: str, agent: str, *, headers_canonical: str = "") -> Reading:
    """Read one page fetched from ``url``: everything but the main text is taken from the
    parsed tree first, then the tree goes to trafilatura."""
    import lxml.html
    from lxml.etree import ParserError

    reading = Reading()
    # lxml refuses str input that declares its own encoding; the text is decoded already.
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    try:
        tree = lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return reading
    base = url
    for href in tree.xpath("//base/@href")[:1]:
        base = urljoin(url, str(href))
    seen: set[str] = set()
    for href in tree.xpath("//a[@href]/@href | //area[@href]/@href"):
        link = normalise(str(href), base)
        if link and link not in seen:
            seen.add(link)
            reading.links.append(link)
    canonical = tree.xpath(
        "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"
    )
    if canonical:
        reading.canonical = normalise(str(canonical[0]), base) or ""
    elif headers_canonical:
        reading.canonical = normalise(headers_canonical, url) or ""
    lang = tree.xpath("/html/@lang | /html/@xml:lang", namespaces={"xml": XML_NS})
    if lang:
        reading.language = _language(str(lang[0]))
    reading.title = _title(tree)
    reading.updated = _updated(tree)
    for meta in tree.xpath("//meta[@name][@content]"):
        name = str(meta.get("name")).strip().lower()
        content = str(meta.get("content")).strip()
        if name in ("robots", agent):
            reading.directives |= robots_directives(content, agent)
        elif name.startswith("helpdesk:") and content:
            # The fields helpdesk's HTML loader reads from a file, from a page the site's
            # template marks up for it (a page may narrow its audience, never widen it).
            field_name = name.removeprefix("helpdesk:")
            if field_name == "product":
                reading.product = content
            elif field_name == "audience" and content.lower() in ("public", "internal"):
                reading.audience = content.lower()
            elif field_name == "language":
                reading.language = _language(content)
            elif field_name == "updated":
                reading.updated = content
            elif field_name == "plans":
                reading.plans = tuple(p.strip() for p in content.split(",") if p.strip())
    reading.blocks = _blocks(tree)
    reading.markdown = _main_text(tree, url, reading.title)
    return reading


XML_NS = "http://www.w3.org/XML/1998/namespace"


def _language(tag: str) -> str:
    """The primary subtag of a language tag (``ko-KR`` -> ``ko``)."""
    return tag.strip().lower().split("-")[0].split("_")[0]


def _text(element: object) -> str:
    content = getattr(element, "text_content", None)
    return " ".join(str(content()).split()) if content else ""


def _title(tree: object) -> str:
    """The page's first h1, else its og:title, else its <title>."""
    xpath = tree.xpath  # type: ignore[attr-defined]
    for h1 in xpath("//h1"):
        if _text(h1):
            return _text(h1)
    for value in xpath("//meta[@property='og:title']/@content"):
        if str(value).strip():
            return str(value).strip()
    for title in xpath("//title"):
        if _text(title):
            return _text(title)
    return ""


def _updated(tree: object) -> str:
    """The page's own modification date, where it states one (a day, so that a server
    stamping every response with the current time does not change the document)."""
    xpath = tree.xpath  # type: ignore[attr-defined]
    for value in xpath(
        "//meta[@property='article:modified_time' or @property='og:updated_time'"
        " or @name='last-modified' or @itemprop='dateModified']/@content"
    ):
        match = re.match(r"\d{4}-\d{2}-\d{2}", str(value).strip())
        if match:
            return match.group(0)
    return ""


# Elements whose text is one block of what a reader sees: a line of Markdown if it is kept.
_BLOCK_TAGS = (
    "p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "dt", "dd", "span", "div", "a",
    "button", "label", "figcaption", "blockquote", "summary", "strong", "em", "b",
)  # fmt: skip
_MARKDOWN_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)|[*_`|]+")


def line_key(text: str) -> str:
    """A short key for a block of text, alike for an HTML block and the Markdown line it
    became (heading, list and emphasis marks dropped, spaces collapsed)."""
    plain = " ".join(_MARKDOWN_MARKS.sub(" ", text).split()).casefold()
    return hashlib.blake2b(plain.encode(), digest_size=8).hexdigest() if plain else ""


def _blocks(tree: object) -> set[str]:
    """The keys of every text block of the page, navigation and footers included: counted
    over the site, they tell the template's text from each page's own."""
    keys = set()
    for element in tree.iter(*_BLOCK_TAGS):  # type: ignore[attr-defined]
        key = line_key(" ".join(element.itertext()))
        if key:
            keys.add(key)
    return keys


def drop_lines(markdown: str, template: set[str]) -> tuple[str, int]:
    """``markdown`` without the lines whose text is the site template's, and how many
    characters went. Headings stay: manuals share headings ("Troubleshooting") as structure."""
    kept, dropped = [], 0
    for line in markdown.splitlines():
        if line.strip() and not _HEADING.match(line) and line_key(line) in template:
            dropped += len(line)
            continue
        kept.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return (text + "\n" if text else ""), dropped


def _main_text(tree: object, url: str, title: str) -> str:
    """The main text as Markdown with h1-h6 as ``#`` headings, under the title as ``#``."""
    import trafilatura

    markdown = trafilatura.extract(
        tree,
        url=url,
        output_format="markdown",
        include_formatting=True,  # headings, bold and lists as Markdown
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        favor_recall=True,  # help pages are short; precision drops their short sections
        deduplicate=False,
        with_metadata=False,
    )
    if not markdown or not markdown.strip():
        return ""
    lines = markdown.strip().splitlines()
    first = _HEADING.match(lines[0])
    if title and not (first and len(first.group(1)) == 1):
        # Every document's heading path starts at its title, like a help-center file's # line.
        lines = [f"# {title}", "", *_demoted(lines)]
    return "\n".join(lines).strip() + "\n"


def _demoted(lines: list[str]) -> list[str]:
    """Headings moved one level down, so that none stands beside the title's ``#``."""
    moved = []
    fence = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        heading = None if fence else _HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            line = f"## {heading.group(2)}"
        moved.append(line)
    return moved


def sitemap_urls(content: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) listed by a sitemap or sitemap index, XML or gzipped
    XML (or a plain text list of URLs)."""
    from lxml import etree

    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)[:50_000_000]
    stripped = content.lstrip()
    if not stripped.startswith(b"<"):
        lines = [line.strip() for line in content.decode("utf-8", "replace").splitlines()]
        return [line for line in lines if line.startswith(("http://", "https://"))], []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    root = etree.fromstring(stripped, parser)
    if root is None:
        return [], []
    pages: list[str] = []
    nested: list[str] = []
    for element in root.iter("{*}sitemap", "{*}url"):
        loc = next(iter(element.iter("{*}loc")), None)
        if loc is None or not (loc.text or "").strip():
            continue
        (nested if etree.QName(element).localname == "sitemap" else pages).append(loc.text.strip())
    return pages, nested
