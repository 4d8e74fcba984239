"""The dashboard's charts: Vega-Lite specifications built with altair from a report
(helpdesk.insights.report), rendered to SVG on the server by vl-convert. No JavaScript runs in
the browser: the console shows each SVG as an image from its own origin, which its
Content-Security-Policy allows.

One function per chart; :func:`render` makes the SVG. The labels come in English or Korean.
An SVG keeps its words as ``<text>`` in the console's font stack (Noto Sans KR and other
Korean-capable fonts are named), so the browser draws the Korean labels with its own fonts.

vl-convert takes about 0.4 s for its first chart in a process and 30-80 ms after that; the SVG
of each specification (its data included) is cached, so a dashboard shown again costs nothing.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from typing import Any

import altair as alt
import vl_convert as vlc

from .report import SERIES, Report

# The console's look (agent.css, common.css).
FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans KR", "Noto Sans CJK KR", '
    '"Apple SD Gothic Neo", "Malgun Gothic", Arial, sans-serif'
)
INK, MUTED, LINE = "#18202b", "#5f6b7a", "#dce2ea"
PALETTE = ["#0b6bcb", "#5aa9f0", "#e07b39", "#2a9d8f", "#8d6cab", "#b42318", "#9aa5b4"]
WIDTH, HEIGHT = 460, 170
MAX_LABELS = 10

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "day": "Day (UTC)",
        "count": "Searches and questions",
        "rate": "Share",
        "ms": "Milliseconds",
        "handoffs": "Hand-offs",
        "series": "Where",
        "language": "Language",
        "metric": "Rate",
        "latency": "Latency",
        "help search": "Help page search",
        "help ask": "Help page ask",
        "widget": "Widget",
        "agent": "Agents' console",
        "api": "API",
        "en": "English",
        "ko": "Korean",
        "other": "Other",
        "resolution_rate": "Resolved",
        "not_handed_off_rate": "Not handed off",
        "not_covered_rate": "Not covered",
        "thumbs_down_rate": "Thumbs down",
        "first_ms_p50": "First content p50",
        "first_ms_p95": "First content p95",
        "total_ms_p50": "Final p50",
        "total_ms_p95": "Final p95",
    },
    "ko": {
        "day": "날짜(UTC)",
        "count": "검색과 질문",
        "rate": "비율",
        "ms": "밀리초",
        "handoffs": "상담 연결",
        "series": "경로",
        "language": "언어",
        "metric": "지표",
        "latency": "응답 시간",
        "help search": "도움말 검색",
        "help ask": "도움말 질문",
        "widget": "위젯",
        "agent": "상담원 콘솔",
        "api": "API",
        "en": "영어",
        "ko": "한국어",
        "other": "기타",
        "resolution_rate": "해결",
        "not_handed_off_rate": "상담 연결 없음",
        "not_covered_rate": "답변 불가",
        "thumbs_down_rate": "도움 안 됨",
        "first_ms_p50": "첫 내용 p50",
        "first_ms_p95": "첫 내용 p95",
        "total_ms_p50": "최종 p50",
        "total_ms_p95": "최종 p95",
    },
}
RATES = ("resolution_rate", "not_handed_off_rate", "not_covered_rate", "thumbs_down_rate")
LATENCIES = ("first_ms_p50", "first_ms_p95", "total_ms_p50", "total_ms_p95")


def _label(lang: str, key: str) -> str:
    return LABELS.get(lang, LABELS["en"]).get(key, key)


def _day_axis(report: Report, lang: str) -> alt.X:
    """The days as they come (every day of the range has a row), labelled MM-DD: every day
    up to MAX_LABELS days, else every n-th (measuring hundreds of labels to drop the ones
    that overlap takes vl-convert seconds)."""
    days = [day.isoformat() for day in report.range.days]
    step = math.ceil(len(days) / MAX_LABELS)
    return alt.X(
        "day:O",
        title=_label(lang, "day"),
        scale=alt.Scale(domain=days),
        axis=alt.Axis(labelExpr="slice(datum.value, 5)", labelAngle=0, values=days[::step]),
    )


def _legend(title: str) -> alt.Legend:
    return alt.Legend(title=title, orient="bottom", direction="horizontal", columns=4)


def _styled(chart: alt.Chart | alt.LayerChart) -> alt.Chart | alt.LayerChart:
    return (
        chart.properties(width=WIDTH, height=HEIGHT, background="white")
        .configure(font=FONT)
        .configure_axis(
            labelColor=MUTED,
            titleColor=INK,
            gridColor=LINE,
            domainColor=LINE,
            tickColor=LINE,
            labelFontSize=11,
            titleFontSize=11,
            titleFontWeight="normal",
        )
        .configure_legend(
            labelColor=INK,
            titleColor=MUTED,
            labelFontSize=11,
            titleFontSize=11,
            titleFontWeight="normal",
        )
        .configure_view(stroke=None)
        .configure_range(category=PALETTE)
    )


def _stacked(
    report: Report, rows: list[dict[str, Any]], order: list[str], lang: str, title: str
) -> Any:
    names = [_label(lang, name) for name in order]
    rank = {name: i for i, name in enumerate(order)}
    values = [
        {**row, "name": _label(lang, row["series"]), "rank": rank.get(row["series"], len(rank))}
        for row in rows
    ]
    return _styled(
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=_day_axis(report, lang),
            y=alt.Y("sum(count):Q", title=_label(lang, "count"), axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "name:N", sort=names, scale=alt.Scale(domain=names), legend=_legend(title)
            ),
            order=alt.Order("rank:Q"),  # the first series at the bottom
        )
    )


def questions_chart(report: Report, lang: str = "en") -> Any:
    """Searches and asks per day, stacked by where they were typed."""
    return _stacked(report, report.by_series, list(SERIES), lang, _label(lang, "series"))


def languages_chart(report: Report, lang: str = "en") -> Any:
    """Searches and asks per day, stacked by language."""
    order = list(dict.fromkeys(row["series"] for row in report.by_language))
    return _stacked(report, report.by_language, order, lang, _label(lang, "language"))


def _lines(
    report: Report, keys: tuple[str, ...], lang: str, title: str, y: alt.Y, colours: list[str]
) -> Any:
    names = [_label(lang, key) for key in keys]
    values = [
        {"day": day["day"], "name": _label(lang, key), "value": day[key]}
        for day in report.daily
        for key in keys
        if day[key] is not None
    ]
    return _styled(
        alt.Chart(alt.Data(values=values))
        .mark_line(point=alt.OverlayMarkDef(size=28), strokeWidth=2)
        .encode(
            x=_day_axis(report, lang),
            y=y,
            color=alt.Color(
                "name:N",
                sort=names,
                scale=alt.Scale(domain=names, range=colours),
                legend=_legend(title),
            ),
        )
    )


def rates_chart(report: Report, lang: str = "en") -> Any:
    """Per day: resolved and not-handed-off (of conversations), not covered and thumbs down
    (of questions asked)."""
    y = alt.Y(
        "value:Q",
        title=_label(lang, "rate"),
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    colours = [PALETTE[3], "#8fd0c6", PALETTE[2], PALETTE[5]]
    return _lines(report, RATES, lang, _label(lang, "metric"), y, colours)


def latency_chart(report: Report, lang: str = "en") -> Any:
    """Per day: first-content and final latency of the answers, p50 and p95."""
    y = alt.Y("value:Q", title=_label(lang, "ms"), scale=alt.Scale(zero=True))
    colours = [PALETTE[0], PALETTE[1], PALETTE[2], "#f2b48a"]  # first: blues; final: oranges
    return _lines(report, LATENCIES, lang, _label(lang, "latency"), y, colours)


def handoffs_chart(report: Report, lang: str = "en") -> Any:
    """Hand-offs to a person per day."""
    values = [{"day": day["day"], "count": day["handoffs"]} for day in report.daily]
    return _styled(
        alt.Chart(alt.Data(values=values))
        .mark_bar(color=PALETTE[2])
        .encode(
            x=_day_axis(report, lang),
            y=alt.Y("count:Q", title=_label(lang, "handoffs"), axis=alt.Axis(tickMinStep=1)),
        )
    )


CHARTS: dict[str, Callable[[Report, str], Any]] = {
    "questions": questions_chart,
    "languages": languages_chart,
    "rates": rates_chart,
    "handoffs": handoffs_chart,
    "latency": latency_chart,
}


def chart_svg(name: str, report: Report, lang: str = "en") -> str:
    """The SVG of chart ``name`` (one of :data:`CHARTS`) for ``report``."""
    # The specification is ours, so altair's schema check (seconds for a year of data) is skipped.
    return render(CHARTS[name](report, lang).to_json(indent=None, validate=False))


_RENDER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=128)
def render(spec: str) -> str:
    """A Vega-Lite specification (JSON) as SVG; cached by the specification's text, which
    holds the chart's data."""
    with _RENDER_LOCK:  # one conversion at a time in vl-convert's JavaScript runtime
        svg: str = vlc.vegalite_to_svg(spec)
    return svg
