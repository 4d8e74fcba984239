"""`helpdesk eval` on tiny BEIR folders written here, with the fake embedder and real Chroma."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from helpdesk.cli import main
from helpdesk.evaluation import (
    file_name,
    load_dataset,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    sample_queries,
)

# Each document has words no other document has, so a query made of them finds it first.
CORPUS = [
    {"_id": "router", "title": "Router reset", "text": "Hold the pinhole button for ten seconds."},
    {"_id": "battery", "title": "Battery care", "text": "Charge the lithium cell before storage."},
    {"_id": "invoice", "title": "Invoices", "text": "Download monthly invoices as PDF files."},
    {"_id": "warranty", "title": "Warranty", "text": "Warranty covers manufacturing defects."},
    {"_id": "speaker", "title": "스피커 연결", "text": "블루투스 스피커를 앱에서 연결하세요."},
    {"_id": "refund", "title": "환불 안내", "text": "환불은 구매 후 14일 이내에 신청합니다."},
    {"_id": "shipping", "title": "Shipping", "text": "Parcels leave the warehouse daily.", "x": 1},
    {"_id": "firmware", "title": "Firmware", "text": "Firmware updates install overnight."},
]


def write_dataset(
    root: Path,
    corpus: list[dict[str, Any]],
    queries: list[dict[str, Any]],
    qrels: list[tuple[str, str, int]],
) -> Path:
    """A BEIR folder: corpus.jsonl, queries.jsonl and qrels/test.tsv with a header line."""
    root.mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus), encoding="utf-8"
    )
    (root / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8"
    )
    (root / "qrels").mkdir()
    rows = "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels)
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows, "utf-8")
    return root


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    queries = [
        {"_id": "q1", "text": "pinhole button"},
        {"_id": "q2", "text": "lithium cell storage"},
        {"_id": "q3", "text": "블루투스 스피커 연결"},
        {"_id": "q4", "text": "zebra quokka"},  # shares no word with its relevant document
        {"_id": "q5", "text": "not judged at all"},
    ]
    qrels = [
        ("q1", "router", 1),
        ("q2", "battery", 1),
        ("q3", "speaker", 2),
        ("q3", "firmware", 0),  # judged, not relevant
        ("q4", "warranty", 1),
    ]
    return write_dataset(tmp_path / "tiny", CORPUS, queries, qrels)


def run_eval(*args: str) -> Result:
    return CliRunner().invoke(main, ["eval", "--embedding", "fake", *args])


def results_of(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    results: list[dict[str, Any]] = json.loads(result.stdout)["results"]
    return results


def test_lexical_metrics_are_exact(dataset: Path, tmp_path: Path) -> None:
    # BM25 returns only documents sharing a term: q1-q3 find theirs first, q4 finds nothing.
    result = run_eval(
        str(dataset), "--retriever", "lexical", "--json", "--data-dir", str(tmp_path / "idx")
    )
    [row] = results_of(result)
    assert row["dataset"] == "tiny"
    assert row["queries"] == row["queries_judged"] == 4  # q5 has no judgement
    assert row["mrr@10"] == 0.75
    assert row["ndcg@10"] == 0.75
    assert row["recall@5"] == row["recall@10"] == 0.75
    assert row["index"]["documents"] == len(CORPUS)
    assert row["index"]["skipped"] == 0
    assert row["latency_ms"]["p50"] > 0
    assert row["latency_ms"]["p95"] >= row["latency_ms"]["p50"]


def test_hybrid_ranks_the_only_relevant_document_first(dataset: Path, tmp_path: Path) -> None:
    # The dense side ranks every chunk, but only the relevant one also has a BM25 rank, so
    # fusion puts it first whatever the fake vectors say.
    data_dir = tmp_path / "idx"
    result = run_eval(
        str(dataset), "--json", "--data-dir", str(data_dir), "--max-queries", "1", "--seed", "3"
    )
    [row] = results_of(result)
    assert sample_queries(["q1", "q2", "q3", "q4"], 1, 3) == ["q2"]
    assert row["queries"] == 1
    assert row["seed"] == 3
    assert row["mrr@10"] == row["ndcg@10"] == row["recall@5"] == 1.0
    assert 0 < row["docs_per_query"] <= 10
    assert row["index"]["embedded"] > 0

    # A second run finds the index up to date: nothing is embedded again.
    [again] = results_of(run_eval(str(dataset), "--json", "--data-dir", str(data_dir)))
    assert again["index"]["embedded"] == 0
    assert again["index"]["generation"] == row["index"]["generation"]
    assert again["queries"] == 4
    assert 0.0 <= again["ndcg@10"] <= 1.0


@pytest.mark.parametrize("fusion", ["score", "rrf"])
def test_either_fusion_ranks_the_only_relevant_document_first(
    dataset: Path, tmp_path: Path, fusion: str
) -> None:
    data_dir = str(tmp_path / "idx")
    args = ["--json", "--data-dir", data_dir, "--max-queries", "1", "--seed", "3"]
    [row] = results_of(run_eval(str(dataset), "--fusion", fusion, *args))
    assert row["settings"]["fusion"] == fusion
    assert row["mrr@10"] == 1.0


def test_table_output_names_each_dataset(dataset: Path, tmp_path: Path) -> None:
    other = write_dataset(
        tmp_path / "other",
        CORPUS[:3],
        [{"_id": "a", "text": "PDF invoices"}],
        [("a", "invoice", 1)],
    )
    result = run_eval(str(dataset), str(other), "--data-dir", str(tmp_path / "idx"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["dataset", "retriever", "queries"]
    assert any(line.startswith("tiny ") for line in lines)
    assert any(line.startswith("other ") and "1/1" in line for line in lines)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("bad_json", "corpus.jsonl line 3: not valid JSON"),
        ("no_qrels", "test.tsv: file not found"),
        ("unknown_doc", "test.tsv line 3: document 'nowhere' is not in corpus.jsonl"),
        ("bad_score", "test.tsv line 2: score 'high' is not a number"),
        ("no_text", "queries.jsonl line 2: missing 'text'"),
    ],
)
def test_malformed_dataset_fails_naming_file_and_line(
    dataset: Path, tmp_path: Path, damage: str, message: str
) -> None:
    if damage == "bad_json":
        lines = (dataset / "corpus.jsonl").read_text("utf-8").splitlines()
        lines[2] = '{"_id": "battery", "title": '
        (dataset / "corpus.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    elif damage == "no_qrels":
        (dataset / "qrels" / "test.tsv").unlink()
    elif damage in ("unknown_doc", "bad_score"):
        row = "q2\tnowhere\t1" if damage == "unknown_doc" else "q1\trouter\thigh"
        header, first, *rest = (dataset / "qrels" / "test.tsv").read_text("utf-8").splitlines()
        rows = [first, row] if damage == "unknown_doc" else [row, *rest]
        (dataset / "qrels" / "test.tsv").write_text("\n".join([header, *rows]) + "\n", "utf-8")
    elif damage == "no_text":
        lines = (dataset / "queries.jsonl").read_text("utf-8").splitlines()
        lines[1] = '{"_id": "q2"}'
        (dataset / "queries.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    result = run_eval(str(dataset), "--json", "--data-dir", str(tmp_path / "idx"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("helpdesk: error: ")
    assert message in result.stderr


def test_missing_dataset_folder_is_an_error(tmp_path: Path) -> None:
    result = run_eval(str(tmp_path / "absent"), "--data-dir", str(tmp_path / "idx"))
    assert result.exit_code == 1
    assert "not a dataset folder" in result.stderr


def test_ndcg_by_hand() -> None:
    # Relevant b (rank 2) and d (rank 4) of three relevant documents:
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    # IDCG = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.63093 + 0.5 = 2.13093
    ranked = ["a", "b", "c", "d"]
    relevant = {"b", "d", "e"}
    assert ndcg_at_k(ranked, relevant, 10) == pytest.approx(1.06161 / 2.13093, abs=1e-5)
    assert ndcg_at_k(ranked, relevant, 2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )
    assert ndcg_at_k(["b", "d", "e"], relevant) == 1.0
    assert ndcg_at_k([], relevant) == 0.0


def test_recall_and_reciprocal_rank() -> None:
    ranked = ["a", "b", "c", "d", "e", "f"]
    assert recall_at_k(ranked, {"b", "f", "z"}, 5) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, {"b", "f", "z"}, 10) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranked, {"c", "f"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, {"f"}, k=5) == 0.0


def test_percentile_interpolates() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) == 0.0


def test_sample_is_seeded_and_keeps_order() -> None:
    ids = [f"q{i}" for i in range(50)]
    first = sample_queries(ids, 10, 1)
    assert first == sample_queries(ids, 10, 1)
    assert first == sorted(first, key=ids.index)
    assert len(first) == 10
    assert sample_queries(ids, 100, 1) == ids


def test_file_names_are_safe_and_distinct() -> None:
    names = {file_name(i) for i in ("a/b", "a_b", "A_b", "README", "../x", ".hidden")}
    assert len(names) == 6
    for name in names:
        assert name.startswith("doc-") and name.endswith(".md")
        assert "/" not in name


def test_load_dataset_keeps_only_relevant_pairs(dataset: Path) -> None:
    loaded = load_dataset(dataset)
    assert loaded.qrels["q3"] == frozenset({"speaker"})
    assert loaded.judged_queries() == ["q1", "q2", "q3", "q4"]
    assert loaded.corpus["shipping"].title == "Shipping"
