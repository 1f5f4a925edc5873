"""Server-rendered SVG charts: no JavaScript, no CDN, readable without colour (every bar has
a text value in the table beside it, and each chart has a title and a description).

Charts are drawn at their own pixel size (the page scrolls a chart's box on a narrow screen
rather than shrinking it), so FONT_SIZE is the size people read: at least 12 px. Every
value axis says its unit.

Colours are the Okabe-Ito palette, which stays distinguishable for the common forms of
colour blindness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

COLOURS = {
    "sent": "#0072B2",
    "delivered": "#009E73",
    "failed": "#D55E00",
    "expired": "#999999",
    "better": "#009E73",
    "same": "#E69F00",
    "worse": "#D55E00",
    "median": "#0072B2",
    "p90": "#CC79A7",
    "rate": "#0072B2",
}
OUTCOME_NAMES = ("sent", "delivered", "failed", "expired")
FONT_SIZE = 13  # px on screen: charts are never scaled (see the module docstring)
FONT = f'font-family="system-ui, sans-serif" font-size="{FONT_SIZE}" fill="#1d2327"'
WIDTH = 720
AXIS = "#5f6b73"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    label = escape(title)
    return Markup(  # noqa: S704 - every text inside was escaped above
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{label}" class="chart" '
        f"{FONT}><title>{label}</title>{''.join(body)}</svg>"
    )


def _legend(names: Sequence[str], x: int, y: int) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        left = x + i * 100
        colour = COLOURS.get(name, "#555")
        parts.append(
            f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + 16}" y="{y}">{escape(name)}</text>'
        )
    return parts


def nice_ticks(peak: float, *, whole: bool = True) -> list[float]:
    """Axis ticks from 0 to at least `peak`, at a round step (1, 2 or 5 times a power of
    ten), about four of them; counts (`whole`) never get a fractional step."""
    if peak <= 0:
        return [0.0, 1.0]
    raw = peak / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(step, 1.0)
    top = math.ceil(peak / step - 1e-9) * step
    return [float(i * step) for i in range(round(top / step) + 1)]


def _axis_title(x: float, y: float, text: str, *, vertical: bool = False) -> str:
    turn = f' transform="rotate(-90 {x} {y})"' if vertical else ""
    return f'<text x="{x}" y="{y}" text-anchor="middle" fill="{AXIS}"{turn}>{escape(text)}</text>'


def column_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    y_title: str = "messages",
    x_title: str = "day (month-day)",
) -> Markup:
    """Grouped vertical bars: one group per category (e.g. a day), one bar per series."""
    width, height, left, bottom, top = WIDTH, 290, 64, 56, 36
    plot_h = height - bottom - top
    ticks = nice_ticks(max((v for s in series for v in s.values), default=0))
    peak = ticks[-1]
    group_w = (width - left - 8) / max(1, len(categories))
    bar_w = max(1.0, (group_w - 4) / max(1, len(series)))
    body = _legend([s.name for s in series], left, 16)
    for tick in ticks:
        y = top + plot_h - plot_h * tick / peak
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#d8dee2"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
    body.append(_axis_title(16, top + plot_h / 2, y_title, vertical=True))
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="{AXIS}"/>'
    )
    label_every = max(1, math.ceil(len(categories) / 10))
    for i, category in enumerate(categories):
        x0 = left + i * group_w + 2
        for j, s in enumerate(series):
            h = plot_h * s.values[i] / peak
            body.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS.get(s.name, "#555")}">'
                f"<title>{escape(category)} {escape(s.name)}: {s.values[i]:g}</title></rect>"
            )
        if i % label_every == 0:
            body.append(
                f'<text x="{x0 + group_w / 2:.1f}" y="{top + plot_h + 18}" '
                f'text-anchor="middle">{escape(category)}</text>'
            )
    body.append(_axis_title(left + (width - left) / 2, height - 8, x_title))
    return _svg(width, height, title, body)


def share_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[tuple[str, int]]]],
    *,
    x_title: str = "share of answers (%)",
) -> Markup:
    """Horizontal 100% bars: one per row (e.g. a plan step), split by answer."""
    width, label_w, row_h, top = WIDTH, 160, 28, 30
    names = [name for name, _ in rows[0][1]] if rows else []
    body = _legend(names, label_w, 16)
    plot_w = width - label_w - 70
    for i, (label, parts) in enumerate(rows):
        y = top + i * row_h
        total = sum(count for _, count in parts) or 1
        x = float(label_w)
        body.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end">{escape(label)}</text>'
        )
        for name, count in parts:
            w = plot_w * count / total
            body.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{COLOURS.get(name, "#555")}"><title>{escape(label)} {escape(name)}: '
                f"{count} ({100 * count / total:.0f}%)</title></rect>"
            )
            x += w
        body.append(f'<text x="{width - 62}" y="{y + 18}">n={sum(c for _, c in parts)}</text>')
    axis_y = top + len(rows) * row_h + 4
    body.extend(_value_axis(label_w, plot_w, axis_y, [0, 50, 100], "%"))
    body.append(_axis_title(label_w + plot_w / 2, axis_y + 36, x_title))
    return _svg(width, axis_y + 44, title, body)


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float | None]],
    *,
    percent: bool = False,
    unit: str = "",
    x_title: str = "",
) -> Markup:
    """Horizontal bars with their value (and unit) printed at the end: rates, durations.
    A value of None (nothing to measure yet) has no bar and says so, rather than 0."""
    width, label_w, row_h, top = WIDTH, 160, 28, 8
    plot_w = width - label_w - 90
    values = [v for _, v in rows if v is not None]
    ticks = [0.0, 0.5, 1.0] if percent else nice_ticks(max(values, default=0))
    peak = ticks[-1]
    suffix = "%" if percent else (f" {unit}" if unit else "")
    body: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = 0.0 if value is None else plot_w * value / peak
        if value is None:
            shown = "none yet"
        else:
            shown = f"{100 * value:.0f}%" if percent else f"{value:g}{suffix}"
        body.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{COLOURS["rate"]}"/><text x="{label_w + w + 6:.1f}" y="{y + 18}">'
            f"{escape(shown)}</text>"
        )
    axis_y = top + len(rows) * row_h + 4
    shown_ticks = [100 * t for t in ticks] if percent else ticks
    body.extend(_value_axis(label_w, plot_w, axis_y, shown_ticks, suffix.strip()))
    body.append(_axis_title(label_w + plot_w / 2, axis_y + 36, x_title or title))
    return _svg(width, axis_y + 44, title, body)


def _value_axis(
    left: float, plot_w: float, y: float, ticks: Sequence[float], unit: str
) -> list[str]:
    """A horizontal axis under bars: a line and tick labels with their unit."""
    top = ticks[-1] or 1
    parts = [f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="{AXIS}"/>']
    for tick in ticks:
        x = left + plot_w * tick / top
        text = f"{tick:g}{unit if unit == '%' else ''}"
        parts.append(
            f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" stroke="{AXIS}"/>'
            f'<text x="{x:.1f}" y="{y + 19}" text-anchor="middle">{escape(text)}</text>'
        )
    return parts
