"""The sample help center read from files against the same help center crawled as a website,
on the answer benchmark.

    python scripts/eval_crawled.py [tests/data/answers/*.yaml] [--backend extractive] \
        [--split all] [--max-cases N] [--work .cache/eval-crawled]

1. ``knowledge_base/`` is rendered as a static website (scripts/render_site.py: navigation,
   footer, cookie banner, related articles around every page) and served on loopback.
2. **files**: the folder is ingested as usual (``helpdesk ingest``).
3. **crawled**: a knowledge-base folder holding only ``glossary.yaml`` (configuration, not
   content) and a sources file with two website sources, ``site`` (public: the start page,
   ``/kb/`` excluded) and ``agents`` (internal: ``/kb/``), synced with ``helpdesk sync``.
4. Both answer the benchmark's cases through the same path as ``helpdesk eval-answers``
   (``run_cases``), with the same models and backend; the script prints both tables' main
   rows and the difference in points.

How the gold sources map (the benchmark names files, a crawled page is a URL): ``site.json``
(written by the renderer) gives each file's page path; after the sync each page URL's
document is known from the index (``site:PATH`` / ``agents:PATH``), so a gold ``FILE`` becomes
that document's source and is matched by ``gold_match`` exactly as a file is. A gold
``FILE#FAQ-ID`` (one FAQ entry) is as strict as with files: the cited chunk must be on that
FAQ's page *and* under that entry's question heading (the crawled page has no per-entry URL,
so the heading is what identifies the entry); a verdict that only passed by the page is
turned into "wrong".
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from render_site import render, serve_folder

from helpdesk.config import Settings
from helpdesk.evaluation.answers import (
    Case,
    Verdict,
    load_sets,
    run_cases,
    select,
    summarise,
)

REPO = Path(__file__).resolve().parent.parent
ROWS = ("resolved", "refused", "wrong", "caught")


Requirement = tuple[str, str]  # (crawled document source, FAQ question or "" for the page)


def crawled_gold(
    cases: list[Case], site: Mapping[str, Any], sources_by_url: Mapping[str, str]
) -> tuple[list[Case], dict[str, list[Requirement]]]:
    """The cases with each gold file replaced by the crawled document of its page, and for
    each case what a citation must be: a gold page, or a gold FAQ page under the entry's
    question heading."""
    base = site["base_url"]
    by_file = {d["source"]: d for d in site["documents"]}
    required: dict[str, list[Requirement]] = {}
    mapped = []
    for case in cases:
        gold, needs = [], []
        for reference in case.gold:
            file, _, anchor = reference.partition("#")
            described = by_file.get(file)
            source = sources_by_url.get(base + described["path"], "") if described else ""
            if not source:
                gold.append(reference)  # a page the crawl did not hold: it cannot match
                continue
            gold.append(source)
            needs.append((source, described["questions"].get(anchor, anchor) if anchor else ""))
        mapped.append(replace(case, gold=tuple(dict.fromkeys(gold))))
        required[case.id] = needs
    return mapped, required


def strict_entries(
    verdicts: list[Verdict], required: Mapping[str, list[Requirement]], chunks: Any
) -> list[Verdict]:
    """Resolved verdicts that cite a gold FAQ page only away from the gold entries' questions
    become "wrong", as they would be with the files (where the entry is its own chunk)."""
    headings = {chunk.id: {_plain(h) for h in chunk.headings} for chunk in chunks}
    fixed = []
    for verdict in verdicts:
        needs = required.get(verdict.case.id, [])
        ok = verdict.outcome != "resolved" or any(
            citation.source == source
            and (not question or _plain(question) in headings.get(citation.chunk_id, set()))
            for citation in verdict.answer.citations
            for source, question in needs
        )
        if ok:
            fixed.append(verdict)
        else:
            why = [*verdict.why, "cites the FAQ page, not the entry's question"]
            fixed.append(replace(verdict, outcome="wrong", why=why))
    return fixed


def _plain(text: str) -> str:
    return " ".join(text.replace("*", "").split()).casefold()


def run(helpdesk_settings: Settings, cases: list[Case]) -> tuple[list[Verdict], Any]:
    from helpdesk.service import Helpdesk

    helpdesk = Helpdesk(helpdesk_settings, store=None)
    helpdesk.warm_up()
    chunks = list(helpdesk.retriever().snapshot.chunks)
    verdicts = run_cases(helpdesk, cases)
    helpdesk.retriever().snapshot.close()
    return verdicts, chunks


def main() -> None:
    from helpdesk.index.ingest import ingest
    from helpdesk.sources import sync  # the module: merged from the sources-sync branch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--source", type=Path, default=REPO / "knowledge_base")
    parser.add_argument("--backend", default="extractive")
    parser.add_argument("--split", default="all", choices=("all", "dev", "test"))
    parser.add_argument("--max-cases", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "eval-crawled")
    args = parser.parse_args()
    sets = args.sets or sorted((REPO / "tests" / "data" / "answers").glob("*.yaml"))
    cases = select(load_sets(sets), split=args.split, max_cases=args.max_cases, seed=args.seed)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)

    files = Settings.from_env(source_dir=args.source, data_dir=work / "files", llm=args.backend)
    report = ingest(files)
    print(f"files: {report.documents} documents, {report.chunks} chunks")

    site_dir = work / "site"
    with serve_folder(site_dir) as base:
        # Rendered for the port it is served on: canonical links and the sitemap are absolute.
        render(args.source, site_dir, base)
        site = json.loads((site_dir / "site.json").read_text("utf-8"))
        kb = work / "kb-crawled"
        shutil.rmtree(kb, ignore_errors=True)
        kb.mkdir(parents=True)
        glossary = args.source / "glossary.yaml"
        if glossary.exists():
            shutil.copy(glossary, kb / "glossary.yaml")
        sources = work / "sources.yaml"
        sources.write_text(
            "sources:\n"
            f"  - {{name: site, type: website, audience: public, start_url: '{base}/',\n"
            "     exclude: [/kb/], max_pages: 500}\n"
            f"  - {{name: agents, type: website, audience: internal, start_url: '{base}/kb/',\n"
            "     include: [/kb/], max_pages: 500}\n",
            encoding="utf-8",
        )
        crawled = Settings.from_env(
            source_dir=kb, data_dir=work / "crawled", llm=args.backend, sources=str(sources)
        )
        synced = sync.sync(crawled)
        print(synced.summary())
    file_verdicts, _ = run(files, cases)
    chunks_by_url = _sources_by_url(crawled)
    mapped, required = crawled_gold(cases, site, chunks_by_url)
    crawl_verdicts, chunks = run(crawled, mapped)
    crawl_verdicts = strict_entries(crawl_verdicts, required, chunks)
    print_table(file_verdicts, crawl_verdicts)


def _sources_by_url(settings: Settings) -> dict[str, str]:
    from helpdesk.index.generations import Layout
    from helpdesk.index.store import read_chunks

    return {
        chunk.url.split("#", 1)[0]: chunk.source
        for chunk in read_chunks(Layout(Path(settings.data_dir)).current())
    }


def print_table(files: list[Verdict], crawled: list[Verdict]) -> None:
    groups = ("all", "dev", "test", "en", "ko")

    def pick(verdicts: list[Verdict], group: str) -> list[Verdict]:
        if group == "all":
            return verdicts
        if group in ("dev", "test"):
            return [v for v in verdicts if v.case.split == group]
        return [v for v in verdicts if v.case.language == group]

    print(f"\n{'group':<6} {'row':<9} {'files':>8} {'crawled':>8} {'points':>7}")
    for group in groups:
        a, b = summarise(pick(files, group)), summarise(pick(crawled, group))
        for row in ROWS:
            if a[row] is None or b[row] is None:
                continue
            points = (b[row] - a[row]) * 100
            print(f"{group:<6} {row:<9} {a[row]:>8.1%} {b[row]:>8.1%} {points:>+7.1f}")
    moved = [(f, c) for f, c in zip(files, crawled, strict=True) if f.outcome != c.outcome]
    print(f"\n{len(moved)} cases changed outcome (files -> crawled):")
    for f, c in moved:
        print(f"  {f.case.id}: {f.outcome} -> {c.outcome}")
        for verdict, name in ((f, "files"), (c, "crawled")):
            why = "; ".join(verdict.why)[:300] or "-"
            print(f"    {name}: cites {', '.join(verdict.cited) or 'nothing'}: {why}")


if __name__ == "__main__":
    main()
