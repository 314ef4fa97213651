"""The budget side of `flask ledger check`: each budget adds up, each period has its own
funding, and each budget-paid visit agrees with its holds."""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select

from app.extensions import db
from app.formatting import pluralise
from app.models import (
    AccountKind,
    Booking,
    BookingVisit,
    BudgetPeriod,
    HoldStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    PaymentMethod,
    PersonalBudget,
    TransactionKind,
    VisitStatus,
)
from app.services import ledger


def check_budgets() -> list[ledger.Problem]:
    """Every budget invariant, worst first."""
    return [*_budgets_add_up(), *_periods_have_their_funding(), *_visits_agree_with_holds()]


def _budgets_add_up() -> list[ledger.Problem]:
    """Each budget's figures (as ``figures.summary`` works them out) balance: available +
    held + spent = funded, over all the budget's own accounts."""
    # Money in, less any of it reversed (as in ``figures.summary``).
    money_in = [TransactionKind.FUNDING, TransactionKind.ADJUSTMENT, TransactionKind.CORRECTION]
    entries = (
        select(
            LedgerEntry.account_id.label("account_id"),
            func.sum(LedgerEntry.amount_pence).label("available"),
            func.sum(case((LedgerTransaction.kind.in_(money_in), LedgerEntry.amount_pence), else_=0)).label("funded"),
        )
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerAccount.kind == AccountKind.BUDGET, LedgerAccount.budget_id.is_not(None))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    holds = (
        select(
            LedgerHold.budget_account_id.label("account_id"),
            func.sum(case((LedgerHold.status == HoldStatus.HELD, LedgerHold.amount_pence), else_=0)).label("held"),
            func.sum(LedgerHold.captured_pence).label("spent"),
        )
        .group_by(LedgerHold.budget_account_id)
        .subquery()
    )
    figures = [func.coalesce(func.sum(column), 0) for column in (entries.c.available, holds.c.held, holds.c.spent, entries.c.funded)]
    available, held, spent, funded = figures
    # No LIMIT: with one, PostgreSQL picks nested loops over the grouped subqueries (ten times slower).
    row = db.session.execute(
        select(PersonalBudget.public_id, *figures)
        .join(LedgerAccount, (LedgerAccount.budget_id == PersonalBudget.id) & (LedgerAccount.kind == AccountKind.BUDGET))
        .outerjoin(entries, entries.c.account_id == LedgerAccount.id)
        .outerjoin(holds, holds.c.account_id == LedgerAccount.id)
        .group_by(PersonalBudget.id, PersonalBudget.public_id)
        .having(available + held + spent != funded)
        .order_by(PersonalBudget.id)
    ).first()
    if row is None:
        return []
    public_id, *amounts = row
    available_pence, held_pence, spent_pence, funded_pence = (int(amount) for amount in amounts)
    return [
        ledger.Problem(
            "budget adds up",
            f"budget {public_id}: available {available_pence} + held {held_pence} + spent {spent_pence} != funded {funded_pence}",
        )
    ]


def _periods_have_their_funding() -> list[ledger.Problem]:
    problems = []
    mismatch = db.session.execute(
        select(BudgetPeriod.id)
        .join(LedgerTransaction, BudgetPeriod.transaction_id == LedgerTransaction.id)
        .join(LedgerEntry, and_(LedgerEntry.transaction_id == LedgerTransaction.id, LedgerEntry.amount_pence > 0))
        .where(LedgerEntry.amount_pence != BudgetPeriod.funded_pence)
        .limit(1)
    ).scalar()
    if mismatch:
        problems.append(ledger.Problem("funding matches its period", f"budget period {mismatch} was funded a different amount"))
    unfunded = db.session.execute(
        select(BudgetPeriod.id)
        .outerjoin(LedgerTransaction, BudgetPeriod.transaction_id == LedgerTransaction.id)
        .where(
            or_(
                LedgerTransaction.id.is_(None),
                LedgerTransaction.kind != TransactionKind.FUNDING,
                LedgerTransaction.cause_type != "personal_budget",
                LedgerTransaction.cause_id != BudgetPeriod.budget_id,
            )
        )
        .order_by(BudgetPeriod.id)
        .limit(1)
    ).scalar()
    if unfunded:
        problems.append(
            ledger.Problem("every budget period has its funding", f"budget period {unfunded} has no funding transaction of its own")
        )
    return problems


def _visits_agree_with_holds() -> list[ledger.Problem]:
    """A visit paid from a budget and its holds tell the same story: money is set aside
    (one live hold) exactly when the visit says so, and what was captured from its holds is
    what the visit says was charged."""
    live = (
        select(LedgerHold.visit_id.label("visit_id"), func.count().label("live"))
        .where(LedgerHold.status == HoldStatus.HELD)
        .group_by(LedgerHold.visit_id)
        .subquery()
    )
    captured = (
        select(LedgerHold.visit_id.label("visit_id"), func.sum(LedgerHold.captured_pence).label("captured"))
        .group_by(LedgerHold.visit_id)
        .subquery()
    )
    held = VisitStatus.HELD.value
    row = db.session.execute(
        select(
            BookingVisit.id,
            BookingVisit.status,
            func.coalesce(live.c.live, 0),
            func.coalesce(captured.c.captured, 0),
            BookingVisit.charged_pence,
        )
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .outerjoin(live, live.c.visit_id == BookingVisit.id)
        .outerjoin(captured, captured.c.visit_id == BookingVisit.id)
        .where(
            Booking.payment_method == PaymentMethod.BUDGET,
            ((BookingVisit.status == held) & (func.coalesce(live.c.live, 0) != 1))
            | ((BookingVisit.status != held) & (func.coalesce(live.c.live, 0) != 0))
            | (func.coalesce(captured.c.captured, 0) != BookingVisit.charged_pence),
        )
        .order_by(BookingVisit.id)
        .limit(1)
    ).first()
    if row is None:
        return []
    visit_id, status, live_holds, captured_pence, charged = row
    return [
        ledger.Problem(
            "visit status agrees with its hold",
            f"visit {visit_id} is {status.value} with {pluralise(live_holds, 'live hold')}, "
            f"{captured_pence} pence captured and {charged} charged",
        )
    ]
