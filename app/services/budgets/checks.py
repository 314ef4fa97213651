"""The budget side of `flask ledger check`: each budget adds up, each period has its own
funding, and each budget-paid visit agrees with its holds."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.formatting import pluralise
from app.models import (
    Booking,
    BookingVisit,
    BudgetPeriod,
    HoldStatus,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    PaymentMethod,
    TransactionKind,
    VisitStatus,
)
from app.services import ledger
from app.services.budgets.figures import summary
from app.services.budgets.queries import all_budgets


def check_budgets() -> list[ledger.Problem]:
    """Every budget invariant, worst first."""
    return [*_budgets_add_up(), *_periods_have_their_funding(), *_visits_agree_with_holds()]


def _budgets_add_up() -> list[ledger.Problem]:
    problems = []
    for budget in all_budgets():
        figures = summary(budget)
        if not figures.balances:
            problems.append(
                ledger.Problem(
                    "budget adds up",
                    f"budget {budget.public_id}: available {figures.available_pence} + held {figures.held_pence} "
                    f"+ spent {figures.spent_pence} != funded {figures.funded_pence}",
                )
            )
            break
    return problems


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
