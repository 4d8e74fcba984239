"""The dashboard's charts: each one renders to SVG through vl-convert, labelled in English or
Korean, and the same chart twice is rendered once."""

from __future__ import annotations

import re
from datetime import date

import pytest
from test_insights_report import DAYS, report_of, seeded

from helpdesk.insights import charts
from helpdesk.insights.report import DateRange


@pytest.mark.parametrize("name", sorted(charts.CHARTS))
def test_every_chart_renders_to_svg(name: str) -> None:
    report = report_of(seeded(), DAYS)
    svg = charts.chart_svg(name, report, "en")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<script" not in svg.lower()
    assert "11-20" in svg and "11-21" in svg  # the days, labelled MM-DD
    assert "Noto Sans KR" in svg  # the console's font stack


def test_the_labels_follow_the_language() -> None:
    report = report_of(seeded(), DAYS)
    english = charts.chart_svg("questions", report, "en")
    korean = charts.chart_svg("questions", report, "ko")
    assert "Help page search" in english and "도움말 검색" not in english
    assert "도움말 검색" in korean and "날짜(UTC)" in korean
    assert "English" in charts.chart_svg("languages", report, "en")


def test_an_empty_report_still_draws_its_axes() -> None:
    report = report_of([], DAYS)
    for name in charts.CHARTS:
        assert charts.chart_svg(name, report, "ko").startswith("<svg")


def test_the_same_chart_is_rendered_once() -> None:
    report = report_of(seeded(), DAYS)
    charts.chart_svg("rates", report, "en")
    before = charts.render.cache_info().hits
    charts.chart_svg("rates", report, "en")
    assert charts.render.cache_info().hits == before + 1


@pytest.mark.parametrize("name", sorted(charts.CHARTS))
def test_every_specification_is_valid_vega_lite(name: str) -> None:
    # chart_svg skips altair's schema check (slow on a year of data): it is done here.
    charts.CHARTS[name](report_of(seeded(), DAYS), "ko").to_dict(validate=True)


def test_a_year_is_labelled_every_few_weeks() -> None:
    year = DateRange(date(2025, 12, 1), date(2026, 11, 30))
    svg = charts.chart_svg("handoffs", report_of(seeded(), year), "en")
    labels = re.findall(r">(\d\d-\d\d)</text>", svg)
    assert labels[0] == "12-01" and 2 <= len(labels) <= charts.MAX_LABELS
