"""The market reports a commissioner can read, in the order the index lists them, and the
one way to run one: every table's small numbers are suppressed before it leaves here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from app.services.reports import concentration, demand, personal_budgets, prices, quality, service_levels, spend, supply
from app.services.reports.filters import ReportFilter
from app.services.reports.small_numbers import is_small, suppress
from app.services.reports.tables import SUPPRESSED, Figure, Kind, Report


@dataclass(frozen=True)
class Entry:
    slug: str
    title: str
    description: str
    build: Callable[..., Report]


REPORTS = (
    Entry("supply", "Supply", "Providers and services by type of support and area, capacity against bookings, and changes.", supply.build),
    Entry("prices", "Prices", "Listed prices by quartile against reference rates, and the average price actually paid.", prices.build),
    Entry("quality", "Quality", "The CQC rating mix by type of support, by number of services and by share of spend.", quality.build),
    Entry("spend", "Spend", "Spend by month, type of support, provider and way of paying, equal to the ledger.", spend.build),
    Entry("concentration", "Concentration", "How much of the market a few providers hold (HHI, top three's share).", concentration.build),
    Entry("demand", "Demand and unmet demand", "Searches, where people found nothing, and requests turned away.", demand.build),
    Entry("budgets", "Personal budgets", "Budgets by type, allocated and spent, direct payments, unspent money.", personal_budgets.build),
    Entry("service", "Providers' service", "How quickly providers answer, how often they accept, and cancellations.", service_levels.build),
)


def entry(slug: str) -> Entry | None:
    return next((e for e in REPORTS if e.slug == slug), None)


def _safe_figure(figure: Figure) -> Figure:
    if figure.kind is Kind.PEOPLE and is_small(figure.value):
        return Figure(figure.label, SUPPRESSED, figure.kind, figure.hint)
    return figure


def run(slug: str, f: ReportFilter, *, now: dt.datetime | None = None) -> Report | None:
    """The report, safe to publish (no count of fewer than 5 people shown), or None for an
    unknown report."""
    found = entry(slug)
    if found is None:
        return None
    report = found.build(f, now=now)
    for table in report.tables:
        suppress(table)
    report.figures = [_safe_figure(figure) for figure in report.figures]
    return report
