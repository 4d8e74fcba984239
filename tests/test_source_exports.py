"""Export sources: Zendesk and Intercom API JSON saved to files, Notion (Markdown and HTML) and
Confluence (HTML) export zips, all generated here; page hierarchy as heading paths, links
rewritten to public URLs, attachments and images skipped, the loaders' zip limits kept.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from replay_api import ReplayApi, intercom_fixture, serve, zendesk_fixture

from helpdesk.config import Settings
from helpdesk.index.generations import Layout
from helpdesk.index.store import read_chunks
from helpdesk.sources import SourceConfig, SourceError, SourceUnreachable, connector
from helpdesk.sources import archive as archive_module
from helpdesk.sources.base import Fetched, Page

H = "0123456789abcdef0123456789abcdef"  # Help Center
A = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"  # Account
R = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"  # Reset your password
T = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"  # Two-step verification
K = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4"  # 계정 (Korean)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def _quiet(done: int, total: int | None) -> None:
    pass


def fetch(kind: str, **options: Any) -> Fetched:
    return connector(SourceConfig(name="ex", type=kind, options=options)).fetch({}, _quiet)


def by_path(fetched: Fetched) -> dict[str, Page]:
    return {page.path: page for page in fetched.pages}


def headings(page: Page) -> list[str]:
    return [line for line in page.body.splitlines() if line.startswith("#")]


def make_zip(files: Mapping[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def q(name: str) -> str:
    return name.replace(" ", "%20")


# -- Zendesk and Intercom JSON --------------------------------------------------------------------


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayApi]:
    monkeypatch.setenv("HELPDESK_ZENDESK_TOKEN", "zd-token")
    monkeypatch.setenv("HELPDESK_INTERCOM_TOKEN", "ic-token")
    with serve() as api:
        api.intercom_token = "ic-token"
        yield api


def test_zendesk_export_gives_the_pages_the_api_gives(replay: ReplayApi, tmp_path: Path) -> None:
    data = zendesk_fixture()
    folder = tmp_path / "zendesk"
    folder.mkdir()
    for locale in ("en-us", "ko"):
        # Saved as the API answered: each locale's listing with its sideloads.
        page = {
            "articles": [a for a in data["articles"] if a["locale"] == locale],
            "sections": [s for s in data["sections"] if s["locale"] == locale],
            "categories": [c for c in data["categories"] if c["locale"] == locale],
            "next_page": None,
            "count": 0,
        }
        (folder / f"{locale}.json").write_text(json.dumps(page, ensure_ascii=False), "utf-8")
    exported = fetch("zendesk-export", path=str(folder))
    options = {"base_url": replay.url, "locales": ["en-us", "ko"]}
    api = connector(SourceConfig(name="zd", type="zendesk", options=options)).fetch({}, _quiet)
    assert by_path(exported) == by_path(api)
    assert sorted(why for _, why in exported.skipped) == ["draft", "draft"]
    # A newer export without an article: the article is gone.
    en = json.loads((folder / "en-us.json").read_text("utf-8"))
    en["articles"] = [a for a in en["articles"] if a["id"] != 1006]
    (folder / "en-us.json").write_text(json.dumps(en), "utf-8")
    assert set(by_path(exported)) - set(by_path(fetch("zendesk-export", path=str(folder)))) == {
        "en-us/1006.md"
    }


def test_intercom_export_gives_the_pages_the_api_gives(replay: ReplayApi, tmp_path: Path) -> None:
    data = intercom_fixture()
    file = tmp_path / "intercom.json"
    # One file holding the three listings' items, told apart by their type.
    items = data["collections"] + data["sections"] + data["articles"]
    file.write_text(json.dumps({"type": "list", "data": items}, ensure_ascii=False), "utf-8")
    exported = fetch("intercom-export", path=str(file))
    api = connector(
        SourceConfig(name="ic", type="intercom", options={"base_url": replay.url})
    ).fetch({}, _quiet)
    assert by_path(exported) == by_path(api)
    assert sorted(by_path(exported)) == ["5.md", "en/1.md", "en/2.md", "en/4.md", "ko/1.md"]


def test_json_export_problems(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="'path'"):
        fetch("zendesk-export")
    with pytest.raises(SourceUnreachable, match="does not exist"):
        fetch("zendesk-export", path=str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json", "utf-8")
    with pytest.raises(SourceUnreachable, match="is not JSON"):
        fetch("intercom-export", path=str(tmp_path / "bad.json"))


# -- Notion ---------------------------------------------------------------------------------------


def notion_markdown_export() -> dict[str, str | bytes]:
    top, account = f"Help Center {H}", f"Help Center {H}/Account {A}"
    return {
        f"{top}.md": f"# Help Center\n\nStart with [Account]({q(top)}/Account%20{A}.md).\n",
        f"{top}/Account {A}.md": "# Account\n\nEverything about your account.\n",
        f"{account}/Reset your password {R}.md": (
            "# Reset your password\n\n"
            "Choose **Forgot password** on the sign-in page.\n\n"
            f"![](Reset%20your%20password%20{R}/screen.png)\n\n"
            "## No email arrived\n\n"
            f"Turn on [two-step verification](Two-step%20verification%20{T}.md) first, read "
            f"[manual.pdf](Reset%20your%20password%20{R}/manual.pdf), see "
            "[the status page](https://status.acme.test/), or "
            "[an old page](https://www.notion.so/acme/Old-page-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee).\n"
        ),
        f"{account}/Reset your password {R}/screen.png": PNG,
        f"{account}/Reset your password {R}/manual.pdf": b"%PDF-1.4 not read",
        f"{account}/Two-step verification {T}.md": "# Two-step verification\n\nUse a code.\n",
        f"{top}/계정 {K}.md": "# 계정\n\n비밀번호를 잊었다면 재설정하세요.\n",
        "Help Center.csv": "Name,Tags\nAccount,\n",  # a database table: rows are pages already
    }


def test_notion_markdown_export(tmp_path: Path) -> None:
    file = tmp_path / "notion.zip"
    file.write_bytes(make_zip(notion_markdown_export()))
    url_map = {
        "b2b2b2b2-b2b2-b2b2-b2b2-b2b2b2b2b2b2": "https://help.acme.test/reset",  # dashed id
        "Account": "https://help.acme.test/account",  # by title
    }
    fetched = fetch(
        "notion-export", path=str(file), base_url="https://acme.notion.site/", url_map=url_map
    )
    pages = by_path(fetched)
    assert sorted(pages) == sorted(f"{x}.md" for x in (H, A, R, T, K))
    reset = pages[f"{R}.md"]
    assert reset.title == "Reset your password"
    assert reset.url == "https://help.acme.test/reset"
    assert headings(reset) == [
        "# Help Center",
        "## Account",
        "### Reset your password",
        "##### No email arrived",  # the page's own h2, under three levels
    ]
    body = reset.body
    assert f"[two-step verification](https://acme.notion.site/Two-step-verification-{T})" in body
    assert "read manual.pdf, see" in body  # an attachment: its text, no link
    assert "[the status page](https://status.acme.test/)" in body
    assert "or an old page." in body  # a Notion page not in this export: text only
    assert "screen.png" not in body and "](" not in body.replace("](https://", "")
    assert pages[f"{H}.md"].body.count("[Account](https://help.acme.test/account)") == 1
    korean = pages[f"{K}.md"]
    assert headings(korean) == ["# Help Center", "## 계정"]
    assert korean.url == f"https://acme.notion.site/계정-{K}"
    # Without base_url or a map entry, no URL is made up.
    plain = by_path(fetch("notion-export", path=str(file)))
    assert plain[f"{T}.md"].url == ""
    assert "two-step verification first" in plain[f"{R}.md"].body


def test_notion_html_export_in_a_zip_of_parts(tmp_path: Path) -> None:
    page = (
        '<html><head><title>Reset your password</title></head><body><article class="page sans">'
        '<header><h1 class="page-title">Reset your password</h1><table class="properties">'
        "<tr><th>Owner</th><td>Ana</td></tr></table></header>"
        '<div class="page-body"><p>Choose <strong>Forgot password</strong>.</p>'
        f'<figure class="image"><a href="Reset%20your%20password%20{R}/screen.png">'
        f'<img src="Reset%20your%20password%20{R}/screen.png"/></a></figure>'
        f'<p>See <a href="Two-step%20verification%20{T}.html">two-step verification</a>.</p>'
        "</div></article></body></html>"
    )
    inner = make_zip(
        {
            f"Account {A}.html": '<h1 class="page-title">Account</h1><div class="page-body">'
            "<p>All about accounts.</p></div>",
            f"Account {A}/Reset your password {R}.html": page,
            f"Account {A}/Reset your password {R}/screen.png": PNG,
            f"Account {A}/Two-step verification {T}.html": '<h1 class="page-title">Two-step '
            'verification</h1><div class="page-body"><p>Codes.</p></div>',
            "index.html": "<ul><li>Account</li></ul>",
        }
    )
    file = tmp_path / "Export-5c1f.zip"
    file.write_bytes(make_zip({"Export-5c1f-Part-1.zip": inner}))
    pages = by_path(fetch("notion-export", path=str(file), base_url="https://acme.notion.site"))
    assert sorted(pages) == sorted(f"{x}.md" for x in (A, R, T))
    reset = pages[f"{R}.md"]
    assert headings(reset) == ["# Account", "## Reset your password"]
    assert "**Forgot password**" in reset.body and "Owner" not in reset.body
    assert f"(https://acme.notion.site/Two-step-verification-{T})" in reset.body
    assert "screen.png" not in reset.body


def test_notion_unzipped_folder_reads_the_same(tmp_path: Path) -> None:
    files = notion_markdown_export()
    file = tmp_path / "notion.zip"
    file.write_bytes(make_zip(files))
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(file) as archive:
        archive.extractall(folder)
    assert by_path(fetch("notion-export", path=str(folder))) == by_path(
        fetch("notion-export", path=str(file))
    )


# -- Confluence -----------------------------------------------------------------------------------


def confluence_page(title: str, crumbs: list[tuple[str, str]], content: str) -> str:
    items = "".join(f'<li><span><a href="{href}">{text}</a></span></li>' for href, text in crumbs)
    return (
        f"<html><head><title>Documentation : {title}</title></head><body>"
        '<div id="page"><div id="main"><div id="main-header">'
        f'<div id="breadcrumb-section"><ol id="breadcrumbs">{items}</ol></div>'
        '<h1 id="title-heading" class="pagetitle">'
        f'<span id="title-text"> Documentation : {title} </span></h1></div>'
        '<div id="content" class="view"><div class="page-metadata">Created by Ana, last '
        "modified on Jan 10, 2026</div>"
        f'<div id="main-content" class="wiki-content group">{content}</div>'
        '<div class="pageSection group"><h2 id="attachments">Attachments:</h2>'
        '<a href="attachments/65539/screen.png">screen.png</a></div></div></div>'
        '<div id="footer"><section class="footer-body"><p>Document generated by Confluence'
        "</p></section></div></div></body></html>"
    )


def confluence_export() -> dict[str, str | bytes]:
    space = [("index.html", "Documentation")]
    home = [*space, ("Home_65537.html", "Home")]
    return {
        "DOC/index.html": "<html><body><h2>Available Pages:</h2><ul><li>Home</li></ul></body>",
        "DOC/Home_65537.html": confluence_page("Home", space, "<p>Welcome to the docs.</p>"),
        "DOC/Account_65538.html": confluence_page(
            "Account", home, "<p>Everything about accounts.</p>"
        ),
        "DOC/Reset-your-password_65539.html": confluence_page(
            "Reset your password",
            [*home, ("Account_65538.html", "Account")],
            '<h2>Steps</h2><p>Open <a href="Account_65538.html">Account</a> and choose '
            '<strong>Reset</strong>.</p><p><span class="confluence-embedded-file-wrapper">'
            '<img class="confluence-embedded-image" src="attachments/65539/screen.png"></span>'
            '</p><p>The <a href="attachments/65539/guide.pdf">guide</a> and '
            '<a href="Home_65537.html">home</a>.</p>',
        ),
        "DOC/attachments/65539/screen.png": PNG,
        "DOC/styles/site.css": "body { color: black }",
    }


def test_confluence_export(tmp_path: Path) -> None:
    file = tmp_path / "Confluence-space-export-DOC.html.zip"
    file.write_bytes(make_zip(confluence_export()))
    fetched = fetch(
        "confluence-export",
        path=str(file),
        base_url="https://acme.atlassian.net/wiki/",
        url_map={"Account": "https://help.acme.test/account"},
    )
    pages = by_path(fetched)
    assert sorted(pages) == ["65537.md", "65538.md", "65539.md"]
    reset = pages["65539.md"]
    assert reset.title == "Reset your password"
    assert reset.url == "https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=65539"
    assert headings(reset) == [
        "# Documentation",
        "## Home",
        "### Account",
        "#### Reset your password",
        "###### Steps",
    ]
    assert "[Account](https://help.acme.test/account)" in reset.body
    assert (
        "[home](https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=65537)" in reset.body
    )
    assert "The guide and" in reset.body  # an attachment link: text only
    for noise in ("screen.png", "Created by", "Document generated", "Attachments"):
        assert noise not in reset.body
    assert headings(pages["65537.md"]) == ["# Documentation", "## Home"]
    plain = by_path(fetch("confluence-export", path=str(file)))
    assert plain["65539.md"].url == "" and "Open Account and choose" in plain["65539.md"].body


# -- the loaders' limits ---------------------------------------------------------------------------


def test_export_zip_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "notion.zip"
    file.write_bytes(make_zip(notion_markdown_export()))
    # Declared sizes are checked before anything is inflated; attachments do not count.
    monkeypatch.setattr(archive_module, "MAX_UNZIPPED_BYTES", 200)
    with pytest.raises(SourceUnreachable, match="zip bomb"):
        fetch("notion-export", path=str(file))
    monkeypatch.setattr(archive_module, "MAX_UNZIPPED_BYTES", 10_000)
    monkeypatch.setattr(archive_module, "MAX_DOCUMENT_BYTES", 100)
    fetched = fetch("notion-export", path=str(file))
    assert (
        f"Help Center {H}/Account {A}/Reset your password {R}.md",
        "larger than 100 bytes",
    ) in fetched.skipped
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(SourceUnreachable, match="not a readable zip"):
        fetch("confluence-export", path=str(tmp_path / "broken.zip"))


# -- end to end: the exports ingest ---------------


def test_every_export_type_syncs_and_ingests(tmp_path: Path) -> None:
    from helpdesk.sources.sync import sync

    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "notion.zip").write_bytes(make_zip(notion_markdown_export()))
    (exports / "confluence.zip").write_bytes(make_zip(confluence_export()))
    zendesk_data = zendesk_fixture()
    zendesk_data["next_page"] = None  # type: ignore[assignment]
    (exports / "zendesk.json").write_text(json.dumps(zendesk_data, ensure_ascii=False), "utf-8")
    intercom_data = intercom_fixture()
    items = intercom_data["collections"] + intercom_data["sections"] + intercom_data["articles"]
    (exports / "intercom.json").write_text(json.dumps({"type": "list", "data": items}), "utf-8")
    entries = [
        {"name": "notion", "type": "notion-export", "path": str(exports / "notion.zip")},
        {
            "name": "wiki",
            "type": "confluence-export",
            "path": str(exports / "confluence.zip"),
            "base_url": "https://acme.atlassian.net/wiki",
            "audience": "internal",
        },
        {"name": "zd", "type": "zendesk-export", "path": str(exports / "zendesk.json")},
        {"name": "ic", "type": "intercom-export", "path": str(exports / "intercom.json")},
    ]
    kb = tmp_path / "kb"
    (kb / "manuals").mkdir(parents=True)
    (kb / "manuals" / "speaker.md").write_text("# Speaker\n\nHold the button to pair.\n", "utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": entries}), "utf-8")
    settings = Settings(  # type: ignore[call-arg]  # `sources` arrives with sources-sync
        source_dir=kb, data_dir=tmp_path / "data", embedding="fake", sources=str(sources)
    )
    report = sync(settings)
    assert [(s.name, s.outcome, s.added) for s in report.sources] == [
        ("notion", "ok", 5),
        ("wiki", "ok", 3),
        ("zd", "ok", 7),
        ("ic", "ok", 5),
    ]
    layout = Layout(settings.data_dir)
    chunks = read_chunks(layout.generations / str(layout.current_name()))
    by_source: dict[str, list[Any]] = {}
    for chunk in chunks:
        by_source.setdefault(chunk.source, []).append(chunk)
    assert len([s for s in by_source if s.startswith("notion:")]) == 5
    reset = by_source[f"notion:{R}.md"]
    assert any({"Help Center", "Account"} <= set(c.headings) for c in reset)
    wiki = by_source["wiki:65539.md"]
    assert {c.audience for c in wiki} == {"internal"}
    assert {c.url for c in wiki} == {
        "https://acme.atlassian.net/wiki/pages/viewpage.action?pageId=65539"
    }
    assert {c.language for c in by_source["zd:ko/1001.md"]} == {"ko"}
    assert "ic:ko/1.md" in by_source
    # A newer Notion export without a page: the page leaves the index.
    files = notion_markdown_export()
    del files[f"Help Center {H}/Account {A}/Two-step verification {T}.md"]
    (exports / "notion.zip").write_bytes(make_zip(files))
    again = sync(settings, ["notion"])
    assert (again.sources[0].removed, again.sources[0].unchanged) == (1, 4)
