"""Reversals: undoing a movement with a new, linked, balanced transaction (never an edit)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import (
    LedgerTransaction,
    TransactionKind,
)
from app.services.ledger.posting import Actor, LedgerError, Leg, post

# Corrections ---------------------------------------------------------------------------

# Movements a person may reverse. Holds, captures and releases are corrected through the
# booking they belong to (a hold is released, never reversed); card movements mirror what
# the card processor did, and an ISF transfer is undone by moving the fund back.
REVERSIBLE = {TransactionKind.FUNDING, TransactionKind.ADJUSTMENT, TransactionKind.PAYOUT}
# A reversal is a correction caused by the transaction it undoes. (Other corrections, such
# as a card refund taking back part of a capture, adjust rather than reverse.)
REVERSAL_CAUSE = "ledger_transaction"
# The transactions that are reversals (of the one each ``corrects_id`` names).
IS_REVERSAL = (LedgerTransaction.kind == TransactionKind.CORRECTION) & (LedgerTransaction.cause_type == REVERSAL_CAUSE)


def reversal_of(transaction: LedgerTransaction) -> LedgerTransaction | None:
    """The transaction that reversed ``transaction``, if any."""
    return (
        db.session.execute(select(LedgerTransaction).where(IS_REVERSAL, LedgerTransaction.corrects_id == transaction.id)).scalars().first()
    )


def reverse(
    transaction: LedgerTransaction,
    *,
    actor: Actor,
    reason: str,
    effective_at: dt.datetime | None = None,
) -> LedgerTransaction:
    """Undo ``transaction`` with a new, linked, balanced transaction: every entry negated.

    Nothing is edited: the original stays as it was, and the correction points at it
    (``corrects_id``). Idempotent: a transaction is reversed at most once, so asking again
    returns the first reversal. Raises InsufficientFunds (moving nothing) if an account
    no longer holds the money to give back (a budget that has spent it), and LedgerError
    for a movement that cannot be reversed this way.
    """
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("a reversal needs a reason")
    if transaction.kind not in REVERSIBLE:
        raise LedgerError(f"a {transaction.kind.value} transaction cannot be reversed: correct it through what caused it")
    legs: list[Leg] = [(entry.account, -entry.amount_pence) for entry in transaction.entries]
    return post(
        TransactionKind.CORRECTION,
        legs,
        key=f"reverse:transaction:{transaction.id}",
        cause=(REVERSAL_CAUSE, transaction.id),
        actor=actor,
        effective_at=effective_at,
        memo=f"Reversed: {transaction.memo or transaction.kind.value}. Reason: {reason}",
        corrects=transaction,
    )
