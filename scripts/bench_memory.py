"""Memory of `helpdesk serve --workers N`: resident (RSS) and proportional (PSS) set size of the
master and of each worker, from /proc/PID/smaps_rollup, after some traffic.

PSS divides each shared page between the processes that map it, so the PSS total is what the
server really costs the machine; the RSS total counts every shared page once per process.

    python scripts/bench_memory.py                      # N = 1, 2, 4 on .cache/test-data
    python scripts/bench_memory.py --workers 1 2 --json memory.json

It ingests the knowledge base first when the data folder has no index. The benchmark suite can
call :func:`measure` directly.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.processes import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from helpdesk.cli import main; main()"]
SEARCHES = [
    "warranty",
    "refund policy",
    "환불 기간",
    "reset speaker",
    "배송",
    "Lumo Cam setup",
    "wifi password",
    "보증",
]
QUESTIONS = [
    "How long is the warranty on the Aura Speaker?",
    "환불은 며칠 안에 받을 수 있나요?",
    "Do you ship to Alaska and Hawaii?",
    "How do I factory reset my Aura Speaker?",
]


def _environment(llm: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    for name in ("RATE_LIMIT", "RATE_LIMIT_ASK", "RATE_LIMIT_AGENT"):
        env[f"HELPDESK_{name}"] = ""
    env["HELPDESK_LLM"] = llm
    env["HELPDESK_LOG_LEVEL"] = "WARNING"
    return env


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of one process, in MiB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
            values[key.lower()] = int(rest.split()[0]) / 1024
    # USS: the pages only this process maps, what it costs beyond the pages it shares.
    values["uss"] = values.pop("private_clean") + values.pop("private_dirty")
    return values


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(p) for p in text)
    return sorted(found)


def _command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _traffic(url: str, rounds: int) -> None:
    """Searches and questions from 4 clients at once, so every worker serves some."""

    def client(offset: int) -> None:
        with httpx.Client(timeout=120) as http:
            for i in range(rounds):
                query = SEARCHES[(i + offset) % len(SEARCHES)]
                http.get(f"{url}/api/search", params={"q": query}).raise_for_status()
                question = QUESTIONS[(i + offset) % len(QUESTIONS)]
                http.post(f"{url}/api/ask", json={"question": question}).raise_for_status()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure(
    workers: int,
    data_dir: Path,
    source: Path,
    *,
    llm: str = "extractive",
    rounds: int = 8,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Start `helpdesk serve --workers N`, wait for /readyz on every worker, send traffic, and
    return the RSS and PSS of the master and of each worker (MiB), with the totals."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*CLI, "serve", "--source", str(source), "--data-dir", str(data_dir)]
    command += ["--port", str(port), "--workers", str(workers)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=_environment(llm), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            started = time.monotonic()
            ready: set[int] = set()
            while len(ready) < workers:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"serve exited:\n{log.read().decode()[-3000:]}")
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"not ready in {timeout:g} s")
                try:
                    response = httpx.get(f"{url}/readyz", timeout=60)
                    if response.status_code == 200:
                        ready.add(response.json()["pid"])
                        continue
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            ready_s = time.monotonic() - started
            _traffic(url, rounds)
            rows = [{"role": "master" if workers > 1 else "server", "pid": process.pid}]
            for pid in children(process.pid):
                role = "llm-server" if "llama_cpp.server" in _command(pid) else "worker"
                rows.append({"role": role, "pid": pid})
            for row in rows:
                row.update(memory(int(row["pid"])))
        finally:
            stop(process, timeout=60)
    return {
        "workers": workers,
        "llm": llm,
        "ready_seconds": round(ready_s, 1),
        "processes": rows,
        "total_rss": round(sum(r["rss"] for r in rows), 1),
        "total_pss": round(sum(r["pss"] for r in rows), 1),
        "total_uss": round(sum(r["uss"] for r in rows), 1),
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| workers | process | RSS MiB | PSS MiB | USS MiB |", "|---|---|---|---|---|"]
    for result in results:
        for row in result["processes"]:
            lines.append(
                f"| {result['workers']} | {row['role']} {row['pid']} | "
                f"{row['rss']:.0f} | {row['pss']:.0f} | {row['uss']:.0f} |"
            )
        lines.append(
            f"| {result['workers']} | **total** | **{result['total_rss']:.0f}** | "
            f"**{result['total_pss']:.0f}** | **{result['total_uss']:.0f}** |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".cache" / "test-data")
    parser.add_argument("--source", type=Path, default=ROOT / "knowledge_base")
    parser.add_argument("--llm", default="extractive", choices=["extractive", "llamacpp"])
    parser.add_argument("--rounds", type=int, default=8, help="Searches and asks per client.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    if not (args.data_dir / "CURRENT").is_file():
        command = [*CLI, "ingest", "--quiet", "--source", str(args.source)]
        subprocess.run([*command, "--data-dir", str(args.data_dir)], check=True, cwd=ROOT)
    results = []
    for workers in args.workers:
        result = measure(workers, args.data_dir, args.source, llm=args.llm, rounds=args.rounds)
        print(
            f"workers={workers}: RSS {result['total_rss']:.0f} MiB, "
            f"PSS {result['total_pss']:.0f} MiB (ready in {result['ready_seconds']} s)",
            file=sys.stderr,
        )
        results.append(result)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
