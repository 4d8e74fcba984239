"""`/api/search` under load: latency and throughput of a real `helpdesk serve`, per variant.

    python scripts/bench_search.py --data-dir D [--clients 1,4,16] [--seconds 15] [--rounds 2]
        [--variant 'LABEL|QUERY PARAMS|VAR=VALUE;VAR=VALUE' ...] [--trace new|typing]

Each variant is a label, extra query parameters (``mode=typing``) and server settings
(``HELPDESK_EMBEDDING=use``); variants that share settings share one server. For each round,
each server, each variant and each number of concurrent clients, the clients (threads, each
with its own kept-alive httpx connection) send searches for ``--seconds`` and the table gives
requests/s, p50, p95 and p99 in milliseconds, with the load average beside it: other work on
the machine moves these figures, so compare variants measured in the same round.

``--trace new`` sends a new question each time (the labelled sets' questions, then the same
with a counter word, so no cache can answer). ``--trace typing`` sends what the help page's
search box sends while customers type those questions: each question typed at 120-320 ms a
key, a search whenever the typist pauses longer than the page's debounce (200 ms), and the
whole question on Enter. The rate limits are turned off for the run; the event store is SQLite
in a temporary folder.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_latency import database, running_server, summarize

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEBOUNCE_MS = 200  # helpdesk/web/static/help.js
KEY_MS = (120, 320)  # time between two keys of a typist, uniform


@dataclass(frozen=True)
class Variant:
    label: str
    params: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)


def parse_variant(text: str) -> Variant:
    label, _, rest = text.partition("|")
    params_text, _, env_text = rest.partition("|")
    params = dict(p.split("=", 1) for p in params_text.split("&") if p)
    env = dict(p.split("=", 1) for p in env_text.split(";") if p)
    return Variant(label, params, env)


def questions() -> list[str]:
    """The labelled answer sets' questions, English and Korean interleaved."""
    sets: list[list[str]] = []
    for path in sorted((ROOT / "tests" / "data" / "answers").glob("*.yaml")):
        cases = yaml.safe_load(path.read_text("utf-8"))["cases"]
        sets.append([str(c["question"]) for c in cases])
    mixed = [q for group in itertools.zip_longest(*sets) for q in group if q]
    return list(dict.fromkeys(mixed))


def typed(question: str, rng: random.Random, debounce: float = DEBOUNCE_MS) -> list[str]:
    """What the search box sends while ``question`` is typed: the text at each pause longer than
    the debounce, then the whole question (Enter). Repeats of the last text are not sent."""
    sent: list[str] = []
    for end in range(1, len(question) + 1):
        pause = rng.uniform(*KEY_MS) if end < len(question) else debounce + 1
        text = question[:end].strip()
        if pause > debounce and len(text) >= 2 and (not sent or sent[-1] != text):
            sent.append(text)
    if not sent or sent[-1] != question.strip():
        sent.append(question.strip())
    return sent


def trace(kind: str, seed: int = 16) -> Iterator[tuple[str, bool]]:
    """(text, whether it is the settled question) forever."""
    pool = questions()
    rng = random.Random(seed)
    for round_ in itertools.count():
        for question in pool:
            if kind == "typing":
                texts = typed(question, rng)
                for index, text in enumerate(texts):
                    yield text, index == len(texts) - 1
            else:
                yield (question if round_ == 0 else f"{question} {round_}"), True


class Source:
    """One trace shared by the client threads (each takes the next text)."""

    def __init__(self, kind: str) -> None:
        self._texts = trace(kind)
        self._lock = threading.Lock()

    def next(self) -> tuple[str, bool]:
        with self._lock:
            return next(self._texts)


def run_level(
    url: str, variant: Variant, clients: int, seconds: float, kind: str, enter_full: bool
) -> dict[str, Any]:
    source = Source(kind)
    samples: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < stop:
                text, settled = source.next()
                params = {"q": text, "surface": "help", **variant.params}
                if enter_full and settled:
                    params.pop("mode", None)  # Enter: the full ranker
                started = time.perf_counter()
                response = http.get("/api/search", params=params)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code == 200:
                        samples.append(elapsed)
                    else:
                        errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - began
    figures = summarize(samples)
    return {
        "variant": variant.label,
        "clients": clients,
        "requests": len(samples),
        "errors": errors[0],
        "rps": len(samples) / took,
        **figures,
        "load": f"{load_before:.1f}-{os.getloadavg()[0]:.1f}",
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--source", type=Path, default=ROOT / "knowledge_base")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--trace", choices=("new", "typing"), default="new")
    parser.add_argument(
        "--enter-full",
        action="store_true",
        help="with --trace typing: the settled question (Enter) goes without the variant's mode",
    )
    parser.add_argument("--variant", action="append", type=parse_variant)
    parser.add_argument("--ready-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    variants: list[Variant] = args.variant or [Variant("full", {})]
    levels = [int(n) for n in args.clients.split(",")]
    servers: dict[tuple[tuple[str, str], ...], list[Variant]] = {}
    for variant in variants:
        servers.setdefault(tuple(sorted(variant.env.items())), []).append(variant)
    rows: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        for env_key, group in servers.items():
            saved = {k: os.environ.get(k) for k, _ in env_key}
            os.environ.update(dict(env_key))
            os.environ["HELPDESK_RATE_LIMIT"] = ""
            try:
                with database("sqlite") as store:
                    port = _free_port()
                    with running_server(args, port, store) as url:
                        for variant in group:
                            run_level(url, variant, 1, args.warmup, args.trace, args.enter_full)
                            for clients in levels:
                                row = run_level(
                                    url, variant, clients, args.seconds, args.trace, args.enter_full
                                )
                                row["round"] = round_ + 1
                                rows.append(row)
                                _print_row(row)
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
    print()
    print("| variant | clients | requests/s | p50 ms | p95 ms | p99 ms | load (1 min) | n |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['variant']} (r{row['round']}) | {row['clients']} | {row['rps']:.1f} "
            f"| {row['p50']:.0f} | {row['p95']:.0f} | {row['p99']:.0f} | {row['load']} "
            f"| {row['requests']}{' +' + str(row['errors']) + ' errors' if row['errors'] else ''} |"
        )


def _print_row(row: dict[str, Any]) -> None:
    print(
        f"  r{row['round']} {row['variant']:<16} {row['clients']:>3} clients: "
        f"{row['rps']:6.1f} req/s  p50 {row['p50']:6.0f}  p95 {row['p95']:6.0f}  "
        f"p99 {row['p99']:6.0f} ms  load {row['load']}  ({row['requests']} ok, "
        f"{row['errors']} errors)",
        flush=True,
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
