"""The benchmark suite (benchmarks/): its corpus generator, and a smoke run of its quick mode.

Not a timed test: the smoke run only checks that every section of the JSON is there and holds
numbers, whatever this machine's figures are.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import corpus

ROOT = Path(__file__).resolve().parent.parent


def test_the_corpus_is_seeded_nested_and_bilingual(tmp_path: Path) -> None:
    small = corpus.build(tmp_path, 150, seed=3)
    again = corpus.build(tmp_path / "again", 150, seed=3)
    assert small.chunks >= 150 and small.chunks < 150 + 40  # overshoots by one document at most
    texts = sorted(p.read_text("utf-8") for p in small.folder.rglob("*.*"))
    assert texts == sorted(p.read_text("utf-8") for p in again.folder.rglob("*.*"))
    assert corpus.render(3, 5) == corpus.render(3, 5)
    assert corpus.render(3, 5) != corpus.render(4, 5)
    names = {p.relative_to(small.folder).parts[:2] for p in small.folder.rglob("*.*")}
    assert {("manuals", "en"), ("manuals", "ko"), ("faq", "en"), ("faq", "ko")} <= names
    added = small.add_documents(0.1)
    assert added and all(p.exists() for p in added)
    assert {p.name for p in added}.isdisjoint(
        {p.name for p in again.folder.rglob("*.*")}
    )  # new products, not rewritten ones
    questions = corpus.questions(3, small.documents, 50)
    assert len(set(questions)) == 50
    assert any("\uac00" <= ch <= "\ud7a3" for q in questions for ch in q)


@pytest.mark.slow
def test_the_quick_benchmark_writes_every_section_with_numbers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "benchmarks",
        "--quick",
        "--sizes",
        "120",
        "--clients",
        "1,2",
        "--seconds",
        "2",
        "--no-llm",
        "--out",
        str(out),
        "--cache",
        str(tmp_path / "cache"),
    ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TARGETS" in result.stdout
    report = json.loads((out / "bench.json").read_text("utf-8"))
    assert (out / "bench.svg").stat().st_size > 1000
    assert (out / "bench.png").stat().st_size > 1000

    def positive(value: object) -> bool:
        return isinstance(value, int | float) and value > 0

    assert positive(report["duration_seconds"])
    assert report["machine"]["cores"] and report["machine"]["load_average_before"]
    (ingest,) = report["ingest"]
    for step in ("full", "reingest_unchanged", "add_1_percent"):
        for key in ("seconds", "documents_per_s", "chunks_per_s", "peak_rss_mb"):
            assert positive(ingest[step][key]), (step, key)
    assert positive(ingest["raw_encode"]["per_s"])
    assert positive(ingest["ingest_to_encode_ratio"])
    assert ingest["add_1_percent"]["share_of_full"] > 0
    measured = [r for r in report["load"] if r["status"] == "measured"]
    assert {(r["endpoint"], r["clients"]) for r in measured} >= {
        ("search", 1),
        ("search", 2),
        ("ask", 1),
        ("ask", 2),
    }
    for row in measured:
        assert row["requests"] > 0 and row["failures"] == 0
        for key in ("requests_per_s", "p50_ms", "p95_ms", "p99_ms"):
            assert positive(row[key]), (row, key)
    for row in report["load"]:
        assert row["status"] in ("measured", "not yet available")
    for row in report["memory"]["server_per_size"]:
        assert positive(row["peak_rss_total_mb"])
        assert all(positive(p["rss_mb"]) for p in row["processes_at_ready"])
    assert all(positive(r["peak_rss_mb"]) for r in report["memory"]["server_per_embedding"])
    assert all(positive(r["full_peak_rss_mb"]) for r in report["memory"]["ingest"])
    assert report["llm"]["status"] == "not measured"
    assert {t["status"] for t in report["targets"]} <= {"met", "missed", "not measured"}
    assert len(report["targets"]) >= 6
