"""The docs: the settings page is the one rendered from SETTINGS, and every link lands somewhere."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from helpdesk.config import SETTINGS, Setting

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"\b(?:href|src)=\"([^\"]+)\"")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def load_settings_doc() -> ModuleType:
    path = REPO / "scripts" / "settings_doc.py"
    spec = importlib.util.spec_from_file_location("settings_doc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prose(markdown: str) -> str:
    """The text outside code blocks, code spans and comments: where links and headings live."""
    return CODE_SPAN.sub("", COMMENT.sub("", FENCE.sub("", markdown)))


def anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to '-', repeats numbered."""
    seen: dict[str, int] = {}
    ids = set()
    for heading in HEADING.findall(FENCE.sub("", COMMENT.sub("", markdown))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
        slug = "".join(c for c in text.lower() if c.isalnum() or c in " -_").replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(slug if count == 0 else f"{slug}-{count}")
    return ids


def broken_links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    body = prose(text)
    broken = []
    for target in [*LINK.findall(body), *HTML_LINK.findall(body)]:
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif (
            anchor
            and destination.suffix == ".md"
            and anchor not in anchors(destination.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target}: no such heading")
    return broken


def test_the_settings_page_is_the_one_the_script_renders() -> None:
    rendered = load_settings_doc().render()
    committed = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == rendered, "docs/settings.md is stale: run python scripts/settings_doc.py"


def test_the_settings_page_names_every_setting() -> None:
    page = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [s.variable for s in SETTINGS if f"`{s.variable}`" not in page]
    assert missing == []


def test_a_setting_no_group_claims_goes_under_other() -> None:
    page = load_settings_doc().render([Setting("brand_new_knob", "", "Turns the new knob.")])
    assert "## Other" in page
    assert "| `HELPDESK_BRAND_NEW_KNOB` | (empty) | Turns the new knob. |" in page


def test_the_settings_check_fails_on_a_stale_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_settings_doc()
    monkeypatch.setattr(script, "OUTPUT", tmp_path / "docs" / "settings.md")
    monkeypatch.setattr(script, "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    script.OUTPUT.write_text("# Settings\n", encoding="utf-8")
    assert script.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert script.main([]) == 0
    assert script.main(["--check"]) == 0


def test_the_defaults_read_as_a_user_would_type_them() -> None:
    script = load_settings_doc()
    assert [script.format_default(v) for v in (True, 12.0, 0.35, 900, "", "data")] == [
        "`true`",
        "`12`",
        "`0.35`",
        "`900`",
        "(empty)",
        "`data`",
    ]


def test_the_readme_keeps_the_quick_start_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "\n## Quick start\n" in readme
    assert "\nmake run     # " in readme
    assert "\nmake test    # " in readme


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_every_relative_link_and_image_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# Title\n\n## The `HELPDESK_X` part\n", encoding="utf-8")
    page = tmp_path / "a.md"
    page.write_text(
        "[ok](b.md#the-helpdesk_x-part) [ok](#here) [web](https://example.com/x)\n"
        "[gone](c.md) [bad](b.md#nowhere) ![img](missing.png) `[code](skipped.md)`\n\n"
        "## Here\n\n```\n[fenced](skipped.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "c.md: no such file",
        "b.md#nowhere: no such heading",
        "missing.png: no such file",
    ]
