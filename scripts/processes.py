"""Stopping the servers the benchmarks and the test suite start as child processes."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Ask ``process`` to end (SIGTERM), wait up to ``timeout`` seconds, then kill it; a process
    that already ended is only reaped."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
