"""The insights dashboard's endpoints, on the agents' API (behind the agent credential):

- ``GET /api/agent/insights``: everything the console's Insights tab shows, as JSON;
- ``GET /api/agent/insights/charts/<name>.svg``: one chart, rendered on the server;
- ``GET /api/agent/insights/events.csv``: the events themselves, streamed as CSV.

Each takes ``from`` and ``to`` (YYYY-MM-DD, UTC days, both included; by default the last 7
days, today included), at most 366 days apart. The figures come from helpdesk.insights.report
and the charts from helpdesk.insights.charts.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from ..errors import NotFound, UnprocessableRequest
from ..insights import charts
from ..insights.report import MAX_RANGE_DAYS, DateRange, Report, build_report, simple_verdicts
from ..service import Helpdesk
from ..store import Event
from .requests import choice, reject_unknown
from .routes import _audit, agent_api

DEFAULT_DAYS = 7
# How long a built report is reused (the figures are at most this many seconds old).
REPORT_TTL = 30.0
REPORTS_EXTENSION = "helpdesk_insights_reports"
CHART_LANGUAGES = ("en", "ko")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# The events' columns, in the CSV's order (``data`` as JSON).
CSV_COLUMNS = (
    "at",
    "kind",
    "surface",
    "visitor_id",
    "customer_id",
    "conversation_id",
    "turn_id",
    "variant",
    "language",
    "text",
    "outcome",
    "verification",
    "generated_by",
    "first_ms",
    "total_ms",
    "data",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _helpdesk() -> Helpdesk:
    helpdesk: Helpdesk = current_app.extensions["helpdesk"]
    return helpdesk


def date_range(values: dict[str, str], today: date) -> DateRange:
    """The ``from`` and ``to`` parameters as a range (422 when they are not dates, ``from``
    is after ``to``, or the range is over MAX_RANGE_DAYS days)."""
    last = _day(values.get("to"), "to") or today
    first = _day(values.get("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise UnprocessableRequest(
            f"'from' ({first}) is after 'to' ({last})", code="bad_date_range"
        )
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise UnprocessableRequest(
            f"the range is {days} days; at most {MAX_RANGE_DAYS}", code="bad_date_range"
        )
    return DateRange(first, last)


def _day(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
        if not 1970 <= day.year < 9999:
            raise ValueError(value)
        return day
    except ValueError:
        raise UnprocessableRequest(
            f"'{name}' must be a date as YYYY-MM-DD (1970 to 9998), got {value!r}", code="bad_date"
        ) from None


def _request_range(extra: Sequence[str] = ()) -> DateRange:
    reject_unknown(set(request.args), {"from", "to", *extra}, "parameter")
    return date_range(dict(request.args), datetime.now(UTC).date())


def _events(days: DateRange) -> list[Event]:
    store = _helpdesk().require_store()
    return store.events(days.since, days.until)


class _Reports:
    """The reports built in the last REPORT_TTL seconds, by range: a page load asks for the
    dashboard and its five charts at once, and builds one report, not six. One per app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[tuple[date, date], tuple[float, Report]] = {}

    def get(self, days: DateRange) -> Report:
        key = (days.first, days.last)
        # One build at a time: the requests that wait for it take the report it built.
        with self._lock:
            now = time.monotonic()
            self._built = {k: v for k, v in self._built.items() if now - v[0] < REPORT_TTL}
            if key not in self._built:
                events = _events(days)
                self._built[key] = (now, build_report(events, days, _verdicts(events)))
            return self._built[key][1]


def _report(days: DateRange) -> Report:
    reports: _Reports = current_app.extensions.setdefault(REPORTS_EXTENSION, _Reports())
    return reports.get(days)


def _range_query(days: DateRange, **more: str) -> str:
    return urlencode({"from": days.first.isoformat(), "to": days.last.isoformat(), **more})


@agent_api.get("/api/agent/insights")
def agent_insights() -> ResponseReturnValue:
    """The dashboard: headline figures, daily figures, top and failing questions, journeys,
    the content-gap report, the last replay and the experiment's comparison.

    ``from`` and ``to`` are UTC days (YYYY-MM-DD, both included; the last 7 days by default).
    """
    days = _request_range()
    report = _report(days)
    _audit("insights", f"{days.first}..{days.last}")
    body = report.as_json()
    body["charts"] = {
        name: url_for("agent_api.agent_insights_chart", name=name) + "?" + _range_query(days)
        for name in charts.CHARTS
    }
    body["csv"] = url_for("agent_api.agent_insights_csv") + "?" + _range_query(days)
    body["gaps"] = _gaps(days)
    body["replay"] = _last_replay()
    body["experiment"] = _comparison(report)
    return body


@agent_api.get("/api/agent/insights/charts/<name>.svg")
def agent_insights_chart(name: str) -> ResponseReturnValue:
    """One of the dashboard's charts as SVG: questions, languages, rates, handoffs or latency.

    ``lang`` (en or ko) labels it; ``from`` and ``to`` as for the dashboard.
    """
    days = _request_range(extra=("lang",))
    lang = choice(request.args.get("lang"), "lang", CHART_LANGUAGES) or "en"
    if name not in charts.CHARTS:
        raise NotFound(
            f"no chart {name!r}; charts: {', '.join(charts.CHARTS)}", code="unknown_chart"
        )
    svg = charts.chart_svg(name, _report(days), lang)
    return Response(svg, mimetype="image/svg+xml")


@agent_api.get("/api/agent/insights/events.csv")
def agent_insights_csv() -> ResponseReturnValue:
    """The range's events as CSV, oldest first, with a header row; free text is redacted, and
    a cell that a spreadsheet would run as a formula starts with an apostrophe."""
    days = _request_range()
    events = _events(days)
    _audit("export", f"{days.first}..{days.last}")
    filename = f"helpdesk-events-{days.first}-to-{days.last}.csv"
    return Response(
        stream_with_context(csv_lines(events)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_lines(events: Sequence[Event]) -> Iterator[str]:
    """The header row, then one row per event."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for event in events:
        yield line([_cell(value) for value in _row(event)])


def _row(event: Event) -> list[object]:
    values = event.as_json()
    values["data"] = json.dumps(event.data, ensure_ascii=False, sort_keys=True)
    return [values[column] for column in CSV_COLUMNS]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


# -- STAND-INS until the other parts of the insights are merged ------------------------------
# Each returns what its module will, or None for "not yet", which the console shows as an
# empty state. At merge, replace each body with the call named in its docstring.


def _verdicts(events: Sequence[Event]) -> Any:
    """STAND-IN for ``insights.resolution.verdicts(events, embed)`` (which also needs the
    events of ``window_days`` after the range)."""
    return simple_verdicts(events)


def _gaps(days: DateRange) -> list[dict[str, Any]] | None:
    """STAND-IN for ``[g.as_json() for g in insights.gaps.gap_report(failures(events,
    tickets), embedder)]``; None: no report yet."""
    return None


def _last_replay() -> dict[str, Any] | None:
    """STAND-IN for ``insights.replay.last_replay(settings.data_dir)``; None: no replay yet."""
    return None


def _comparison(report: Report) -> dict[str, Any] | None:
    """STAND-IN for ``experiments.compare([Outcome(**row) for row in report.outcomes])
    .to_dict()`` when two or more variants served; None: no statistics yet."""
    return None
