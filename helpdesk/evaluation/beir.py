"""BEIR-layout datasets: the corpus, the queries and the relevance judgements, checked line by line.

DATASET/corpus.jsonl     {"_id", "title", "text", ...}      one document a line
DATASET/queries.jsonl    {"_id", "text", ...}               one question a line
DATASET/qrels/test.tsv   query-id<TAB>corpus-id<TAB>score   a header line, then pairs
                                                            (score > 0 is relevant)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HelpdeskError

CORPUS = "corpus.jsonl"
QUERIES = "queries.jsonl"
QRELS = Path("qrels") / "test.tsv"


class DatasetError(HelpdeskError):
    """A dataset folder that is missing a file or has a malformed line."""

    code = "bad_dataset"
    title = "Bad dataset"


@dataclass(frozen=True)
class CorpusDocument:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Dataset:
    """A loaded BEIR folder; ``qrels`` keeps only relevant pairs (score > 0)."""

    name: str
    path: Path
    corpus: dict[str, CorpusDocument]
    queries: dict[str, str]  # id -> text, in file order
    qrels: dict[str, frozenset[str]]  # query id -> relevant corpus ids

    def judged_queries(self) -> list[str]:
        """Ids of queries with at least one relevant document, in file order."""
        return [qid for qid in self.queries if self.qrels.get(qid)]


# -- loading -------------------------------------------------------------------------------------


def _lines(path: Path, shown: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, blank lines skipped; errors name the line."""
    if not path.is_file():
        raise DatasetError(f"{shown}: file not found")
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"{shown} line {number}: not UTF-8 ({exc.reason} at byte {exc.start})"
                ) from None
            if line.strip():
                yield number, line.rstrip("\r\n")


def _json_records(path: Path, shown: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _lines(path, shown):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{shown} line {number}: not valid JSON ({exc.msg}, column {exc.colno})"
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(f"{shown} line {number}: expected a JSON object")
        yield number, record


def _field(record: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = record.get(key)
    if value is None:
        if required:
            raise DatasetError(f"{where}: missing {key!r}")
        return ""
    # Some BEIR sets store numeric ids as JSON numbers; they are still ids.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DatasetError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    return str(value)


def load_dataset(path: Path) -> Dataset:
    """Read and check a BEIR folder, or raise DatasetError naming the file and line."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a dataset folder")
    name = path.resolve().name

    corpus: dict[str, CorpusDocument] = {}
    shown = str(path / CORPUS)
    for number, record in _json_records(path / CORPUS, shown):
        where = f"{shown} line {number}"
        doc_id = _field(record, "_id", where)
        if not doc_id:
            raise DatasetError(f"{where}: '_id' is empty")
        if doc_id in corpus:
            raise DatasetError(f"{where}: duplicate _id {doc_id!r}")
        corpus[doc_id] = CorpusDocument(
            doc_id,
            _field(record, "title", where, required=False),
            _field(record, "text", where),
        )
    if not corpus:
        raise DatasetError(f"{shown}: no documents")

    queries: dict[str, str] = {}
    shown = str(path / QUERIES)
    for number, record in _json_records(path / QUERIES, shown):
        where = f"{shown} line {number}"
        query_id = _field(record, "_id", where)
        text = _field(record, "text", where).strip()
        if not query_id or not text:
            raise DatasetError(f"{where}: '_id' and 'text' must not be empty")
        if query_id in queries:
            raise DatasetError(f"{where}: duplicate _id {query_id!r}")
        queries[query_id] = text

    relevant: dict[str, set[str]] = {}
    shown = str(path / QRELS)
    for number, line in _lines(path / QRELS, shown):
        where = f"{shown} line {number}"
        parts = line.split("\t")
        if len(parts) != 3:
            raise DatasetError(
                f"{where}: expected query-id<TAB>corpus-id<TAB>score, got {len(parts)} field(s)"
            )
        query_id, doc_id, raw_score = (part.strip() for part in parts)
        try:
            score = float(raw_score)
        except ValueError:
            if number == 1:  # the header line ("query-id corpus-id score")
                continue
            raise DatasetError(f"{where}: score {raw_score!r} is not a number") from None
        if query_id not in queries:
            raise DatasetError(f"{where}: query {query_id!r} is not in {QUERIES}")
        if doc_id not in corpus:
            raise DatasetError(f"{where}: document {doc_id!r} is not in {CORPUS}")
        if score > 0:
            relevant.setdefault(query_id, set()).add(doc_id)
    if not relevant:
        raise DatasetError(f"{shown}: no relevant (score > 0) query-document pairs")

    return Dataset(
        name=name,
        path=path,
        corpus=corpus,
        queries=queries,
        qrels={qid: frozenset(ids) for qid, ids in relevant.items()},
    )


def merge_datasets(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset holding every corpus and query set, ids prefixed by their dataset's name.

    A real help center mixes languages and topics in one index; scoring both query sets on the
    union checks that fusion works without knowing which language a document is in.
    """
    corpus: dict[str, CorpusDocument] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, frozenset[str]] = {}
    for dataset in datasets:
        prefix = f"{dataset.name}/"
        for doc_id, document in dataset.corpus.items():
            corpus[prefix + doc_id] = CorpusDocument(prefix + doc_id, document.title, document.text)
        for query_id, text in dataset.queries.items():
            queries[prefix + query_id] = text
        for query_id, relevant in dataset.qrels.items():
            qrels[prefix + query_id] = frozenset(prefix + d for d in relevant)
    name = "+".join(d.name for d in datasets)
    return Dataset(name=name, path=Path(name), corpus=corpus, queries=queries, qrels=qrels)
