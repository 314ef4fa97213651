"""Report tables drawn as SVG charts on the server, so a chart needs no JavaScript.

``chart_for(table)`` turns a Table that has a Chart into a ChartView: every position,
length and word already worked out in a fixed coordinate system ``WIDTH`` units wide, so
templates/_macros/charts.html only writes the elements out and autoescaping guards the
words. The SVG scales to its container (``width: 100%; height: auto``), so a chart reflows
on a narrow screen; the table under each chart holds the exact figures, which is why a
shortened label loses nothing.

Colour never carries meaning alone: bars keep the legend's order within each group and are
labelled with their values, and each line has its own marker shape and dash pattern.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.formatting import format_pence
from app.services.reports.tables import SUPPRESSED, Chart, Column, Kind, Table

# The Government Analysis Function's categorical palette, in its order.
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25")
MARKERS = ("circle", "square", "triangle", "diamond")
DASHES = ("none", "8 4", "2 4", "12 4 2 4")  # solid, dashed, dotted, dash-dot
INK = "#0b0c0c"
GRID = "#b1b4b6"
MAX_SERIES = len(PALETTE)

WIDTH = 640
FONT = 16  # labels; at the chart's full width one unit is one CSS pixel
SMALL = 14  # values and ticks: the smallest text we draw
CHAR = 0.6  # a rough character width, as a share of the font size, to keep text inside the chart
LABEL_CHARS = 28
LEGEND_CHARS = 56
ROW = 24  # one line of text (legend rows, group labels)

NO_DATA = "no data"

# The smallest step between ticks in each kind, so gridlines fall on figures the table would show.
TICK_UNIT = {Kind.PENCE: 100, Kind.SHARE: 0.01, Kind.NUMBER: 0.1, Kind.COUNT: 1, Kind.PEOPLE: 1}


@dataclass(frozen=True)
class Label:
    """A piece of text in the chart: ``text`` as drawn, ``full`` for its <title> when shortened."""

    x: float
    y: float
    text: str
    full: str
    anchor: str = "start"

    @property
    def shortened(self) -> bool:
        return self.text != self.full


@dataclass(frozen=True)
class Series:
    key: str
    heading: str
    kind: Kind
    colour: str
    marker: str
    dash: str


@dataclass(frozen=True)
class Marker:
    """A point's marker: a circle (``x``, ``y``, ``r``) or a polygon through ``points``."""

    shape: str
    x: float
    y: float
    r: float
    points: str


@dataclass(frozen=True)
class LegendItem:
    series: Series
    y: float  # the middle of the row
    label: Label
    marker: Marker | None  # line charts draw the series' marker on a short dashed line


@dataclass(frozen=True)
class Bar:
    series: Series
    value: Any
    x: float
    y: float
    width: float
    height: float
    label: Label
    drawn: bool  # False for a suppressed figure or a missing one: only its words show


@dataclass(frozen=True)
class BarGroup:
    label: Label
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarPlot:
    groups: tuple[BarGroup, ...]
    zero_x: float
    top: float
    bottom: float


@dataclass(frozen=True)
class Tick:
    value: float
    y: float
    label: Label
    zero: bool


@dataclass(frozen=True)
class Point:
    value: Any
    x: float
    y: float


@dataclass(frozen=True)
class Line:
    series: Series
    segments: tuple[tuple[Point, ...], ...]  # broken where a figure is suppressed or missing
    markers: tuple[Marker, ...]

    @property
    def points(self) -> tuple[Point, ...]:
        return tuple(p for segment in self.segments for p in segment)

    @property
    def polylines(self) -> list[str]:
        """Each segment of two or more points as an SVG ``points`` attribute."""
        return [" ".join(f"{p.x},{p.y}" for p in segment) for segment in self.segments if len(segment) > 1]


@dataclass(frozen=True)
class LinePlot:
    left: float
    right: float
    top: float
    bottom: float
    zero_y: float
    y_ticks: tuple[Tick, ...]
    x_labels: tuple[Label, ...]
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class ChartView:
    kind: str
    id: str
    title: str
    description: str
    caption: str
    height: float
    series: tuple[Series, ...]
    legend: tuple[LegendItem, ...]
    bars: BarPlot | None = None
    line: LinePlot | None = None
    width: int = WIDTH

    ink: str = INK
    grid: str = GRID

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def title_id(self) -> str:
        return f"{self.id}-title"

    @property
    def desc_id(self) -> str:
        return f"{self.id}-desc"


def chart_for(table: Table) -> ChartView | None:
    """The chart of ``table``, or None when it has no chart or no rows to draw."""
    spec = table.chart
    if spec is None or not table.rows:
        return None
    series = series_of(table, spec)
    if spec.kind == "bar":
        return bar_chart(table, spec, series)
    if spec.kind == "line":
        return line_chart(table, spec, series)
    raise ValueError(f"unknown chart kind {spec.kind!r}: use 'bar' or 'line'")


def series_of(table: Table, spec: Chart) -> tuple[Series, ...]:
    if not spec.series or len(spec.series) > MAX_SERIES:
        raise ValueError(f"a chart draws from 1 to {MAX_SERIES} series, not {len(spec.series)}")
    columns = [table.column(key) for key in spec.series]
    for column in columns:
        if not column.kind.numeric:
            raise ValueError(f"column {column.key!r} is {column.kind.value}, not a figure to draw")
    return tuple(Series(c.key, c.heading, c.kind, PALETTE[i], MARKERS[i], DASHES[i]) for i, c in enumerate(columns))


# Words and figures --------------------------------------------------------------------


def format_value(value: Any, kind: Kind) -> str:
    """A figure as a chart labels it: £1,234 / £12.50, 45%, 1,234, 2.5; words for the gaps."""
    if value is None:
        return NO_DATA
    if value == SUPPRESSED:
        return SUPPRESSED
    if kind is Kind.PENCE:
        pence = int(value)
        if abs(pence) >= 100_000:  # whole pounds are enough from £1,000 up
            pounds = round(abs(pence) / 100)
            return f"{'-' if pence < 0 else ''}£{pounds:,}"
        return format_pence(pence)
    if kind is Kind.SHARE:
        return f"{round(value * 100)}%"
    if kind in (Kind.COUNT, Kind.PEOPLE):
        return f"{round(value):,}"
    text = f"{round(value, 1) + 0.0:,.1f}"  # + 0.0 so a tiny negative shows as 0, not -0
    return text[:-2] if text.endswith(".0") else text


def month_label(month: dt.date) -> str:
    return f"{month:%b %Y}"


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def category(value: Any, column: Column) -> str:
    if value is None:
        return NO_DATA
    if column.kind is Kind.MONTH:
        return month_label(value)
    return str(value)


def dom_id(slug: str) -> str:
    """An id for the chart, from the table's slug, so two charts on a page never share one."""
    return "chart-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", slug).strip("-") or "table")


def is_figure(value: Any) -> bool:
    return value is not None and value != SUPPRESSED


def _n(x: float) -> float:
    """A coordinate to two places, and a whole one as an int, to keep the SVG short."""
    x = round(x, 2)
    return int(x) if x == int(x) else x


def _text_width(text: str, size: float = SMALL) -> float:
    return len(text) * size * CHAR


# Legend -------------------------------------------------------------------------------


def marker(shape: str, x: float, y: float, size: float = 5) -> Marker:
    """A marker centred on (x, y); the polygons have about the area of the circle."""
    s = size
    corners = {
        "circle": [],
        "square": [(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)],
        "triangle": [(x, y - s * 1.3), (x + s * 1.2, y + s * 0.9), (x - s * 1.2, y + s * 0.9)],
        "diamond": [(x, y - s * 1.35), (x + s * 1.35, y), (x, y + s * 1.35), (x - s * 1.35, y)],
    }[shape]
    return Marker(shape, _n(x), _n(y), s, " ".join(f"{_n(px)},{_n(py)}" for px, py in corners))


def legend(series: tuple[Series, ...], with_markers: bool) -> tuple[LegendItem, ...]:
    """One row per series (none for a single series: the title names it), swatch then heading."""
    if len(series) < 2:
        return ()
    items = []
    for i, s in enumerate(series):
        middle = _n(i * ROW + ROW / 2)
        label = Label(44, _n(middle + FONT * 0.35), shorten(s.heading, LEGEND_CHARS), s.heading)
        items.append(LegendItem(s, middle, label, marker(s.marker, 18, middle) if with_markers else None))
    return tuple(items)


def _legend_height(items: tuple[LegendItem, ...]) -> float:
    return len(items) * ROW + ROW / 2 if items else 0


# Bar charts ---------------------------------------------------------------------------

BAR = 20
BAR_GAP = 4
GROUP_GAP = 12
VALUE_ROOM = 110  # room beyond a bar's end for its value, or for "fewer than 5"


def bar_chart(table: Table, spec: Chart, series: tuple[Series, ...]) -> ChartView:
    """Horizontal bars: a group per row, labelled above its bars, one bar per series."""
    label_column = table.column(spec.label)
    label_index = table.index(spec.label)
    indexes = [table.index(s.key) for s in series]
    figures = [row[i] for row in table.rows for i in indexes if is_figure(row[i])]
    lo, hi = min([0, *figures]), max([0, *figures])
    left = VALUE_ROOM if lo < 0 else 2  # 2: the zero line stays visible beside the bars
    scale = (WIDTH - VALUE_ROOM - left) / (hi - lo) if hi > lo else 0
    zero_x = _n(left - lo * scale)

    items = legend(series, with_markers=False)
    top = _legend_height(items)
    y = top
    groups = []
    for row in table.rows:
        text = category(row[label_index], label_column)
        group_label = Label(0, _n(y + FONT), shorten(text), text)
        bars = []
        for n, (s, i) in enumerate(zip(series, indexes)):
            bar_y = y + ROW + n * (BAR + BAR_GAP)
            bars.append(_bar(s, row[i], zero_x, scale, bar_y))
        groups.append(BarGroup(group_label, tuple(bars)))
        y += ROW + len(series) * (BAR + BAR_GAP) + GROUP_GAP
    plot = BarPlot(tuple(groups), zero_x, top + ROW, _n(y - GROUP_GAP - BAR_GAP))
    return _view(table, spec, series, items, _n(y), bars=plot)


def _bar(s: Series, value: Any, zero_x: float, scale: float, y: float) -> Bar:
    words = format_value(value, s.kind)
    baseline = _n(y + BAR / 2 + SMALL * 0.35)
    if not is_figure(value):
        return Bar(s, value, zero_x, _n(y), 0, BAR, Label(_n(zero_x + 6), baseline, words, words), drawn=False)
    length = abs(value) * scale
    if value < 0:
        x = zero_x - length
        label = Label(_n(x - 6), baseline, words, words, anchor="end")
    else:
        x = zero_x
        label = Label(_n(x + length + 6), baseline, words, words)
    return Bar(s, value, _n(x), _n(y), _n(length), BAR, label, drawn=True)


# Line charts --------------------------------------------------------------------------

PLOT_HEIGHT = 280
X_LABEL_ROOM = 40
X_LABEL_SPACING = 80  # the least room between month labels, so they never overlap
EDGE = 12  # keeps the first and last markers off the axes


def line_chart(table: Table, spec: Chart, series: tuple[Series, ...]) -> ChartView:
    """Months along the x axis in order, a line per series, gridlines at round figures from 0."""
    if table.column(spec.label).kind is not Kind.MONTH:
        raise ValueError(f"a line chart runs along a month column, and {spec.label!r} is not one")
    label_index = table.index(spec.label)
    rows = sorted(table.rows, key=lambda row: row[label_index])
    indexes = [table.index(s.key) for s in series]
    figures = [row[i] for row in rows for i in indexes if is_figure(row[i])]
    kind = series[0].kind  # one y axis, labelled in the first series' kind
    ticks = nice_ticks(min(figures, default=0), max(figures, default=0), kind)
    tick_words = [format_value(t, kind) for t in ticks]

    items = legend(series, with_markers=True)
    top = _n(_legend_height(items) + SMALL)
    bottom = top + PLOT_HEIGHT
    left = max(48, max(_text_width(w) for w in tick_words) + 14)
    right = WIDTH - 36  # half a month label, so the last one stays inside
    lo, hi = ticks[0], ticks[-1]

    def y_of(value: float) -> float:
        return _n(bottom - (value - lo) / (hi - lo) * PLOT_HEIGHT)

    xs = _spread(len(rows), left + EDGE, right - EDGE)
    plot = LinePlot(
        left=_n(left),
        right=right,
        top=top,
        bottom=bottom,
        zero_y=y_of(0),
        y_ticks=tuple(
            Tick(t, y_of(t), Label(_n(left - 8), _n(y_of(t) + SMALL * 0.35), w, w, "end"), t == 0) for t, w in zip(ticks, tick_words)
        ),
        x_labels=_month_labels([row[label_index] for row in rows], xs, bottom + X_LABEL_ROOM - 14),
        lines=tuple(_line(s, [row[i] for row in rows], xs, y_of) for s, i in zip(series, indexes)),
    )
    return _view(table, spec, series, items, bottom + X_LABEL_ROOM, line=plot)


def _spread(count: int, start: float, end: float) -> list[float]:
    if count == 1:
        return [_n((start + end) / 2)]
    step = (end - start) / (count - 1)
    return [_n(start + i * step) for i in range(count)]


def _month_labels(months: list[dt.date], xs: list[float], y: float) -> tuple[Label, ...]:
    """Every month's label when there is room, else every second, third...: never overlapping."""
    gap = xs[1] - xs[0] if len(xs) > 1 else WIDTH
    every = max(1, math.ceil(X_LABEL_SPACING / gap))
    return tuple(Label(x, y, month_label(m), month_label(m), "middle") for i, (m, x) in enumerate(zip(months, xs)) if i % every == 0)


def _line(s: Series, values: list[Any], xs: list[float], y_of) -> Line:
    segments: list[tuple[Point, ...]] = []
    current: list[Point] = []
    for value, x in zip(values, xs):
        if is_figure(value):
            current.append(Point(value, x, y_of(value)))
        elif current:
            segments.append(tuple(current))
            current = []
    if current:
        segments.append(tuple(current))
    markers = tuple(marker(s.marker, p.x, p.y) for segment in segments for p in segment)
    return Line(s, tuple(segments), markers)


def nice_ticks(lo: float, hi: float, kind: Kind) -> list[float]:
    """Three to five evenly spaced round figures from 0 (or below, for negative figures) to at
    least ``hi``, each a whole number of the kind's unit (£1, 1%, 1, 0.1)."""
    unit = TICK_UNIT[kind]
    low, high = min(lo, 0) / unit, max(hi, 0) / unit
    if high - low < 4:  # all zeros, or tiny figures: still four steps of one unit
        if high == 0 and low < 0:
            low = -4
        else:
            high = low + 4
    for step in _nice_steps():
        first, last = math.floor(low / step), math.ceil(high / step)
        if last - first <= 4:
            return [_in_units(k * step, unit) for k in range(first, last + 1)]
    raise AssertionError("unreachable: the steps grow without bound")


def _nice_steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500..."""
    yield from (1, 2, 5)
    power = 10
    while True:
        yield from (power, 2 * power, power * 5 // 2, 5 * power)
        power *= 10


def _in_units(count: int, unit: float) -> float:
    return count * unit if isinstance(unit, int) else round(count * unit, 6)


def describe(description: str) -> str:
    words = description.strip()
    if words and words[-1] not in ".!?":
        words += "."
    return f"{words} The table below gives the figures.".strip()


def _view(table: Table, spec: Chart, series, items, height: float, **plot) -> ChartView:
    return ChartView(
        kind=spec.kind,
        id=dom_id(table.slug),
        title=spec.title,
        description=describe(spec.description),
        caption=table.caption,
        height=_n(height),
        series=series,
        legend=items,
        **plot,
    )
