"""The filters every market report takes: a period of whole months, a type of support, a
postcode district and a way of paying. Parsed from a query string here (never trusted:
anything unknown is reported and the default used), so every report reads the same ones."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select

from app.extensions import db
from app.models import Category, CouncilDistrict, WayOfPaying
from app.uk_time import local_midnight, uk_today

# How many months a report covers when nobody says, and the most it may cover.
DEFAULT_MONTHS = 12
MAX_MONTHS = 60
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from ``first`` to ``last`` inclusive (both first days of months)."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass(frozen=True)
class ReportFilter:
    first_month: dt.date  # the first day of the first month covered
    last_month: dt.date  # the first day of the last month covered
    category: Category | None = None
    district: str | None = None
    way: WayOfPaying | None = None

    @property
    def starts_at(self) -> dt.datetime:
        """The moment the period starts (UK midnight), inclusive."""
        return local_midnight(self.first_month)

    @property
    def ends_at(self) -> dt.datetime:
        """The moment after the period ends (UK midnight of the next month), exclusive."""
        return local_midnight(add_months(self.last_month, 1))

    @property
    def months(self) -> list[dt.date]:
        return months_between(self.first_month, self.last_month)

    def query_args(self) -> dict[str, str]:
        """The filter as query-string arguments: for CSV links and bookmarks."""
        args = {"from": self.first_month.strftime("%Y-%m"), "to": self.last_month.strftime("%Y-%m")}
        if self.category is not None:
            args["category"] = self.category.slug
        if self.district:
            args["district"] = self.district
        if self.way is not None:
            args["way"] = self.way.value
        return args

    def describe(self) -> str:
        """In words, for a page heading, a chart description and a CSV's first line."""
        parts = [f"{self.first_month:%B %Y} to {self.last_month:%B %Y}"]
        if self.category is not None:
            parts.append(self.category.name)
        if self.district:
            parts.append(f"postcode district {self.district}")
        if self.way is not None:
            parts.append(self.way.label)
        return ", ".join(parts)

    def with_months(self, first: dt.date, last: dt.date) -> ReportFilter:
        return replace(self, first_month=first, last_month=last)


def default_filter(today: dt.date | None = None) -> ReportFilter:
    last = first_of_month(today or uk_today())
    return ReportFilter(first_month=add_months(last, -(DEFAULT_MONTHS - 1)), last_month=last)


def _month(text: str | None) -> dt.date | None:
    match = _MONTH.match((text or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return dt.date(year, month, 1)


def categories() -> list[Category]:
    return list(db.session.execute(select(Category).order_by(Category.position, Category.name)).scalars())


def districts() -> list[str]:
    """The council's own postcode districts, the ones its reports break down by."""
    return list(db.session.execute(select(CouncilDistrict.outward_code).order_by(CouncilDistrict.outward_code)).scalars())


def parse(args: Mapping[str, str], *, today: dt.date | None = None) -> tuple[ReportFilter, dict[str, str]]:
    """The filter the arguments ask for, and a message for each argument that could not be
    used (its default is used instead, so the page still shows a report)."""
    base = default_filter(today)
    errors: dict[str, str] = {}
    first, last = base.first_month, base.last_month
    if args.get("from"):
        first = _month(args.get("from")) or first
        if _month(args.get("from")) is None:
            errors["from"] = "Enter the first month as a year and month, like 2026-01"
    if args.get("to"):
        last = _month(args.get("to")) or last
        if _month(args.get("to")) is None:
            errors["to"] = "Enter the last month as a year and month, like 2026-12"
    if first > last:
        errors["from"] = "The first month must be the same as or before the last month"
        first, last = base.first_month, base.last_month
    elif len(months_between(first, last)) > MAX_MONTHS:
        errors["from"] = f"A report can cover at most {MAX_MONTHS} months"
        first = add_months(last, -(MAX_MONTHS - 1))
    category = None
    if args.get("category"):
        category = next((c for c in categories() if c.slug == args.get("category")), None)
        if category is None:
            errors["category"] = "Choose a type of support from the list"
    district = (args.get("district") or "").strip().upper() or None
    if district and district not in districts():
        errors["district"] = "Choose a postcode district from the list"
        district = None
    way = None
    if args.get("way"):
        way = next((w for w in WayOfPaying if w.value == args.get("way")), None)
        if way is None:
            errors["way"] = "Choose a way of paying from the list"
    return ReportFilter(first, last, category, district, way), errors
