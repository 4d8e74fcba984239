"""LLM backends behind one small protocol: stream the reply to a chat, token by token.

``llamacpp`` runs a GGUF file in-process through llama-cpp-python (the bundled model by default);
``openai`` talks to any OpenAI-compatible endpoint (vLLM, Ollama, a llama.cpp server, OpenAI).
``extractive`` means no LLM at all: :func:`make_llm` returns None and answers are quoted.
Every failure surfaces as :class:`LLMError` with a reason, so the caller can fall back to the
extractive answer instead of failing the request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..config import Settings
from ..errors import ConfigError
from .bundled import INSTALL_HINT, bundled_model_path

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

Message = dict[str, str]


class LLMError(Exception):
    """Generation failed or timed out; ``reason`` is logged and reported, never shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChatModel(Protocol):
    name: str

    def stream(
        self, messages: list[Message], max_tokens: int, stop: threading.Event | None = None
    ) -> Iterator[str]:
        """The reply's text pieces as they are generated. Closing the iterator, or setting
        ``stop``, ends the generation."""
        ...

    def warm_up(self) -> None:
        """Load now rather than on the first question."""
        ...


class LlamaCppModel:
    """A GGUF model in this process. One generation at a time: others wait their turn for up
    to ``wait`` seconds, then get an LLMError (and so the extractive answer)."""

    name = "llamacpp"

    def __init__(
        self,
        model_path: str = "",
        *,
        threads: int = 2,
        context: int = 4096,
        wait: float = 20.0,
        cache_dir: Path | None = None,
        llama: Any = None,
    ) -> None:
        """``llama`` is a loaded ``llama_cpp.Llama`` to use instead of loading ``model_path``
        (one model shared by several services, or a stand-in in tests)."""
        self.model_path = model_path
        self.threads = threads
        self.context = context
        self.wait = wait
        self.cache_dir = cache_dir
        self._llama: Any = llama
        self._load_lock = threading.Lock()
        self._turn = threading.Lock()

    def _path(self) -> str:
        if self.model_path:
            path = Path(self.model_path).expanduser()
            if not path.is_file():
                raise ConfigError(f"HELPDESK_LLM_MODEL: no GGUF file at {path}")
            return str(path)
        return str(bundled_model_path(self.cache_dir))

    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError:
                    raise ConfigError(
                        f"HELPDESK_LLM=llamacpp needs llama-cpp-python: {INSTALL_HINT} "
                        "(or set HELPDESK_LLM=extractive)"
                    ) from None
                path = self._path()
                started = time.monotonic()
                self._llama = Llama(
                    model_path=path, n_ctx=self.context, n_threads=self.threads, verbose=False
                )
                log.info("loaded %s in %.1f s", Path(path).name, time.monotonic() - started)
            return self._llama

    def warm_up(self) -> None:
        self._model()

    def stream(
        self, messages: list[Message], max_tokens: int, stop: threading.Event | None = None
    ) -> Iterator[str]:
        llama = self._model()
        if not self._turn.acquire(timeout=self.wait):
            raise LLMError(f"the local model was busy for {self.wait:g} s")
        try:
            if stop is not None and stop.is_set():
                return  # given up on while waiting its turn: don't evaluate the prompt at all
            chunks = llama.create_chat_completion(
                messages=messages, stream=True, max_tokens=max_tokens, temperature=0.1
            )
            try:
                for chunk in chunks:
                    if stop is not None and stop.is_set():
                        break
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                chunks.close()
        except (RuntimeError, ValueError) as exc:
            raise LLMError(f"llama.cpp failed: {exc}") from exc
        finally:
            self._turn.release()


class OpenAICompatibleModel:
    """Any endpoint that speaks the OpenAI chat-completions API, streamed.

    ``http_client`` is the I/O boundary: tests hand in an ``httpx.Client`` over a
    ``MockTransport``. The timeouts here still apply to every request made through it.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "",
        api_key: str = "",
        timeout: float = 60.0,
        first_token_timeout: float = 20.0,
        retries: int = 1,
        http_client: httpx.Client | None = None,
    ) -> None:
        import openai

        self.model = model
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=base_url or None,
            api_key=api_key or "unused",  # local servers accept anything; the client wants one
            # Given explicitly, this timeout is sent with every request and so overrides the
            # injected client's own: the settings decide, not whoever built the client.
            timeout=openai.Timeout(timeout, connect=min(5.0, timeout), read=first_token_timeout),
            max_retries=retries,
            # Recent openai releases type this as httpx2.Client but accept an httpx.Client too.
            http_client=cast(Any, http_client),
        )

    def warm_up(self) -> None:
        """Nothing to load here; the endpoint's health is its own."""

    def stream(
        self, messages: list[Message], max_tokens: int, stop: threading.Event | None = None
    ) -> Iterator[str]:
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                max_tokens=max_tokens,
                temperature=0.1,
            )
        except self._openai.OpenAIError as exc:
            raise LLMError(f"{type(exc).__name__}: {exc}") from exc
        chunks: Any = response
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except self._openai.OpenAIError as exc:
            raise LLMError(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # read timeouts and dropped connections mid-stream
            if type(exc).__module__.startswith(("httpx", "httpcore")):
                raise LLMError(f"{type(exc).__name__}: {exc}") from exc
            raise
        finally:
            chunks.close()


def make_llm(settings: Settings) -> ChatModel | None:
    """The configured backend, or None for extractive-only answers."""
    if settings.llm == "extractive":
        return None
    if settings.llm == "llamacpp":
        return LlamaCppModel(
            settings.llm_model,
            threads=settings.llm_threads,
            context=settings.llm_context,
            wait=settings.llm_first_token_timeout,
        )
    if settings.llm == "openai":
        return OpenAICompatibleModel(
            settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            first_token_timeout=settings.llm_first_token_timeout,
            retries=settings.llm_retries,
        )
    raise ConfigError(f"HELPDESK_LLM: unknown backend {settings.llm!r}")
