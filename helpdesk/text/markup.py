"""Text as a customer reads it: document Markdown and model output made plain.

Chunks keep their source text (Markdown, with HTML entities where a page had them), so ids and
embeddings stay stable; everything a person sees goes through :func:`plain_text` first: extractive
quotes, search and citation snippets, and the passages the LLM copies from. :func:`clean_reply`
does the same for generated text and also removes what a dropped citation leaves behind.
"""

from __future__ import annotations

import html
import re

_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_BULLET = re.compile(r"^(\s*)[-*+•]\s+")
_QUOTE = re.compile(r"^\s*>\s?")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
# Closing marks may touch a Korean particle ("*전체*를"), so only ASCII word characters block.
_EMPHASIS = re.compile(r"(?<![A-Za-z0-9*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![A-Za-z0-9*])")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_CODE = re.compile(r"`+([^`]*)`+")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.!?;:])(?=\s|$)")
# Only HTML's own elements: "<passage>" or "Press <Enter>" is text, escaped wherever it is shown.
_TAG = re.compile(
    r"</?(?:a|abbr|b|br|code|del|div|em|font|h[1-6]|hr|i|img|ins|kbd|li|mark|ol|p|pre|s|small|"
    r"span|strong|sub|sup|table|tbody|td|th|thead|tr|u|ul)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def _table_row(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    cells = [c for c in cells if c]
    if not cells:
        return ""
    head, rest = cells[0], cells[1:]
    text = head + (": " + ", ".join(rest) if rest else "")
    return text if text.endswith((".", "!", "?", "다", "요")) else text + "."


def plain_text(text: str) -> str:
    """``text`` without Markdown or HTML markup and with entities decoded; lines kept.

    Lists lose their bullets (numbered steps keep their numbers), tables become one sentence a
    row ("Solid red: no Wi-Fi, check the router."), links keep their words.
    """
    lines = []
    for line in text.splitlines():
        if _TABLE_RULE.match(line) and "-" in line:
            continue
        row = _TABLE_ROW.match(line)
        if row:
            line = _table_row(line)
        line = _HEADING.sub("", line)
        line = _QUOTE.sub("", line)
        line = _BULLET.sub(r"\1", line)
        lines.append(line)
    text = "\n".join(lines)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    for _ in range(2):  # nested: ***bold italic***
        text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _UNDERSCORE_EMPHASIS.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _TAG.sub("", text)
    # Inline HTML elements leave a space before punctuation ("Settings > Accessibility .").
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return html.unescape(text)


# A sentence that began with its citation ("[2]에서 설명한 대로, ...", "According to [1], ...")
# is left with a dangling fragment once the marker goes; these put it right.
_KO_LEAD = re.compile(
    r"(?:^|(?<=[.!?。]\s)|(?<=\n))\s*(?:(?:에서|에)\s*(?:설명한|설명된|나와\s*있는|안내한|안내된|적힌|따르면|"
    r"의하면|나온)\s*(?:대로|것처럼|바와\s*같이)?\s*,?\s*|에서\s*,?\s*)"
)
_EN_LEAD = re.compile(
    r"(?i)(?:^|(?<=[.!?]\s)|(?<=\n))\s*(?:according to|as (?:stated|described|mentioned|explained|"
    r"shown|noted) in|(?:please\s+)?(?:see|refer to)|based on|per)\s*(?:the\s+)?(?:passage|source|"
    r"document)?\s*[,:]\s*(\w)"
)
_EMPTY_BRACKETS = re.compile(r"\[\s*[,;]?\s*\]|(?<!\w)\(\s*\)|\[(?:source|citation|출처)\]", re.I)


def clean_reply(text: str) -> str:
    """Generated or quoted text made presentable: :func:`plain_text`, then no citation residue."""
    text = plain_text(text)
    text = _EMPTY_BRACKETS.sub("", text)
    text = _KO_LEAD.sub(lambda m: "\n" if m.group(0).startswith("\n") else "", text)
    text = _EN_LEAD.sub(_capitalised_rest, text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = re.sub(r"([,.])\1+", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip()


def _capitalised_rest(match: re.Match[str]) -> str:
    """The first letter after removed residue, capitalised ("According to , hold" -> "Hold")."""
    lead = "\n" if match.group(0).startswith("\n") else ""
    return lead + match.group(1).upper()
