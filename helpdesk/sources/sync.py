"""`helpdesk sync`: fetch every source (or those named) into its mirror, then one ingest.

    DATA_DIR/sources/
      NAME/                 a source's mirror: one Markdown or HTML file per page it holds
      .state/NAME.json      what its next fetch needs (ETags, cursors)
      .status.json          each source's last sync: when, outcome, counts (the console shows it)

A mirror is rebuilt beside the old one and swapped in only after its fetch succeeded, so an
unreachable source keeps its last good content (and says so), and ingest, which reads every
mirror beside the knowledge-base folder, re-embeds only the chunks of pages that changed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..config import Settings
from ..embeddings import Embedder
from ..index.generations import Layout
from ..index.ingest import IngestReport, ingest
from . import FOLDER, connector
from .base import Fetched, Page, SourceConfig, SourceError, SourceUnreachable
from .config import load_sources

log = logging.getLogger("helpdesk.sources")

STATE = ".state"
STATUS = ".status.json"
SUFFIXES = (".md", ".html")
META_SUFFIX = ".meta.yaml"
# Names ingest's discovery passes over at a folder's top (see helpdesk.documents.discover).
_RESERVED = {"readme.md", "readme.txt", "glossary.yaml", "glossary.yml", "sources.yaml"}


@dataclass
class SourceReport:
    """One source's part of a sync."""

    name: str
    type: str
    outcome: str = "ok"  # ok, unreachable, empty (kept its last content), error
    message: str = ""
    fetched: int = 0  # pages fetched again (changed or not)
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0  # pages whose mirror file is the same after the sync
    skipped: list[tuple[str, str]] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    finished: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def line(self) -> str:
        if not self.ok:
            return f"{self.name} ({self.type}): {self.outcome}: {self.message}"
        rate = f", {self.fetched / self.seconds:.1f} pages/s" if self.seconds > 0 else ""
        return (
            f"{self.name} ({self.type}): {self.fetched} fetched, {self.added} added, "
            f"{self.changed} changed, {self.removed} removed, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped in {self.seconds:.1f}s{rate}"
        )


@dataclass
class SyncReport:
    sources: list[SourceReport] = field(default_factory=list)
    ingest: IngestReport | None = None
    removed_sources: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if not s.ok]

    def summary(self, skipped_shown: int = 5) -> str:
        lines = []
        for source in self.sources:
            lines.append(source.line())
            reasons: dict[str, int] = {}
            for _what, why in source.skipped:
                reasons[why] = reasons.get(why, 0) + 1
            for why, count in sorted(reasons.items(), key=lambda item: -item[1])[:skipped_shown]:
                lines.append(f"  skipped {count}: {why}")
        for name in self.removed_sources:
            lines.append(f"{name}: no longer in the sources file; its documents were removed")
        if self.ingest is not None:
            lines.append(self.ingest.summary())
        return "\n".join(lines)


def sync(
    settings: Settings,
    names: Sequence[str] | None = None,
    *,
    progress: bool = False,
    embedders: Sequence[Embedder] | None = None,
    sources: Sequence[SourceConfig] | None = None,
) -> SyncReport:
    """Fetch the sources ``names`` (all when None) into their mirrors, then ingest once.

    SourceError for a bad sources file or an unknown name (nothing fetched, nothing changed);
    an unreachable source is reported in its SourceReport and keeps its last content.
    """
    declared = list(sources) if sources is not None else load_sources(settings.sources_path)
    by_name = {s.name: s for s in declared}
    unknown = [n for n in names or () if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none declared in " + str(settings.sources_path)
        raise SourceError(f"unknown source {', '.join(unknown)} (known: {known})")
    chosen = [by_name[n] for n in names] if names else declared
    root = settings.mirrors_dir
    report = SyncReport()
    # The ingest lock from the first fetch to the end of the ingest: no ingest reads a mirror
    # while it is being swapped, and syncs run one at a time.
    with Layout(settings.data_dir).ingest_lock():
        for config in chosen:
            if config.type == FOLDER:
                report.sources.append(_sync_folder(config, settings))
                continue
            report.sources.append(_sync_one(config, root, progress))
        if not names:
            report.removed_sources = _forget_undeclared(root, {s.name for s in declared})
        report.ingest = ingest(settings, embedders, progress=progress)
        _write_status(root, report)
    for source in report.failed:
        log.warning("sync: %s", source.line())
    return report


def _sync_one(config: SourceConfig, root: Path, progress: bool) -> SourceReport:
    report = SourceReport(config.name, config.type)
    started = time.perf_counter()
    state_file = root / STATE / f"{config.name}.json"
    state = _read_json(state_file)
    mirror = root / config.name
    try:
        fetched = connector(config).fetch(state, _progress(config.name, progress))
    except SourceUnreachable as exc:
        report.outcome, report.message = "unreachable", str(exc) or type(exc).__name__
    except SourceError as exc:
        report.outcome, report.message = "error", exc.detail
    except Exception as exc:  # a connector bug must not cost the other sources their sync
        log.exception("sync of %s failed", config.name)
        report.outcome, report.message = "error", f"{type(exc).__name__}: {exc}"[:500]
    else:
        _apply(config, fetched, mirror, report)
        if report.ok:
            _write_json(state_file, fetched.state)
    if not report.ok:
        kept = sum(1 for _ in _files(mirror)) if mirror.is_dir() else 0
        report.message += f" (kept its last {kept} pages)"
    report.seconds = round(time.perf_counter() - started, 2)
    report.finished = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return report


def _apply(config: SourceConfig, fetched: Fetched, mirror: Path, report: SourceReport) -> None:
    """Build the new mirror beside the old one from ``fetched``, count the differences, swap."""
    report.requests = fetched.requests
    report.skipped = list(fetched.skipped)
    old = {rel: path for rel, path in _files(mirror)} if mirror.is_dir() else {}
    new: dict[str, bytes] = {}
    for page in fetched.pages:
        path = safe_path(page.path)
        if path is None:
            report.skipped.append((page.path, "not a usable file path (.md or .html, no ..)"))
            continue
        if path in new:
            report.skipped.append((page.path, "the same path as another page of this fetch"))
            continue
        new[path] = render(page, config)
    for kept in fetched.unchanged:
        path = safe_path(kept)
        if path is None or path in new:
            continue
        if path in old:
            new[path] = old[path].read_bytes()
        else:
            report.skipped.append((kept, "unchanged at the source but not in the mirror"))
    report.fetched = len(fetched.pages)
    if not new and old:
        report.outcome = "empty"
        report.message = "the source returned no pages; a sync never empties a source"
        return
    for path, body in new.items():
        previous = old.get(path)
        if previous is None:
            report.added += 1
        elif previous.read_bytes() != body:
            report.changed += 1
        else:
            report.unchanged += 1
    report.removed = len(set(old) - set(new))
    staging = mirror.with_name(f".{config.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    for path, body in new.items():
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    staging.mkdir(parents=True, exist_ok=True)
    retired = mirror.with_name(f".{config.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if mirror.exists():
        mirror.rename(retired)
    staging.rename(mirror)
    shutil.rmtree(retired, ignore_errors=True)


def render(page: Page, config: SourceConfig) -> bytes:
    """A page as its mirror file: Markdown with front matter, or HTML with the fields as the
    HTML loader reads them (``<title>``, ``<meta name="helpdesk:FIELD">``)."""
    meta = {
        "title": page.title,
        "url": page.url,
        "language": page.language or config.language,
        "audience": _audience(page.audience, config.audience),
        "product": page.product or config.product,
        "updated": page.updated,
    }
    meta = {k: v for k, v in meta.items() if v}
    if page.path.lower().endswith(".html"):
        if page.plans:
            meta["plans"] = ",".join(page.plans)
        return _html(page.body, meta).encode("utf-8")
    fields: dict[str, Any] = dict(meta)
    if page.plans:
        fields["plans"] = list(page.plans)
    front = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n\n{page.body.strip()}\n".encode()


def _audience(page: str, source: str) -> str:
    """The most restrictive of the page's and the source's audience."""
    return "internal" if "internal" in (page, source) else "public"


def _html(body: str, meta: Mapping[str, str]) -> str:
    """``body`` in a page whose head carries ``meta`` as the HTML loader reads it."""
    from html import escape

    tags = [f"<title>{escape(meta['title'])}</title>"] if meta.get("title") else []
    tags += [
        f'<meta name="helpdesk:{key}" content="{escape(value)}">'
        for key, value in meta.items()
        if key != "title"
    ]
    head = "\n".join(tags)
    return f"<!doctype html>\n<html><head>\n{head}\n</head>\n<body>\n{body}\n</body></html>\n"


_SEGMENT = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_path(given: str) -> str | None:
    """``given`` as a mirror path: POSIX, relative, each segment cleaned, no hidden or reserved
    names ingest would pass over; None when it cannot be one (``..``, no .md/.html)."""
    parts = PurePosixPath(given.replace("\\", "/")).parts
    if not parts or any(p in ("..", "") for p in parts) or given.startswith("/"):
        return None
    cleaned = [_SEGMENT.sub("-", p).strip("-") or "-" for p in parts]
    cleaned = [("x" + p) if p.startswith((".", "_")) else p for p in cleaned]
    if not cleaned[-1].lower().endswith(SUFFIXES) or cleaned[-1].lower().endswith(META_SUFFIX):
        return None
    if len(cleaned) == 1 and cleaned[0].lower() in _RESERVED:
        cleaned[0] = "page-" + cleaned[0]
    return "/".join(cleaned)


def _files(mirror: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(mirror.rglob("*")):
        if path.is_file():
            yield path.relative_to(mirror).as_posix(), path


def _sync_folder(config: SourceConfig, settings: Settings) -> SourceReport:
    """The knowledge-base folder is read in place by ingest; its report counts what it holds."""
    from ..documents import discover

    report = SourceReport(config.name, config.type)
    where = Path(config.option("path") or settings.source_dir)
    if where.resolve() != Path(settings.source_dir).resolve():
        report.outcome = "error"
        report.message = (
            f"a folder source reads the knowledge-base folder ({settings.source_dir}); "
            f"{where} is another one: point HELPDESK_SOURCE_DIR at it, or copy it in"
        )
        return report
    report.unchanged = sum(1 for _ in discover(where))
    report.finished = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return report


def _forget_undeclared(root: Path, declared: set[str]) -> list[str]:
    """Remove the mirrors (and state) of sources the file no longer declares."""
    from ..documents import mirrors

    removed = []
    for name, folder in list(mirrors(root)):
        if name not in declared:
            shutil.rmtree(folder, ignore_errors=True)
            (root / STATE / f"{name}.json").unlink(missing_ok=True)
            removed.append(name)
    return removed


def status(settings: Settings) -> dict[str, Any]:
    """The last sync of each source, as `helpdesk serve`'s console shows it."""
    return _read_json(settings.mirrors_dir / STATUS)


def _write_status(root: Path, report: SyncReport) -> None:
    current = _read_json(root / STATUS)
    sources = dict(current.get("sources") or {})
    for source in report.sources:
        entry = asdict(source)
        entry["skipped"] = len(source.skipped)
        entry["skipped_examples"] = [list(s) for s in source.skipped[:20]]
        if not source.ok and source.name in sources:
            entry["last_ok"] = sources[source.name].get("last_ok") or sources[source.name].get(
                "finished"
            )
        elif source.ok:
            entry["last_ok"] = source.finished
        sources[source.name] = entry
    for name in report.removed_sources:
        sources.pop(name, None)
    ingest_report = report.ingest
    body = {
        "sources": sources,
        "generation": ingest_report.generation if ingest_report else None,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_json(root / STATUS, body)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, body: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(body, ensure_ascii=False, indent=1), "utf-8")
    os.replace(temporary, path)


def _progress(name: str, shown: bool) -> Callable[[int, int | None], None]:
    """A tqdm bar for one source's fetch, or nothing."""
    if not shown:
        return lambda _done, _total: None
    from tqdm import tqdm

    bar = tqdm(desc=f"fetching {name}", unit="page", leave=False)

    def update(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update
