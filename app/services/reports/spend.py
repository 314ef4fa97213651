"""The spend report: what providers became owed for care, by month, type of support,
provider and way of paying. Its totals are the ledger's to the penny (spend_query.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Category, Provider, SpendFact, WayOfPaying
from app.services.reports import spend_query
from app.services.reports.filters import ReportFilter
from app.services.reports.stats import share
from app.services.reports.tables import Chart, Column, Figure, Kind, Report, Table

WAYS = tuple(WayOfPaying)
SPEND_NOTE = (
    "Spend is what providers became owed for care delivered (or cancelled too late to be free), "
    "less card refunds, dated when it was recorded. Payments to providers are not counted again."
)


def _by_month(f: ReportFilter) -> Table:
    cells = {(month, WayOfPaying(way)): int(pence) for month, way, pence in spend_query.grouped(f, SpendFact.month, SpendFact.way)}
    columns = (Column("month", "Month", Kind.MONTH),)
    columns += tuple(Column(way.value, way.label, Kind.PENCE) for way in WAYS)
    columns += (Column("total", "All spend", Kind.PENCE),)
    rows = []
    for month in f.months:
        values = [cells.get((month, way), 0) for way in WAYS]
        rows.append((month, *values, sum(values)))
    totals = [sum(row[i] for row in rows) for i in range(1, len(columns))]
    return Table(
        "by-month",
        "Spend by month and way of paying",
        columns,
        rows,
        total=("All months", *totals),
        chart=Chart(
            "line",
            "month",
            tuple(way.value for way in WAYS),
            "Spend by month and way of paying",
            f"Monthly spend from {f.describe()}, one line for each way of paying.",
        ),
        note=SPEND_NOTE,
    )


def _ranked(f: ReportFilter, slug: str, caption: str, heading: str, names: dict, column) -> Table:
    amounts = [(names.get(key, "Unknown"), int(pence)) for key, pence in spend_query.grouped(f, column)]
    amounts.sort(key=lambda row: (-row[1], row[0]))
    everything = sum(p for _, p in amounts)
    rows = [(name, pence, share(pence, everything)) for name, pence in amounts]
    return Table(
        slug,
        caption,
        (Column("name", heading), Column("spend", "Spend", Kind.PENCE), Column("share", "Share of spend", Kind.SHARE)),
        rows,
        total=("Total", everything, 1.0 if everything else None),
        chart=Chart("bar", "name", ("spend",), caption, f"{caption}, {f.describe()}, largest first.") if rows else None,
        note=SPEND_NOTE,
    )


def _by_way(f: ReportFilter) -> Table:
    amounts = {WayOfPaying(way): int(pence) for way, pence in spend_query.grouped(f, SpendFact.way)}
    people = {WayOfPaying(way): int(count) for way, count in spend_query.people(f, SpendFact.way)}
    everything = sum(amounts.values())
    rows = [(way.label, people.get(way, 0), amounts.get(way, 0), share(amounts.get(way, 0), everything)) for way in WAYS]
    return Table(
        "by-way",
        "Spend by way of paying",
        (
            Column("way", "Way of paying"),
            Column("people", "People whose care it paid for", Kind.PEOPLE),
            Column("spend", "Spend", Kind.PENCE),
            Column("share", "Share of spend", Kind.SHARE),
        ),
        rows,
        total=("All ways", sum(people.values()), everything, 1.0 if everything else None),
        chart=Chart("bar", "way", ("spend",), "Spend by way of paying", f"Spend by way of paying, {f.describe()}."),
        note=SPEND_NOTE + " A person who paid in more than one way is counted once under each.",
    )


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    categories = {c.id: c.name for c in db.session.execute(select(Category)).scalars()}
    providers = {p.id: p.name for p in db.session.execute(select(Provider.id, Provider.name)).all()}
    by_month = _by_month(f)
    total = by_month.total[-1]
    council = sum(by_month.total[1 + i] for i, way in enumerate(WAYS) if way is not WayOfPaying.SELF_FUNDED)
    by_provider = _ranked(f, "by-provider", "Spend by provider", "Provider", providers, SpendFact.provider_id)
    return Report(
        slug="spend",
        title="Spend",
        summary="Where the money for care went: by month, type of support, provider and way of paying.",
        figures=[
            Figure("Spend in the period", total, Kind.PENCE),
            Figure("Paid by the council (budgets and direct payments)", council, Kind.PENCE),
            Figure("Paid by people for themselves", total - council, Kind.PENCE),
            Figure("Providers paid for care", len(by_provider.rows), Kind.COUNT),
        ],
        tables=[
            by_month,
            _ranked(f, "by-category", "Spend by type of support", "Type of support", categories, SpendFact.category_id),
            by_provider,
            _by_way(f),
        ],
        calculated_at=now or utcnow(),
    )
