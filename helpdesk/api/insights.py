"""The insights dashboard's endpoints, on the agents' API (behind the agent credential):

- ``GET /api/agent/insights``: everything the console's Insights tab shows, as JSON;
- ``GET /api/agent/insights/charts/<name>.svg``: one chart, rendered on the server;
- ``GET /api/agent/insights/events.csv``: the events themselves, streamed as CSV.

Each takes ``from`` and ``to`` (YYYY-MM-DD, UTC days, both included; by default the last 7
days, today included), at most 366 days apart. The figures come from helpdesk.insights.report
over the conversations' verdicts (helpdesk.insights.resolution), the charts from
helpdesk.insights.charts, the experiment's comparison from helpdesk.experiments, the content-gap
report from helpdesk.insights.gaps and the last replay from helpdesk.insights.replay.
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

from ..embeddings import Embedder
from ..errors import HelpdeskError, NotFound, UnprocessableRequest
from ..experiments import VARIANTS_EXTENSION, Outcome, Variants, compare
from ..insights import charts
from ..insights.gaps import gap_report, gather, nearest_article
from ..insights.replay import last_replay, promotion_problem
from ..insights.report import MAX_RANGE_DAYS, DateRange, Report, build_report
from ..insights.resolution import embed_with, verdicts
from ..store import Event
from .requests import choice, reject_unknown
from .routes import _audit, _helpdesk, agent_api

DEFAULT_DAYS = 7
# How long a built report is reused (the figures are at most this many seconds old).
REPORT_TTL = 30.0
REPORTS_EXTENSION = "helpdesk_insights_reports"
EMBEDDER_EXTENSION = "helpdesk_insights_embedder"
GAPS_EXTENSION = "helpdesk_insights_gaps"
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
                self._built[key] = (now, _build(days))
            return self._built[key][1]


def _build(days: DateRange) -> Report:
    """The range's report, with the conversations' verdicts (helpdesk.insights.resolution):
    the events read run ``comeback_days`` past the range, where a come-back may be."""
    settings = _helpdesk().settings
    store = _helpdesk().require_store()
    events = store.events(days.since, days.until + timedelta(days=settings.comeback_days))
    found = verdicts(
        events,
        embed_with(_embedder()),
        window_days=settings.comeback_days,
        similarity=settings.comeback_similarity,
    )
    return build_report(events, days, found)


def _embedder() -> Embedder:
    """The sentence model the come-back check and the gap report compare with: the help
    desk's cross-lingual USE model; tests put a stand-in in the app's extensions."""
    embedder: Embedder | None = current_app.extensions.get(EMBEDDER_EXTENSION)
    return embedder or _helpdesk().sentence_embedder()


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


# -- the experiment -------------------------------------------------------------------------


def _comparison(report: Report) -> dict[str, Any] | None:
    """The experiment's variants compared (helpdesk.experiments.compare), the served
    experiment's control first (else a variant named "control", else the first seen); None
    unless two or more named variants have conversations."""
    rows = [Outcome(**row) for row in report.outcomes if row["variant"]]
    if len({row.variant for row in rows}) < 2:
        return None
    variants: Variants | None = current_app.extensions.get(VARIANTS_EXTENSION)
    experiment = variants.experiment if variants is not None else None
    order = list(experiment.variants) if experiment is not None else None
    served = list(dict.fromkeys(row.variant for row in rows))
    if order is None or len(set(served) & set(order)) < 2:
        # No experiment served now, or another one than the range's: the variants as they
        # came, one named "control" first.
        order = sorted(served, key=lambda name: name != "control")
    comparison: dict[str, Any] = compare(rows, order).to_dict()
    return comparison


# -- the content-gap report and the last replay ---------------------------------------------


def _gaps(days: DateRange) -> list[dict[str, Any]]:
    """The range's content-gap report (helpdesk.insights.gaps), built at most every
    REPORT_TTL seconds per range, like the figures."""
    cache: dict[tuple[date, date], tuple[float, list[dict[str, Any]]]] = (
        current_app.extensions.setdefault(GAPS_EXTENSION, {})
    )
    key, now = (days.first, days.last), time.monotonic()
    cached = cache.get(key)
    if cached is not None and now - cached[0] < REPORT_TTL:
        return cached[1]
    helpdesk = _helpdesk()
    failed = gather(helpdesk.require_store(), days.since, days.until)
    report = [
        gap.as_json() for gap in gap_report(failed, _embedder(), nearest=nearest_article(helpdesk))
    ]
    cache[key] = (now, report)
    return report


def _last_replay() -> dict[str, Any] | None:
    """The last `helpdesk replay` report (helpdesk.insights.replay), with whether its
    candidate may go live now; None before the first replay."""
    layout = _helpdesk().layout
    report = last_replay(layout)
    if report is None:
        return None
    try:
        problem = promotion_problem(layout)
    except HelpdeskError as error:
        problem = error.detail
    return {**report, "promotable": problem is None, "promotion_problem": problem}
