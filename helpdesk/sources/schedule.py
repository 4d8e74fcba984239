"""Scheduled syncs inside `helpdesk serve`: each source with a ``schedule:`` is synced on it, one
sync at a time (APScheduler, one worker thread), by the one process that runs the background
work (with several workers, the one holding the background lock)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..config import Settings
from ..embeddings import Embedder
from ..errors import HelpdeskError
from .base import SourceConfig
from .config import interval_seconds, load_sources

log = logging.getLogger("helpdesk.sources")


class SyncScheduler:
    """Runs :func:`helpdesk.sources.sync.sync` for each scheduled source."""

    def __init__(
        self,
        settings: Settings,
        embedders: Sequence[Embedder] | None = None,
        sync: Callable[..., Any] | None = None,
    ) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.settings = settings
        self.embedders = embedders
        self._sync = sync or _sync
        self.error = ""
        # One thread: a second source's sync waits for the first (they share the ingest).
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
            timezone=dt.UTC,
        )
        self._lock = threading.Lock()

    def sources(self) -> list[SourceConfig]:
        return load_sources(self.settings.sources_path)

    def start(self) -> int:
        """Schedule every source that has a schedule; how many. A bad sources file is logged
        (and shown in the console), never a reason for the server not to serve."""
        try:
            sources = self.sources()
        except HelpdeskError as error:
            self.error = error.detail
            log.error("scheduled syncs are off: %s", error.detail)
            return 0
        scheduled = [s for s in sources if s.schedule]
        for source in scheduled:
            self.scheduler.add_job(
                self._run,
                trigger=trigger(source.schedule),
                args=[source.name],
                id=source.name,
                name=f"sync {source.name}",
            )
        if scheduled:
            self.scheduler.start()
            log.info(
                "scheduled syncs: %s", ", ".join(f"{s.name} ({s.schedule})" for s in scheduled)
            )
        return len(scheduled)

    def next_runs(self) -> dict[str, str]:
        """Each scheduled source's next sync time (ISO 8601, UTC)."""
        if not self.scheduler.running:
            return {}
        return {
            job.id: job.next_run_time.astimezone(dt.UTC).isoformat(timespec="seconds")
            for job in self.scheduler.get_jobs()
            if job.next_run_time is not None
        }

    def _run(self, name: str) -> None:
        with self._lock:
            try:
                report = self._sync(self.settings, [name], embedders=self.embedders)
            except HelpdeskError as error:  # another sync or ingest holds the lock, a bad file
                log.warning("scheduled sync of %s skipped: %s", name, error.detail)
                return
            except Exception:
                log.exception("scheduled sync of %s failed", name)
                return
        for source in report.sources:
            level = logging.INFO if source.ok else logging.WARNING
            log.log(level, "scheduled sync: %s", source.line())

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


def _sync(*args: Any, **kwargs: Any) -> Any:
    from .sync import sync

    return sync(*args, **kwargs)


def trigger(schedule: str) -> Any:
    """An APScheduler trigger for "every N(s|m|h|d)" or a crontab line (UTC)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    seconds = interval_seconds(schedule)
    if seconds is not None:
        return IntervalTrigger(seconds=seconds, timezone=dt.UTC)
    return CronTrigger.from_crontab(schedule, timezone=dt.UTC)
