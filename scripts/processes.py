"""The servers the benchmarks and the test suite start as child processes: a port for each,
and stopping them."""

from __future__ import annotations

import socket
import subprocess


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
