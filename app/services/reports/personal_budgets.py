"""Personal budgets: what the council allocated and what was spent, by type of budget and
by month; how many people take a direct payment (ASCOF 3D); and how many budgets hold more
unspent than the council's threshold.

The marketplace does not know where budget holders live, so the postcode district filter
does not apply to this report. Direct payments are loaded onto prepaid cards outside the
marketplace: only what the cards paid for here is known, not what was loaded."""

from __future__ import annotations

import datetime as dt

from app.database import utcnow
from app.services.reports.filters import ReportFilter
from app.services.reports.personal_budgets_queries import BudgetData, read, running, unspent_weeks
from app.services.reports.personal_budgets_tables import (
    budget_types,
    by_month_table,
    by_type_table,
    shows_direct_payments,
    unspent_table,
    uptake_table,
)
from app.services.reports.small_numbers import is_small
from app.services.reports.stats import share
from app.services.reports.tables import SUPPRESSED, Figure, Kind, Report, Table


def _people(value: int):
    return SUPPRESSED if is_small(value) else value


def _figures(f: ReportFilter, data: BudgetData, by_type: Table, uptake: Table, unspent: Table) -> list[Figure]:
    types = budget_types(f)
    holders = {b.citizen_id for b in running(data.budgets, f) if b.budget_type in types}
    budgets = [row for row in by_type.rows if row[2] is not None]
    allocated, spent = sum(row[2] for row in budgets), sum(row[3] for row in budgets)
    return [
        Figure("People with a personal budget", _people(len(holders)), Kind.PEOPLE),
        Figure("Allocated to budgets", allocated, Kind.PENCE),
        Figure("Spent from budgets", spent, Kind.PENCE),
        Figure("Share of allocation spent", share(spent, allocated), Kind.SHARE, "spent from budgets ÷ allocated"),
        Figure("Direct payment uptake", uptake.total[-1] if uptake.total else None, Kind.SHARE, "England 2023-24: 25.5%"),
        Figure("Budgets holding more than the unspent threshold", _people(unspent.total[1] if unspent.total else 0), Kind.PEOPLE),
    ]


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    data = read(f)
    types, direct = budget_types(f), shows_direct_payments(f)
    by_type = by_type_table(f, data, types, direct)
    uptake = uptake_table(f, data)
    unspent = unspent_table(f, data, types, unspent_weeks())
    return Report(
        slug="budgets",
        title="Personal budgets",
        summary="What was allocated to personal budgets and spent, direct payment uptake, and budgets building up unspent money.",
        figures=_figures(f, data, by_type, uptake, unspent),
        tables=[by_type, by_month_table(f, data, types, direct), uptake, unspent],
        calculated_at=now or utcnow(),
    )
