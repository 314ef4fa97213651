"""The figures the personal budgets report is made of, each aggregated in the database.

budgets.summary() gives one budget's figures in four queries; for every budget at once
that would be four queries a budget, so these read the same sources (ledger accounts of
kind BUDGET, live holds, spend facts, funded periods) grouped in one query each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import (
    AccountKind,
    Booking,
    BookingVisit,
    BudgetPeriod,
    BudgetStatus,
    BudgetType,
    CouncilSettings,
    HoldStatus,
    LedgerAccount,
    LedgerHold,
    PersonalBudget,
    Service,
    SpendFact,
    WayOfPaying,
)
from app.services.reports.filters import ReportFilter, add_months, first_of_month

DEFAULT_UNSPENT_WEEKS = 8
WEEKS_PER_PERIOD = 4

WAY_OF_BUDGET = {BudgetType.MANAGED_ACCOUNT: WayOfPaying.MANAGED, BudgetType.ISF: WayOfPaying.ISF}
BUDGET_OF_WAY = {way: budget_type for budget_type, way in WAY_OF_BUDGET.items()}


@dataclass(frozen=True)
class Budget:
    id: int
    citizen_id: int
    budget_type: BudgetType
    amount_per_period_pence: int
    starts_on: dt.date
    ends_on: dt.date | None  # the last day, inclusive
    active: bool

    def overlaps(self, first: dt.date, after: dt.date) -> bool:
        """Whether the budget runs on any day from ``first`` up to (not including) ``after``."""
        return self.starts_on < after and (self.ends_on is None or self.ends_on >= first)


def budgets() -> list[Budget]:
    rows = db.session.execute(
        select(
            PersonalBudget.id,
            PersonalBudget.citizen_id,
            PersonalBudget.budget_type,
            PersonalBudget.amount_per_period_pence,
            PersonalBudget.starts_on,
            PersonalBudget.ends_on,
            PersonalBudget.status,
        )
    ).all()
    return [Budget(*row[:6], active=row[6] is BudgetStatus.ACTIVE) for row in rows]


def period_end(f: ReportFilter) -> dt.date:
    """The first day after the period."""
    return add_months(f.last_month, 1)


def allocated_by_month(f: ReportFilter) -> dict[tuple[BudgetType, dt.date], int]:
    """Funding paid into budgets for periods starting in each month, by budget type."""
    rows = db.session.execute(
        select(PersonalBudget.budget_type, BudgetPeriod.starts_on, func.sum(BudgetPeriod.funded_pence))
        .join(PersonalBudget, PersonalBudget.id == BudgetPeriod.budget_id)
        .where(BudgetPeriod.starts_on >= f.first_month, BudgetPeriod.starts_on < period_end(f))
        .group_by(PersonalBudget.budget_type, BudgetPeriod.starts_on)
    ).all()
    totals: dict[tuple[BudgetType, dt.date], int] = {}
    for budget_type, day, pence in rows:
        key = (BudgetType(budget_type), first_of_month(day))
        totals[key] = totals.get(key, 0) + int(pence)
    return totals


def spent_by_month(f: ReportFilter) -> dict[tuple[WayOfPaying, dt.date], int]:
    """What providers were owed for care in each month, by way of paying (refunds netted)."""
    query = (
        select(SpendFact.way, SpendFact.month, func.sum(SpendFact.amount_pence))
        .where(SpendFact.month >= f.first_month, SpendFact.month <= f.last_month)
        .group_by(SpendFact.way, SpendFact.month)
    )
    if f.category is not None:
        query = query.where(SpendFact.category_id == f.category.id)
    return {(WayOfPaying(way), month): int(pence) for way, month, pence in db.session.execute(query).all()}


def direct_payment_people(f: ReportFilter) -> tuple[set[tuple[dt.date, int]], set[tuple[dt.date, int]]]:
    """(month, person) for everyone whose care a prepaid card paid for in each month: those
    paid for the filter's type of support, and everyone whatever the support (for uptake).
    One query for both: read twice, the spend facts were the report's slowest part."""
    query = select(SpendFact.month, Booking.citizen_id).join(Booking, Booking.id == SpendFact.booking_id)
    if f.category is not None:
        query = query.add_columns(func.max(case((SpendFact.category_id == f.category.id, 1), else_=0)))
    query = query.where(
        SpendFact.way == WayOfPaying.DIRECT_PAYMENT,
        SpendFact.amount_pence > 0,
        SpendFact.month >= f.first_month,
        SpendFact.month <= f.last_month,
    ).group_by(SpendFact.month, Booking.citizen_id)
    rows = db.session.execute(query).all()
    everyone = {(month, citizen) for month, citizen, *_ in rows}
    if f.category is None:
        return everyone, everyone
    return {(month, citizen) for month, citizen, in_category in rows if in_category}, everyone


def held_by_budget(f: ReportFilter) -> dict[int, int]:
    """Money set aside now for booked visits, by budget."""
    query = (
        select(LedgerAccount.budget_id, func.sum(LedgerHold.amount_pence))
        .join(LedgerAccount, LedgerAccount.id == LedgerHold.budget_account_id)
        .where(LedgerHold.status == HoldStatus.HELD)
        .group_by(LedgerAccount.budget_id)
    )
    if f.category is not None:
        query = (
            query.join(BookingVisit, BookingVisit.id == LedgerHold.visit_id)
            .join(Booking, Booking.id == BookingVisit.booking_id)
            .join(Service, Service.id == Booking.service_id)
            .where(Service.category_id == f.category.id)
        )
    return {budget_id: int(pence) for budget_id, pence in db.session.execute(query).all()}


def balance_by_budget() -> dict[int, int]:
    """What each budget has available now (an ISF's accounts with every provider added up)."""
    rows = db.session.execute(
        select(LedgerAccount.budget_id, func.sum(LedgerAccount.balance_pence))
        .where(LedgerAccount.kind == AccountKind.BUDGET, LedgerAccount.budget_id.is_not(None))
        .group_by(LedgerAccount.budget_id)
    ).all()
    return {budget_id: int(pence) for budget_id, pence in rows}


def unspent_weeks() -> int:
    settings = db.session.get(CouncilSettings, 1)
    return settings.unspent_weeks_threshold if settings is not None else DEFAULT_UNSPENT_WEEKS


def over_threshold(all_budgets: list[Budget], balance: dict[int, int], weeks: int) -> list[tuple[BudgetType, int, int, int]]:
    """Active budgets holding more than ``weeks`` weeks' worth unspent, by type: (type,
    budgets, unspent, four times the unspent above the threshold: whole pence until the end).
    Worked out from the balances the report has already read rather than summing the
    ledger's budget accounts a second time."""
    found: dict[BudgetType, tuple[int, int, int]] = {}
    for budget in all_budgets:
        held = balance.get(budget.id)
        if not budget.active or held is None:
            continue
        # A week's worth is a quarter of the 4-weekly amount: compare four times the balance.
        excess = WEEKS_PER_PERIOD * held - weeks * budget.amount_per_period_pence
        if excess > 0:
            n, unspent, quarters = found.get(budget.budget_type, (0, 0, 0))
            found[budget.budget_type] = (n + 1, unspent + held, quarters + excess)
    return [(budget_type, *totals) for budget_type, totals in found.items()]


def running(all_budgets: list[Budget], f: ReportFilter) -> list[Budget]:
    """The budgets that ran in the period (the period's end worked out once, not per budget)."""
    first, after = f.first_month, period_end(f)
    return [b for b in all_budgets if b.overlaps(first, after)]


def month_holders(all_budgets: list[Budget], month: dt.date, types: tuple[BudgetType, ...]) -> set[int]:
    after = add_months(month, 1)
    return {b.citizen_id for b in all_budgets if b.budget_type in types and b.overlaps(month, after)}


@dataclass(frozen=True)
class BudgetData:
    """Everything the report reads, each from one query."""

    budgets: list[Budget]
    allocated: dict[tuple[BudgetType, dt.date], int]
    spent: dict[tuple[WayOfPaying, dt.date], int]
    direct_people: set[tuple[dt.date, int]]  # with the type of support filter
    all_direct_people: set[tuple[dt.date, int]]  # whatever the support: for uptake
    held: dict[int, int]
    balance: dict[int, int]


def read(f: ReportFilter) -> BudgetData:
    direct_people, all_direct_people = direct_payment_people(f)
    return BudgetData(
        budgets=budgets(),
        allocated=allocated_by_month(f),
        spent=spent_by_month(f),
        direct_people=direct_people,
        all_direct_people=all_direct_people,
        held=held_by_budget(f),
        balance=balance_by_budget(),
    )
