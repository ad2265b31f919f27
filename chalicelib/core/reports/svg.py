"""Inline SVG charts with labelled axes (pure functions from data to markup; every text escaped).

Charts scale to their container's width (``viewBox``, ``width="100%"``); the margins are computed from
the labels they hold, so no tick or category label is clipped. Each mark carries a ``<title>`` (the
browser's tooltip) with its exact numbers. Class names are stable (``bar``, ``point``, ``x-tick``,
``y-tick``, ``axis-title``): the browser tests read them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from chalicelib.core.reports.ticks import TimeTick, nice_ticks, tick_label, time_ticks

FONT = 12  # viewBox units; about 16 px on a 1280 px wide page
CHAR = 0.6 * FONT  # the width of one character of the sans-serif labels, roughly
GRID, AXIS, TEXT = "#e5e8e8", "#7f8c8d", "#1c2833"
DASH = "\u2013"  # what an absent number reads as


def esc(value: object) -> str:
    """Text for HTML or SVG, quotes included (safe in attributes too)."""
    return escape(str(value), quote=True)


def fmt(value: object, digits: int = 4) -> str:
    """A number to ``digits`` significant digits (integers whole); other values as text; None: DASH."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}"
    return str(value)


def percent(share: float | None, digits: int = 1) -> str:
    return DASH if share is None else f"{share * 100:.{digits}f}%"


@dataclass(frozen=True)
class Plot:
    """A chart's frame: its size and the margins around the plotting area (viewBox units)."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top

    def x(self, fraction: float) -> float:
        return self.x0 + (self.x1 - self.x0) * fraction

    def y(self, fraction: float) -> float:
        return self.y0 - (self.y0 - self.y1) * fraction


def open_svg(cls: str, plot: Plot, label: str) -> str:
    return (f'<svg class="chart {esc(cls)}" role="img" aria-label="{esc(label)}" '
            f'viewBox="0 0 {plot.width:.0f} {plot.height:.0f}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" '
            f'font-family="system-ui,sans-serif" font-size="{FONT}">')


def y_axis(plot: Plot, ticks: list[float], title: str, label: Callable[[float], str] | None = None) -> str:
    """Horizontal grid lines with their values at the left, and the axis title along it."""
    lo, hi = ticks[0], ticks[-1]
    parts = []
    for value in ticks:
        y = plot.y((value - lo) / (hi - lo) if hi > lo else 0.0)
        text = label(value) if label else tick_label(value, ticks)
        parts.append(f'<g class="y-tick"><line x1="{plot.x0:.1f}" x2="{plot.x1:.1f}" y1="{y:.1f}" '
                     f'y2="{y:.1f}" stroke="{GRID}"/><text x="{plot.x0 - 6:.1f}" y="{y + FONT / 3:.1f}" '
                     f'text-anchor="end" fill="{TEXT}">{esc(text)}</text></g>')
    middle = (plot.y0 + plot.y1) / 2
    parts.append(f'<text class="axis-title y-title" x="{FONT}" y="{middle:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 {FONT} {middle:.1f})" fill="{TEXT}">{esc(title)}</text>')
    parts.append(f'<line x1="{plot.x0:.1f}" x2="{plot.x0:.1f}" y1="{plot.y1:.1f}" y2="{plot.y0:.1f}" '
                 f'stroke="{AXIS}"/>')
    return "".join(parts)


def x_title(plot: Plot, title: str) -> str:
    return (f'<line x1="{plot.x0:.1f}" x2="{plot.x1:.1f}" y1="{plot.y0:.1f}" y2="{plot.y0:.1f}" '
            f'stroke="{AXIS}"/><text class="axis-title x-title" x="{(plot.x0 + plot.x1) / 2:.1f}" '
            f'y="{plot.height - 4:.1f}" text-anchor="middle" fill="{TEXT}">{esc(title)}</text>')


def y_label_width(ticks: list[float], label: Callable[[float], str] | None = None) -> float:
    longest = max(len(label(v) if label else tick_label(v, ticks)) for v in ticks)
    return 2 * FONT + 10 + longest * CHAR


# ---- grouped bars ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]  # one per category
    colour: str


def bar_chart(categories: Sequence[str], series: Sequence[Series], *, y_title: str, x_axis_title: str,
              cls: str = "bars", width: float = 960, height: float = 240,
              value_text: Callable[[float], str] = percent, y_label: Callable[[float], str] | None = None,
              label: str = "") -> str:
    """Bars per category (one per series, side by side), a value axis from 0, every category labelled.

    Labels are written in full when they fit under their group, else rotated by 40° with a bottom margin
    as deep as the longest label needs (labels over :data:`MAX_LABEL` characters end in ``…``; their full
    text is in the bar's tooltip). Values are printed on top of the bars when there is room.
    """
    top_value = max([v for s in series for v in s.values] + [0.0])
    ticks = nice_ticks(0.0, top_value or 1.0, 4)
    group = (width - y_label_width(ticks, y_label) - 10) / max(1, len(categories))
    labels = [_short(c) for c in categories]
    longest = max((len(t) for t in labels), default=0) * CHAR
    rotate = longest > group - 4
    # a label rotated by 40° reaches cos 40° of its length to the right and sin 40° of it down
    depth = longest * 0.65 + FONT if rotate else FONT
    right = max(10.0, longest * 0.77 - group / 2 + 10) if rotate else 10.0
    plot = Plot(width, height + depth, y_label_width(ticks, y_label), right, FONT + 6, depth + 2 * FONT + 12)
    group = (plot.x1 - plot.x0) / max(1, len(categories))
    bar = min(40.0, group * 0.8 / max(1, len(series)))
    parts = [open_svg(cls, plot, label or y_title), y_axis(plot, ticks, y_title, y_label)]
    show_values = bar >= 26
    for i, (category, text) in enumerate(zip(categories, labels, strict=True)):
        start = plot.x0 + i * group + (group - bar * len(series)) / 2
        for j, s in enumerate(series):
            value = float(s.values[i])
            top = plot.y(value / ticks[-1])
            x = start + j * bar
            parts.append(f'<rect class="bar" data-series="{esc(s.name)}" data-category="{esc(category)}" '
                         f'data-value="{value:.6g}" x="{x:.1f}" y="{top:.1f}" width="{bar - 2:.1f}" '
                         f'height="{plot.y0 - top:.1f}" fill="{s.colour}"><title>{esc(s.name)}, '
                         f'{esc(category)}: {esc(value_text(value))}</title></rect>')
            if show_values:
                parts.append(f'<text class="bar-value" x="{x + (bar - 2) / 2:.1f}" y="{top - 3:.1f}" '
                             f'text-anchor="middle" font-size="{FONT - 2}" fill="{TEXT}">'
                             f'{esc(value_text(value))}</text>')
        centre = plot.x0 + (i + 0.5) * group
        y = plot.y0 + FONT + 4
        if rotate:
            parts.append(f'<text class="x-label" x="{centre:.1f}" y="{y:.1f}" text-anchor="start" '
                         f'transform="rotate(40 {centre:.1f} {y:.1f})" fill="{TEXT}">{esc(text)}</text>')
        else:
            parts.append(f'<text class="x-label" x="{centre:.1f}" y="{y:.1f}" text-anchor="middle" '
                         f'fill="{TEXT}">{esc(text)}</text>')
    parts += [x_title(plot, x_axis_title), "</svg>"]
    return "".join(parts)


MAX_LABEL = 28


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


# ---- points on a time axis -----------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    at: dt.datetime
    value: float | None  # None: drawn on the axis, hollow (nothing to plot, e.g. insufficient data)
    colour: str
    tooltip: str
    series: str = ""


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line (a threshold, the holdout's score)."""

    value: float
    label: str
    colour: str = "#7f8c8d"


@dataclass(frozen=True)
class TimeChart:
    points: Sequence[Point]
    y_title: str
    x_axis_title: str = "time (UTC)"
    rules: Sequence[Rule] = ()
    y_range: tuple[float, float] | None = None  # default: the points' and rules' range
    y_label: Callable[[float], str] | None = None
    cls: str = "time-chart"
    width: float = 960
    height: float = 220
    label: str = ""
    lines: bool = True  # join the points of each series in time order
    series_colours: dict[str, str] = field(default_factory=dict)


def time_chart(chart: TimeChart) -> str:
    """Points at their real instants on a UTC time axis (calendar-aligned ticks), values on a nice axis."""
    points = sorted(chart.points, key=lambda p: p.at)
    values = [p.value for p in points if p.value is not None] + [r.value for r in chart.rules]
    lo, hi = chart.y_range or (min(values, default=0.0), max(values, default=1.0))
    ticks = nice_ticks(lo, hi, 4)
    start, end = _time_span([p.at for p in points])
    times = time_ticks(start, end, max(2, int(chart.width // 150)))
    plot = Plot(chart.width, chart.height, y_label_width(ticks, chart.y_label), 24, FONT + 6, 2 * FONT + 16)
    span = (end - start).total_seconds()

    def x_of(moment: dt.datetime) -> float:
        return plot.x((moment - start).total_seconds() / span)

    def y_of(value: float) -> float:
        return plot.y((value - ticks[0]) / (ticks[-1] - ticks[0]))

    parts = [open_svg(chart.cls, plot, chart.label or chart.y_title),
             y_axis(plot, ticks, chart.y_title, chart.y_label), _time_axis(plot, times, x_of),
             x_title(plot, chart.x_axis_title)]
    for rule in chart.rules:
        y = y_of(rule.value)
        parts.append(f'<g class="rule"><line x1="{plot.x0:.1f}" x2="{plot.x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{rule.colour}" stroke-dasharray="6 4"/><text x="{plot.x1:.1f}" '
                     f'y="{y - 4:.1f}" text-anchor="end" font-size="{FONT - 2}" fill="{rule.colour}">'
                     f'{esc(rule.label)}</text></g>')
    if chart.lines:
        parts += _series_lines(points, x_of, y_of, chart.series_colours)
    for p in points:
        y = y_of(p.value) if p.value is not None else plot.y0
        fill = p.colour if p.value is not None else "#fff"
        parts.append(f'<circle class="point" data-t="{_iso_ms(p.at)}" '
                     f'data-series="{esc(p.series)}" cx="{x_of(p.at):.1f}" cy="{y:.1f}" r="5" fill="{fill}" '
                     f'stroke="{p.colour}" stroke-width="2"><title>{esc(p.tooltip)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def _series_lines(points: Sequence[Point], x_of: Callable[[dt.datetime], float],
                  y_of: Callable[[float], float], colours: dict[str, str]) -> list[str]:
    by_series: dict[str, list[Point]] = {}
    for p in points:
        if p.value is not None:
            by_series.setdefault(p.series, []).append(p)
    lines = []
    for name, members in by_series.items():
        if len(members) < 2:
            continue
        path = " ".join(f"{x_of(p.at):.1f},{y_of(p.value):.1f}" for p in members if p.value is not None)
        lines.append(f'<polyline class="line" data-series="{esc(name)}" points="{path}" fill="none" '
                     f'stroke="{colours.get(name, "#aab7b8")}" stroke-width="1.5"/>')
    return lines


def _time_span(moments: Sequence[dt.datetime]) -> tuple[dt.datetime, dt.datetime]:
    """The points' span padded by 5 % each side, and at least an hour wide (centred on the points)."""
    if not moments:
        now = dt.datetime.now(dt.UTC)
        return now - dt.timedelta(hours=1), now
    start, end = min(moments), max(moments)
    pad = max((end - start) * 0.05, (MIN_SPAN - (end - start)) / 2)
    return start - pad, end + pad


MIN_SPAN = dt.timedelta(hours=1)


def _time_axis(plot: Plot, ticks: list[TimeTick], x_of: Callable[[dt.datetime], float]) -> str:
    parts = []
    for tick in ticks:
        x = x_of(tick.at)
        parts.append(f'<g class="x-tick" data-t="{tick.iso}"><line x1="{x:.1f}" x2="{x:.1f}" '
                     f'y1="{plot.y1:.1f}" y2="{plot.y0 + 4:.1f}" stroke="{GRID}"/><text x="{x:.1f}" '
                     f'y="{plot.y0 + FONT + 4:.1f}" text-anchor="middle" fill="{TEXT}">{esc(tick.label)}'
                     f"<title>{tick.iso}</title></text></g>")
    return "".join(parts)


# ---- small pieces -----------------------------------------------------------------------------------


def histogram(labels: Sequence[str], counts: Sequence[int], *, colour: str = "#2e86c1",
              cls: str = "histogram", width: float = 320, height: float = 90, title: str = "") -> str:
    """A compact column chart without axes text (a profile's distribution); tooltips give each count."""
    total = sum(counts) or 1
    top = max(counts, default=0) or 1
    plot = Plot(width, height, 2, 2, 4, 4)
    step = (plot.x1 - plot.x0) / max(1, len(counts))
    parts = [open_svg(cls, plot, title or "distribution")]
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        h = (plot.y0 - plot.y1) * count / top
        parts.append(f'<rect class="bar" data-value="{count}" x="{plot.x0 + i * step:.1f}" '
                     f'y="{plot.y0 - h:.1f}" width="{max(1.0, step - 1):.1f}" height="{h:.1f}" '
                     f'fill="{colour}">'
                     f"<title>{esc(label)}: {count:,} ({esc(percent(count / total))})</title></rect>")
    parts.append(f'<line x1="{plot.x0}" x2="{plot.x1}" y1="{plot.y0}" y2="{plot.y0}" stroke="{AXIS}"/></svg>')
    return "".join(parts)


def legend(items: Sequence[tuple[str, str]]) -> str:
    """``[(label, colour)]`` as an HTML legend line."""
    return '<p class="legend">' + "".join(
        f'<span class="key"><span class="swatch" style="background:{colour}"></span>{esc(label)}</span>'
        for label, colour in items) + "</p>"


# ---- points over ordered labels (model versions) ---------------------------------------------------


@dataclass(frozen=True)
class Mark:
    label: str  # the x position's label (e.g. ``v3``)
    value: float | None
    colour: str
    tooltip: str
    ring: bool = False  # drawn with a ring (e.g. the production version)


def index_chart(marks: Sequence[Mark], *, y_title: str, x_axis_title: str, cls: str = "index-chart",
                width: float = 460, height: float = 200, label: str = "") -> str:
    """Points in the given order, one x position each (labelled), joined by a line; values on a nice axis."""
    values = [m.value for m in marks if m.value is not None]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0), 4)
    plot = Plot(width, height, y_label_width(ticks), 12, FONT + 6, 2 * FONT + 16)
    step = (plot.x1 - plot.x0) / max(1, len(marks))

    def x_of(i: int) -> float:
        return plot.x0 + (i + 0.5) * step

    def y_of(value: float) -> float:
        return plot.y((value - ticks[0]) / (ticks[-1] - ticks[0]))

    parts = [open_svg(cls, plot, label or y_title), y_axis(plot, ticks, y_title), x_title(plot, x_axis_title)]
    path = " ".join(f"{x_of(i):.1f},{y_of(m.value):.1f}" for i, m in enumerate(marks) if m.value is not None)
    if len(values) > 1:
        parts.append(f'<polyline class="line" points="{path}" fill="none" stroke="#aab7b8" '
                     'stroke-width="1.5"/>')
    every = max(1, math.ceil(len(marks) * 5 * CHAR / (plot.x1 - plot.x0)))
    for i, m in enumerate(marks):
        x = x_of(i)
        if i % every == 0 or i == len(marks) - 1:
            parts.append(f'<text class="x-label" x="{x:.1f}" y="{plot.y0 + FONT + 4:.1f}" '
                         f'text-anchor="middle" fill="{TEXT}">{esc(m.label)}</text>')
        if m.value is None:
            continue
        ring = (f'<circle class="ring" cx="{x:.1f}" cy="{y_of(m.value):.1f}" r="9" fill="none" '
                f'stroke="{m.colour}" stroke-width="1.5"/>') if m.ring else ""
        parts.append(f'{ring}<circle class="point" data-label="{esc(m.label)}" data-value="{m.value:.6g}" '
                     f'cx="{x:.1f}" cy="{y_of(m.value):.1f}" r="5" fill="{m.colour}">'
                     f"<title>{esc(m.tooltip)}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def _iso_ms(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
