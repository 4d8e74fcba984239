"""No raw personal data in what the service keeps: its database, its log, its webhook calls.

A real ``helpdesk serve`` (sample knowledge base, extractive answers) on SQLite and on a real
PostgreSQL, with its log captured and a webhook receiver recording every body. Every text of the
labelled PII set (tests/data/pii.yaml) that holds personal data goes in as a question, in the
customer context, as a feedback comment and as a hand-off note; afterwards the database's bytes
(SQLite's file and write-ahead log, or every PostgreSQL row as text), the log and the webhook
bodies are searched for every raw value. The count must be 0.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from servers import WebhookReceiver, helpdesk_server, ingest, running

from helpdesk.evaluation.pii import load_pii_set

pytestmark = pytest.mark.integration

PII_SET = load_pii_set(Path(__file__).parent / "data" / "pii.yaml")
WITH_PII = [t for t in PII_SET if t.spans]


@pytest.fixture(scope="module", autouse=True)
def _index() -> None:
    ingest()


@pytest.fixture()
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'helpdesk.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _stored_text(url: str) -> str:
    """Everything the database holds, as text: SQLite's files byte for byte (the main file and
    its write-ahead log), or every row of every PostgreSQL table."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal")]
        return "".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            rows = [
                str(row[0])
                for table in tables
                for row in connection.execute(sa.text(f'SELECT t::text FROM "{table}" t'))
            ]
    finally:
        engine.dispose()
    return "\n".join(rows)


def _raw_value(value: str) -> re.Pattern[str]:
    """A raw value as it would be kept: a number only where it is not part of a longer number.
    A ZIP code such as 90210 otherwise turns up inside a timestamp's microseconds
    (``…:49.902103``) now and then, which is not the customer's address."""
    before = r"(?<![0-9])" if value[:1].isdigit() else ""
    after = r"(?![0-9])" if value[-1:].isdigit() else ""
    return re.compile(before + re.escape(value) + after)


def test_no_raw_personal_data_is_stored_logged_or_sent(
    database: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    settings = {
        "HELPDESK_LLM": "extractive",
        "HELPDESK_DATABASE_URL": database,
        "HELPDESK_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/hook",
        "HELPDESK_LOG_LEVEL": "DEBUG",  # the most the log ever says
    }
    server = helpdesk_server("privacy", settings, tmp_path)
    tickets = 0
    with running([server], timeout=300):
        for number, item in enumerate(WITH_PII):
            values = item.values()
            body: dict[str, Any] = {"question": item.text[:1000]}
            if number % 3 == 0:  # a host page that uses an e-mail address as the customer id
                body["context"] = {"customer_id": values[0][:64]}
            answer = httpx.post(f"{server.url}/api/ask", json=body, timeout=60)
            assert answer.status_code == 200, answer.text
            ids = {k: answer.json()[k] for k in ("conversation_id", "answer_id")}
            feedback = {**ids, "helpful": False, "comment": item.text[:1000]}
            assert httpx.post(f"{server.url}/api/feedback", json=feedback, timeout=30).is_success
            if number % 4 == 0:
                note = {"conversation_id": ids["conversation_id"], "message": item.text[:2000]}
                handoff = httpx.post(f"{server.url}/api/handoff", json=note, timeout=30)
                assert handoff.status_code == 201, handoff.text
                tickets += 1
        deadline = time.monotonic() + 30
        while len(receiver.bodies) < tickets and time.monotonic() < deadline:
            time.sleep(0.2)
        ready = httpx.get(f"{server.url}/readyz", timeout=30).json()
        assert ready["store"]["dropped"] == 0
    assert len(receiver.bodies) == tickets > 0
    kept = {
        "database": _stored_text(database),
        "log": server.log_text(),
        "webhook": b"\n".join(receiver.bodies).decode("utf-8"),
    }
    assert "[email]" in kept["database"] and "[phone]" in kept["webhook"]  # the texts got there
    leaks = [
        (where, value)
        for item in WITH_PII
        for value in item.values()
        for where, text in kept.items()
        if _raw_value(value).search(text)
    ]
    assert leaks == [], f"{len(leaks)} raw values kept: {leaks[:10]}"
