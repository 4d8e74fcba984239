"""Agents' named keys: a JSON file of ``{name: "scrypt$N$r$p$SALT$HASH"}`` (salted scrypt, so a
copy of the file gives no usable key), managed by ``helpdesk agents add|list|revoke`` and
re-read by the server when it changes, so a revoked key stops working without a restart.

Checking a key runs scrypt against each entry once (about 0.1 s each on two cores); a key that
matched is then remembered in memory, by its SHA-256, until the file changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
KEY_PREFIX = "hdk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
log = logging.getLogger(__name__)
CHECK_EVERY = 1.0  # seconds between looks at the file's modification time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_key(key: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``key`` in the form the keys file keeps."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(key.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def key_matches(key: str, stored: str) -> bool:
    """Does ``key`` hash to ``stored``? Constant-time comparison; False for a malformed entry."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(
            key.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def read_keys(path: Path) -> dict[str, str]:
    """The file's entries (name -> hash); none when it does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of name -> key hash")
    return {str(name): str(value) for name, value in data.items()}


def write_keys(path: Path, keys: dict[str, str]) -> None:
    """Replace the file atomically (a reader sees the old or the new file), readable by its
    owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".agent-keys-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(dict(sorted(keys.items())), out, indent=2)
            out.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_key(path: Path, name: str) -> str:
    """A new random key for ``name`` (replacing its old one): returned once, stored hashed."""
    if not valid_name(name):
        raise ValueError(f"{name!r} is not a name: letters, digits and . _ @ - (up to 64)")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    keys = read_keys(path)
    keys[name] = hash_key(key)
    write_keys(path, keys)
    return key


def revoke_key(path: Path, name: str) -> bool:
    """Remove ``name``'s key; False when it has none."""
    keys = read_keys(path)
    if keys.pop(name, None) is None:
        return False
    write_keys(path, keys)
    return True


class AgentKeys:
    """The keys file as the server sees it: re-read when it changes (checked at most once a
    second), so adding or revoking a key needs no restart."""

    def __init__(self, path: Path, check_every: float = CHECK_EVERY) -> None:
        self.path = path
        self._check_every = check_every
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, str] = {}
        self._verified: dict[bytes, str] = {}  # SHA-256 of a key that matched -> its name

    def names(self) -> list[str]:
        self._refresh()
        return sorted(self._keys)

    def __bool__(self) -> bool:
        return bool(self.names())

    def known(self, key: str) -> str | None:
        """The name of a key already checked since the file last changed, without running
        scrypt (for the rate limiter, which must stay cheap for a guesser); else None."""
        self._refresh()
        with self._lock:
            return self._verified.get(hashlib.sha256(key.encode()).digest())

    def lookup(self, key: str) -> str | None:
        """The name whose key this is, or None."""
        self._refresh()
        fingerprint = hashlib.sha256(key.encode()).digest()
        with self._lock:
            name = self._verified.get(fingerprint)
            keys = dict(self._keys)
        if name is not None:
            return name
        found = None
        for candidate, stored in keys.items():  # every entry, whether or not one matched
            if key_matches(key, stored) and found is None:
                found = candidate
        if found is not None:
            with self._lock:
                if self._keys.get(found) == keys[found]:  # not revoked meanwhile
                    self._verified[fingerprint] = found
        return found

    def _refresh(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._checked < self._check_every:
                return
            self._checked = now
            try:
                info = self.path.stat()
                stamp: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp == self._stamp:
                return
            self._stamp = stamp
            self._verified = {}
            try:
                self._keys = read_keys(self.path) if stamp is not None else {}
            except (OSError, ValueError) as error:
                # Fail closed: a broken file admits nobody rather than someone revoked.
                log.warning("agent keys file unreadable, no keys accepted: %s", error)
                self._keys = {}
