"""sources.yaml: the sources a knowledge base is synced from, each with its type's settings.

sources:
  - name: help-site            # a folder name: lowercase letters, digits, - and _
    type: website              # website, zendesk, intercom, *-export, folder
    audience: public           # public (default) or internal
    product: ""                # the default product of its documents
    language: ""               # the default language (else each page's own or detected)
    schedule: every 6h         # `helpdesk serve` syncs it: "every 30m", "every 6h",
                               # "every 1d" or a crontab line ("0 3 * * *"); empty: only
                               # `helpdesk sync`
    start_url: https://help.example.com/   # the rest is the type's own settings
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from . import CONNECTORS, FOLDER
from .base import AUDIENCES, NAME, SourceConfig, SourceError

COMMON = ("name", "type", "audience", "product", "language", "schedule")
_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 60


def load_sources(path: Path) -> list[SourceConfig]:
    """The sources ``path`` declares; none when there is no such file. SourceError names the
    entry and the problem."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML ({exc})") from None
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SourceError(f"{path}: expected a list under 'sources:'")
    configs: list[SourceConfig] = []
    for number, entry in enumerate(entries, start=1):
        configs.append(_config(entry, f"{path}, source {number}", path.parent))
    names = [c.name for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceError(f"{path}: the source names {', '.join(duplicates)} are used twice")
    return configs


def _config(entry: Any, where: str, folder: Path) -> SourceConfig:
    if not isinstance(entry, dict):
        raise SourceError(f"{where}: expected a mapping of settings")
    name = str(entry.get("name") or "")
    if not NAME.match(name):
        raise SourceError(
            f"{where}: name {name!r} must be 1-63 lowercase letters, digits, - or _ "
            "(it names a folder and starts its documents' ids)"
        )
    where = f"{where} ({name})"
    kind = str(entry.get("type") or "")
    if kind != FOLDER and kind not in CONNECTORS:
        known = ", ".join(sorted([FOLDER, *CONNECTORS]))
        raise SourceError(f"{where}: unknown type {kind!r} (known: {known})")
    audience = str(entry.get("audience") or "public").lower()
    if audience not in AUDIENCES:
        raise SourceError(f"{where}: audience must be public or internal, got {audience!r}")
    schedule = str(entry.get("schedule") or "").strip()
    if schedule:
        check_schedule(schedule, where)
    return SourceConfig(
        name=name,
        type=kind,
        audience=audience,
        product=str(entry.get("product") or ""),
        language=str(entry.get("language") or "").lower(),
        schedule=schedule,
        options=_options(entry, folder),
    )


def _options(entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The type's own settings; a relative ``path`` (an export file) is the sources file's
    folder's, wherever `helpdesk sync` runs from."""
    options = {k: v for k, v in entry.items() if k not in COMMON}
    given = options.get("path")
    if isinstance(given, str) and given and not Path(given).expanduser().is_absolute():
        options["path"] = str(folder / given)
    return options


def interval_seconds(schedule: str) -> int | None:
    """ "every 6h" -> 21600; None for a crontab line."""
    match = _EVERY.match(schedule.strip())
    return int(match.group(1)) * _UNITS[match.group(2).lower()] if match else None


def check_schedule(schedule: str, where: str) -> None:
    """SourceError unless ``schedule`` is "every N(s|m|h|d)" (at least a minute) or a valid
    five-field crontab line."""
    seconds = interval_seconds(schedule)
    if seconds is not None:
        if seconds < MIN_INTERVAL_SECONDS:
            raise SourceError(f"{where}: schedule {schedule!r} is shorter than a minute")
        return
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(schedule, timezone=dt.UTC)
    except ValueError as exc:
        raise SourceError(
            f"{where}: schedule {schedule!r} is neither 'every N' with a unit of s, m, h or d, "
            f"nor a crontab line ({exc})"
        ) from None
