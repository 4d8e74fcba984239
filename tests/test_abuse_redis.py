"""Two ``helpdesk serve`` processes share one rate limit through a real redis-server (Debian's
binary, ``make test`` installs it), as several workers behind a load balancer would."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from conftest import build_small_index
from servers import free_port, helpdesk_server, running

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
pytestmark = pytest.mark.integration


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server on a free port, stopped afterwards."""
    if not Path(REDIS_SERVER).exists():
        pytest.fail("redis-server is missing: make test installs it (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        client.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_servers_share_one_limit_through_redis(tmp_path: Path, redis_url: str) -> None:
    built = build_small_index(tmp_path / "index")
    settings = {
        "HELPDESK_EMBEDDING": "fake",
        "HELPDESK_LLM": "extractive",
        "HELPDESK_RATE_LIMIT": "5/hour",
        "HELPDESK_RATE_LIMIT_STORAGE": redis_url,
    }
    servers = [
        helpdesk_server(name, settings, tmp_path, source=built.source_dir, data_dir=built.data_dir)
        for name in ("first", "second")
    ]
    with running(servers, timeout=180):
        first, second = (httpx.Client(base_url=s.url, timeout=30) for s in servers)
        # Five searches in all, spread over both processes: the shared budget.
        for client in (first, second, first, second, first):
            assert client.get("/api/search", params={"q": "warranty"}).status_code == 200
        for client in (second, first):
            refused = client.get("/api/search", params={"q": "warranty"})
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "rate_limited"
            assert int(refused.headers["Retry-After"]) > 0
        # The counters are in Redis, not in either process.
        with redis.Redis.from_url(redis_url) as store:
            keys = store.keys("*")
        first.close()
        second.close()
        assert any(b"helpdesk" in key for key in keys), keys
