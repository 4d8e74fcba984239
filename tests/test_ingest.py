"""Ingest: counts, idempotence, incremental updates, broken files, locking, garbage collection,
hot reload in a running Helpdesk, internal filtering, and a killed ingest (slow).

Real Chroma on disk and the deterministic fake embedder; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings
from click.testing import CliRunner
from conftest import REPO, SECRET, SMALL_KB, build_small_index, write_files

from helpdesk.cli import main
from helpdesk.config import Settings
from helpdesk.embeddings import FakeEmbeddings
from helpdesk.errors import IngestError
from helpdesk.index.generations import MANIFEST, Layout, read_manifest
from helpdesk.index.ingest import IngestReport, ingest
from helpdesk.service import Helpdesk
from helpdesk.types import Query

MakeKb = Callable[..., Path]
SettingsFor = Callable[..., Settings]


def records(generation: Path) -> list[dict[str, Any]]:
    lines = (generation / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def sources(generation: Path) -> set[str]:
    return {r["meta"]["source"] for r in records(generation)}


@contextlib.contextmanager
def fake_collection(generation: Path) -> Iterator[Any]:
    """The generation's Chroma collection built by the fake model, opened with Chroma's client."""
    client = chromadb.PersistentClient(
        path=str(generation / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    try:
        found = [
            client.get_collection(c.name)
            for c in client.list_collections()
            if (c.metadata or {}).get("embedding_model") == FakeEmbeddings.model_id
        ]
        assert len(found) == 1, "one collection records the fake model"
        yield found[0]
    finally:
        client.close()


def chroma_ids(generation: Path, where: dict[str, Any] | None = None) -> list[str]:
    """Ids Chroma holds in a generation, optionally filtered."""
    with fake_collection(generation) as collection:
        return list(collection.get(where=where, include=[])["ids"])


def chroma_query(generation: Path, vector: list[float], where: dict[str, Any]) -> list[str]:
    with fake_collection(generation) as collection:
        found = collection.query(query_embeddings=[vector], n_results=5, where=where)
        return list(found["ids"][0])


def finished_generations(data_dir: Path) -> list[str]:
    folder = data_dir / "generations"
    return sorted(p.name for p in folder.iterdir() if (p / MANIFEST).exists())


def current(settings: Settings) -> Path:
    return Layout(Path(settings.data_dir)).current()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def kb(make_kb: MakeKb) -> Path:
    return make_kb()


@pytest.fixture
def settings(kb: Path, settings_for: SettingsFor) -> Settings:
    return settings_for(kb)


# -- a first ingest and an unchanged re-ingest ----------------------------------------------------


def test_first_ingest_builds_a_generation_and_counts_everything(settings: Settings) -> None:
    report = ingest(settings)
    generation = current(settings)
    rows = records(generation)
    assert report.generation == generation.name
    assert not report.up_to_date
    assert (report.documents, report.documents_added) == (4, 4)
    assert report.documents_updated == report.documents_removed == report.documents_unchanged == 0
    assert report.chunks == report.chunks_added == report.embedded == len(rows)
    assert report.chunks >= 8
    assert report.skipped == [] and report.kept_previous == []
    manifest = read_manifest(generation)
    assert manifest["embedding_models"] == [FakeEmbeddings.model_id]
    assert manifest["chunks"] == len(rows)
    assert set(manifest["documents"]) == set(SMALL_KB)
    # Every store of the generation holds the same rows.
    assert sorted(chroma_ids(generation)) == sorted(r["id"] for r in rows)
    (vectors,) = generation.glob("vectors*.npy")
    assert np.load(vectors).shape == (len(rows), FakeEmbeddings.dim)
    assert "4 added" in report.summary()
    # Each distinct topic (title and heading path, FAQ question) is embedded once.
    topics = json.loads((generation / "topics.json").read_text(encoding="utf-8"))
    assert len(topics["rows"]) == len(rows)
    assert sorted(set(topics["rows"])) == list(range(len(topics["texts"])))
    assert len(set(topics["texts"])) == len(topics["texts"]) == report.topics_embedded
    (topic_vectors,) = generation.glob("topics-*.npy")
    assert np.load(topic_vectors).shape == (len(topics["texts"]), FakeEmbeddings.dim)


def test_the_collection_records_the_embedding_model(settings: Settings) -> None:
    ingest(settings)
    with fake_collection(current(settings)) as collection:
        assert collection.metadata["embedding_model"] == FakeEmbeddings.model_id
        assert collection.metadata["hnsw:space"] == "cosine"


def test_reingest_of_an_unchanged_kb_embeds_nothing_and_keeps_the_generation(
    settings: Settings,
) -> None:
    first = ingest(settings)
    second = ingest(settings)
    assert second.up_to_date
    assert second.embedded == 0
    assert second.generation == first.generation
    assert Layout(Path(settings.data_dir)).current_name() == first.generation
    assert finished_generations(Path(settings.data_dir)) == [first.generation]
    assert (second.documents_unchanged, second.chunks_unchanged) == (4, first.chunks)
    assert second.chunks_added == second.chunks_removed == 0
    assert "up to date" in second.summary()


# -- incremental changes --------------------------------------------------------------------------


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_editing_one_file_reembeds_only_its_changed_chunks(
    kb: Path, settings_for: SettingsFor, cache: bool
) -> None:
    settings = settings_for(kb, embedding_cache=cache)
    first = ingest(settings)
    edit(kb / "manuals/speaker.md", "five seconds", "eight seconds")
    second = ingest(settings)
    assert not second.up_to_date
    assert second.generation != first.generation
    assert (second.documents_updated, second.documents_unchanged) == (1, 3)
    assert (second.chunks_added, second.chunks_removed) == (1, 1)
    assert second.chunks_unchanged == first.chunks - 1
    assert second.embedded == 1
    assert second.topics_embedded == 0  # the edit left every title and heading as it was
    texts = [r["text"] for r in records(current(settings))]
    assert any("eight seconds" in t for t in texts)
    assert not any("five seconds" in t for t in texts)


def test_a_renamed_heading_embeds_only_the_new_topic(kb: Path, settings: Settings) -> None:
    ingest(settings)
    edit(kb / "manuals/speaker.md", "### Bluetooth", "### Bluetooth pairing problems")
    second = ingest(settings)
    assert second.topics_embedded == 1
    topics = json.loads((current(settings) / "topics.json").read_text(encoding="utf-8"))
    assert any(t.endswith("Bluetooth pairing problems") for t in topics["texts"])


def test_a_document_that_comes_back_is_served_from_the_embedding_cache(
    kb: Path, settings: Settings
) -> None:
    camera = (kb / "manuals/camera.md").read_text(encoding="utf-8")
    ingest(settings)
    (kb / "manuals/camera.md").unlink()
    ingest(settings)
    (kb / "manuals/camera.md").write_text(camera, encoding="utf-8")
    back = ingest(settings)
    assert back.documents_added == 1
    assert back.chunks_added > 0
    assert back.embedded == 0


def test_cache_files_a_killed_ingest_cut_short_are_embedded_again(settings: Settings) -> None:
    ingest(settings)
    layout = Layout(settings.data_dir)
    files = sorted(p for p in layout.embedding_cache.rglob("*") if p.is_file())
    assert len(files) > 2
    # What an ingest killed mid-write used to leave: an empty file and a truncated vector. The
    # next ingest starts from the cache alone, as after a killed first ingest.
    files[0].write_bytes(b"")
    files[1].write_bytes(files[1].read_bytes()[:-7])
    layout.pointer.unlink()
    second = ingest(settings)
    assert second.embedded + second.topics_embedded == 2  # those two; the rest from the cache
    assert all(json.loads(p.read_bytes()) for p in (files[0], files[1]))
    assert not list(layout.embedding_cache.rglob("*.partial"))  # writes are renamed into place


def test_a_new_embedding_model_reembeds_everything(settings: Settings) -> None:
    class OtherFake(FakeEmbeddings):
        model_id = "fake:other-model"

    first = ingest(settings)
    second = ingest(settings, [OtherFake()])
    assert not second.up_to_date
    assert second.embedded == first.chunks
    assert read_manifest(current(settings))["embedding_models"] == ["fake:other-model"]


def test_deleting_a_document_removes_all_its_chunks(kb: Path, settings: Settings) -> None:
    first = ingest(settings)
    old = current(settings)
    camera = [r["id"] for r in records(old) if r["meta"]["source"] == "manuals/camera.md"]
    assert camera
    (kb / "manuals/camera.md").unlink()
    second = ingest(settings)
    new = current(settings)
    assert new != old
    assert (second.documents_removed, second.documents) == (1, 3)
    assert second.chunks_removed == len(camera)
    assert second.chunks == first.chunks - len(camera)
    assert "manuals/camera.md" not in sources(new)
    assert "manuals/camera.md" not in read_manifest(new)["documents"]
    where = {"source": "manuals/camera.md"}
    vector = FakeEmbeddings().embed_query("charge the camera battery")
    assert chroma_ids(new, where) == []
    assert chroma_query(new, vector, where) == []
    # The same filter does find them in the previous generation, so the check above can fail.
    assert sorted(chroma_ids(old, where)) == sorted(camera)
    assert chroma_query(old, vector, where)


# -- broken files ---------------------------------------------------------------------------------


def test_a_broken_file_is_skipped_by_name_and_the_run_succeeds(
    kb: Path, settings: Settings
) -> None:
    write_files(kb, {"faq/broken.yaml": "faqs:\n  - question: [unclosed\n"})
    report = ingest(settings)
    assert [s.source for s in report.skipped] == ["faq/broken.yaml"]
    assert "not valid YAML" in report.skipped[0].reason
    assert report.documents == 4
    assert report.kept_previous == []
    assert "faq/broken.yaml" in report.summary()
    assert "faq/broken.yaml" in read_manifest(current(settings))["skipped"]
    assert "faq/broken.yaml" not in sources(current(settings))


def test_a_file_that_breaks_keeps_its_previous_chunks(kb: Path, settings: Settings) -> None:
    ingest(settings)
    before = {r["id"] for r in records(current(settings)) if "speaker" in r["meta"]["source"]}
    (kb / "manuals/speaker.md").write_bytes(b"---\ntitle: Caf\xe9\n---\n")  # not UTF-8
    edit(kb / "manuals/camera.md", "five hours", "six hours")  # forces a new generation
    report = ingest(settings)
    assert report.kept_previous == ["manuals/speaker.md"]
    assert [s.source for s in report.skipped] == ["manuals/speaker.md"]
    assert "not UTF-8" in report.skipped[0].reason
    assert "kept its previous version" in report.summary()
    after = {r["id"] for r in records(current(settings)) if "speaker" in r["meta"]["source"]}
    assert after == before


def test_a_folder_of_only_broken_files_raises_nothing_ingested(
    make_kb: MakeKb, settings_for: SettingsFor
) -> None:
    kb = make_kb({"a.md": b"\xff\xfe\x00bad", "faq.yaml": "faqs: [\n", "b.xyz": "?"})
    settings = settings_for(kb)
    with pytest.raises(IngestError) as caught:
        ingest(settings)
    assert caught.value.code == "nothing_ingested"
    assert "a.md" in caught.value.detail and "faq.yaml" in caught.value.detail
    assert Layout(Path(settings.data_dir)).current_name() is None


def test_an_empty_folder_raises_nothing_ingested(
    make_kb: MakeKb, settings_for: SettingsFor
) -> None:
    with pytest.raises(IngestError, match="no documents") as caught:
        ingest(settings_for(make_kb({})))
    assert caught.value.code == "nothing_ingested"


def test_a_missing_folder_raises_no_source(tmp_path: Path, settings_for: SettingsFor) -> None:
    with pytest.raises(IngestError, match="does not exist") as caught:
        ingest(settings_for(tmp_path / "nowhere"))
    assert caught.value.code == "no_source"


def test_identical_documents_in_two_files_ingest(tmp_path: Path, settings_for: SettingsFor) -> None:
    same = "# Returns\n\nYou can return any product within 30 days.\n"
    # The probe's tie-break is arbitrary: several fresh indexes make the failure certain.
    for attempt in range(8):
        kb = write_files(tmp_path / f"kb{attempt}", {f"copy{i}.md": same for i in range(4)})
        report = ingest(settings_for(kb, data_dir=tmp_path / f"data{attempt}"))
        assert report.chunks == 4


# -- the CLI --------------------------------------------------------------------------------------


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"HELPDESK_EMBEDDING": "fake"})


def test_cli_ingest_prints_the_summary(kb: Path, tmp_path: Path) -> None:
    result = run_cli("ingest", "--source", str(kb), "--data-dir", str(tmp_path / "d"), "--quiet")
    assert result.exit_code == 0, result.output
    assert "documents: 4 (4 added" in result.stdout
    assert Layout(tmp_path / "d").current_name() is not None


def test_cli_ingest_of_a_missing_folder_fails_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kb"
    result = run_cli("ingest", "--source", str(missing), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code != 0
    assert "does not exist" in result.stderr
    assert str(missing) in result.stderr
    assert "Traceback" not in result.output


def test_cli_ingest_of_nothing_ingestable_fails_naming_the_files(
    make_kb: MakeKb, tmp_path: Path
) -> None:
    kb = make_kb({"faq.yaml": "faqs: [\n"})
    result = run_cli("ingest", "--source", str(kb), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code != 0
    assert "nothing could be ingested" in result.stderr
    assert "faq.yaml" in result.stderr


def test_cli_ingest_with_a_bad_setting_fails_naming_it(kb: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["ingest", "--source", str(kb), "--data-dir", str(tmp_path / "d")],
        env={"HELPDESK_EMBEDDING": "fake", "HELPDESK_CHUNK_SIZE": "big"},
    )
    assert result.exit_code != 0
    assert "HELPDESK_CHUNK_SIZE" in result.stderr


# -- locking and garbage collection ---------------------------------------------------------------


def test_a_second_concurrent_ingest_fails_with_ingest_running(settings: Settings) -> None:
    layout = Layout(Path(settings.data_dir))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # another ingest (or sync) in another thread holds the lock
        with layout.ingest_lock():
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(IngestError) as caught:
            ingest(settings)
        assert caught.value.code == "ingest_running"
        assert layout.current_name() is None
    finally:
        release.set()
        holder.join(10)
    assert ingest(settings).generation is not None  # the lock is free again
    # The thread that holds the lock may take it again (a sync's own ingest).
    with layout.ingest_lock():
        assert ingest(settings).generation is not None


@pytest.mark.parametrize("keep", [1, 2])
def test_old_generations_are_garbage_collected(
    kb: Path, settings_for: SettingsFor, keep: int
) -> None:
    settings = settings_for(kb, keep_generations=keep)
    made = []
    for n in range(4):
        edit(kb / "manuals/camera.md", "person at the door", f"person at door {n}")
        made.append(ingest(settings).generation)
        edit(kb / "manuals/camera.md", f"person at door {n}", "person at the door")
    assert finished_generations(Path(settings.data_dir)) == sorted(made[-keep:])
    assert Layout(Path(settings.data_dir)).current_name() == made[-1]


def test_an_unfinished_generation_is_removed_by_the_next_ingest(
    kb: Path, settings: Settings
) -> None:
    ingest(settings)
    leftover = write_files(
        Path(settings.data_dir) / "generations" / "g-00000000T000000000000-dead00",
        {"chunks.jsonl": "{}\n"},
    )
    edit(kb / "manuals/camera.md", "five hours", "six hours")
    report = ingest(settings)
    assert leftover.name in report.removed_generations
    assert not leftover.exists()


def test_an_up_to_date_ingest_also_removes_an_unfinished_generation(
    settings: Settings,
) -> None:
    ingest(settings)
    leftover = write_files(
        Path(settings.data_dir) / "generations" / "g-00000000T000000000000-dead00",
        {"chunks.jsonl": "{}\n"},
    )
    assert ingest(settings).up_to_date
    assert not leftover.exists()


# -- a running Helpdesk follows new generations ---------------------------------------------------


def test_a_running_helpdesk_picks_up_a_new_generation_without_restart(
    kb: Path, settings: Settings
) -> None:
    ingest(settings)
    helpdesk = Helpdesk(settings)
    sticky = Helpdesk(settings.replace(reload_interval=3600.0))
    question = Query("thermostat schedule heating", k=3)
    assert all("thermostat" not in hit.passage.chunk.text for hit in helpdesk.search(question).hits)
    sticky.search(question)
    old_name = sticky.retriever().snapshot.name

    write_files(
        kb,
        {
            "manuals/thermostat.md": "---\ntitle: Thermostat\nupdated: 2026-01-01\n---\n"
            "# Thermostat\n\nSet a thermostat schedule for heating in the app.\n"
        },
    )
    report = ingest(settings)
    hits = helpdesk.search(question).hits
    assert hits[0].passage.chunk.source == "manuals/thermostat.md"
    assert helpdesk.retriever().snapshot.name == report.generation
    # A long reload interval keeps serving what it had: the interval is what moves it.
    assert sticky.retriever().snapshot.name == old_name != report.generation


# -- internal documents never reach a public query ------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_small_index(tmp_path_factory.mktemp("served"))


RANKERS = {
    "dense": {"lexical_weight": 0.0},
    "lexical": {"dense_weight": 0.0},
    "hybrid": {},
}


@pytest.fixture(params=list(RANKERS))
def ranked(request: pytest.FixtureRequest, served: Settings) -> Iterator[Helpdesk]:
    yield Helpdesk(served.replace(**RANKERS[request.param]))


def test_the_internal_document_is_indexed_as_internal(served: Settings) -> None:
    internal = [r for r in records(current(served)) if SECRET in r["text"]]
    assert internal
    assert {r["meta"]["audience"] for r in internal} == {"internal"}
    assert {r["meta"]["source"] for r in internal} == {"internal/escalation.md"}


def test_a_public_query_never_returns_internal_chunks(ranked: Helpdesk) -> None:
    question = f"{SECRET} override code goodwill credit speaker"
    hits = ranked.search(Query(question, k=50)).hits
    assert hits  # "speaker" is public, so something comes back
    for hit in hits:
        assert hit.passage.chunk.audience == "public"
        assert SECRET not in hit.passage.chunk.text
        assert not hit.passage.chunk.source.startswith("internal/")


def test_an_internal_query_does_return_internal_chunks(ranked: Helpdesk) -> None:
    question = f"{SECRET} override code goodwill credit speaker"
    hits = ranked.search(Query(question, k=50, reader="agent")).hits
    internal = [h for h in hits if h.passage.chunk.audience == "internal"]
    assert internal
    assert SECRET in internal[0].passage.chunk.text
    assert any(h.passage.chunk.audience == "public" for h in hits)


def test_the_internal_chunk_ranks_first_for_its_own_words(served: Settings) -> None:
    hits = Helpdesk(served).search(Query(SECRET, k=3, reader="agent")).hits
    assert SECRET in hits[0].passage.chunk.text


def test_product_and_language_filters_hold_on_both_rankers(ranked: Helpdesk) -> None:
    hits = ranked.search(Query("battery charge camera speaker", k=50, product="aura-speaker")).hits
    assert hits
    assert {h.passage.chunk.product for h in hits} <= {"aura-speaker", ""}
    assert ranked.search(Query("speaker setup", k=50, language="ko")).hits == []


# -- a killed ingest ------------------------------------------------------------------------------


def generated_kb(count: int = 300) -> dict[str, str]:
    """Many files of distinct words: enough chunks that writing the generation takes a while.

    Every word is unique so the fake vectors spread out, like real documents' vectors.
    """
    files = {}
    for i in range(count):
        parts = "\n\n".join(
            f"## Part {j}\n\n" + " ".join(f"item{i}x{j}x{k}" for k in range(60)) for j in range(5)
        )
        files[f"generated/doc{i:03d}.md"] = (
            f"---\ntitle: Generated {i}\nupdated: 2026-01-01\n---\n# Generated {i}\n\n{parts}\n"
        )
    return files


@pytest.mark.slow
def test_a_killed_ingest_leaves_the_previous_generation_serving(
    kb: Path, settings: Settings
) -> None:
    data = Path(settings.data_dir)
    first = ingest(settings)
    assert first.generation
    write_files(kb, generated_kb())

    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_EMBEDDING"] = "fake"
    command = [sys.executable, "-c", "from helpdesk.cli import main; main()"]
    args = ["ingest", "--source", str(kb), "--data-dir", str(data), "--quiet"]
    log = kb.parent / "killed-ingest.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(command + args, env=env, cwd=REPO, stdout=output, stderr=output)
    unfinished: Path | None = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            for folder in (data / "generations").iterdir():
                # Kill once the new generation is being written: its Chroma folder exists.
                if folder.name != first.generation and (folder / "chroma").exists():
                    unfinished = folder
                    break
            if unfinished is not None:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = log.read_text(encoding="utf-8", errors="replace")
    assert unfinished is not None, f"the ingest ended before it was killed: {stderr}"
    assert process.returncode == -signal.SIGKILL
    assert not (unfinished / MANIFEST).exists(), "killed too late: the generation was finished"

    layout = Layout(data)
    assert layout.current_name() == first.generation
    helpdesk = Helpdesk(settings)
    hits = helpdesk.search(Query("Bluetooth pairing action button", k=3)).hits
    assert hits[0].passage.chunk.source == "manuals/speaker.md"
    assert helpdesk.retriever().snapshot.name == first.generation
    assert not any(c.source.startswith("generated/") for c in helpdesk.retriever().snapshot.chunks)

    report: IngestReport = ingest(settings)  # the lock died with the process
    assert report.documents == 4 + 300
    assert layout.current_name() == report.generation != first.generation
    assert unfinished.name in report.removed_generations
    assert not unfinished.exists()
    # The running Helpdesk moved to the new generation, with the files the killed run had not.
    served = {chunk.source for chunk in helpdesk.retriever().snapshot.chunks}
    assert "generated/doc007.md" in served


# -- personal data in public documents ----------------------------------------------------------

LEAKY_FAQ = """\
---
title: Refunds
language: ko
audience: public
---
# 환불

환불은 고객센터 1588-1234 또는 support@example.com 으로 문의하세요. 사무실은 서울특별시 강남구
테헤란로 123 입니다. 예: 김철수 고객님 (900101-1234567, 카드 4111 1111 1111 1111, 신한은행
110-123-456789, kim.cs@naver.com) 의 환불은 3일 걸렸습니다.
"""
INTERNAL_NOTE = """\
---
title: Agent note
language: ko
audience: internal
---
# 메모

고객 주민번호 850315-2345678 확인 완료.
"""


def test_ingest_warns_about_personal_data_in_public_documents_only(
    make_kb: MakeKb, settings_for: SettingsFor, caplog: pytest.LogCaptureFixture
) -> None:
    kb = make_kb({"faq/refunds.md": LEAKY_FAQ, "internal/note.md": INTERNAL_NOTE})
    report = ingest(settings_for(kb))
    # the company's own 1588 line, support mailbox and office address are not warned about
    assert report.personal_data == {
        "faq/refunds.md": {"rrn": 1, "card": 1, "account": 1, "email": 1}
    }
    line = "faq/refunds.md: 1 rrn, 1 card, 1 account, 1 email in a public document"
    assert f"  personal:  {line}" in report.summary()
    assert line in caplog.text
