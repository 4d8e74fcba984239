"""Abuse and web hygiene: rate limits (429 + Retry-After), the bounded LLM queue (503 +
Retry-After, never a hang), security headers on every route, and the OpenAPI description.

The limits are tested here with the memory storage and the Flask test client; test_abuse_redis.py
runs two ``helpdesk serve`` processes sharing a real redis-server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import build_small_index
from flask import Flask
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from helpdesk import create_app
from helpdesk.config import Settings
from helpdesk.service import Helpdesk

KEY, OTHER_KEY = "agent-key-one", "agent-key-two"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return replace(
        build_small_index(tmp_path_factory.mktemp("abuse")), agent_keys=f"{KEY},{OTHER_KEY}"
    )


def app_with(settings: Settings, **changes: Any) -> Flask:
    settings = replace(settings, **changes)
    app = create_app(settings, Helpdesk(settings))
    app.testing = True
    return app


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    assert body["status"] == status and body["code"] == code
    return body


def retry_after(response: TestResponse) -> int:
    value = int(response.headers["Retry-After"])
    assert value >= 1
    return value


# -- rate limits -------------------------------------------------------------------------------


def test_a_client_over_the_search_limit_gets_429_problem_with_retry_after(built: Settings) -> None:
    client = app_with(built, rate_limit="3/hour").test_client()
    for _ in range(3):
        assert client.get("/api/search?q=warranty").status_code == 200
    refused = client.get("/api/search?q=warranty")
    body = problem(refused, 429, "rate_limited")
    assert "3 per 1 hour" in body["detail"]
    assert 3000 < retry_after(refused) <= 3600
    # The limit is per client IP: another address still gets answers.
    other = client.get("/api/search?q=warranty", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    # One shared budget across the public endpoints it covers.
    problem(client.get("/api/config"), 429, "rate_limited")


def test_ask_has_its_own_stricter_limit(built: Settings) -> None:
    client = app_with(built, rate_limit="100/hour", rate_limit_ask="2/hour").test_client()
    question = {"question": "How long is the warranty?"}
    assert client.post("/api/ask", json=question).status_code == 200
    assert client.post("/api/ask/stream", json=question).status_code == 200
    problem(client.post("/api/ask", json=question), 429, "rate_limited")
    problem(client.post("/api/ask/stream", json=question), 429, "rate_limited")
    assert client.get("/api/search?q=warranty").status_code == 200  # a separate budget


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(built: Settings) -> None:
    spoofing = app_with(built, rate_limit="2/hour").test_client()
    for n in range(2):
        headers = {"X-Forwarded-For": f"203.0.113.{n}"}
        assert spoofing.get("/api/search?q=warranty", headers=headers).status_code == 200
    # A new X-Forwarded-For per request does not buy a new budget.
    headers = {"X-Forwarded-For": "203.0.113.77"}
    problem(spoofing.get("/api/search?q=warranty", headers=headers), 429, "rate_limited")

    proxied = app_with(built, rate_limit="2/hour", trusted_proxies=1).test_client()
    for _ in range(2):
        headers = {"X-Forwarded-For": "198.51.100.1"}
        assert proxied.get("/api/search?q=warranty", headers=headers).status_code == 200
    headers = {"X-Forwarded-For": "198.51.100.1"}
    problem(proxied.get("/api/search?q=warranty", headers=headers), 429, "rate_limited")
    # Behind the trusted proxy, each client has its own budget.
    headers = {"X-Forwarded-For": "198.51.100.2"}
    assert proxied.get("/api/search?q=warranty", headers=headers).status_code == 200


def test_agents_are_limited_per_key_and_key_guessing_per_address(built: Settings) -> None:
    client = app_with(built, rate_limit_agent="2/hour").test_client()
    one = {"Authorization": f"Bearer {KEY}"}
    two = {"Authorization": f"Bearer {OTHER_KEY}"}
    for _ in range(2):
        assert client.get("/api/agent/config", headers=one).status_code == 200
    problem(client.get("/api/agent/config", headers=one), 429, "rate_limited")
    # The same key from another address shares the key's budget...
    moved = client.get("/api/agent/config", headers=one, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    problem(moved, 429, "rate_limited")
    # ...while another agent's key has its own.
    assert client.get("/api/agent/config", headers=two).status_code == 200
    # Wrong keys spend the guessing address's budget, checked before the key is.
    guesser = {"REMOTE_ADDR": "10.0.0.66"}
    for n in range(2):
        wrong = {"Authorization": f"Bearer guess-{n}"}
        problem(
            client.get("/api/agent/config", headers=wrong, environ_base=guesser),
            403,
            "bad_credential",
        )
    wrong = {"Authorization": "Bearer guess-3"}
    problem(
        client.get("/api/agent/config", headers=wrong, environ_base=guesser), 429, "rate_limited"
    )


def test_pages_and_health_checks_are_not_limited(built: Settings) -> None:
    client = app_with(built, rate_limit="1/hour", rate_limit_ask="1/hour").test_client()
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 200
        assert client.get("/widget.js").status_code == 200


# -- the bounded queue for the LLM -------------------------------------------------------------


class GatedLLM:
    """A slow model: every generation waits for ``open`` before it writes a word."""

    name = "gated"

    def __init__(self) -> None:
        self.open = threading.Event()
        self.inside = threading.Semaphore(0)

    def warm_up(self) -> None:
        pass

    def stream(self, messages: Any, max_tokens: int, stop: Any = None) -> Iterator[str]:
        self.inside.release()
        assert self.open.wait(30), "the test never let the model write"
        yield "Every device has a two year limited warranty from the date of purchase [1]."


def test_a_full_llm_queue_answers_503_with_retry_after_at_once(built: Settings) -> None:
    settings = replace(built, llm_queue=1, llm_timeout=30.0)
    llm = GatedLLM()
    app = create_app(settings, Helpdesk(settings, llm=llm))
    question = {"question": "How long is the warranty?"}
    statuses: list[int] = []

    def ask() -> None:
        statuses.append(app.test_client().post("/api/ask", json=question).status_code)

    # One answer being written and one waiting: the queue (LLM_QUEUE=1) is full.
    held = [threading.Thread(target=ask) for _ in range(2)]
    for thread in held:
        thread.start()
    for _ in held:
        assert llm.inside.acquire(timeout=30)
    try:
        client = app.test_client()
        refused = client.post("/api/ask", json=question)
        body = problem(refused, 503, "overloaded")
        assert "HELPDESK_LLM_QUEUE" in body["detail"]
        assert retry_after(refused) >= 1
        # The stream fails before it starts: a problem, not a broken event stream.
        streamed = client.post("/api/ask/stream", json=question)
        problem(streamed, 503, "overloaded")
        assert "Retry-After" in streamed.headers
    finally:
        llm.open.set()
        for thread in held:
            thread.join(30)
    assert statuses == [200, 200]
    # The places are given back: the next question is answered.
    assert app.test_client().post("/api/ask", json=question).status_code == 200
    helpdesk = app.extensions["helpdesk"]
    assert (helpdesk.llm_queue.admitted, helpdesk.llm_queue.refused) == (3, 2)


# -- headers, on every route -------------------------------------------------------------------


def _every_route(app: Flask) -> Iterator[tuple[str, str]]:
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<ticket_id>", "T-unknown").replace("<name>", "rates")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, path


def test_security_headers_on_every_route_and_every_error(built: Settings) -> None:
    app = app_with(built, hsts_max_age=600)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {KEY}"}
    seen = 0
    for method, path in _every_route(app):
        for headers in ({}, auth):
            response = client.open(path, method=method, headers=headers, json={})
            where = f"{method} {path} -> {response.status_code}"
            assert response.headers["X-Content-Type-Options"] == "nosniff", where
            assert response.headers["Referrer-Policy"], where
            assert "Strict-Transport-Security" not in response.headers, where  # plain http
            if path == "/widget.js":
                assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
                assert "X-Frame-Options" not in response.headers
            else:
                assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin", where
                assert response.headers["X-Frame-Options"] == "DENY", where
                assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            if path.startswith("/api/"):
                assert response.headers["Cache-Control"] == "no-store", where
            seen += 1
    assert seen > 40
    # An unknown path and a wrong method are responses too.
    for response in (client.get("/nowhere"), client.delete("/api/search")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_hsts_only_over_https(built: Settings) -> None:
    client = app_with(built, hsts_max_age=600, trusted_proxies=1).test_client()
    plain = client.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers
    secure = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"] == "max-age=600"
    # Without a trusted proxy, a client cannot claim https.
    direct = app_with(built, hsts_max_age=600).test_client()
    assert (
        "Strict-Transport-Security"
        not in direct.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    )


# -- the OpenAPI description -------------------------------------------------------------------


def test_openapi_describes_every_api_route_and_validates(built: Settings) -> None:
    app = app_with(built)
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    described = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    for method, path in _every_route(app):
        if path.startswith("/api/"):
            templated = path.replace("T-unknown", "{ticket_id}").replace("rates.", "{name}.")
            assert (method, templated) in described, (method, path)
    ask = document["paths"]["/api/ask"]["post"]
    assert ask["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AskRequest"
    )
    for status in ("400", "422", "429", "503"):
        assert status in ask["responses"]
    problem_schema = document["components"]["schemas"]["Problem"]
    assert set(problem_schema["required"]) == {"type", "title", "status", "detail", "code"}
    assert document["components"]["responses"]["Error429"]["headers"]["Retry-After"]
    assert document["paths"]["/api/agent/tickets/{ticket_id}"]["get"]["security"]


def test_a_named_key_is_limited_per_name_once_it_has_signed_in(
    built: Settings, tmp_path: Path
) -> None:
    from helpdesk.credentials import add_key

    keys_file = tmp_path / "agent-keys.json"
    key = add_key(keys_file, "mina")
    client = app_with(
        built, rate_limit_agent="2/hour", agent_keys_file=str(keys_file)
    ).test_client()
    headers = {"Authorization": f"Bearer {key}"}

    def get(address: str) -> int:
        environ = {"REMOTE_ADDR": address}
        return client.get("/api/agent/config", headers=headers, environ_base=environ).status_code

    # The first request counts against its address (the key is not checked yet when the
    # limiter runs), the next ones against the name, from whatever address.
    assert [get("10.0.1.1"), get("10.0.1.2"), get("10.0.1.3")] == [200, 200, 200]
    assert get("10.0.1.4") == 429
    assert get("10.0.1.1") == 429  # the name's budget, wherever the key comes from
