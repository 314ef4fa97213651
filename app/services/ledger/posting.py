"""Posting one balanced movement, exactly once per idempotency key; the ledger's errors and
who moved the money."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.extensions import db
from app.models import (
    MAY_GO_NEGATIVE,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    TransactionKind,
)
from app.services.errors import Conflict, DomainError


class LedgerError(DomainError):
    """A movement that breaks the ledger's rules (unbalanced, zero, not whole pence)."""


class InsufficientFunds(Conflict):
    def __init__(self, account: LedgerAccount, needed_pence: int):
        self.account_id = account.id
        self.needed_pence = needed_pence
        super().__init__(f"{account.name} cannot cover {needed_pence} pence")


class IdempotencyConflict(Conflict):
    """The same idempotency key was used for a different movement."""


class HoldAlreadySettled(Conflict):
    """The hold was captured or released before: money moves once."""


@dataclass(frozen=True)
class Actor:
    """Who or what moved the money."""

    user_id: int | None
    label: str

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(None, f"system:{job}")

    @classmethod
    def person(cls, user) -> Actor:
        return cls(user.id, f"user:{user.id}")


Leg = tuple[LedgerAccount, int]


# Posting -------------------------------------------------------------------------------


def validate_legs(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise LedgerError("a transaction needs at least two entries")
    for _, amount in legs:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise LedgerError("amounts are whole pence (int)")
        if amount == 0:
            raise LedgerError("an entry cannot be zero")
    if sum(amount for _, amount in legs) != 0:
        raise LedgerError("entries must sum to zero")
    ids = [acc.id for acc, _ in legs]
    if None in ids:
        raise LedgerError("accounts must be saved before posting")
    if len(set(ids)) != len(ids):
        raise LedgerError("one entry per account in a transaction")


def same_movement(existing: LedgerTransaction, kind: TransactionKind, legs: Sequence[Leg]) -> bool:
    mine = sorted((acc.id, amount) for acc, amount in legs)
    theirs = sorted((e.account_id, e.amount_pence) for e in existing.entries)
    return existing.kind is kind and mine == theirs


def find_transaction(key: str) -> LedgerTransaction | None:
    return db.session.execute(select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key)).scalar_one_or_none()


def post(
    kind: TransactionKind,
    legs: Sequence[Leg],
    *,
    key: str,
    cause: tuple[str, int | None],
    actor: Actor,
    effective_at: dt.datetime | None = None,
    memo: str = "",
    corrects: LedgerTransaction | None = None,
) -> LedgerTransaction:
    """Record one balanced movement, exactly once per ``key``.

    Re-posting the same movement with the same key returns the first transaction and
    moves nothing; a different movement under a used key raises IdempotencyConflict.
    Raises InsufficientFunds (moving nothing) if an account that may not go negative
    cannot cover its debit.
    """
    validate_legs(legs)
    existing = find_transaction(key)
    if existing is not None:
        if not same_movement(existing, kind, legs):
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different movement")
        return existing
    transaction = _new_transaction(kind, key, cause, actor, effective_at, memo, corrects)
    try:
        with db.session.begin_nested():
            # The transaction row first: a concurrent post with the same key waits here on
            # the unique index, then fails and finds ours instead of moving money again.
            _write(transaction, legs)
    except IntegrityError:
        existing = find_transaction(key)
        if existing is None:
            raise
        if not same_movement(existing, kind, legs):
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different movement") from None
        return existing
    return transaction


def _new_transaction(kind, key, cause, actor: Actor, effective_at, memo: str, corrects) -> LedgerTransaction:
    now = utcnow()
    transaction = LedgerTransaction(
        kind=kind,
        idempotency_key=key,
        cause_type=cause[0],
        cause_id=cause[1],
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        memo=memo,
        effective_at=effective_at or now,
        recorded_at=now,
        corrects_id=corrects.id if corrects else None,
    )
    return transaction


def _write(transaction: LedgerTransaction, legs: Sequence[Leg]) -> None:
    """The transaction row, then each account's balance, then the entries."""
    db.session.add(transaction)
    db.session.flush()
    # Lock accounts in one global order (by id) so concurrent posts cannot deadlock.
    for acc, amount in sorted(legs, key=lambda leg: leg[0].id):
        _apply(acc, amount)
    for acc, amount in legs:
        db.session.add(LedgerEntry(transaction_id=transaction.id, account_id=acc.id, amount_pence=amount))
    db.session.flush()
    for acc, _ in legs:
        db.session.expire(acc, ["balance_pence"])


def _apply(acc: LedgerAccount, amount: int) -> None:
    table = LedgerAccount.__table__
    statement = update(table).where(table.c.id == acc.id).values(balance_pence=table.c.balance_pence + amount)
    if amount < 0 and acc.kind not in MAY_GO_NEGATIVE:
        # The affordability check and the debit are one statement.
        statement = statement.where(table.c.balance_pence + amount >= 0)
    result = db.session.execute(statement)
    if result.rowcount != 1:
        raise InsufficientFunds(acc, -amount)
