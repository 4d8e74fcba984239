"""The on-disk embedding cache's file store, safe against an ingest killed mid-write.

LangChain's ``LocalFileStore`` writes each value in place, so a process killed while writing
leaves an empty or truncated file, and the next ingest fails decoding it. Here a value is
written to a temporary file beside its key and renamed over it (``os.replace`` is atomic on one
file system), and a value that is not a whole JSON list (left by an older version, or by a disk
that filled up) reads as missing: it is embedded again and overwritten.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence

from langchain_classic.storage import LocalFileStore


class DurableFileStore(LocalFileStore):
    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        for key, value in key_value_pairs:
            path = self._get_full_path(key)
            self._mkdir_for_store(path.parent)
            handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".partial")
            try:
                with os.fdopen(handle, "wb") as output:
                    output.write(value)
                os.replace(partial, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(partial)
                raise

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        return [
            value if value is not None and _whole(value) else None for value in super().mget(keys)
        ]


def _whole(value: bytes) -> bool:
    """A cached vector is a JSON list: a write cut short lacks its closing bracket."""
    value = value.strip()
    return value.startswith(b"[") and value.endswith(b"]")
