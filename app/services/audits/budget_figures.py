"""Many budgets' figures at once, read straight from the ledger tables: what
``budgets.summary`` gives one budget (funded, available, set aside, spent, booked for later,
not covered) in one grouped query however many budgets there are, instead of about five
queries a budget. The yearly balance check and the unspent-money flag read thousands of them.
One statement also means one snapshot on PostgreSQL: a hold placed meanwhile is seen in both
the available money and the money set aside, or in neither, so a check never fails to add
up because a booking came in while it was read.

The rules are ``budgets.summary``'s, and a test holds the two to the same answers:

* a budget's money is in its budget accounts (an ISF has one per provider that held it);
* available is the sum of their entries; set aside, their holds still held; spent, what
  their holds captured;
* funded is every credit by funding, adjustment or correction (a reversal takes its money
  back off), less money taken back from a provider for a visit not delivered as recorded,
  which is spending undone rather than funding, so it comes off spent too;
* booked for later and not covered are the budget-paid visits still scheduled or short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, literal, select, union_all

from app.extensions import db
from app.models import (
    AccountKind,
    Booking,
    BookingVisit,
    HoldStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    PaymentMethod,
    TransactionKind,
    VisitStatus,
)
from app.services import budgets

# The ids are bound once for each of the three parts of the query: well under the bound
# parameters either database takes in one statement (SQLite 32,766, PostgreSQL 65,535).
CHUNK = 5_000

FUNDED_BY = (TransactionKind.FUNDING, TransactionKind.ADJUSTMENT, TransactionKind.CORRECTION)
# Money back into a budget for a visit not delivered as recorded (a dispute the council upheld).
TAKEN_BACK = (LedgerTransaction.kind == TransactionKind.CORRECTION) & (LedgerTransaction.cause_type == "booking_visit")
# The parts of the query: each gives three sums for a budget.
ENTRIES, HOLDS, LATER = 0, 1, 2


def figures_of(budget_ids: Iterable[int]) -> dict[int, budgets.BudgetSummary]:
    """Each budget's figures, by budget id, as ``budgets.summary`` has them now."""
    ids = sorted(set(budget_ids))
    found: dict[int, budgets.BudgetSummary] = {}
    for start in range(0, len(ids), CHUNK):
        found.update(_figures(ids[start : start + CHUNK]))
    return found


def _figures(ids: Sequence[int]) -> dict[int, budgets.BudgetSummary]:
    sums: dict[tuple[int, int], tuple[int, int, int]] = {}
    for part, budget_id, first, second, third in db.session.execute(union_all(_entries(ids), _holds(ids), _later(ids))):
        sums[(part, budget_id)] = (int(first), int(second), int(third))
    found = {}
    for budget_id in ids:
        available, money_in, taken_back = sums.get((ENTRIES, budget_id), (0, 0, 0))
        held, captured, _ = sums.get((HOLDS, budget_id), (0, 0, 0))
        booked_later, short, _ = sums.get((LATER, budget_id), (0, 0, 0))
        found[budget_id] = budgets.BudgetSummary(
            funded_pence=money_in - taken_back,
            available_pence=available,
            held_pence=held,
            spent_pence=captured - taken_back,
            booked_later_pence=booked_later,
            short_pence=short,
        )
    return found


def _sum(column, *where):
    total = func.sum(column)
    return func.coalesce(total.filter(*where) if where else total, 0)


def _entries(ids: Sequence[int]):
    """Each budget's entries: all of them (available), money in, taken back from providers."""
    amount = LedgerEntry.amount_pence
    return (
        select(
            literal(ENTRIES),
            LedgerAccount.budget_id,
            _sum(amount),
            _sum(amount, LedgerTransaction.kind.in_(FUNDED_BY)),
            _sum(amount, TAKEN_BACK),
        )
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerAccount.kind == AccountKind.BUDGET, LedgerAccount.budget_id.in_(ids))
        .group_by(LedgerAccount.budget_id)
    )


def _holds(ids: Sequence[int]):
    """Each budget's holds: still held, captured."""
    return (
        select(
            literal(HOLDS),
            LedgerAccount.budget_id,
            _sum(LedgerHold.amount_pence, LedgerHold.status == HoldStatus.HELD),
            _sum(LedgerHold.captured_pence),
            literal(0),
        )
        .join(LedgerAccount, LedgerAccount.id == LedgerHold.budget_account_id)
        .where(LedgerAccount.kind == AccountKind.BUDGET, LedgerAccount.budget_id.in_(ids))
        .group_by(LedgerAccount.budget_id)
    )


def _later(ids: Sequence[int]):
    """Each budget's visits paid from it and not set aside yet: booked for later, not covered."""
    amount = BookingVisit.amount_pence
    return (
        select(
            literal(LATER),
            Booking.budget_id,
            _sum(amount, BookingVisit.status == VisitStatus.SCHEDULED),
            _sum(amount, BookingVisit.status == VisitStatus.SHORT),
            literal(0),
        )
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .where(
            Booking.budget_id.in_(ids),
            Booking.payment_method == PaymentMethod.BUDGET,
            BookingVisit.status.in_([VisitStatus.SCHEDULED, VisitStatus.SHORT]),
        )
        .group_by(Booking.budget_id)
    )
