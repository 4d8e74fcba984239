"""The load test's users, run by locust in a process of its own (see benchmarks.harness).

Every user is a closed loop (no think time): it sends its next request as soon as the last one
answered, so N users keep at most N requests in flight. ``BENCH_ENDPOINT`` picks what they send
(``search``: ``GET /api/search?q=``; ``ask``: ``POST /api/ask``, extractive when the server runs
with HELPDESK_LLM=extractive); ``BENCH_QUESTIONS`` is a file of questions, one a line, taken in
turn across all users from line ``BENCH_OFFSET`` on: the harness moves the offset past every
question an earlier run against the same server sent, so no run is helped by the server's query
cache holding what the previous one asked.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from locust import HttpUser, constant, task

_QUESTIONS = [
    line.strip()
    for line in Path(os.environ.get("BENCH_QUESTIONS", "")).read_text("utf-8").splitlines()
    if line.strip()
]
_OFFSET = int(os.environ.get("BENCH_OFFSET", "0")) % max(1, len(_QUESTIONS))
_NEXT = itertools.cycle(_QUESTIONS[_OFFSET:] + _QUESTIONS[:_OFFSET])
_ENDPOINT = os.environ.get("BENCH_ENDPOINT", "search")


class HelpCenterUser(HttpUser):
    wait_time = constant(0)

    @task
    def one(self) -> None:
        question = next(_NEXT)
        if _ENDPOINT == "ask":
            self.client.post("/api/ask", json={"question": question}, name="/api/ask")
        else:
            self.client.get("/api/search", params={"q": question}, name="/api/search")
