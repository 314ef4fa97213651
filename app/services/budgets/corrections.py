"""Correcting a payment into a budget made in error: a reversal, never an edit."""

from __future__ import annotations

from dataclasses import dataclass

from app.database import write_transaction
from app.extensions import db
from app.formatting import format_pence
from app.models import (
    LedgerTransaction,
    PersonalBudget,
    TransactionKind,
    User,
)
from app.services import audit, ledger
from app.services.budgets.accounts import budget_accounts, lock_budget
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.ledger import Actor

MAX_REASON = 500


# Payments into a budget: what a commissioner may reverse.
MONEY_IN = (TransactionKind.FUNDING, TransactionKind.ADJUSTMENT)


@dataclass(frozen=True)
class PaymentIn:
    """A payment into a budget: the transaction, what it paid in, and its reversal if any."""

    transaction: LedgerTransaction
    amount_pence: int
    reversal: LedgerTransaction | None


def payment_in(budget: PersonalBudget, transaction_id: int) -> PaymentIn:
    """A payment into this budget (funding or adjustment), or NotFound."""
    transaction = db.session.get(LedgerTransaction, transaction_id)
    ids = {a.id for a in budget_accounts(budget)}
    if (
        transaction is None
        or transaction.kind not in MONEY_IN
        or not any(e.account_id in ids and e.amount_pence > 0 for e in transaction.entries)
    ):
        raise NotFound("No such payment into this budget")
    amount = sum(e.amount_pence for e in transaction.entries if e.amount_pence > 0)
    return PaymentIn(transaction, amount, ledger.reversal_of(transaction))


def reverse_money_in(budget: PersonalBudget, transaction_id: int, *, by: User, reason: str) -> LedgerTransaction:
    """A commissioner reverses a payment into a budget made in error: a new, linked
    transaction takes it back to the council (nothing is edited). Once only: asking again
    returns the first reversal. Refused if the budget no longer has the money available."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter why the payment is being reversed: it goes in the audit trail"})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"The reason must be {MAX_REASON} characters or fewer"})
    with write_transaction():
        budget = lock_budget(budget.id)
        paid = payment_in(budget, transaction_id)
        if paid.reversal is not None:
            return paid.reversal
        transaction, amount = paid.transaction, paid.amount_pence
        try:
            reversal = ledger.reverse(transaction, actor=Actor.person(by), reason=reason)
        except ledger.InsufficientFunds:
            raise Conflict(
                f"The budget does not have {format_pence(amount)} available to give back: some of it is set aside or spent. "
                "Cancel bookings first, or record an adjustment instead"
            ) from None
        audit.record(
            by,
            "budget.money_in_reversed",
            "personal_budget",
            budget.id,
            before={"transaction_id": transaction.id, "amount_pence": amount, "memo": transaction.memo},
            after={"reversal_id": reversal.id},
            note=reason,
        )
    return reversal
