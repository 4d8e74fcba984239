"""``GET /api/agent/sources``: each source of the sources file, its schedule and its last sync
(when, outcome, counts), for the agents' console (behind the agent credential)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from ..errors import HelpdeskError
from ..sources.config import load_sources
from ..sources.schedule import trigger
from ..sources.sync import status
from .routes import _audit, _helpdesk, agent_api


@agent_api.get("/api/agent/sources")
def agent_sources() -> ResponseReturnValue:
    """The sources of the sources file: each one's schedule, next and last sync (outcome,
    counts); a sources file that cannot be read is named in ``error``."""
    helpdesk = _helpdesk()
    settings = helpdesk.settings
    recorded = status(settings)
    last: dict[str, Any] = recorded.get("sources") or {}
    body: dict[str, Any] = {
        "file": str(settings.sources_path),
        "error": None,
        "sources": [],
        "last_sync": recorded.get("finished"),
    }
    try:
        declared = load_sources(settings.sources_path)
    except HelpdeskError as error:
        body["error"] = error.detail
        declared = []
    scheduler = helpdesk.scheduler
    running = scheduler.next_runs() if scheduler is not None else {}
    now = dt.datetime.now(dt.UTC)
    for source in declared:
        entry = last.get(source.name)
        next_sync = running.get(source.name)
        if next_sync is None and source.schedule:
            # This process does not run the schedule (another worker does): its next time.
            fire = trigger(source.schedule).get_next_fire_time(None, now)
            next_sync = fire.isoformat(timespec="seconds") if fire else None
        body["sources"].append(
            {
                "name": source.name,
                "type": source.type,
                "audience": source.audience,
                "schedule": source.schedule or None,
                "next_sync": next_sync,
                "last": entry,
            }
        )
    _audit("sources", "")
    return jsonify(body)
