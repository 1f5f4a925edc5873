"""Server-rendered SVG charts: no JavaScript, no CDN, readable without colour (every bar has
a text value in the table beside it, and each chart has a title and a description).

Colours are the Okabe-Ito palette, which stays distinguishable for the common forms of
colour blindness.
"""

from __future__ import annotations

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
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    label = escape(title)
    return Markup(  # noqa: S704 - every text inside was escaped above
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{label}" class="chart" {FONT}>'
        f"<title>{label}</title>{''.join(body)}</svg>"
    )


def _legend(names: Sequence[str], x: int, y: int) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        left = x + i * 90
        colour = COLOURS.get(name, "#555")
        parts.append(
            f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 14}" y="{y}">{escape(name)}</text>'
        )
    return parts


def column_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> Markup:
    """Grouped vertical bars: one group per category (e.g. a day), one bar per series."""
    width, height, left, bottom, top = 720, 240, 36, 40, 24
    plot_h = height - bottom - top
    peak = max((v for s in series for v in s.values), default=0) or 1
    group_w = (width - left - 8) / max(1, len(categories))
    bar_w = max(1.0, (group_w - 4) / max(1, len(series)))
    body = _legend([s.name for s in series], left, 14)
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#888"/>'
    )
    body.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak:g}</text>')
    label_every = max(1, len(categories) // 12)
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
                f'<text x="{x0 + group_w / 2:.1f}" y="{height - bottom + 14}" '
                f'text-anchor="middle">{escape(category)}</text>'
            )
    return _svg(width, height, title, body)


def share_chart(title: str, rows: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> Markup:
    """Horizontal 100% bars: one per row (e.g. a plan step), split by answer."""
    width, label_w, row_h, top = 720, 150, 26, 24
    names = [name for name, _ in rows[0][1]] if rows else []
    body = _legend(names, label_w, 14)
    plot_w = width - label_w - 60
    for i, (label, parts) in enumerate(rows):
        y = top + i * row_h
        total = sum(count for _, count in parts) or 1
        x = float(label_w)
        body.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
        )
        for name, count in parts:
            w = plot_w * count / total
            body.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                f'fill="{COLOURS.get(name, "#555")}"><title>{escape(label)} {escape(name)}: '
                f"{count} ({100 * count / total:.0f}%)</title></rect>"
            )
            x += w
        body.append(f'<text x="{width - 54}" y="{y + 15}">n={sum(c for _, c in parts)}</text>')
    return _svg(width, top + len(rows) * row_h + 8, title, body)


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, percent: bool = False) -> Markup:
    """Horizontal bars with their value printed at the end (rates, durations)."""
    width, label_w, row_h, top = 720, 150, 24, 8
    peak = 1.0 if percent else (max((v for _, v in rows), default=0) or 1)
    plot_w = width - label_w - 80
    body: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * value / peak
        shown = f"{100 * value:.0f}%" if percent else f"{value:g}"
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{COLOURS["rate"]}"/><text x="{label_w + w + 4:.1f}" y="{y + 14}">{shown}</text>'
        )
    return _svg(width, top + len(rows) * row_h + 8, title, body)
