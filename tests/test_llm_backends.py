"""The LLM backends' error paths, fast: no model is loaded and nothing goes over the network.

The local backend gets a fake llama object with queued replies; the OpenAI-compatible backend gets
an ``httpx.Client`` over a ``MockTransport`` that answers like an OpenAI endpoint would (real
``text/event-stream`` bodies, real error statuses). The real model and a real endpoint are
exercised in test_llm.py.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk.config import Settings
from helpdesk.errors import ConfigError
from helpdesk.llm import LlamaCppModel, LLMError, OpenAICompatibleModel, make_llm
from helpdesk.llm.bundled import INSTALL_HINT

MESSAGES = [{"role": "user", "content": "How long is the warranty?"}]
BASE_URL = "http://llm.test/v1"
# The endpoint asks for a 1 ms pause before a retry, so retried requests cost no test time.
RETRY_NOW = {"retry-after-ms": "1"}


# -- make_llm -------------------------------------------------------------------------------------


def test_make_llm_names_an_unknown_backend() -> None:
    settings = Settings(llm="gpt-in-a-box")  # the constructor does not check choices; from_env does
    with pytest.raises(ConfigError, match="HELPDESK_LLM: unknown backend 'gpt-in-a-box'"):
        make_llm(settings)


def test_make_llm_extractive_means_no_model() -> None:
    assert make_llm(Settings(llm="extractive")) is None


def test_make_llm_builds_each_backend_without_loading_anything() -> None:
    local = make_llm(Settings(llm="llamacpp", llm_first_token_timeout=3.5))
    assert isinstance(local, LlamaCppModel)
    assert local.wait == 3.5  # a busy model is waited for as long as a first token would be
    assert local._llama is None
    remote = make_llm(Settings(llm="openai", llm_model="m", llm_base_url=BASE_URL))
    assert isinstance(remote, OpenAICompatibleModel) and remote.model == "m"


# -- llamacpp: loading ----------------------------------------------------------------------------


def test_llamacpp_missing_model_file_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in llama_cpp: this test runs without the local-llm extra, and must not load.
    stand_in = types.ModuleType("llama_cpp")
    stand_in.Llama = None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", stand_in)
    missing = tmp_path / "nowhere" / "model.gguf"
    model = LlamaCppModel(str(missing))
    with pytest.raises(ConfigError, match="HELPDESK_LLM_MODEL") as raised:
        model.warm_up()
    assert str(missing) in str(raised.value)


def test_llamacpp_without_llama_cpp_python_names_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    model = LlamaCppModel(str(tmp_path / "model.gguf"))
    with pytest.raises(ConfigError, match="llama-cpp-python") as raised:
        model.warm_up()
    assert INSTALL_HINT in str(raised.value)
    assert "HELPDESK_LLM=extractive" in str(raised.value)


# -- llamacpp: one generation at a time -----------------------------------------------------------


class FakeChunks:
    """What ``Llama.create_chat_completion(stream=True)`` returns: chunks, and a close()."""

    def __init__(self, pieces: list[str], error: Exception | None = None) -> None:
        self._pieces = pieces
        self._error = error
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield {"choices": [{"delta": {"role": "assistant"}}]}  # the first chunk has no text
        for piece in self._pieces:
            yield {"choices": [{"delta": {"content": piece}}]}
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self.closed = True


class FakeLlama:
    """A llama_cpp.Llama stand-in that replies with queued pieces and records each prompt."""

    def __init__(self, *replies: FakeChunks) -> None:
        self._replies = list(replies)
        self.prompts: list[list[dict[str, str]]] = []

    def create_chat_completion(self, *, messages: list[dict[str, str]], **_: Any) -> FakeChunks:
        self.prompts.append(messages)
        return self._replies.pop(0)


def local_model(llama: FakeLlama, wait: float = 0.05) -> LlamaCppModel:
    return LlamaCppModel(wait=wait, llama=llama)  # loaded already, as far as the model knows


def test_llamacpp_streams_the_pieces_and_closes_the_generation() -> None:
    reply = FakeChunks(["The warranty ", "lasts two years."])
    llama = FakeLlama(reply)
    pieces = list(local_model(llama).stream(MESSAGES, max_tokens=20))
    assert pieces == ["The warranty ", "lasts two years."]
    assert llama.prompts == [MESSAGES] and reply.closed


def test_llamacpp_second_question_waits_then_reports_busy() -> None:
    first = FakeChunks(["one ", "two ", "three"])
    llama = FakeLlama(first, FakeChunks(["again"]))
    model = local_model(llama, wait=0.05)
    generating = model.stream(MESSAGES, max_tokens=20)
    assert next(generating) == "one "  # the first answer holds the model mid-generation

    started = time.monotonic()
    with pytest.raises(LLMError, match="busy") as raised:
        next(model.stream(MESSAGES, max_tokens=20))
    waited = time.monotonic() - started
    assert 0.05 <= waited < 1.0, waited
    assert "0.05 s" in raised.value.reason
    assert len(llama.prompts) == 1  # the refused question never reached the model

    generating.close()  # the first answer ends: its turn is given back
    assert first.closed
    assert list(model.stream(MESSAGES, max_tokens=20)) == ["again"]


def test_llamacpp_question_given_up_while_waiting_is_never_evaluated() -> None:
    llama = FakeLlama(FakeChunks(["one ", "two"]), FakeChunks(["never"]))
    model = local_model(llama, wait=5.0)
    generating = model.stream(MESSAGES, max_tokens=20)
    next(generating)

    stop = threading.Event()
    pieces: list[str] = []
    errors: list[Exception] = []

    def second() -> None:
        try:
            pieces.extend(model.stream(MESSAGES, max_tokens=20, stop=stop))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    waiting = threading.Thread(target=second)
    waiting.start()
    time.sleep(0.05)  # the second question is now waiting for its turn
    stop.set()  # ... and its caller gives up on it
    generating.close()
    waiting.join(timeout=5.0)
    assert not waiting.is_alive()
    assert pieces == [] and errors == []
    assert len(llama.prompts) == 1  # only the first question's prompt was evaluated
    assert model._turn.acquire(blocking=False)  # and the turn was given back


def test_llamacpp_stop_during_generation_ends_it_and_frees_the_model() -> None:
    reply = FakeChunks(["one ", "two ", "three"])
    model = local_model(FakeLlama(reply, FakeChunks(["next"])))
    stop = threading.Event()
    pieces = []
    for piece in model.stream(MESSAGES, max_tokens=20, stop=stop):
        pieces.append(piece)
        stop.set()
    assert pieces == ["one "] and reply.closed
    assert list(model.stream(MESSAGES, max_tokens=20)) == ["next"]


def test_llamacpp_failure_is_an_llm_error_and_frees_the_model() -> None:
    failing = FakeChunks(["partial "], RuntimeError("llama_decode returned -3"))
    model = local_model(FakeLlama(failing, FakeChunks(["next"])))
    pieces = []
    with pytest.raises(LLMError, match=r"^llama\.cpp failed: llama_decode returned -3$"):
        for piece in model.stream(MESSAGES, max_tokens=20):
            pieces.append(piece)
    assert pieces == ["partial "] and failing.closed
    assert list(model.stream(MESSAGES, max_tokens=20)) == ["next"]


# -- openai: an endpoint answering through MockTransport ------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


class Endpoint:
    """A MockTransport handler that counts its calls and keeps the requests."""

    def __init__(self, answer: Handler) -> None:
        self._answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)


def remote_model(endpoint: Endpoint, **options: Any) -> OpenAICompatibleModel:
    client = httpx.Client(transport=httpx.MockTransport(endpoint))
    return OpenAICompatibleModel("tiny", base_url=BASE_URL, http_client=client, **options)


def chunk_event(content: str | None, finish: str | None = None) -> str:
    """One chat.completion.chunk as the endpoint sends it over SSE."""
    delta = {"content": content} if content is not None else {"role": "assistant"}
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": "tiny",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def sse(*events: str) -> httpx.Response:
    body = "".join(events) + "data: [DONE]\n\n"
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body.encode("utf-8")
    )


def error(status: int, message: str, **headers: str) -> Handler:
    body = {"error": {"message": message, "type": "server_error", "code": None}}
    return lambda request: httpx.Response(status, json=body, headers=headers)


def test_openai_streams_the_pieces_in_order() -> None:
    endpoint = Endpoint(
        lambda request: sse(
            chunk_event(None),  # the role comes first, with no text
            chunk_event("The warranty "),
            chunk_event("lasts "),
            chunk_event("two years [1]."),
            chunk_event(None, finish="stop"),
        )
    )
    model = remote_model(endpoint)
    assert list(model.stream(MESSAGES, max_tokens=42)) == [
        "The warranty ",
        "lasts ",
        "two years [1].",
    ]
    (request,) = endpoint.requests
    assert request.url == f"{BASE_URL}/chat/completions"
    sent = json.loads(request.content)
    assert sent["model"] == "tiny" and sent["messages"] == MESSAGES
    assert sent["stream"] is True and sent["max_tokens"] == 42


def test_openai_empty_stream_yields_nothing() -> None:
    endpoint = Endpoint(lambda request: sse())
    assert list(remote_model(endpoint).stream(MESSAGES, max_tokens=10)) == []
    assert len(endpoint.requests) == 1


def test_openai_settings_timeouts_apply_to_an_injected_client() -> None:
    endpoint = Endpoint(lambda request: sse(chunk_event("ok")))
    client = httpx.Client(transport=httpx.MockTransport(endpoint), timeout=99.0)
    model = OpenAICompatibleModel(
        "tiny", base_url=BASE_URL, http_client=client, timeout=30.0, first_token_timeout=7.0
    )
    assert list(model.stream(MESSAGES, max_tokens=10)) == ["ok"]
    # connect is capped at 5 s; read is the wait for the first token; the rest is the timeout.
    timeout = endpoint.requests[0].extensions["timeout"]
    assert timeout == {"connect": 5.0, "read": 7.0, "write": 30.0, "pool": 30.0}


@pytest.mark.parametrize(("retries", "calls"), [(0, 1), (1, 2), (2, 3)])
def test_openai_server_error_is_retried_as_configured(retries: int, calls: int) -> None:
    endpoint = Endpoint(error(500, "the model crashed", **RETRY_NOW))
    model = remote_model(endpoint, retries=retries)
    with pytest.raises(LLMError) as raised:
        list(model.stream(MESSAGES, max_tokens=10))
    assert raised.value.reason.startswith("InternalServerError: Error code: 500")
    assert "the model crashed" in raised.value.reason
    assert len(endpoint.requests) == calls


def test_openai_rejected_key_is_not_retried() -> None:
    endpoint = Endpoint(error(401, "Incorrect API key provided"))
    with pytest.raises(LLMError) as raised:
        list(remote_model(endpoint, retries=1).stream(MESSAGES, max_tokens=10))
    assert raised.value.reason.startswith("AuthenticationError: Error code: 401")
    assert "Incorrect API key" in raised.value.reason
    assert len(endpoint.requests) == 1


def test_openai_rate_limit_is_retried_then_reported() -> None:
    endpoint = Endpoint(error(429, "Rate limit reached", **RETRY_NOW))
    with pytest.raises(LLMError) as raised:
        list(remote_model(endpoint, retries=1).stream(MESSAGES, max_tokens=10))
    assert raised.value.reason.startswith("RateLimitError: Error code: 429")
    assert len(endpoint.requests) == 2


def test_openai_rate_limit_then_success_generates() -> None:
    answers = iter(
        [error(429, "Rate limit reached", **RETRY_NOW), lambda r: sse(chunk_event("ok"))]
    )
    endpoint = Endpoint(lambda request: next(answers)(request))
    assert list(remote_model(endpoint, retries=1).stream(MESSAGES, max_tokens=10)) == ["ok"]
    assert len(endpoint.requests) == 2


def test_openai_unreachable_endpoint_is_a_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    endpoint = Endpoint(refuse)
    with pytest.raises(LLMError, match=r"^APIConnectionError: Connection error\."):
        list(remote_model(endpoint, retries=0).stream(MESSAGES, max_tokens=10))
    assert len(endpoint.requests) == 1


def test_openai_no_first_token_in_time_is_a_timeout() -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    endpoint = Endpoint(silent)
    with pytest.raises(LLMError, match=r"^APITimeoutError: Request timed out\."):
        list(remote_model(endpoint, retries=0).stream(MESSAGES, max_tokens=10))
    assert len(endpoint.requests) == 1


class StallingBody(httpx.SyncByteStream):
    """An SSE body that sends its first events, then times out as a stalled server would."""

    def __init__(self, first: str) -> None:
        self._first = first
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield self._first.encode("utf-8")
        raise httpx.ReadTimeout("timed out")

    def close(self) -> None:
        self.closed = True


def test_openai_read_timeout_mid_stream_is_an_llm_error() -> None:
    body = StallingBody(chunk_event("The warranty ") + chunk_event("lasts "))
    endpoint = Endpoint(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=body
        )
    )
    pieces = []
    # openai 1.x lets the httpx error through; later releases wrap it in APITimeoutError.
    with pytest.raises(LLMError, match=r"^(APITimeoutError|ReadTimeout): ") as raised:
        for piece in remote_model(endpoint).stream(MESSAGES, max_tokens=10):
            pieces.append(piece)
    assert "timed out" in raised.value.reason
    assert pieces == ["The warranty ", "lasts "]  # what came before the stall was passed on
    assert body.closed
    assert len(endpoint.requests) == 1  # a stream that has begun is never retried


def test_openai_closing_the_stream_closes_the_response() -> None:
    body = StallingBody(chunk_event("The warranty ") + chunk_event("lasts "))
    endpoint = Endpoint(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=body
        )
    )
    generating = remote_model(endpoint).stream(MESSAGES, max_tokens=10)
    assert next(generating) == "The warranty "
    generating.close()
    assert body.closed
