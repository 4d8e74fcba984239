"""The write queue: conversation writes happen on a background thread, in order, so a slow or
unavailable database never slows an answer. A failed write is retried a few times with
backoff, then dropped and counted; a full queue drops instead of blocking."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Write = Callable[[], None]
RETRY_DELAYS = (0.05, 0.2, 1.0)  # seconds before the 2nd, 3rd and 4th attempt


class WriteQueue:
    """A bounded queue of writes and the one thread that runs them."""

    def __init__(
        self,
        *,
        size: int = 1000,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        name: str = "helpdesk-store-writer",
    ) -> None:
        self._queue: queue.Queue[tuple[str, Write] | None] = queue.Queue(maxsize=size)
        self._retry_delays = retry_delays
        self._lock = threading.Lock()
        self._stats = {"queued": 0, "written": 0, "retried": 0, "dropped": 0}
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def stats(self) -> dict[str, int]:
        """queued: waiting now; written, retried (extra attempts) and dropped: so far."""
        with self._lock:
            return {**self._stats, "queued": self._queue.qsize()}

    def put(self, what: str, write: Write) -> None:
        """Queue ``write`` (``what`` names it in warnings) and return at once."""
        if self._closing.is_set():
            self._count("dropped")
            log.warning("store closed: %s dropped", what)
            return
        try:
            self._queue.put_nowait((what, write))
        except queue.Full:
            self._count("dropped")
            log.warning("store write queue full: %s dropped", what)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued write has been written or dropped; False on timeout."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(
                lambda: self._queue.unfinished_tasks == 0, timeout
            )

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting at most ``timeout``), then stop the thread."""
        if self._closing.is_set():
            return
        self._closing.set()
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=max(0.0, timeout))
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("store: %d queued writes not written at close", self._queue.qsize())

    def _count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._stats[name] += by

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._write(*item)
            finally:
                self._queue.task_done()

    def _write(self, what: str, write: Write) -> None:
        delays = (*self._retry_delays, None)
        for attempt, delay in enumerate(delays, start=1):
            try:
                write()
            except Exception as error:  # the caller has gone on: nothing may escape this thread
                if delay is None:
                    self._count("dropped")
                    log.warning(
                        "store: %s dropped after %d attempts: %s",
                        what,
                        attempt,
                        str(error).splitlines()[0] if str(error) else type(error).__name__,
                    )
                    return
                self._count("retried")
                time.sleep(delay)
            else:
                self._count("written")
                return
