"""The concentration report: how much of the spend on each type of support, and in each
area, goes to a few providers (the Herfindahl-Hirschman Index and the top three's share)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Category, SpendFact
from app.services.reports import spend_query
from app.services.reports.filters import ReportFilter
from app.services.reports.stats import HHI_BANDS, hhi, hhi_band, top_share
from app.services.reports.tables import Chart, Column, Figure, Kind, Report, Table

NOTE = (
    "The index is the sum of each provider's squared percentage share of spend, from 0 (many small providers) "
    "to 10,000 (one provider has it all). Older UK merger guidance read over 1,000 as concentrated and over 2,000 "
    "as highly concentrated; current guidance sets no thresholds, so the bands are indicative. Each provider "
    "organisation counts as one firm (the marketplace does not know which share an owner)."
)


def _columns(first: Column) -> tuple[Column, ...]:
    return (
        first,
        Column("providers", "Providers paid", Kind.COUNT),
        Column("hhi", "Concentration index (HHI)", Kind.NUMBER),
        Column("band", "Indicative band"),
        Column("top3", "Top 3 providers' share", Kind.SHARE),
    )


def _row(label, amounts: list[int]) -> tuple:
    index = hhi(amounts)
    return (label, sum(1 for a in amounts if a > 0), round(index, 1), hhi_band(index), top_share(amounts))


def _split(f: ReportFilter, column) -> dict:
    """Each provider's spend, per value of ``column``."""
    found: dict = defaultdict(list)
    for key, _provider, pence in spend_query.grouped(f, column, SpendFact.provider_id):
        found[key].append(int(pence))
    return found


def _by_category(f: ReportFilter) -> Table:
    names = {c.id: c.name for c in db.session.execute(select(Category)).scalars()}
    split = _split(f, SpendFact.category_id)
    rows = sorted((_row(names.get(key, "Unknown"), amounts) for key, amounts in split.items()), key=lambda r: (-r[2], r[0]))
    return Table(
        "by-category",
        "Concentration by type of support",
        _columns(Column("category", "Type of support")),
        rows,
        chart=Chart("bar", "category", ("hhi",), "Concentration index by type of support", f"HHI by type of support, {f.describe()}."),
        note=NOTE,
    )


def _by_area(f: ReportFilter) -> Table:
    split = _split(f, SpendFact.district)
    rows = sorted((_row(key or "Not known", amounts) for key, amounts in split.items()), key=lambda r: (-r[2], r[0]))
    return Table(
        "by-area",
        "Concentration by postcode district",
        _columns(Column("district", "Postcode district")),
        rows,
        chart=Chart("bar", "district", ("hhi",), "Concentration index by postcode district", f"HHI by district, {f.describe()}."),
        note=NOTE + " A booking's district is where the care was for (the visit address), else the provider's own.",
    )


def _over_time(f: ReportFilter) -> Table:
    split = _split(f, SpendFact.month)
    rows = []
    for month in f.months:
        amounts = split.get(month, [])
        rows.append(_row(month, amounts) if any(a > 0 for a in amounts) else (month, 0, None, "No spend", None))
    return Table(
        "over-time",
        "Concentration by month",
        _columns(Column("month", "Month", Kind.MONTH)),
        rows,
        chart=Chart("line", "month", ("hhi",), "Concentration index by month", f"HHI of each month's spend, {f.describe()}."),
        note=NOTE,
    )


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    overall = [int(p) for _, p in spend_query.grouped(f, SpendFact.provider_id)]
    index = hhi(overall)
    bands = ", ".join(f"over {floor:,} {label.lower()}" for floor, label in HHI_BANDS if floor)
    return Report(
        slug="concentration",
        title="Concentration",
        summary=f"Whether a few providers hold most of the market: the HHI and the top three's share of spend ({bands}, indicatively).",
        figures=[
            Figure("Concentration index for all the spend chosen", round(index, 1), Kind.NUMBER, hhi_band(index)),
            Figure("Top 3 providers' share of that spend", top_share(overall), Kind.SHARE),
            Figure("Providers paid", sum(1 for a in overall if a > 0), Kind.COUNT),
        ],
        tables=[_by_category(f), _by_area(f), _over_time(f)],
        calculated_at=now or utcnow(),
    )
