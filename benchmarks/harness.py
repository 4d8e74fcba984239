"""The measuring parts: ingest runs, the models' raw encode rate, a server under locust, memory,
and LLM streams. Every server and ingest is a real ``helpdesk`` subprocess; what differs between
configurations is only its command-line arguments and environment (see :class:`ServerConfig`).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from scripts.bench_latency import _wait_ready, summarize
from scripts.chroma_server import running_chroma
from scripts.processes import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only
CLI = [sys.executable, "-c", "from helpdesk.cli import main; main()"]
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the caller's HELPDESK_* settings, no rate limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        {
            "HELPDESK_RATE_LIMIT": "",
            "HELPDESK_RATE_LIMIT_ASK": "",
            "HELPDESK_RATE_LIMIT_AGENT": "",
            "HELPDESK_LOG_LEVEL": "WARNING",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    env.update(extra or {})
    return env


# -- ingest -----------------------------------------------------------------------------------

_FINISHED = re.compile(r"Ingest finished in ([\d.]+)s")
_EMBEDDED = re.compile(r"(\d+) vectors embedded, (\d+) for topics")
_CHUNKS = re.compile(r"chunks:\s+(\d+)")
_DOCUMENTS = re.compile(r"documents:\s+(\d+)")


@dataclass
class IngestRun:
    wall_seconds: float
    reported_seconds: float
    documents: int
    chunks: int
    embedded: int
    topics_embedded: int
    peak_rss_mb: float
    output: str = field(repr=False, default="")

    def figures(self) -> dict[str, Any]:
        return {
            "seconds": round(self.wall_seconds, 2),
            "seconds_inside_ingest": round(self.reported_seconds, 2),
            "documents": self.documents,
            "chunks": self.chunks,
            "documents_per_s": round(self.documents / self.wall_seconds, 1),
            "chunks_per_s": round(self.chunks / self.wall_seconds, 1),
            "vectors_embedded": self.embedded,
            "topic_vectors_embedded": self.topics_embedded,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


def run_ingest(source: Path, data_dir: Path, env: Mapping[str, str]) -> IngestRun:
    """``helpdesk ingest`` as a child; its own peak RSS comes from wait4's rusage."""
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*CLI, "ingest", "--quiet", "--source", str(source), "--data-dir", str(data_dir)],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it
        wall = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if process.returncode != 0:
        raise RuntimeError(f"ingest failed ({process.returncode}):\n{output[-3000:]}")

    def number(pattern: re.Pattern[str], group: int = 1) -> int:
        match = pattern.search(output)
        return int(float(match.group(group))) if match else 0

    finished = _FINISHED.search(output)
    return IngestRun(
        wall_seconds=wall,
        reported_seconds=float(finished.group(1)) if finished else wall,
        documents=number(_DOCUMENTS),
        chunks=number(_CHUNKS),
        embedded=number(_EMBEDDED, 1),
        topics_embedded=number(_EMBEDDED, 2),
        peak_rss_mb=usage.ru_maxrss / 1024.0,  # kilobytes on Linux
        output=output,
    )


_ENCODE_SNIPPET = """
import json, random, sys, time
from pathlib import Path
from helpdesk.embeddings import make_embedder
data, spec, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
name = (data / "CURRENT").read_text().strip()
folder = data / "generations" / name if (data / "generations" / name).is_dir() else data / name
texts = [json.loads(l)["embed_text"] for l in (folder / "chunks.jsonl").open(encoding="utf-8")]
random.Random(1).shuffle(texts)
texts = texts[:count]
embedder = make_embedder(spec)
embedder.embed_documents(texts[:8])  # load the weights outside the timing
started = time.perf_counter()
for i in range(0, len(texts), 32):  # ingest's batch size
    embedder.embed_documents(texts[i : i + 32])
seconds = time.perf_counter() - started
print(json.dumps({"texts": len(texts), "seconds": seconds, "per_s": len(texts) / seconds}))
"""


def raw_encode_rate(
    data_dir: Path, spec: str, count: int, env: Mapping[str, str]
) -> dict[str, Any]:
    """The model alone on ``count`` of the index's own chunk texts, batches of 32, in a fresh
    process."""
    result = subprocess.run(
        [sys.executable, "-c", _ENCODE_SNIPPET, str(data_dir), spec, str(count)],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return {"model": spec, **{k: round(v, 2) for k, v in figures.items()}}


# -- servers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    """One way to run the service: a name, extra ``serve`` arguments, extra environment.

    Embedded vs Chroma-server mode is environment; workers are a CLI flag.
    """

    name: str
    mode: str  # "embedded" or "chroma server"
    workers: int
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


def serve_help() -> str:
    result = subprocess.run([*CLI, "serve", "--help"], capture_output=True, text=True, check=False)
    return result.stdout


def server_configs(workers: int) -> list[ServerConfig]:
    """The four configurations the issue compares. Server mode's environment (which Chroma
    server, which data folder) is added per run by :func:`chroma_server`'s caller."""
    many = ("--workers", str(workers))
    return [
        ServerConfig("embedded, 1 worker", "embedded", 1),
        ServerConfig(f"embedded, {workers} workers", "embedded", workers, many),
        ServerConfig("chroma server, 1 worker", "chroma server", 1),
        ServerConfig(f"chroma server, {workers} workers", "chroma server", workers, many),
    ]


@contextmanager
def chroma_server(root: Path, timeout: float = 60.0) -> Iterator[dict[str, str]]:
    """A real Chroma server (``chroma run``) over ``root`` on a free loopback port; yields the
    settings that point helpdesk at it."""
    with running_chroma(root, HOST, timeout) as port:
        yield {
            "HELPDESK_VECTOR_STORE": "server",
            "HELPDESK_CHROMA_HOST": HOST,
            "HELPDESK_CHROMA_PORT": str(port),
            "HELPDESK_CHROMA_PREFIX": "bench",
        }


class MemorySampler:
    """Samples the RSS of a process tree every ``interval`` seconds; PSS on :meth:`snapshot`."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_total_mb = 0.0
        self.peak_per_process_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample(self) -> None:
        total = 0.0
        for process in self._tree():
            try:
                rss = process.memory_info().rss / 2**20
            except psutil.Error:
                continue
            total += rss
            self.peak_per_process_mb[process.pid] = max(
                rss, self.peak_per_process_mb.get(process.pid, 0.0)
            )
        self.peak_total_mb = max(self.peak_total_mb, total)

    def snapshot(self) -> list[dict[str, Any]]:
        """RSS and PSS of each process of the tree right now."""
        rows = []
        for process in self._tree():
            try:
                full = process.memory_full_info()
                name = " ".join(process.cmdline()[-4:])[:60]
            except psutil.Error:
                continue
            rows.append(
                {
                    "pid": process.pid,
                    "rss_mb": round(full.rss / 2**20, 1),
                    "pss_mb": round(getattr(full, "pss", 0) / 2**20, 1),
                    "command": name,
                }
            )
        return rows

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@contextmanager
def running_server(
    source: Path,
    data_dir: Path,
    config: ServerConfig,
    settings: Mapping[str, str],
    logs: Path,
    ready_timeout: float = 600.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``helpdesk serve`` with ``config`` on a free loopback port; yields (base URL, process)."""
    port = free_port()
    log = logs / f"serve-{port}.log"
    env = base_environment({**settings, **config.env})
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-db-") as db:
        env.setdefault("HELPDESK_DATABASE_URL", f"sqlite:///{db}/helpdesk.db")
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [
                    *CLI,
                    "serve",
                    "--source",
                    str(source),
                    "--data-dir",
                    str(data_dir),
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    *config.args,
                ],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://{HOST}:{port}"
        try:
            _wait_ready(process, url, ready_timeout, log)
            yield url, process
        finally:
            stop(process)


def warm(url: str, questions: Sequence[str], endpoint: str, count: int) -> None:
    """Untimed sequential requests, so each code path and model is warm before locust."""
    with httpx.Client(base_url=url, timeout=120) as client:
        for question in questions[:count]:
            if endpoint == "ask":
                client.post("/api/ask", json={"question": question}).raise_for_status()
            else:
                client.get("/api/search", params={"q": question}).raise_for_status()


def locust_run(
    url: str,
    endpoint: str,
    clients: int,
    seconds: float,
    questions: Path,
    out: Path,
    offset: int = 0,
) -> dict[str, Any]:
    """locust, headless, in a second process: ``clients`` closed-loop users for ``seconds``,
    asking the questions of ``questions`` from line ``offset`` on."""
    prefix = out / f"locust-{endpoint}-{clients}"
    env = {
        **os.environ,
        "BENCH_ENDPOINT": endpoint,
        "BENCH_QUESTIONS": str(questions),
        "BENCH_OFFSET": str(offset),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(clients),
        "--spawn-rate",
        str(clients),
        "--run-time",
        f"{max(1, round(seconds))}s",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "ERROR",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
    ]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=seconds + 120)
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    row = rows["Aggregated"]

    def ms(key: str) -> float | None:  # "N/A" when nothing answered in the time
        return None if row[key] in ("N/A", "") else float(row[key])

    return {
        "endpoint": endpoint,
        "clients": clients,
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "requests_per_s": round(float(row["Requests/s"]), 1),
        "p50_ms": ms("50%"),
        "p95_ms": ms("95%"),
        "p99_ms": ms("99%"),
        "mean_ms": round(float(row["Average Response Time"]), 1),
    }


# -- LLM streams ------------------------------------------------------------------------------


def _first_sentence(url: str, question: str, deadline_s: float, out: dict[str, Any]) -> None:
    """One stream: seconds to the draft and to the first verified sentence (a token event)."""
    started = time.perf_counter()
    out.update({"draft_s": None, "first_sentence_s": None, "fell_back": False})
    try:
        with (
            httpx.Client(base_url=url, timeout=deadline_s + 5) as client,
            client.stream("POST", "/api/ask/stream", json={"question": question}) as response,
        ):
            for line in response.iter_lines():
                elapsed = time.perf_counter() - started
                if line.startswith("event: draft") and out["draft_s"] is None:
                    out["draft_s"] = round(elapsed, 2)
                elif line.startswith("event: token"):
                    out["first_sentence_s"] = round(elapsed, 2)
                    return  # leaving closes the stream: the server stops generating
                elif line.startswith("event: final"):
                    out["fell_back"] = True
                    out["final_s"] = round(elapsed, 2)
                    return
                if elapsed > deadline_s:
                    return
    except httpx.HTTPError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"


def llm_streams(
    url: str, questions: Sequence[str], levels: Sequence[int], deadline_s: float = 10.0
) -> list[dict[str, Any]]:
    """For each level N, N streams at once: how many show a verified sentence within the
    deadline. The server is left a few seconds between levels to finish what it was doing."""
    rows: list[dict[str, Any]] = []
    # One untimed stream first: the model loads and warms on the first question.
    warmup: dict[str, Any] = {}
    _first_sentence(url, questions[-1], 90.0, warmup)
    rows.append({"warm_up": warmup})
    offset = 0
    for level in levels:
        results: list[dict[str, Any]] = [{} for _ in range(level)]
        threads = [
            threading.Thread(
                target=_first_sentence,
                args=(url, questions[(offset + i) % len(questions)], deadline_s + 2, results[i]),
            )
            for i in range(level)
        ]
        offset += level
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=deadline_s + 30)
        times = [r["first_sentence_s"] for r in results if r.get("first_sentence_s") is not None]
        rows.append(
            {
                "streams": level,
                "first_sentence_within_10s": sum(1 for t in times if t <= deadline_s),
                "first_sentence_s": sorted(times),
                "fell_back_to_extractive": sum(1 for r in results if r.get("fell_back")),
                "draft_p50_s": summarize([r["draft_s"] for r in results if r.get("draft_s")])[
                    "p50"
                ],
                "errors": [r["error"] for r in results if "error" in r],
            }
        )
        time.sleep(3)
    return rows


# -- precomputed embeddings -------------------------------------------------------------------


def prime_embedding_cache(source: Path, cache_dir: Path, spec: str) -> dict[str, Any]:
    """Fill the embedding cache with every text an ingest of ``source`` will embed (its chunks
    and their topics), through the same :func:`helpdesk.embeddings.cached` wrapper ingest uses,
    so ingest finds them by content hash. Untimed: the curves' larger sizes read these."""
    from helpdesk.config import Settings
    from helpdesk.documents import chunk_document, discover, load_document
    from helpdesk.embeddings import cached, make_embedder
    from helpdesk.index.store import Topics

    started = time.perf_counter()
    settings = Settings()
    chunks = []
    for path in discover(source):
        document = load_document(path, source)
        chunks.extend(chunk_document(document, settings.chunk_size, settings.chunk_overlap))
    texts = [c.embed_text for c in chunks] + Topics.of(chunks).texts
    model = make_embedder(spec)
    if hasattr(model, "threads"):
        model.threads = os.cpu_count() or 1  # untimed: use the whole machine
    embedder = cached(model, cache_dir)
    for start in range(0, len(texts), 256):
        embedder.embed_documents(texts[start : start + 256])
    return {"texts": len(texts), "seconds": round(time.perf_counter() - started, 1)}
