"""SQL pieces the demand report needs that read the same on SQLite and PostgreSQL: the UK
month a moment falls in, a moment some days later, search words normalised, and which
searches the filter picks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Interval, case, func, literal
from sqlalchemy.sql import ColumnElement

from app.extensions import db
from app.models import FundingRoute, SearchLog, WayOfPaying
from app.services.reports.filters import ReportFilter, add_months
from app.uk_time import local_midnight

# The funding route a search asked for that matches each way of paying.
SEARCH_FUNDING = {
    WayOfPaying.MANAGED: FundingRoute.PERSONAL_BUDGET,
    WayOfPaying.ISF: FundingRoute.PERSONAL_BUDGET,
    WayOfPaying.DIRECT_PAYMENT: FundingRoute.PREPAID_CARD,
    WayOfPaying.SELF_FUNDED: FundingRoute.SELF_FUNDER,
}

# Enough passes of "two spaces to one" to collapse any run in a 200-character field.
_COLLAPSE_PASSES = 8


def month_index(column, f: ReportFilter) -> ColumnElement[int]:
    """Which of the filter's months (0, 1, ...) a moment in the period falls in, by UK
    midnights: the comparison is on the stored moment, so no time zone function is needed.
    Group by it through a subquery (PostgreSQL wants the same expression, not the same
    parameters, in GROUP BY)."""
    months = f.months
    if len(months) == 1:
        return literal(0)
    whens = [(column < local_midnight(add_months(month, 1)), i) for i, month in enumerate(months[:-1])]
    return case(*whens, else_=len(months) - 1)


def plus_days(column, days: int) -> ColumnElement:
    """A stored moment ``days`` later, in the column's own form (SQLite keeps text)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f000", column, f"+{days} days")
    return column + literal(dt.timedelta(days=days), Interval())


def normalised_words(column) -> ColumnElement[str]:
    """Lower case, trimmed, every run of white space one space."""
    text = func.replace(func.replace(func.replace(column, "\t", " "), "\n", " "), "\r", " ")
    for _ in range(_COLLAPSE_PASSES):
        text = func.replace(text, "  ", " ")
    return func.lower(func.trim(text))


def search_conditions(f: ReportFilter, *, district: bool = True) -> list[ColumnElement[bool]]:
    """The searches in the filter's period, type of support, district and funding route."""
    conditions = [SearchLog.searched_at >= f.starts_at, SearchLog.searched_at < f.ends_at]
    if f.category is not None:
        conditions.append(SearchLog.category_slug == f.category.slug)
    if district and f.district:
        conditions.append(SearchLog.postcode_district == f.district)
    if f.way is not None:
        conditions.append(SearchLog.funding == SEARCH_FUNDING[f.way])
    return conditions


def way_note(f: ReportFilter) -> str:
    if f.way is None:
        return ""
    route = SEARCH_FUNDING[f.way]
    return f" Only searches filtered to “{route.label}” are counted: a search says nothing more about how the person pays."
