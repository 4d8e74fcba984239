"""Deliver the outbox's events to the webhook: POST JSON with an Idempotency-Key that is the
same on every attempt, signed with HMAC-SHA256 when a secret is set. Anything but a 2xx is
tried again after an exponential backoff with jitter, capped, for as long as it takes: a
receiver that is down never loses a ticket."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from ..errors import HelpdeskError
from .records import Delivery
from .store import Store, utcnow

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0
POLL_INTERVAL_S = 1.0
SIGNATURE_HEADER = "X-Helpdesk-Signature"


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for an event."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The X-Helpdesk-Signature value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookDeliverer:
    """Sends due outbox events to ``url``: :meth:`run_once` for one pass, or :meth:`start` for a
    daemon thread that polls every second."""

    def __init__(
        self,
        store: Store,
        url: str,
        *,
        secret: str = "",
        max_backoff: float = 600.0,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] = random.random,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        self._store = store
        self._url = url
        self._secret = secret
        self._max_backoff = max_backoff
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
        self._clock = clock
        self._jitter = jitter
        self._poll_interval = poll_interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt: 1, 2, 4, ... capped at
        max_backoff, each shortened by up to a fifth at random so that retries spread out."""
        base = min(self._max_backoff, 2.0 ** min(max(attempts, 1) - 1, 62))
        return base * (1.0 - 0.2 * self._jitter())

    def run_once(self, now: datetime | None = None) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        now = now or self._clock()
        try:
            due = self._store.due_deliveries(now)
        except HelpdeskError as error:
            log.warning("webhook: cannot read the outbox: %s", error.detail)
            return 0
        for delivery in due:
            self._attempt(delivery, now)
        return len(due)

    def _attempt(self, delivery: Delivery, now: datetime) -> None:
        body = body_bytes(delivery.payload)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.idempotency_key,
            "User-Agent": "helpdesk-webhook",
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        try:
            response = self._client.post(self._url, content=body, headers=headers)
            error = "" if response.is_success else f"HTTP {response.status_code}"
        except httpx.HTTPError as failure:
            error = (
                f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
            )
        try:
            if not error:
                self._store.delivered(delivery.id, now)
                return
            retry_at = now + timedelta(seconds=self.backoff(delivery.attempts + 1))
            log.warning(
                "webhook: ticket %s not delivered (attempt %d, %s); next at %s",
                delivery.ticket_id,
                delivery.attempts + 1,
                error,
                retry_at.isoformat(timespec="seconds"),
            )
            self._store.delivery_failed(delivery.id, error, retry_at)
        except HelpdeskError as failure:
            # The lease runs out and the event is sent again: the receiver deduplicates.
            log.warning("webhook: cannot record the attempt: %s", failure.detail)

    def start(self) -> None:
        """Deliver in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="helpdesk-webhook", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = TIMEOUT_S + 1) -> None:
        """Stop the thread (after the attempt in progress) and close the HTTP client."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._own_client:
            self._client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # the thread must outlive any one bad pass
                log.exception("webhook: delivery pass failed")
            self._stopping.wait(self._poll_interval)
