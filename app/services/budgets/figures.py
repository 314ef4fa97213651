"""A budget's figures as its holder sees them: funded, available, set aside, spent, booked
for later periods and not covered."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Booking,
    BookingVisit,
    HoldStatus,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    PaymentMethod,
    PersonalBudget,
    TransactionKind,
    VisitStatus,
)
from app.services import ledger
from app.services.budgets.accounts import budget_accounts


@dataclass(frozen=True)
class BudgetSummary:
    funded_pence: int  # everything credited to the budget, ever
    available_pence: int  # can be spent now
    held_pence: int  # set aside for booked visits
    spent_pence: int  # paid for delivered care
    booked_later_pence: int  # booked for periods not yet funded (not yet set aside)
    short_pence: int  # booked visits the budget could not cover

    @property
    def balances(self) -> bool:
        return self.available_pence + self.held_pence + self.spent_pence == self.funded_pence


def _hold_totals(account_ids: list[int]) -> tuple[int, int]:
    if not account_ids:
        return 0, 0
    row = db.session.execute(
        select(
            func.coalesce(func.sum(LedgerHold.amount_pence).filter(LedgerHold.status == HoldStatus.HELD), 0),
            func.coalesce(func.sum(LedgerHold.captured_pence), 0),
        ).where(LedgerHold.budget_account_id.in_(account_ids))
    ).one()
    return int(row[0]), int(row[1])


# Money back into a budget for a visit not delivered as recorded (a dispute the council
# upheld): not funding, but spending undone.
TAKEN_BACK = (LedgerTransaction.kind == TransactionKind.CORRECTION) & (LedgerTransaction.cause_type == "booking_visit")


def _money_in_and_taken_back(account_ids: list[int]) -> tuple[int, int]:
    """Everything credited to the accounts (money in, less any of it reversed, and money
    taken back from providers), and the part of it taken back from providers."""
    if not account_ids:
        return 0, 0
    amount = LedgerEntry.amount_pence
    row = db.session.execute(
        select(func.coalesce(func.sum(amount), 0), func.coalesce(func.sum(amount).filter(TAKEN_BACK), 0))
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(
            LedgerEntry.account_id.in_(account_ids),
            LedgerTransaction.kind.in_([TransactionKind.FUNDING, TransactionKind.ADJUSTMENT, TransactionKind.CORRECTION]),
        )
    ).one()
    return int(row[0]), int(row[1])


def summary(budget: PersonalBudget) -> BudgetSummary:
    accounts = budget_accounts(budget)
    ids = [a.id for a in accounts]
    available = ledger.balances(accounts)
    held, spent = _hold_totals(ids)
    money_in, taken_back = _money_in_and_taken_back(ids)
    later = dict(
        db.session.execute(
            select(BookingVisit.status, func.coalesce(func.sum(BookingVisit.amount_pence), 0))
            .join(Booking, BookingVisit.booking_id == Booking.id)
            .where(
                Booking.budget_id == budget.id,
                Booking.payment_method == PaymentMethod.BUDGET,
                BookingVisit.status.in_([VisitStatus.SCHEDULED, VisitStatus.SHORT]),
            )
            .group_by(BookingVisit.status)
        ).all()
    )
    return BudgetSummary(
        funded_pence=money_in - taken_back,
        available_pence=available,
        held_pence=held,
        spent_pence=spent - taken_back,
        booked_later_pence=int(later.get(VisitStatus.SCHEDULED, 0)),
        short_pence=int(later.get(VisitStatus.SHORT, 0)),
    )
