"""The prices report: the spread of listed prices against the council's reference rates,
what was actually paid per unit on and off the framework, and how that moved month by
month."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from app.database import utcnow
from app.models import PriceUnit
from app.services.reports.filters import ReportFilter, categories
from app.services.reports.prices_paid import paid, trend, trend_category, whole_pence
from app.services.reports.reference_rates import rates as reference_rates
from app.services.reports.stats import change, price_spread
from app.services.reports.supply_scope import LISTED_NOTE, in_scope
from app.services.reports.tables import Chart, Column, Figure, Kind, Report, Table

SUMMARY = (
    "What care costs: the spread of prices providers list for each type of support (lowest, quartiles, median and highest) "
    "against the council's reference rates, the average actually paid per unit delivered by framework and other providers, "
    "and how the average paid moved month by month."
)
LISTED_PRICES_NOTE = (
    "Each published listing's price counts once. Quartiles are worked out as spreadsheets' QUARTILE.INC does and rounded "
    "half up to whole pence. The difference is the median's, against the reference rate. "
)


def _listed(f: ReportFilter, names: dict[int, str], order: dict[int, int], rates: dict) -> Table:
    found, _ = in_scope(f)
    prices: dict[tuple[int, PriceUnit], list[int]] = defaultdict(list)
    for listing in found:
        prices[(listing.category_id, listing.price_unit)].append(listing.price_pence)
    rows = []
    for key in sorted(prices, key=lambda k: (order.get(k[0], 0), list(PriceUnit).index(k[1]))):
        low, lower, median, upper, high = price_spread(prices[key])
        rate = rates.get(key)
        reference = rate.rate_pence if rate else None
        rows.append(
            (
                names.get(key[0], "Unknown"),
                key[1].value,
                len(prices[key]),
                low,
                whole_pence(lower),
                whole_pence(median),
                whole_pence(upper),
                high,
                reference,
                rate.source if rate else "",
                change(median, reference),
            )
        )
    return Table(
        "listed",
        "Listed prices by type of support and unit",
        (
            Column("category", "Type of support"),
            Column("unit", "Unit"),
            Column("services", "Services", Kind.COUNT),
            Column("lowest", "Lowest", Kind.PENCE),
            Column("lower_quartile", "Lower quartile", Kind.PENCE),
            Column("median", "Median", Kind.PENCE),
            Column("upper_quartile", "Upper quartile", Kind.PENCE),
            Column("highest", "Highest", Kind.PENCE),
            Column("reference", "Reference rate", Kind.PENCE),
            Column("source", "Reference source"),
            Column("difference", "Median against reference", Kind.SHARE),
        ),
        rows,
        chart=Chart(
            "bar",
            "category",
            ("lower_quartile", "median", "upper_quartile", "reference"),
            "Listed prices against reference rates",
            f"The lower quartile, median and upper quartile of listed prices beside the reference rate, {f.describe()}.",
        ),
        note=LISTED_PRICES_NOTE + _scope_note(f) + LISTED_NOTE,
    )


def _scope_note(f: ReportFilter) -> str:
    said = "For a district, listings of providers working there count. " if f.district else ""
    return said + ("For a way of paying, listings that accept it count. " if f.way else "")


def _figures(listed: Table, trend_table: Table, unit: PriceUnit, kind_name: str) -> list[Figure]:
    median = next((row[5] for row in listed.rows if row[0] == kind_name and row[1] == unit.value), None)
    dated = [row for row in trend_table.rows if row[1] is not None]
    moved = dated[-1][3] if len(dated) > 1 else None
    since = f"From {dated[0][0]:%B %Y} to {dated[-1][0]:%B %Y}" if len(dated) > 1 else "Needs care delivered in two months"
    return [
        Figure(f"Median listed price per {unit.value}: {kind_name}", median, Kind.PENCE),
        Figure(f"Average paid per {unit.value}: {kind_name}", trend_table.total[1], Kind.PENCE, "Weighted by units delivered"),
        Figure(f"Change in the average paid per {unit.value}", moved, Kind.SHARE, since),
    ]


def _framework_figure(paid_table: Table, kind_name: str, unit: PriceUnit) -> Figure:
    row = next((r for r in paid_table.rows if r[0] == kind_name and r[1] == unit.value), None)
    value = row[paid_table.index("framework_against_other")] if row else None
    label = f"Framework against other providers per {unit.value}: {kind_name}"
    return Figure(label, value, Kind.SHARE, "Average paid, framework over other")


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    kinds = categories()
    names = {kind.id: kind.name for kind in kinds}
    order = {kind.id: i for i, kind in enumerate(kinds)}
    rates = reference_rates()
    listed = _listed(f, names, order, rates)
    paid_table = paid(f, names, order, rates)
    kind = trend_category(f, kinds)
    trend_table, unit = trend(f, kind)
    kind_name = kind.name if kind else "Home care"
    figures = [*_figures(listed, trend_table, unit, kind_name), _framework_figure(paid_table, kind_name, unit)]
    return Report(
        slug="prices",
        title="Prices",
        summary=SUMMARY,
        figures=figures,
        tables=[listed, paid_table, trend_table],
        calculated_at=now or utcnow(),
    )
