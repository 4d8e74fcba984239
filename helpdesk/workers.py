"""``helpdesk serve --workers N``: several worker processes on one machine, under gunicorn.

What is where:

- **The master** (the ``helpdesk serve`` process itself, gunicorn's arbiter) builds the app and
  loads the models before it forks (:meth:`~helpdesk.service.Helpdesk.warm_models`): the
  embedding models, the Korean analyser, the frustration classifier and the verifier's USE
  model, the reranker. The workers share those pages copy-on-write. It migrates the database
  once, then lets go of it. It never opens the index (a Chroma client), never keeps the store
  (a SQLAlchemy engine and a writer thread) and never loads llama.cpp: none of these may cross
  a fork.
- **Each worker** (a gthread worker: HELPDESK_THREADS threads, so a slow SSE stream holds one
  thread, not the process) opens its own store and the index generation CURRENT names, and
  follows CURRENT on its own, every HELPDESK_RELOAD_INTERVAL seconds: all of them move to a new
  generation without a restart.
- **One worker** runs the background work (webhook deliveries, the retention purge): the one
  holding an exclusive lock on ``DATA_DIR/background.lock``. The others try again every
  :data:`CLAIM_EVERY_SECONDS`, so when that worker dies its replacement (or a sibling) takes over.
- **The LLM**, with HELPDESK_LLM=llamacpp: one llama-cpp-python server on a free loopback port
  (:class:`LLMServer`), started before the models load and stopped when the master stops, even
  when it is killed (the kernel sends it SIGTERM). The workers call it through the openai
  backend. HELPDESK_LLM_QUEUE stays the bound of the whole machine: it is shared out between the
  workers (:func:`per_worker_queue`).
- **Rate limits** count per worker with memory:// storage; HELPDESK_RATE_LIMIT_STORAGE=redis://
  shares them.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .app import create_app
from .config import Settings
from .errors import ConfigError, HelpdeskError
from .experiments import VARIANTS_EXTENSION
from .service import Helpdesk

log = logging.getLogger("helpdesk.workers")

# How often a worker without the background lock tries to take it.
CLAIM_EVERY_SECONDS = 10.0
# How long the shared LLM server may take to load its model.
LLM_SERVER_START_SECONDS = 300.0
# The model name the shared LLM server answers to.
LLM_ALIAS = "helpdesk-local"
BACKGROUND_LOCK = "background.lock"


def per_worker_queue(waiting: int, workers: int) -> int:
    """Each worker's HELPDESK_LLM_QUEUE so that the whole machine admits at most ``waiting``
    + 1 questions (one being written, the rest waiting), as one process does; but at least one
    question per worker, or a worker could never ask the model."""
    per_worker = max(1, (waiting + 1) // workers)
    return per_worker - 1


def _die_with_parent() -> None:
    """In the LLM server's process, before it runs: SIGTERM when its parent dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LLMServer:
    """llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) on a free
    loopback port, serving HELPDESK_LLM_MODEL or the bundled model, with a key of its own.

    It writes one answer at a time and holds the others on its lock (``interrupt_requests`` is
    off: by default a new request would cut the stream being written); the workers' queues
    bound how many wait there."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.settings = settings
        self.port = port or _free_port()
        self.key = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None
        # gunicorn's workers are forks of the process that started the server, and unwind its
        # stack when they exit: only this process stops the server.
        self.owner = os.getpid()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        from .llm.bundled import bundled_model_path

        model = self.settings.llm_model.strip() or str(bundled_model_path())
        return [
            *[sys.executable, "-m", "llama_cpp.server", "--model", model],
            *["--model_alias", LLM_ALIAS, "--host", "127.0.0.1", "--port", str(self.port)],
            *["--n_threads", str(self.settings.llm_threads)],
            *["--n_ctx", str(self.settings.llm_context)],
            *["--interrupt_requests", "False"],
        ]

    def start(self) -> None:
        """Start the server (it loads the model meanwhile: see :meth:`wait`)."""
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError as error:
            raise ConfigError(
                "HELPDESK_LLM=llamacpp with several workers runs llama-cpp-python's server: "
                "pip install 'llama-cpp-python[server]' (or HELPDESK_LLM=openai with your own "
                f"endpoint): {error}"
            ) from None
        command = self.command()
        # The key by environment (pydantic-settings reads API_KEY), not in ps's view.
        env = {**os.environ, "API_KEY": self.key}
        self.process = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)
        log.info("shared LLM server (pid %d) at %s", self.process.pid, self.base_url)

    def wait(self, timeout: float = LLM_SERVER_START_SECONDS) -> None:
        """Until the server answers, or a ConfigError when it exits or takes too long."""
        import httpx

        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {self.key}"}
        while True:
            if self.process is None or self.process.poll() is not None:
                raise ConfigError("the shared LLM server exited at start (see its log above)")
            try:
                if httpx.get(f"{self.base_url}/models", headers=headers, timeout=5).is_success:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ConfigError(f"the shared LLM server was not up in {timeout:g} s")
            time.sleep(0.5)

    def worker_settings(self, settings: Settings, workers: int) -> Settings:
        """The workers' settings: the openai backend pointed at this server."""
        return settings.replace(
            llm="openai",
            llm_base_url=self.base_url,
            llm_model=LLM_ALIAS,
            llm_api_key=self.key,
            llm_queue=per_worker_queue(settings.llm_queue, workers),
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; waited for, so it is never left behind."""
        if os.getpid() != self.owner:
            return
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def shared_llm(settings: Settings, workers: int) -> Iterator[tuple[Settings, LLMServer | None]]:
    """The settings the workers serve with, and with HELPDESK_LLM=llamacpp the shared LLM
    server, started (not yet waited for) and stopped afterwards, whatever happened."""
    if settings.llm != "llamacpp":
        yield settings.replace(llm_queue=per_worker_queue(settings.llm_queue, workers)), None
        return
    server = LLMServer(settings)
    server.start()
    try:
        yield server.worker_settings(settings, workers), server
    finally:
        server.stop()


class _BackgroundClaim:
    """The worker's claim on the background work: the first to lock DATA_DIR/background.lock
    runs it until it exits (the kernel releases the lock with the process)."""

    def __init__(self, helpdesk: Helpdesk) -> None:
        self.helpdesk = helpdesk
        self.path = Path(helpdesk.settings.data_dir) / BACKGROUND_LOCK
        self.stop = threading.Event()
        self._fd: int | None = None

    def run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while not self.stop.is_set():
            if self.helpdesk.store() is None:
                # The database is away: the work could not start, so leave the lock to a
                # worker that can, or to this one later.
                self.stop.wait(CLAIM_EVERY_SECONDS)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.stop.wait(CLAIM_EVERY_SECONDS)
                continue
            self._fd = fd  # held, open, for the rest of this process's life
            log.info("worker %d runs the webhook deliveries and the retention purge", os.getpid())
            self.helpdesk.start_background()
            return
        os.close(fd)


def _hooks(app: Any) -> dict[str, Callable[..., None]]:
    """gunicorn's server hooks: what each worker does after the fork, and before it exits."""
    variants = app.extensions[VARIANTS_EXTENSION]
    claims: list[_BackgroundClaim] = []

    def post_fork(server: Any, worker: Any) -> None:
        # In the new worker: the index and the store open here, per process, on first use.
        def warm() -> None:
            try:
                variants.warm_up()
            except HelpdeskError as error:
                log.warning("not ready yet: %s", error.detail)

        threading.Thread(target=warm, name="warm-up", daemon=True).start()
        claim = _BackgroundClaim(variants.base)
        claims.append(claim)
        threading.Thread(target=claim.run, name="background-claim", daemon=True).start()

    def worker_exit(server: Any, worker: Any) -> None:
        # The store's queued writes reach the database before the worker ends.
        for claim in claims:
            claim.stop.set()
        variants.close()
        if getattr(worker, "booted", False):
            # Ended as planned: leave now. Interpreter shutdown in a fork would run the native
            # libraries' destructors, which join thread pools that only the master has (the
            # worker aborts with std::system_error, or a segfault).
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    return {"post_fork": post_fork, "worker_exit": worker_exit}


def gunicorn_options(settings: Settings, workers: int) -> dict[str, Any]:
    """The gunicorn settings `helpdesk serve --workers N` runs with (docs/deployment.md)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return {
        "bind": [f"{host}:{settings.port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": settings.threads,
        "preload_app": True,
        # gthread workers beat from their main loop, so a long stream does not time out.
        "timeout": 60,
        "graceful_timeout": 30,
        "keepalive": 5,
        "proc_name": "helpdesk",
        "loglevel": settings.log_level.lower(),
        "errorlog": "-",
        "control_socket_disable": True,
    }


def build(settings: Settings, workers: int) -> Any:
    """The app the workers serve, built in the master: models loaded, database migrated and
    released, index not opened."""
    limits = (settings.rate_limit, settings.rate_limit_ask, settings.rate_limit_agent)
    if workers > 1 and settings.rate_limit_storage.strip().startswith("memory") and any(limits):
        log.warning(
            "rate limits count per worker with memory:// storage: a client gets up to %d "
            "times each limit; set HELPDESK_RATE_LIMIT_STORAGE=redis://HOST:PORT to share them",
            workers,
        )
    helpdesk = Helpdesk(settings)
    try:
        app = create_app(settings, helpdesk)  # a bad HELPDESK_EXPERIMENT file fails here
        helpdesk.warm_models()
        helpdesk.store()  # migrated once, here
        helpdesk.release_store()
    except BaseException:
        helpdesk.close()
        raise
    # What is loaded stays out of the cyclic collector's reach: its passes in the workers
    # would write to every object's header, copying the pages the workers share.
    gc.collect()
    gc.freeze()
    return app


def serve(settings: Settings, workers: int) -> None:
    """Serve with gunicorn until SIGTERM or Ctrl-C; the shared LLM server stops with it."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def __init__(self, app: Any, options: dict[str, Any]) -> None:
            self.application = app
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return self.application

    with shared_llm(settings, workers) as (worker_settings, llm_server):
        app = build(worker_settings, workers)
        if llm_server is not None:
            llm_server.wait()  # it loaded its model while ours loaded
            log.info("the workers answer through the shared LLM server at %s", llm_server.base_url)
        options = {**gunicorn_options(worker_settings, workers), **_hooks(app)}
        Application(app, options).run()
