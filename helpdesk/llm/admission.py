"""A bound on the questions waiting for the LLM.

The local model writes one answer at a time (:class:`~helpdesk.llm.LlamaCppModel` takes turns);
a remote one is slow too. Without a bound, a burst of questions piles up waiting threads, each
holding a worker, until every request hangs. :class:`LLMQueue` admits the one being written plus
``waiting`` more; the next is refused at once with :class:`~helpdesk.errors.Overloaded` (503
with Retry-After), before anything of its answer has been sent.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import Overloaded


class LLMQueue:
    """At most ``1 + waiting`` questions in the model's hands at once; the rest are refused."""

    def __init__(self, waiting: int, retry_after: float = 5.0) -> None:
        self.capacity = waiting + 1
        self.retry_after = max(1, math.ceil(retry_after))
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._lock = threading.Lock()
        self.admitted = 0
        self.refused = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place for one question while its answer is generated; refuse when full."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self.refused += 1
            raise Overloaded(
                f"{self.capacity - 1} questions already wait for the model "
                "(HELPDESK_LLM_QUEUE); try again shortly",
                retry_after=self.retry_after,
            )
        with self._lock:
            self.admitted += 1
        try:
            yield
        finally:
            self._slots.release()
