"""Content fixes proven before they go live: `helpdesk ingest --candidate`, `helpdesk replay`
and `helpdesk promote`, on a real small index on disk (fake embedder, real Chroma), a real
SQLite store seeded through the Store API, and the extractive backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import build_small_index, write_files

from helpdesk.cli import main
from helpdesk.config import Settings
from helpdesk.index.generations import Layout
from helpdesk.index.ingest import ingest
from helpdesk.insights.replay import (
    last_replay,
    normalise_question,
    past_failures,
    regression_path,
)
from helpdesk.service import Helpdesk
from helpdesk.store import FeedbackRecord, Store, TurnRecord
from helpdesk.types import Query

GIFT_CARD_MD = """\
---
title: Gift Cards
url: https://help.example/en/gift-cards
language: en
updated: 2026-02-01
---
# Gift Cards

## Top up a gift card balance

To top up a gift card balance, open the app, choose Wallet and then Gift card, and add
between 10 and 200 dollars.
"""

GIFT_CARD_QUESTION = "How do I top up a gift card balance?"
WARRANTY_QUESTION = "How long is the warranty?"
RED_RING_QUESTION = "What does a red light ring mean?"
THUMBS_DOWN_QUESTION = "Can I pay with a gift card?"
HANDED_OFF_QUESTION = "Where is my parcel?"

ENV = {"HELPDESK_EMBEDDING": "fake", "HELPDESK_LLM": "extractive"}

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def turn(
    conversation_id: str,
    answer_id: str,
    question: str,
    *,
    at: datetime,
    ok: bool = True,
    context: dict[str, Any] | None = None,
) -> TurnRecord:
    return TurnRecord(
        id=answer_id,
        conversation_id=conversation_id,
        at=at,
        question=question,
        standalone=question,
        answer="An answer. [1]" if ok else "I couldn't find this in our help center.",
        language="en",
        reader="public",
        surface="widget",
        not_covered=not ok,
        grounded=ok,
        confidence=0.9 if ok else 0.1,
        generated_by="extractive",
        citations=[{"source": "faq/en.yaml", "url": "", "title": "FAQ"}] if ok else [],
        context=context or {},
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return build_small_index(tmp_path)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The data directory's own SQLite store, with what customers asked before: one question
    the knowledge base did not cover, one disliked, one handed off (asked twice, the second
    time in other words), and two that went well."""
    store = Store.from_settings(settings)
    store.record_turn(turn("c1", "a1", GIFT_CARD_QUESTION, at=T0, ok=False))
    store.record_turn(turn("c2", "a2", WARRANTY_QUESTION, at=T0 + timedelta(minutes=1)))
    store.record_turn(turn("c3", "a3", RED_RING_QUESTION, at=T0 + timedelta(minutes=2)))
    store.record_turn(turn("c4", "a4", THUMBS_DOWN_QUESTION, at=T0 + timedelta(minutes=3)))
    store.record_turn(turn("c5", "a5", HANDED_OFF_QUESTION, at=T0 + timedelta(minutes=4)))
    store.record_turn(turn("c6", "a6", "where is my parcel", at=T0 + timedelta(minutes=5)))
    store.record_feedback(
        FeedbackRecord("c4", "a4", False, "wrong", None, T0 + timedelta(minutes=6))
    )
    assert store.flush()
    store.create_ticket("c5", {"answer_id": None}, "en", notify=False)
    store.create_ticket("c6", {"answer_id": "a6"}, "en", notify=False)
    yield store
    store.close()


def answer_set(tmp_path: Path) -> Path:
    """A tiny answer benchmark over the small knowledge base."""
    path = tmp_path / "answers.yaml"
    cases = [
        {"id": "warranty", "question": "how long is the warranty on a device", "language": "en",
         "gold": ["faq/en.yaml#warranty-length"], "facts": [["two year"]]},
        {"id": "gift-card", "question": "gift card top up amount", "language": "en",
         "gold": ["manuals/giftcard.md"], "facts": [["200 dollars"]]},
    ]  # fmt: skip
    path.write_text(yaml.safe_dump({"cases": cases}), encoding="utf-8")
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=ENV)


def where(settings: Settings) -> list[str]:
    return ["--source", str(settings.source_dir), "--data-dir", str(settings.data_dir)]


def replay_json(settings: Settings, *extra: str) -> tuple[int, dict[str, Any]]:
    result = run("replay", *where(settings), "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def changes(report: dict[str, Any], change: str) -> set[tuple[str, str]]:
    return {(i["kind"], i["question"]) for i in report["questions"] if i["change"] == change}


# -- the store's view of past turns ---------------------------------------------------------------


def test_reviewed_turns_mark_thumbs_down_and_hand_offs(store: Store) -> None:
    reviewed = {r.turn.id: r for r in store.reviewed_turns()}
    assert [r.turn.id for r in store.reviewed_turns()] == ["a6", "a5", "a4", "a3", "a2", "a1"]
    assert reviewed["a4"].thumbs_down and not reviewed["a4"].handed_off
    # a ticket naming no answer marks the conversation's last turn before it; one naming an
    # answer marks that answer
    assert reviewed["a5"].handed_off and reviewed["a6"].handed_off
    assert not any(reviewed[i].thumbs_down or reviewed[i].handed_off for i in ("a1", "a2", "a3"))


def test_conversation_feedback_marks_the_turn_it_followed(settings: Settings) -> None:
    with Store.from_settings(settings) as store:
        store.record_turn(turn("c", "first", "first question", at=T0))
        store.record_turn(turn("c", "second", "second question", at=T0 + timedelta(minutes=2)))
        store.record_feedback(FeedbackRecord("c", None, False, None, None, T0 + timedelta(1e-3)))
        assert store.flush()
        marked = {r.turn.id: r.thumbs_down for r in store.reviewed_turns()}
    assert marked == {"first": True, "second": False}


def test_past_failures_are_deduplicated_by_normalised_question(store: Store) -> None:
    failures = past_failures(store.reviewed_turns(), limit=10)
    by_question = {normalise_question(f.question): f for f in failures}
    assert set(by_question) == {
        normalise_question(q)
        for q in (GIFT_CARD_QUESTION, THUMBS_DOWN_QUESTION, HANDED_OFF_QUESTION)
    }
    parcel = by_question["where is my parcel"]
    assert parcel.times == 2 and parcel.why == ("handed_off",) and parcel.id == "a6"
    assert by_question[normalise_question(GIFT_CARD_QUESTION)].why == ("not_covered",)
    assert by_question[normalise_question(THUMBS_DOWN_QUESTION)].why == ("thumbs_down",)
    # the newest first, and only as many as asked for
    assert [f.id for f in past_failures(store.reviewed_turns(), limit=1)] == ["a6"]


# -- (a) a candidate that fixes a past failure, then promote -----------------------------------


def test_a_candidate_that_answers_a_past_failure_is_shown_fixing_it_and_promoted(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    layout = Layout(Path(settings.data_dir))
    live = layout.current_name()
    write_files(Path(settings.source_dir), {"manuals/giftcard.md": GIFT_CARD_MD})

    result = run("ingest", "--candidate", "--quiet", *where(settings))
    assert result.exit_code == 0, result.output
    candidate = layout.candidate_name()
    assert candidate is not None and candidate != live
    assert "candidate generation " + candidate in result.output
    assert layout.current_name() == live  # nothing served changes

    # before the switch, a server on this data directory still cannot answer
    server = Helpdesk(settings, store=None)
    assert server.ask(Query(GIFT_CARD_QUESTION)).handoff

    code, report = replay_json(settings, "--answers", str(answer_set(tmp_path)))
    assert code == 0
    assert report["live"] == live and report["candidate"] == candidate
    assert ("failure", GIFT_CARD_QUESTION) in changes(report, "fixed")
    assert ("benchmark", "gift card top up amount") in changes(report, "fixed")
    assert report["broken"] == [] and report["regressions"] == 0
    fixed = next(i for i in report["fixed"] if i["kind"] == "failure")
    assert fixed["why"] == ["not_covered"] and fixed["live"]["outcome"] == "refused"
    assert "200 dollars" in fixed["candidate"]["answer"]
    assert fixed["candidate"]["citations"] == ["https://help.example/en/gift-cards"]
    # what went well before still does, and the sample holds exactly those turns
    assert changes(report, "still_resolved") >= {
        ("regression", WARRANTY_QUESTION),
        ("regression", RED_RING_QUESTION),
        ("benchmark", "how long is the warranty on a device"),
    }
    assert report["by_kind"]["regression"]["questions"] == 2
    for side in ("live", "candidate"):
        latency = report["latency_ms"][side]
        assert 0 < latency["p50"] <= latency["p95"]
    assert last_replay(settings.data_dir) == report
    assert last_replay(layout) == report
    assert len(list((Path(settings.data_dir) / "replay").glob("replay-*.json"))) == 1

    table = run("replay", *where(settings), "--answers", str(answer_set(tmp_path)))
    assert table.exit_code == 0, table.output
    assert "Newly resolved (2)" in table.output
    assert f"[failure: not_covered] {GIFT_CARD_QUESTION}" in table.output
    assert "No regression" in table.output and "Broken" not in table.output

    promoted = run("promote", *where(settings))
    assert promoted.exit_code == 0, promoted.output
    assert candidate in promoted.output
    assert layout.current_name() == candidate and layout.candidate_name() is None
    # the running server follows CURRENT, as after any ingest
    answer = server.ask(Query(GIFT_CARD_QUESTION))
    assert not answer.handoff and "200 dollars" in answer.text

    again = run("promote", *where(settings))
    assert again.exit_code == 1
    assert "no candidate in" in again.stderr


# -- (b) a candidate that breaks what worked is refused -----------------------------------------


def test_a_candidate_that_breaks_a_passing_question_is_refused_unless_forced(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    layout = Layout(Path(settings.data_dir))
    live = layout.current_name()
    faq = Path(settings.source_dir) / "faq/en.yaml"
    text = faq.read_text(encoding="utf-8")
    start = text.index("  - id: warranty-length")
    faq.write_text(text[:start], encoding="utf-8")  # the warranty entry is deleted
    assert run("ingest", "--candidate", *where(settings)).exit_code == 0
    candidate = layout.candidate_name()

    code, report = replay_json(settings, "--answers", str(answer_set(tmp_path)))
    assert code == 1
    assert changes(report, "broken") == {
        ("regression", WARRANTY_QUESTION),
        ("benchmark", "how long is the warranty on a device"),
    }
    broken = next(i for i in report["broken"] if i["kind"] == "regression")
    assert "two year" in broken["live"]["answer"]
    assert "two year" not in broken["candidate"]["answer"]
    assert ("regression", RED_RING_QUESTION) in changes(report, "still_resolved")

    table = run("replay", *where(settings), "--answers", str(answer_set(tmp_path)))
    assert table.exit_code == 1
    assert "Broken (2)" in table.output and "live:      Every device has a two year" in table.output
    assert "2 regression(s)" in table.output

    refused = run("promote", *where(settings))
    assert refused.exit_code == 1
    assert "not promoted" in refused.stderr and "2 regression(s)" in refused.stderr
    assert WARRANTY_QUESTION in refused.stderr
    assert layout.current_name() == live and layout.candidate_name() == candidate

    forced = run("promote", "--force", *where(settings))
    assert forced.exit_code == 0, forced.output
    assert "promoted anyway" in forced.stderr
    assert layout.current_name() == candidate and layout.candidate_name() is None


def test_promote_wants_a_replay_of_this_candidate_against_the_serving_generation(
    settings: Settings, store: Store
) -> None:
    layout = Layout(Path(settings.data_dir))
    assert "no candidate" in run("promote", *where(settings)).stderr
    assert "no candidate" in run("replay", *where(settings)).stderr

    kb = Path(settings.source_dir)
    write_files(kb, {"manuals/giftcard.md": GIFT_CARD_MD})
    assert run("ingest", "--candidate", *where(settings)).exit_code == 0
    unproven = run("promote", *where(settings))
    assert unproven.exit_code == 1 and "has not been replayed" in unproven.stderr

    assert run("replay", *where(settings), "--no-benchmark").exit_code == 0
    # another candidate since: the replay was not of it
    write_files(kb, {"manuals/giftcard.md": GIFT_CARD_MD.replace("200", "300")})
    assert run("ingest", "--candidate", *where(settings)).exit_code == 0
    other = run("promote", *where(settings))
    assert other.exit_code == 1 and "not of the candidate" in other.stderr

    # replayed, then another generation went live (a normal ingest forgets the candidate, so
    # the candidate pointer is put back by hand to reach the check)
    assert run("replay", *where(settings), "--no-benchmark").exit_code == 0
    candidate = layout.candidate_name()
    assert candidate is not None
    write_files(kb, {"manuals/extra.md": "# Extra\n\nSomething new.\n"})
    ingest(settings)
    assert layout.candidate_name() is None
    layout.set_candidate(layout.named(candidate))
    stale = run("promote", *where(settings))
    assert stale.exit_code == 1 and "serves now" in stale.stderr


# -- (c) the regression sample is frozen ---------------------------------------------------------


def test_the_regression_sample_is_frozen_until_refrozen(settings: Settings, store: Store) -> None:
    write_files(Path(settings.source_dir), {"manuals/giftcard.md": GIFT_CARD_MD})
    ingest(settings, candidate=True)
    path = regression_path(Layout(Path(settings.data_dir)))
    code, none = replay_json(settings, "--no-benchmark", "--sample", "0")
    assert code == 0 and none["by_kind"]["regression"]["questions"] == 0
    assert not path.exists()  # none asked for: none frozen, so the next replay draws one

    code, first = replay_json(settings, "--no-benchmark", "--sample", "1")
    assert code == 0
    frozen = path.read_bytes()
    [sampled] = [json.loads(line) for line in frozen.decode().splitlines()]
    assert sampled["question"] in (WARRANTY_QUESTION, RED_RING_QUESTION)
    assert first["by_kind"]["regression"]["questions"] == 1

    # more good answers since, and a larger sample asked for: the frozen one is reused as is
    store.record_turn(turn("c7", "a7", "How long does the camera take to charge?", at=T0))
    assert store.flush()
    code, second = replay_json(settings, "--no-benchmark", "--sample", "5", "--seed", "7")
    assert code == 0
    assert path.read_bytes() == frozen
    sampled_questions = [i["question"] for i in second["questions"] if i["kind"] == "regression"]
    assert sampled_questions == [sampled["question"]]

    code, third = replay_json(settings, "--no-benchmark", "--sample", "5", "--refreeze")
    assert code == 0
    assert path.read_bytes() != frozen
    refrozen = {json.loads(line)["question"] for line in path.read_text().splitlines()}
    assert refrozen == {
        WARRANTY_QUESTION,
        RED_RING_QUESTION,
        "How long does the camera take to charge?",
    }
    assert third["by_kind"]["regression"]["questions"] == 3


def test_a_damaged_regression_sample_is_a_clear_error(settings: Settings, store: Store) -> None:
    write_files(Path(settings.source_dir), {"manuals/giftcard.md": GIFT_CARD_MD})
    ingest(settings, candidate=True)
    path = regression_path(Layout(Path(settings.data_dir)))
    path.parent.mkdir(parents=True)
    path.write_text('{"kind": "regression", "question"\n', encoding="utf-8")
    result = run("replay", *where(settings), "--no-benchmark")
    assert result.exit_code == 1
    assert "is damaged" in result.stderr and "--refreeze" in result.stderr
    assert run("replay", *where(settings), "--no-benchmark", "--refreeze").exit_code == 0
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


def test_nothing_is_frozen_before_any_answer_went_well(settings: Settings) -> None:
    write_files(Path(settings.source_dir), {"manuals/giftcard.md": GIFT_CARD_MD})
    ingest(settings, candidate=True)
    code, report = replay_json(settings, "--no-benchmark")
    assert code == 0 and report["counts"]["questions"] == 0
    assert not regression_path(Layout(Path(settings.data_dir))).exists()


# -- (d) generations: the candidate is kept, and what ingest does with it -------------------------


def test_garbage_collection_keeps_the_candidate_and_the_serving_generation(
    settings: Settings,
) -> None:
    layout = Layout(Path(settings.data_dir))
    live = layout.current_name()
    kb = Path(settings.source_dir)
    write_files(kb, {"manuals/giftcard.md": GIFT_CARD_MD})
    report = ingest(settings.replace(keep_generations=1), candidate=True)
    assert report.candidate and report.generation == layout.candidate_name()
    # keep=1 would leave only the newest (the candidate) if the serving one were not spared,
    # and only the serving one if the candidate were not
    assert layout.collect_garbage(1) == []
    names = sorted(p.name for p in layout.generations.iterdir())
    assert names == sorted([live, report.generation])
    assert layout.current_name() == live


def test_a_candidate_ingest_with_nothing_changed_makes_no_candidate(settings: Settings) -> None:
    layout = Layout(Path(settings.data_dir))
    report = ingest(settings, candidate=True)
    assert report.up_to_date and report.generation is None
    assert layout.candidate_name() is None
    assert "no candidate" in report.summary()


def test_a_normal_ingest_that_moves_current_forgets_the_candidate(settings: Settings) -> None:
    layout = Layout(Path(settings.data_dir))
    kb = Path(settings.source_dir)
    write_files(kb, {"manuals/giftcard.md": GIFT_CARD_MD})
    candidate = ingest(settings, candidate=True).generation
    assert layout.candidate_name() == candidate
    # up to date with the serving generation? no: the gift card page is new to it
    report = ingest(settings)
    assert not report.up_to_date and layout.current_name() == report.generation
    assert layout.candidate_name() is None
