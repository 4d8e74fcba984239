"""The durable store on real databases: every test runs on SQLite (a file in tmp_path) and on
a real PostgreSQL server (the session's, a fresh database per test)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine

from helpdesk.cli import main
from helpdesk.config import Settings
from helpdesk.errors import ConfigError, StoreUnavailable, TicketConflict, TicketNotFound
from helpdesk.store import FeedbackRecord, Store, TurnRecord
from helpdesk.store.models import Base

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
UNREACHABLE = "postgresql+psycopg://u:secret@127.0.0.1:1/x"


def make_turn(conversation_id: str, n: int, **changes: object) -> TurnRecord:
    turn = TurnRecord(
        id=f"{conversation_id}-a{n}",
        conversation_id=conversation_id,
        at=T0 + timedelta(minutes=n),
        question=f"질문 {n}: 스피커 초기화는 어떻게 하나요?",
        standalone=f"speaker reset {n}",
        answer="Hold the action button for ten seconds.",
        language="ko",
        reader="public",
        surface="widget",
        not_covered=False,
        grounded=True,
        confidence=0.82,
        generated_by="extractive",
        citations=[
            {
                "title": "Aura",
                "url": "https://h/x",
                "source": "a.md",
                "chunk_id": "c1",
                "language": "en",
            }
        ],
        sources=[
            {
                "chunk_id": "c1",
                "title": "Aura",
                "url": "",
                "source": "a.md",
                "audience": "public",
                "score": 0.9,
            }
        ],
        verification={"kept": 2, "dropped": 0},
        fallback_reason="",
        frustration=0.1,
        mood="calm",
        cues=[],
        escalation=[],
        timings={"retrieval_ms": 12.5},
        context={"product": "aura-speaker", "plan": "pro", "locale": "ko-KR", "customer_id": "c-7"},
    )
    return replace(turn, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    store.migrate()
    yield store
    store.close()


def test_turns_round_trip_in_order_with_utc_times(store: Store) -> None:
    turns = [make_turn("conv1", n) for n in (1, 2, 3)]
    for turn in turns:
        store.record_turn(turn)
    store.record_turn(make_turn("other", 1))
    assert store.flush()
    assert store.turns("conv1") == turns
    assert store.turns("conv1", limit=2) == turns[1:]
    assert store.turns("nobody") == []
    assert store.turns("conv1")[0].at.tzinfo is not None
    assert store.stats == {"queued": 0, "written": 4, "retried": 0, "dropped": 0}


def test_a_second_store_on_the_same_database_reads_what_the_first_wrote(
    store: Store, store_url: str
) -> None:
    store.record_turn(make_turn("shared", 1))
    assert store.flush()
    with Store(store_url) as second:
        second.migrate()  # a second process starting: the schema is already there
        assert [t.id for t in second.turns("shared")] == ["shared-a1"]
        second.record_turn(make_turn("shared", 2))
        assert second.flush()
    assert [t.id for t in store.turns("shared")] == ["shared-a1", "shared-a2"]


def test_data_survives_a_restart(store_url: str) -> None:
    first = Store(store_url)
    first.migrate()
    first.record_turn(make_turn("c", 1))
    first.close()  # close flushes the queue
    with Store(store_url) as again:
        assert [t.question for t in again.turns("c")] == [make_turn("c", 1).question]


def test_feedback_is_stored_with_the_conversation(store: Store) -> None:
    store.record_turn(make_turn("c", 1))
    down = FeedbackRecord("c", "c-a1", False, "wrong", "틀렸어요", T0 + timedelta(hours=1))
    up = FeedbackRecord("c", None, True, None, None, T0 + timedelta(hours=2))
    store.record_feedback(down)
    store.record_feedback(up)
    assert store.flush()
    assert store.feedback("c") == [down, up]
    assert store.feedback("nobody") == []


def test_ticket_lifecycle(store: Store) -> None:
    packet = {"summary": "Speaker will not reset", "turns": [{"q": "초기화"}]}
    ticket = store.create_ticket("c", packet, "ko", notify=False)
    assert ticket.status == "open" and ticket.packet == packet
    assert ticket.reference.startswith("HD-") and len(ticket.reference) == 9
    assert not set(ticket.reference[3:]) & set("01OIL")
    assert store.tickets() == [ticket]
    assert store.tickets("open") == [ticket] and store.tickets("resolved") == []

    claimed = store.claim(ticket.id, "mina")
    assert (claimed.status, claimed.claimed_by) == ("claimed", "mina")
    assert store.claim(ticket.id, "mina").claimed_by == "mina"  # her own again: fine
    with pytest.raises(TicketConflict, match="claimed by mina"):
        store.claim(ticket.id, "joon")

    replied = store.reply(ticket.id, "mina", "Please hold the button for ten seconds.")
    assert [(r.author, r.text) for r in replied.replies] == [
        ("mina", "Please hold the button for ten seconds.")
    ]
    with pytest.raises(TicketConflict):
        store.reply(ticket.id, "joon", "me too")
    resolved = store.resolve(ticket.id, "mina")
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert store.ticket(ticket.id).replies == replied.replies
    with pytest.raises(TicketConflict, match="already resolved"):
        store.claim(ticket.id, "mina")
    with pytest.raises(TicketNotFound):
        store.ticket("nope")
    with pytest.raises(TicketNotFound):
        store.claim("nope", "mina")


def test_one_open_ticket_per_conversation_and_one_outbox_row(store: Store) -> None:
    first = store.create_ticket("c", {"n": 1}, "en", notify=True)
    again = store.create_ticket("c", {"n": 2}, "en", notify=True)
    assert again == first
    assert [d.idempotency_key for d in store.deliveries()] == [first.id]
    store.resolve(first.id, "mina")
    later = store.create_ticket("c", {"n": 3}, "en", notify=False)
    assert later.id != first.id
    assert len(store.deliveries()) == 1
    newest_first = store.tickets()
    assert [t.id for t in newest_first] == [later.id, first.id]


def test_simultaneous_hand_offs_of_one_conversation_make_one_ticket(store: Store) -> None:
    tickets = []
    barrier = threading.Barrier(6)

    def hand_off() -> None:
        barrier.wait()
        tickets.append(store.create_ticket("busy", {}, "en", notify=True))

    threads = [threading.Thread(target=hand_off) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({t.id for t in tickets}) == 1
    assert len(store.deliveries()) == 1


def test_concurrent_claims_have_exactly_one_winner(store: Store) -> None:
    ticket = store.create_ticket("c", {}, "en", notify=False)
    barrier = threading.Barrier(8)
    winners: list[str] = []
    losers: list[str] = []

    def claim(agent: str) -> None:
        barrier.wait()
        try:
            store.claim(ticket.id, agent)
            winners.append(agent)
        except TicketConflict:
            losers.append(agent)

    threads = [threading.Thread(target=claim, args=(f"agent{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == 7
    assert store.ticket(ticket.id).claimed_by == winners[0]


def test_purge_respects_retention_and_keeps_undelivered_events(store_url: str) -> None:
    with Store(store_url, retention_days=30) as store:
        store.migrate()
        store.record_turn(make_turn("old", 1))
        store.record_turn(make_turn("new", 1, at=T0 + timedelta(days=40)))
        store.record_feedback(FeedbackRecord("old", None, False, None, None, T0))
        assert store.flush()
        resolved = store.create_ticket("old", {}, "en", notify=True)
        store.resolve(resolved.id, "mina")
        still_open = store.create_ticket("new", {}, "en", notify=True)
        delivered, undelivered = store.deliveries()
        store.delivered(delivered.id, datetime.now(UTC))

        nothing = store.purge(now=T0 + timedelta(days=20))
        assert set(nothing.values()) == {0}

        far = datetime.now(UTC) + timedelta(days=31)
        counts = store.purge(now=far)
        assert counts["conversations"] == 2 and counts["turns"] == 2
        assert counts["feedback"] == 1 and counts["tickets"] == 1 and counts["deliveries"] == 1
        assert store.turns("old") == [] and store.feedback("old") == []
        assert [t.id for t in store.tickets()] == [still_open.id]
        assert [d.id for d in store.deliveries()] == [undelivered.id]  # never lost

    with Store(store_url, retention_days=0) as forever:
        forever.record_turn(make_turn("kept", 1))
        assert forever.flush()
        assert set(forever.purge(now=far + timedelta(days=3650)).values()) == {0}
        assert len(forever.turns("kept")) == 1


def test_migrations_match_the_models(store: Store, store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    assert store.revision() == "0003"
    store.migrate()  # a second upgrade is a no-op


def test_two_processes_migrating_at_once_take_turns(store_url: str) -> None:
    stores = [Store(store_url) for _ in range(3)]
    errors: list[BaseException] = []

    def migrate(store: Store) -> None:
        try:
            store.migrate()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []


def test_an_unreachable_postgresql_degrades_instead_of_failing() -> None:
    store = Store(UNREACHABLE)
    try:
        started = time.monotonic()
        store.record_turn(make_turn("c", 1))
        # Not held up: a write that waited for PostgreSQL would take its retries' 1.25 s.
        assert time.monotonic() - started < 0.5
        assert store.flush(timeout=15)
        assert store.stats["dropped"] == 1 and store.stats["retried"] == 3
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            store.turns("c")
        assert time.monotonic() - started < 5
        assert raised.value.status == 503 and "secret" not in raised.value.detail
        with pytest.raises(StoreUnavailable):
            store.create_ticket("c", {}, "en", notify=True)
    finally:
        store.close(timeout=1)
    assert store.url_for_display == "postgresql+psycopg://u:***@127.0.0.1:1/x"


def test_a_full_queue_drops_instead_of_blocking() -> None:
    store = Store(UNREACHABLE, queue_size=1)
    try:
        started = time.monotonic()
        for n in range(5):
            store.record_turn(make_turn("c", n))
        assert time.monotonic() - started < 0.5  # blocking would wait out 1.25 s of retries
        assert store.stats["dropped"] >= 3
    finally:
        store.close(timeout=0)


def test_a_locked_sqlite_write_is_retried_until_the_lock_goes(tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.db"
    with Store(f"sqlite:///{path}") as store:
        store.migrate()
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            store.record_turn(make_turn("c", 1))
            deadline = time.monotonic() + 10
            while store.stats["retried"] == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert store.stats["retried"] >= 1
        finally:
            locker.execute("COMMIT")
            locker.close()
        assert store.flush()
        assert store.stats["written"] == 1 and store.stats["dropped"] == 0
        assert [t.id for t in store.turns("c")] == ["c-a1"]


def test_a_bad_url_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_DATABASE_URL"):
        Store("not a url")
    with pytest.raises(ConfigError, match="HELPDESK_DATABASE_URL"):
        Store("mysql://u@h/db")


def test_from_settings_defaults_to_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", retention_days=7)
    with Store.from_settings(settings) as store:
        assert store.url_for_display.endswith("/data/helpdesk.db")
        assert store.retention_days == 7 and store.revision() == "0003"
    assert (tmp_path / "data" / "helpdesk.db").exists()


def test_cli_db_commands(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", store_url)
    runner = CliRunner()
    upgraded = runner.invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    status = runner.invoke(main, ["db", "status"])
    assert status.exit_code == 0, status.output
    assert "revision: 0003 (newest)" in status.output and "tickets: 0" in status.output
    purged = runner.invoke(main, ["db", "purge"])
    assert purged.exit_code == 0 and "conversations: 0" in purged.output

    monkeypatch.setenv("HELPDESK_DATABASE_URL", UNREACHABLE)
    down = runner.invoke(main, ["db", "status"])
    assert down.exit_code == 1 and "database is unavailable" in down.output
    assert "secret" not in down.output
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "nonsense")
    bad = runner.invoke(main, ["db", "upgrade"])
    assert bad.exit_code == 1 and "HELPDESK_DATABASE_URL" in bad.output
