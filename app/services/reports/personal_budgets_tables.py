"""The personal budgets report's tables, from the figures personal_budgets_queries.py reads."""

from __future__ import annotations

from app.models import BudgetType, WayOfPaying
from app.services.reports.filters import ReportFilter
from app.services.reports.personal_budgets_queries import WAY_OF_BUDGET, BudgetData, month_holders, over_threshold, running
from app.services.reports.small_numbers import suppress_share
from app.services.reports.stats import share
from app.services.reports.tables import Chart, Column, Kind, Table

BUDGET_TYPES = (BudgetType.MANAGED_ACCOUNT, BudgetType.ISF)
DIRECT_PAYMENT = WayOfPaying.DIRECT_PAYMENT
ENGLAND_UPTAKE = "25.5%"  # ASCOF 3D, England 2023-24
NO_DISTRICT = " The postcode district filter does not apply: the marketplace does not know where budget holders live."


def budget_types(f: ReportFilter) -> tuple[BudgetType, ...]:
    """The budget types the way of paying filter keeps (none for people paying themselves)."""
    if f.way is None:
        return BUDGET_TYPES
    way_types = {way: budget_type for budget_type, way in WAY_OF_BUDGET.items()}
    return (way_types[f.way],) if f.way in way_types else ()


def shows_direct_payments(f: ReportFilter) -> bool:
    return f.way in (None, DIRECT_PAYMENT)


def _filters_note(f: ReportFilter) -> str:
    note = NO_DISTRICT if f.district else ""
    if f.category is not None:
        note += f" Spent and set aside are for {f.category.name} only; allocations and balances are for budgets as a whole."
    if f.way is WayOfPaying.SELF_FUNDED:
        note += " People paying for themselves have no personal budget."
    return note


def by_type_table(f: ReportFilter, data: BudgetData, types: tuple[BudgetType, ...], direct: bool) -> Table:
    ran = running(data.budgets, f)
    rows, people = [], set()
    for budget_type in types:
        mine = [b for b in ran if b.budget_type is budget_type]
        holders = {b.citizen_id for b in mine}
        allocated = sum(p for (t, _), p in data.allocated.items() if t is budget_type)
        spent = sum(p for (w, _), p in data.spent.items() if w is WAY_OF_BUDGET[budget_type])
        held = sum(data.held.get(b.id, 0) for b in mine)
        unspent = sum(data.balance.get(b.id, 0) for b in mine)
        rows.append((budget_type.label, len(holders), allocated, spent, held, unspent, share(spent, allocated)))
        people |= holders
    if direct:
        paid = {citizen for _, citizen in data.direct_people}
        spent = sum(p for (w, _), p in data.spent.items() if w is DIRECT_PAYMENT)
        rows.append((DIRECT_PAYMENT.label, len(paid), None, spent, None, None, None))
        people |= paid
    rows = [row for row in rows if any(row[1:6])]
    table = Table(
        slug="by-type",
        caption="Personal budgets by type",
        columns=(
            Column("type", "Type of budget", Kind.TEXT),
            Column("people", "People", Kind.PEOPLE),
            Column("allocated", "Allocated", Kind.PENCE),
            Column("spent", "Spent", Kind.PENCE),
            Column("held", "Set aside now", Kind.PENCE),
            Column("unspent", "Unspent now", Kind.PENCE),
            Column("utilisation", "Spent of allocated", Kind.SHARE),
        ),
        rows=rows,
        chart=Chart("bar", "type", ("allocated", "spent"), "Allocated and spent", f"Allocated and spent by type of budget, {f.describe()}"),
        note=(
            "People: budget holders whose budget ran in the period; direct payments: people whose care a council prepaid card "
            "paid for here in the period. Allocated: funding for budget periods starting in the period. Spent: care providers "
            "were owed (refunds taken off). Set aside and unspent are as they stand now, for budgets that ran in the period. "
            "Direct payments are loaded onto cards outside the marketplace, so their allocation is not known here; the total's "
            "share spent is of budgets only." + _filters_note(f)
        ),
    )
    if rows:
        budget_rows = [row for row in rows if row[2] is not None]
        allocated, budget_spent = sum(r[2] for r in budget_rows), sum(r[3] for r in budget_rows)
        money = [sum(r[i] or 0 for r in rows) for i in (2, 3, 4, 5)]
        table.total = ("Total", len(people), *money, share(budget_spent, allocated))
    return table


def by_month_table(f: ReportFilter, data: BudgetData, types: tuple[BudgetType, ...], direct: bool) -> Table:
    ways = [WAY_OF_BUDGET[t] for t in types]
    rows = []
    for month in f.months:
        allocated = sum(data.allocated.get((t, month), 0) for t in types) if types else None
        spent = sum(data.spent.get((w, month), 0) for w in ways) if types else None
        card = data.spent.get((DIRECT_PAYMENT, month), 0) if direct else None
        rows.append((month, allocated, spent, card))
    table = Table(
        slug="by-month",
        caption="Allocated and spent by month",
        columns=(
            Column("month", "Month", Kind.MONTH),
            Column("allocated", "Allocated to budgets", Kind.PENCE),
            Column("spent", "Spent from budgets", Kind.PENCE),
            Column("direct", "Spent by direct payment", Kind.PENCE),
        ),
        chart=Chart(
            "line", "month", ("allocated", "spent", "direct"), "Allocated and spent", f"Allocated and spent by month, {f.describe()}"
        ),
        note="Allocated: funding for budget periods starting in the month. Spent: care providers were owed in the month."
        + _filters_note(f),
    )
    if any(value for row in rows for value in row[1:]):
        table.rows = rows
        table.total = ("Total", *(None if rows[0][i] is None else sum(r[i] for r in rows) for i in (1, 2, 3)))
    return table


def uptake_table(f: ReportFilter, data: BudgetData) -> Table:
    rows = []
    for month in f.months:
        direct = {citizen for m, citizen in data.all_direct_people if m == month}
        everyone = direct | month_holders(data.budgets, month, BUDGET_TYPES)
        rows.append((month, len(direct), len(everyone), suppress_share(len(direct), share(len(direct), len(everyone)))))
    table = Table(
        slug="direct-payment-uptake",
        caption="Direct payment uptake",
        columns=(
            Column("month", "Month", Kind.MONTH),
            Column("direct", "People with a direct payment", Kind.PEOPLE),
            Column("everyone", "Everyone with council-funded support", Kind.PEOPLE),
            Column("share", "Share with a direct payment", Kind.SHARE),
        ),
        chart=Chart(
            "line", "month", ("share",), "Direct payment uptake", f"Share of people with a direct payment by month, {f.describe()}"
        ),
        note=(
            "In the manner of ASCOF 3D: people whose care a council prepaid card paid for ÷ everyone with council-funded support "
            f"(personal budget holders and people with a direct payment, each counted once). England 2023-24: {ENGLAND_UPTAKE}. "
            "The type of support, district and way of paying filters do not apply: uptake is a share across them all."
        ),
    )
    if any(row[2] for row in rows):
        table.rows = rows
        direct = {citizen for _, citizen in data.all_direct_people}
        everyone = direct | {b.citizen_id for b in running(data.budgets, f)}
        table.total = ("Whole period", len(direct), len(everyone), suppress_share(len(direct), share(len(direct), len(everyone))))
    return table


def unspent_table(f: ReportFilter, data: BudgetData, types: tuple[BudgetType, ...], weeks: int) -> Table:
    found = {budget_type: rest for budget_type, *rest in over_threshold(data.budgets, data.balance, weeks)}
    rows = [(t.label, n, unspent, round(quarters / 4)) for t in types if t in found for n, unspent, quarters in [found[t]]]
    table = Table(
        slug="unspent",
        caption=f"Budgets holding more than {weeks} weeks' worth unspent",
        columns=(
            Column("type", "Type of budget", Kind.TEXT),
            Column("budgets", "Budgets", Kind.PEOPLE),
            Column("unspent", "Unspent", Kind.PENCE),
            Column("excess", "Unspent above the threshold", Kind.PENCE),
        ),
        rows=rows,
        chart=Chart("bar", "type", ("unspent", "excess"), "Unspent money", f"Budgets holding more than {weeks} weeks' worth unspent"),
        note=(
            f"Active budgets whose available balance now is more than {weeks} weeks' worth (a week's worth is a quarter of the "
            "4-weekly amount; the threshold is in the council's settings). Counts only: the budgets themselves are listed on the "
            "budgets pages. The period and the type of support and district filters do not apply: balances are as they stand now."
        ),
    )
    if rows:
        table.total = ("Total", sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows))
    return table
