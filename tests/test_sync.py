"""`helpdesk sync`: sources fetched into mirrors, one ingest per sync, an unreachable source kept.

The connector here is a stand-in whose pages the test sets (the real connectors have their own
suites against real HTTP servers); everything after the fetch is real: the mirror on disk, the
sources file, ingest with Chroma on disk and the fake embedder, the CLI.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.config import Settings
from helpdesk.index.generations import Layout, read_manifest
from helpdesk.index.ingest import ingest
from helpdesk.index.store import read_chunks
from helpdesk.sources import CONNECTORS, Fetched, Page, SourceError, SourceUnreachable
from helpdesk.sources.config import load_sources
from helpdesk.sources.sync import safe_path, status, sync

KB = {"manuals/speaker.md": "# Speaker\n\n## Pairing\n\nHold the button for five seconds.\n"}


class MemorySource:
    """A source whose pages the test sets in ``PAGES[name]`` (or an exception to raise)."""

    PAGES: ClassVar[dict[str, list[Page] | Exception]] = {}
    UNCHANGED: ClassVar[dict[str, list[str]]] = {}
    SEEN_STATE: ClassVar[dict[str, Mapping[str, Any]]] = {}

    def __init__(self, config: Any) -> None:
        self.name = config.name

    def fetch(self, state: Mapping[str, Any], progress: Callable[..., None]) -> Fetched:
        MemorySource.SEEN_STATE[self.name] = dict(state)
        pages = MemorySource.PAGES[self.name]
        if isinstance(pages, Exception):
            raise pages
        progress(len(pages), len(pages))
        return Fetched(
            pages=list(pages),
            unchanged=list(MemorySource.UNCHANGED.get(self.name, [])),
            skipped=[("http://x/draft", "a draft")],
            state={"round": int(state.get("round", 0)) + 1},
            requests=len(pages),
        )


def page(number: int, text: str = "", **fields: str) -> Page:
    body = text or f"# Topic {number}\n\n## Details\n\nTopic {number} is explained here in full."
    return Page(
        path=f"articles/{number}.md",
        title=f"Topic {number}",
        body=body,
        url=f"https://help.example.com/articles/{number}",
        **fields,
    )


@pytest.fixture(autouse=True)
def _memory_connector(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(CONNECTORS, "memory", f"{__name__}:MemorySource")
    MemorySource.PAGES.clear()
    MemorySource.UNCHANGED.clear()
    yield


@pytest.fixture
def settings(tmp_path: Path, make_kb: Callable[..., Path]) -> Settings:
    kb = make_kb(KB)
    (kb / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: files, type: folder}\n"
        "  - {name: help, type: memory, product: speaker, schedule: every 6h}\n"
        "  - {name: wiki, type: memory, audience: internal}\n",
        "utf-8",
    )
    return Settings(source_dir=kb, data_dir=tmp_path / "data", embedding="fake")


def _documents(settings: Settings) -> dict[str, list[Any]]:
    layout = Layout(settings.data_dir)
    folder = layout.generations / str(layout.current_name())
    chunks = read_chunks(folder)
    found: dict[str, list[Any]] = {}
    for chunk in chunks:
        found.setdefault(chunk.source, []).append(chunk)
    return found


def test_a_sync_brings_every_source_in_with_one_generation(settings: Settings) -> None:
    MemorySource.PAGES.update({"help": [page(1), page(2, language="ko")], "wiki": [page(3)]})
    report = sync(settings)
    assert [(s.name, s.outcome, s.added) for s in report.sources] == [
        ("files", "ok", 0),
        ("help", "ok", 2),
        ("wiki", "ok", 1),
    ]
    assert report.sources[0].unchanged == 1  # the folder's one document, read in place
    assert report.ingest is not None and report.ingest.generation
    documents = _documents(settings)
    assert set(documents) == {
        "manuals/speaker.md",
        "help:articles/1.md",
        "help:articles/2.md",
        "wiki:articles/3.md",
    }
    first = documents["help:articles/1.md"][0]
    assert first.url == "https://help.example.com/articles/1"
    assert first.title == "Topic 1" and first.product == "speaker"
    assert first.audience == "public" and first.language == "en"
    assert documents["help:articles/2.md"][0].language == "ko"
    # The source's audience is the floor: a wiki page is internal whatever it says.
    assert {c.audience for c in documents["wiki:articles/3.md"]} == {"internal"}
    # The page's headings are the chunks' heading path.
    assert any("Details" in c.headings for c in documents["help:articles/1.md"])
    # The connector's state is kept for the next fetch.
    MemorySource.PAGES.update({"help": [page(1), page(2)], "wiki": [page(3)]})
    sync(settings, ["help"])
    assert MemorySource.SEEN_STATE["help"] == {"round": 1}
    summary = report.summary()
    assert "help (memory): 2 fetched, 2 added" in summary and "skipped 1: a draft" in summary


def test_a_changed_page_re_embeds_only_its_chunks_and_a_removed_one_leaves(
    settings: Settings,
) -> None:
    MemorySource.PAGES.update({"help": [page(n) for n in range(1, 6)], "wiki": [page(9)]})
    sync(settings)
    before = _documents(settings)
    changed = page(2, "# Topic 2\n\nTopic 2 now reads differently, with a new paragraph.")
    MemorySource.PAGES["help"] = [page(1), changed, page(4)]
    MemorySource.UNCHANGED["help"] = ["articles/5.md"]  # answered 304: the mirror's copy stays
    report = sync(settings, ["help"])
    help_report = report.sources[0]
    assert (help_report.added, help_report.changed, help_report.removed) == (0, 1, 1)
    assert help_report.unchanged == 3  # 1 and 4 fetched again, 5 not modified
    after = _documents(settings)
    assert "help:articles/3.md" not in after and "help:articles/5.md" in after
    assert report.ingest is not None
    assert report.ingest.embedded == len(after["help:articles/2.md"])  # only the changed page
    assert [c.id for c in after["help:articles/4.md"]] == [
        c.id for c in before["help:articles/4.md"]
    ]
    assert "wiki:articles/9.md" in after  # a source not named is left as it was


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (SourceUnreachable("connection refused"), "unreachable"),
        (RuntimeError("a connector bug"), "error"),
        ([], "empty"),
    ],
    ids=["unreachable", "crash", "empty"],
)
def test_a_source_that_fails_keeps_its_last_content(
    settings: Settings, failure: Any, outcome: str
) -> None:
    MemorySource.PAGES.update({"help": [page(1), page(2)], "wiki": [page(3)]})
    sync(settings)
    MemorySource.PAGES["help"] = failure
    report = sync(settings)
    failed = report.failed
    assert [s.name for s in failed] == ["help"]
    assert failed[0].outcome == outcome
    assert "kept its last 2 pages" in failed[0].message
    documents = _documents(settings)
    assert {"help:articles/1.md", "help:articles/2.md", "wiki:articles/3.md"} <= set(documents)
    recorded = status(settings)["sources"]["help"]
    assert recorded["outcome"] == failed[0].outcome and recorded["last_ok"]


def test_a_plain_ingest_keeps_the_synced_sources(settings: Settings) -> None:
    MemorySource.PAGES.update({"help": [page(1)], "wiki": [page(3)]})
    sync(settings)
    report = ingest(settings)
    assert report.up_to_date
    assert "help:articles/1.md" in _documents(settings)


def test_a_source_dropped_from_the_file_leaves_the_index(settings: Settings) -> None:
    MemorySource.PAGES.update({"help": [page(1)], "wiki": [page(3)]})
    sync(settings)
    (settings.source_dir / "sources.yaml").write_text(
        "sources:\n  - {name: help, type: memory}\n", "utf-8"
    )
    report = sync(settings)
    assert report.removed_sources == ["wiki"]
    assert "wiki:articles/3.md" not in _documents(settings)
    assert "wiki" not in status(settings)["sources"]


def test_page_paths_become_safe_mirror_paths() -> None:
    assert safe_path("docs/getting-started.md") == "docs/getting-started.md"
    assert safe_path("ko/결제 방법.md") == "ko/결제-방법.md"
    assert safe_path(".hidden/_x.md") == "x.hidden/x_x.md"  # ingest skips . and _ names
    assert safe_path("README.md") == "page-README.md"
    assert safe_path("a.html") == "a.html"
    assert safe_path("a//b.md") == "a/b.md"
    for bad in ("../escape.md", "/etc/passwd.md", "a/b.txt", "x.meta.yaml", ""):
        assert safe_path(bad) is None, bad


def test_unsafe_and_duplicate_paths_are_skipped(settings: Settings) -> None:
    MemorySource.PAGES.update(
        {
            "help": [page(1), Page("../../evil.md", "Evil", "# Evil\n\nx"), page(1)],
            "wiki": [page(3)],
        }
    )
    report = sync(settings)
    reasons = [why for _what, why in report.sources[1].skipped]
    assert any("usable file path" in r for r in reasons)
    assert any("same path" in r for r in reasons)
    assert not (settings.data_dir.parent / "evil.md").exists()


def test_html_pages_keep_their_fields(settings: Settings) -> None:
    html = "<h1>Refunds</h1><h2>How long</h2><p>Refunds take five business days.</p>"
    MemorySource.PAGES.update(
        {
            "help": [Page("refunds.html", "Refunds", html, url="https://h/r", language="en")],
            "wiki": [page(3)],
        }
    )
    sync(settings)
    chunk = _documents(settings)["help:refunds.html"][0]
    assert (chunk.title, chunk.url, chunk.product) == ("Refunds", "https://h/r", "speaker")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("sources:\n  - {name: Help!, type: memory}\n", "lowercase letters"),
        ("sources:\n  - {name: a, type: gopher}\n", "unknown type 'gopher'"),
        ("sources:\n  - {name: a, type: memory}\n  - {name: a, type: memory}\n", "used twice"),
        ("sources:\n  - {name: a, type: memory, audience: everyone}\n", "public or internal"),
        ("sources:\n  - {name: a, type: memory, schedule: every 5s}\n", "shorter than a minute"),
        ("sources:\n  - {name: a, type: memory, schedule: 'at noon'}\n", "crontab"),
        ("sources: {a: 1}\n", "a list under 'sources:'"),
        ("sources: [\n", "not valid YAML"),
    ],
)
def test_a_bad_sources_file_names_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(SourceError) as caught:
        load_sources(path)
    assert problem in caught.value.detail


def test_schedules_parse() -> None:
    from helpdesk.sources.config import interval_seconds

    assert interval_seconds("every 6h") == 6 * 3600
    assert interval_seconds("every 30m") == 1800
    assert interval_seconds("0 3 * * *") is None


def test_the_cli_reports_each_source_and_fails_when_one_could_not_be_synced(
    settings: Settings,
) -> None:
    MemorySource.PAGES.update({"help": [page(1)], "wiki": SourceUnreachable("HTTP 503")})
    runner = CliRunner()
    arguments = ["sync", "--source", str(settings.source_dir), "--data-dir", str(settings.data_dir)]
    result = runner.invoke(main, [*arguments, "--quiet"], env={"HELPDESK_EMBEDDING": "fake"})
    assert result.exit_code == 1, result.output
    assert "help (memory): 1 fetched, 1 added" in result.output
    assert "wiki (memory): unreachable: HTTP 503" in result.output
    assert "1 of 3 sources could not be synced" in result.output
    MemorySource.PAGES["wiki"] = [page(3)]
    again = runner.invoke(main, [*arguments, "wiki"], env={"HELPDESK_EMBEDDING": "fake"})
    assert again.exit_code == 0, again.output
    unknown = runner.invoke(main, [*arguments, "nope"], env={"HELPDESK_EMBEDDING": "fake"})
    assert unknown.exit_code == 1 and "unknown source nope" in unknown.output


def test_the_cli_without_a_sources_file_says_where_it_looked(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    result = CliRunner().invoke(main, ["sync", "--source", str(kb)])
    assert result.exit_code == 1
    assert f"no sources file at {kb / 'sources.yaml'}" in result.output


def test_one_sync_at_a_time_and_no_ingest_during_one(settings: Settings) -> None:
    started, release = threading.Event(), threading.Event()

    class Slow(MemorySource):
        def fetch(self, state: Mapping[str, Any], progress: Callable[..., None]) -> Fetched:
            started.set()
            release.wait(10)
            return Fetched(pages=[page(1)])

    MemorySource.PAGES.update({"help": [page(1)], "wiki": [page(3)]})
    globals()["Slow"] = Slow
    CONNECTORS["memory"] = f"{__name__}:Slow"
    errors: list[Exception] = []
    first = threading.Thread(target=lambda: sync(settings, ["help"]))
    first.start()
    assert started.wait(10)
    # While a sync fetches, neither a second sync nor an ingest may start: the sync holds the
    # ingest lock until its own ingest is done, so no ingest reads a mirror mid-swap.
    for attempt in (lambda: sync(settings, ["wiki"]), lambda: ingest(settings)):
        try:
            attempt()
        except Exception as exc:
            errors.append(exc)
    release.set()
    first.join(20)
    assert [getattr(e, "code", None) for e in errors] == ["ingest_running", "ingest_running"]
    assert "another ingest is running" in str(errors[0])
    assert "help:articles/1.md" in _documents(settings)  # the first sync's own ingest ran


def test_the_knowledge_base_folder_ignores_the_sources_file(settings: Settings) -> None:
    ingest(settings)
    manifest = read_manifest(
        Layout(settings.data_dir).generations / str(Layout(settings.data_dir).current_name())
    )
    assert set(manifest["documents"]) == {"manuals/speaker.md"}
    assert "sources.yaml" not in json.dumps(manifest["skipped"])


def test_the_sync_command_runs_as_a_program(settings: Settings) -> None:
    """`helpdesk sync --help` from a fresh process (the entry point is wired)."""
    result = subprocess.run(
        [sys.executable, "-c", "from helpdesk.cli import main; main()", "sync", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Fetch every source" in result.stdout


# -- the console's view, and scheduled syncs in `helpdesk serve` -------------------------------

KEY = "sources-agent-key"
AGENT = {"Authorization": "Basic " + base64.b64encode(f"mina:{KEY}".encode()).decode()}


def test_the_console_lists_each_source_with_its_last_sync(settings: Settings) -> None:
    from helpdesk import create_app
    from helpdesk.service import Helpdesk

    MemorySource.PAGES.update({"help": [page(1)], "wiki": SourceUnreachable("HTTP 503")})
    sync(settings)
    served = replace(settings, agent_keys=KEY, rate_limit="", rate_limit_agent="")
    helpdesk = Helpdesk(served, store=None)
    client = create_app(served, helpdesk).test_client()
    assert client.get("/api/agent/sources").status_code == 401
    body = client.get("/api/agent/sources", headers=AGENT).get_json()
    by_name = {s["name"]: s for s in body["sources"]}
    assert list(by_name) == ["files", "help", "wiki"] and body["error"] is None
    assert by_name["help"]["last"]["outcome"] == "ok" and by_name["help"]["last"]["added"] == 1
    assert by_name["help"]["schedule"] == "every 6h" and by_name["help"]["next_sync"]
    assert by_name["wiki"]["last"]["outcome"] == "unreachable"
    assert "HTTP 503" in by_name["wiki"]["last"]["message"]
    assert by_name["wiki"]["schedule"] is None and by_name["wiki"]["next_sync"] is None
    (settings.source_dir / "sources.yaml").write_text("sources: [\n", "utf-8")
    broken = client.get("/api/agent/sources", headers=AGENT).get_json()
    assert "not valid YAML" in broken["error"] and broken["sources"] == []
    helpdesk.close()


def test_scheduled_syncs_run_one_at_a_time_in_the_serving_process(settings: Settings) -> None:
    from helpdesk.sources.schedule import SyncScheduler, trigger

    (settings.source_dir / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: help, type: memory, schedule: every 1m}\n"
        "  - {name: wiki, type: memory, schedule: '*/5 * * * *'}\n"
        "  - {name: manual, type: memory}\n",
        "utf-8",
    )
    calls: list[tuple[str, ...]] = []
    running = threading.Lock()
    overlapped: list[bool] = []

    def fake_sync(_settings: Settings, names: list[str], **_: Any) -> Any:
        overlapped.append(not running.acquire(blocking=False))
        try:
            calls.append(tuple(names))
            time.sleep(0.2)
        finally:
            running.release()
        return type("Report", (), {"sources": []})()

    scheduler = SyncScheduler(settings, sync=fake_sync)
    assert scheduler.start() == 2
    try:
        runs = scheduler.next_runs()
        assert set(runs) == {"help", "wiki"}
        for job in scheduler.scheduler.get_jobs():  # both due now
            job.modify(next_run_time=datetime.now(UTC))
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert sorted(calls) == [("help",), ("wiki",)] and not any(overlapped)
    assert trigger("every 6h").interval.total_seconds() == 6 * 3600


def test_a_bad_sources_file_never_stops_the_server(settings: Settings) -> None:
    from helpdesk.sources.schedule import SyncScheduler

    (settings.source_dir / "sources.yaml").write_text("sources:\n  - {name: x}\n", "utf-8")
    scheduler = SyncScheduler(settings)
    assert scheduler.start() == 0 and "unknown type" in scheduler.error


def test_a_relative_export_path_is_the_sources_files_folders(tmp_path: Path) -> None:
    path = tmp_path / "kb" / "sources.yaml"
    path.parent.mkdir()
    path.write_text(
        "sources:\n"
        "  - {name: a, type: notion-export, path: exports/space.zip}\n"
        "  - {name: b, type: notion-export, path: /srv/space.zip}\n",
        "utf-8",
    )
    first, second = load_sources(path)
    assert first.option("path") == str(tmp_path / "kb" / "exports" / "space.zip")
    assert second.option("path") == "/srv/space.zip"


def test_a_page_limited_to_some_plans_stays_limited(settings: Settings) -> None:
    html = "<h1>Smart alerts</h1><p>Smart alerts tell a person from a pet.</p>"
    MemorySource.PAGES.update(
        {
            "help": [
                page(1, plans=("plus", "premium")),
                Page("alerts.html", "Smart alerts", html, plans=("premium",)),
            ],
            "wiki": [page(3)],
        }
    )
    sync(settings)
    documents = _documents(settings)
    assert {c.plans for c in documents["help:articles/1.md"]} == {("plus", "premium")}
    assert {c.plans for c in documents["help:alerts.html"]} == {("premium",)}
    assert {c.plans for c in documents["wiki:articles/3.md"]} == {()}
