"""Measuring helpdesk: retrieval quality on BEIR-layout datasets (:mod:`.retrieval`, with the
datasets in :mod:`.beir`, the knowledge base written from them in :mod:`.knowledge_base` and the
metrics in :mod:`.metrics`), and whole answers on labelled answer sets (:mod:`.answers`)."""

from .beir import CorpusDocument, Dataset, DatasetError, load_dataset, merge_datasets
from .knowledge_base import file_name, write_knowledge_base
from .metrics import ndcg_at_k, percentile, recall_at_k, reciprocal_rank
from .retrieval import (
    DEFAULT_DATA_ROOT,
    RETRIEVERS,
    EvalResult,
    data_dir_for,
    evaluate,
    format_table,
    sample_queries,
)

__all__ = [
    "DEFAULT_DATA_ROOT",
    "RETRIEVERS",
    "CorpusDocument",
    "Dataset",
    "DatasetError",
    "EvalResult",
    "data_dir_for",
    "evaluate",
    "file_name",
    "format_table",
    "load_dataset",
    "merge_datasets",
    "ndcg_at_k",
    "percentile",
    "recall_at_k",
    "reciprocal_rank",
    "sample_queries",
    "write_knowledge_base",
]
