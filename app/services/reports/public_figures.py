"""The live figures the public Market Position Statement shows beside the council's words:
supply, prices, quality and unmet demand, for the last 12 months, each table safe to
publish (small numbers suppressed by catalogue.run) and saying when it was calculated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.database import utcnow
from app.services.reports.catalogue import run
from app.services.reports.filters import ReportFilter, default_filter
from app.services.reports.tables import Table

# Which tables of which reports are public. Spend by provider and providers' service
# figures stay with commissioners: they are commercial and operational, not market signals.
PUBLIC_TABLES = (
    ("supply", "by-category"),
    ("supply", "by-area"),
    ("prices", "listed"),
    ("quality", "services"),
    ("demand", "searches-by-area"),
)


@dataclass(frozen=True)
class PublicTable:
    report_title: str
    table: Table
    calculated_at: dt.datetime


def public_figures(*, now: dt.datetime | None = None) -> tuple[ReportFilter, list[PublicTable]]:
    now = now or utcnow()
    f = default_filter()
    found = []
    for report_slug, table_slug in PUBLIC_TABLES:
        report = run(report_slug, f, now=now)
        table = report.table(table_slug) if report else None
        if table is not None:
            found.append(PublicTable(report.title, table, report.calculated_at))
    return f, found
