"""The webhook outbox against a real HTTP receiver on a local port, which can answer 500, be
stopped and come back on the same port; on SQLite and PostgreSQL. The clock is passed in
(``now=``) instead of slept through."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from servers import WebhookReceiver

from helpdesk.store import Store, WebhookDeliverer

SECRET = "s3cret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=SECRET)
    yield receiver
    receiver.stop()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    store.migrate()
    yield store
    store.close()


def deliverer(store: Store, url: str, **options: Any) -> WebhookDeliverer:
    options.setdefault("jitter", lambda: 0.0)
    client = httpx.Client(timeout=2.0)
    return WebhookDeliverer(store, url, secret=SECRET, client=client, **options)


def test_a_ticket_made_while_the_receiver_is_down_arrives_once_when_it_comes_back(
    store: Store, receiver: WebhookReceiver
) -> None:
    ticket = store.create_ticket("c", {"summary": "환불 문의"}, "ko", notify=True)
    t0 = datetime.now(UTC)  # the ticket's event is due from its creation
    webhook = deliverer(store, receiver.url, max_backoff=600)

    assert webhook.run_once(now=t0) == 1  # refused: nobody listens yet
    (delivery,) = store.deliveries()
    assert delivery.attempts == 1 and "ConnectError" in delivery.last_error
    assert delivery.next_attempt_at == t0 + timedelta(seconds=1)
    assert webhook.run_once(now=t0) == 0  # not due yet

    receiver.status = 500  # up, but failing
    receiver.start()
    assert webhook.run_once(now=t0 + timedelta(seconds=1)) == 1
    (delivery,) = store.deliveries()
    assert delivery.attempts == 2 and delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == t0 + timedelta(seconds=3)

    receiver.stop()  # down again, then back on the same port
    assert webhook.run_once(now=t0 + timedelta(seconds=3)) == 1
    receiver.status = 200
    receiver.start()
    assert webhook.run_once(now=t0 + timedelta(seconds=7)) == 1
    (delivery,) = store.deliveries()
    assert delivery.delivered_at == t0 + timedelta(seconds=7) and delivery.attempts == 4
    assert webhook.run_once(now=t0 + timedelta(days=1)) == 0  # delivered: never sent again

    # The receiver heard two of the four attempts (the others met a closed port), with one key.
    assert len(receiver.requests) == 2
    assert {headers["Idempotency-Key"] for headers, _ in receiver.requests} == {ticket.id}
    assert all(h["Content-Type"] == "application/json" for h, _ in receiver.requests)
    assert list(receiver.tickets) == [ticket.id]  # deduplicated: the ticket once
    sent = receiver.tickets[ticket.id]
    assert sent["reference"] == ticket.reference and sent["packet"] == {"summary": "환불 문의"}
    body = json.loads(receiver.requests[-1][1])
    assert body["event"] == "ticket.created"


def test_a_lost_acknowledgement_is_resent_with_the_same_key_and_deduplicated(
    store: Store, receiver: WebhookReceiver
) -> None:
    ticket = store.create_ticket("c", {}, "en", notify=True)
    t0 = datetime.now(UTC)  # the ticket's event is due from its creation
    receiver.status = 500  # stores the ticket, then "fails": as if the 200 were lost
    receiver.start()
    webhook = deliverer(store, receiver.url)
    webhook.run_once(now=t0)
    receiver.status = 200
    webhook.run_once(now=t0 + timedelta(seconds=5))
    bodies = [body for _, body in receiver.requests]
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # same body, same signature
    assert [h["Idempotency-Key"] for h, _ in receiver.requests] == [ticket.id, ticket.id]
    assert list(receiver.tickets) == [ticket.id]
    assert store.deliveries()[0].delivered_at is not None


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(
    store: Store, receiver: WebhookReceiver
) -> None:
    store.create_ticket("c", {}, "en", notify=True)
    t0 = datetime.now(UTC)  # the ticket's event is due from its creation
    receiver.start()
    client = httpx.Client(timeout=2.0)
    forger = WebhookDeliverer(store, receiver.url, secret="wrong", client=client)
    forger.run_once(now=t0)
    assert receiver.tickets == {}
    assert store.deliveries()[0].last_error == "HTTP 401"


def test_backoff_doubles_with_jitter_and_is_capped(store: Store) -> None:
    exact = deliverer(store, "http://127.0.0.1:1/", max_backoff=10)
    assert [exact.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    jittered = WebhookDeliverer(store, "http://127.0.0.1:1/", max_backoff=600)
    waits = [jittered.backoff(n) for n in range(1, 15)]
    assert all(0.8 * min(600, 2 ** (n - 1)) <= w <= min(600, 2 ** (n - 1))
               for n, w in zip(range(1, 15), waits, strict=True))  # fmt: skip
    assert waits[:10] == sorted(waits[:10]) and max(waits) <= 600  # grows until the cap
    jittered.stop()

    store.create_ticket("c", {}, "en", notify=True)
    t0 = datetime.now(UTC)  # the ticket's event is due from its creation
    now = t0
    gaps = []
    for _ in range(7):
        assert exact.run_once(now=now) == 1  # port 1: always refused
        (delivery,) = store.deliveries()
        gaps.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at
    assert gaps == [1, 2, 4, 8, 10, 10, 10]
    assert store.deliveries()[0].attempts == 7  # never given up


def test_the_thread_delivers_on_its_own(store: Store, receiver: WebhookReceiver) -> None:
    receiver.start()
    webhook = deliverer(store, receiver.url, poll_interval=0.05)
    webhook.start()
    try:
        ticket = store.create_ticket("c", {}, "en", notify=True)
        deadline = time.monotonic() + 10
        while not receiver.tickets and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        webhook.stop()
    assert list(receiver.tickets) == [ticket.id]
    assert store.deliveries()[0].delivered_at is not None


def test_a_ticket_without_notify_has_no_delivery(store: Store) -> None:
    store.create_ticket("c", {}, "en", notify=False)
    t0 = datetime.now(UTC)  # the ticket's event is due from its creation
    assert store.deliveries() == []
    assert store.due_deliveries(t0 + timedelta(days=1)) == []


def test_two_deliverers_do_not_send_one_event_at_the_same_time(store: Store) -> None:
    store.create_ticket("c", {}, "en", notify=True)
    now = datetime.now(UTC)
    first = store.due_deliveries(now)
    assert len(first) == 1
    assert store.due_deliveries(now) == []  # leased to the first
    assert len(store.due_deliveries(now + timedelta(minutes=2))) == 1  # the lease ran out
