"""The report's SVG charts: readable text (at least 12 px, never scaled down) and axes that
say their unit."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from followup.reporting import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(chart: str) -> ET.Element:
    return ET.fromstring(chart)  # noqa: S314 - our own output, not untrusted data


def _all_charts() -> dict[str, str]:
    series = [charts.Series("sent", [3, 5, 0]), charts.Series("delivered", [2, 5, 0])]
    shares = [("Day 3", [("better", 2), ("same", 1), ("worse", 1)])]
    return {
        "column": charts.column_chart("Messages per day", ["03-01", "03-02", "03-03"], series),
        "share": charts.share_chart("Answers per step", shares),
        "rate": charts.bar_chart("Reply rate", [("Day 1", 0.25)], percent=True),
        "minutes": charts.bar_chart("Median", [("urgent", 12), ("normal", 95)], unit="min"),
    }


@pytest.mark.parametrize("name", ["column", "share", "rate", "minutes"])
def test_chart_text_is_at_least_12px_at_its_drawn_size(name: str) -> None:
    svg = _parse(_all_charts()[name])
    view_width = float(svg.attrib["viewBox"].split()[2])
    # Drawn at its own size: one user unit is one CSS pixel, so font-size is what is read.
    assert float(svg.attrib["width"]) == view_width
    assert float(svg.attrib["font-size"]) >= 12
    sizes = [float(e.attrib["font-size"]) for e in svg.iter() if "font-size" in e.attrib]
    assert min(sizes) >= 12


def test_column_chart_axes_name_their_units() -> None:
    svg = _parse(_all_charts()["column"])
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "messages" in texts
    assert "day (month-day)" in texts
    assert {"0", "2", "4", "6"} <= set(texts)  # ticks up past the peak (5), not just the peak


def test_rate_chart_values_and_axis_are_percentages() -> None:
    texts = [t.text for t in _parse(_all_charts()["rate"]).iter(f"{SVG}text")]
    assert "25%" in texts
    assert {"0%", "50%", "100%"} <= set(texts)


def test_minutes_chart_values_carry_their_unit() -> None:
    texts = [t.text for t in _parse(_all_charts()["minutes"]).iter(f"{SVG}text")]
    assert "12 min" in texts
    assert "95 min" in texts


def test_a_bar_with_nothing_to_measure_says_so_instead_of_zero() -> None:
    chart = charts.bar_chart("Median", [("urgent", None), ("normal", 12)], unit="min")
    texts = [t.text for t in _parse(chart).iter(f"{SVG}text")]
    assert "none yet" in texts
    assert "0 min" not in texts


def test_chart_labels_are_escaped() -> None:
    chart = charts.bar_chart("<b>", [("<script>", 1.0)])
    assert "<script>" not in str(chart)
    assert re.search(r"&lt;script&gt;", str(chart))


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (3, [0, 1, 2, 3]),
        (12, [0, 5, 10, 15]),
        (95, [0, 50, 100]),
        (7, [0, 2, 4, 6, 8]),
        (0, [0, 1]),
    ],
)
def test_axis_ticks_are_round_and_reach_the_peak(peak: float, ticks: list[float]) -> None:
    assert charts.nice_ticks(peak) == ticks
