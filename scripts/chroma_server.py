"""A real Chroma server (`chroma run` from the chromadb package) on a free loopback port, for the
test suite's session fixture and the benchmark's Chroma-server rows alike."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from scripts.processes import free_port, stop


@contextlib.contextmanager
def running_chroma(folder: Path, host: str = "127.0.0.1", timeout: float = 60.0) -> Iterator[int]:
    """``chroma run`` over ``folder``/db, its output in ``folder``/chroma.log, waited for until
    its heartbeat answers; yields its port, and stops it afterwards. RuntimeError, with the
    log's end, when it exits or does not answer within ``timeout`` seconds."""
    chroma = Path(sys.executable).with_name("chroma")  # the venv's, from the chromadb package
    command = str(chroma) if chroma.exists() else shutil.which("chroma") or "chroma"
    port = free_port(host)
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "chroma.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [command, "run", "--path", str(folder / "db"), "--host", host, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                tail = log.read_text("utf-8", "replace")[-2000:]
                raise RuntimeError(f"the Chroma server stopped:\n{tail}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=2).is_success:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Chroma server did not answer its heartbeat in {timeout:g} s"
                )
            time.sleep(0.2)
        yield port
    finally:
        stop(process)
