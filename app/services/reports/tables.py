"""What every market report is made of: tables of raw figures, each optionally drawn as a
chart, and a few headline figures.

Services fill these with raw values (pence as ints, counts as ints, shares as floats
between 0 and 1, months as the date of their first day); presenters format them, draw the
charts and write the CSV, so the chart, the table and the download always show the same
figures. Counts of people are marked ``PEOPLE`` so that small numbers can be suppressed
(see small_numbers.py) before anything is shown or downloaded.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any


class Kind(str, enum.Enum):
    TEXT = "text"
    MONTH = "month"  # a dt.date, the first day of the month
    COUNT = "count"  # a count of things (services, searches, providers)
    PEOPLE = "people"  # a count of people, or of things that each stand for one person
    PENCE = "pence"
    SHARE = "share"  # a fraction from 0 to 1, shown as a percentage
    NUMBER = "number"  # a plain figure with up to one decimal place (hours, an index)

    @property
    def numeric(self) -> bool:
        return self not in (Kind.TEXT, Kind.MONTH)


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Chart:
    """How to draw a table: ``label`` names the column along the category axis, ``series``
    the numeric columns drawn (one bar or line each, at most four)."""

    kind: str  # "bar" (horizontal bars, grouped by series) or "line" (months along the x axis)
    label: str
    series: tuple[str, ...]
    title: str
    description: str


# What a suppressed count shows as. Not a number, so it cannot be added back up.
SUPPRESSED = "fewer than 5"


@dataclass
class Table:
    slug: str
    caption: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    total: tuple[Any, ...] | None = None
    chart: Chart | None = None
    note: str = ""

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def values(self, key: str) -> list[Any]:
        i = self.index(key)
        return [row[i] for row in self.rows]


@dataclass(frozen=True)
class Figure:
    """A headline figure: 'Spend in the period: £12,345.67'."""

    label: str
    value: Any
    kind: Kind
    hint: str = ""


@dataclass
class Report:
    slug: str
    title: str
    summary: str
    figures: list[Figure]
    tables: list[Table]
    calculated_at: dt.datetime

    def table(self, slug: str) -> Table | None:
        return next((t for t in self.tables if t.slug == slug), None)
