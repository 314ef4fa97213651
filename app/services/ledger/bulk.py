"""Many movements of one kind at once (a payment run's batch of payouts): each once per key,
all or nothing, in a handful of statements whatever their number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.database import utcnow
from app.extensions import db
from app.models import (
    MAY_GO_NEGATIVE,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    TransactionKind,
)
from app.services.ledger.posting import Actor, IdempotencyConflict, InsufficientFunds, LedgerError, Leg, post, same_movement, validate_legs


@dataclass(frozen=True)
class Movement:
    """One balanced movement of a ``post_many`` batch (what ``post`` takes, less the kind)."""

    legs: Sequence[Leg]
    key: str
    cause: tuple[str, int | None]
    memo: str = ""


# Kinds ``post_many`` may write. Its rows are written without the ORM, so no flush hook sees
# them: only kinds no hook needs to see (a payout is never care spend) belong here.
BULK_KINDS = {TransactionKind.PAYOUT}


def post_many(
    kind: TransactionKind, movements: Sequence[Movement], *, actor: Actor, effective_at: dt.datetime | None = None
) -> dict[str, int]:
    """Record many balanced movements of one kind at once (a payment run's batch of
    payouts): each exactly once per key, with ``post``'s rules, in a handful of statements
    whatever their number. Returns each key's transaction id (the first one's, for a key
    used before for the same movement). All or nothing: InsufficientFunds or
    IdempotencyConflict for one moves nothing for any."""
    if kind not in BULK_KINDS:
        raise LedgerError(f"{kind.value} transactions are posted one at a time")
    for movement in movements:
        validate_legs(movement.legs)
    keys = [movement.key for movement in movements]
    if len(set(keys)) != len(keys):
        raise LedgerError("one movement per idempotency key in a batch")
    posted = _already_posted(kind, movements)
    fresh = [movement for movement in movements if movement.key not in posted]
    if not fresh:
        return posted
    try:
        with db.session.begin_nested():
            posted |= _insert_transactions(kind, fresh, actor=actor, effective_at=effective_at or utcnow())
            _apply_many(fresh)
            db.session.execute(
                insert(LedgerEntry.__table__),
                [
                    {"transaction_id": posted[movement.key], "account_id": acc.id, "amount_pence": amount}
                    for movement in fresh
                    for acc, amount in movement.legs
                ],
            )
    except IntegrityError:
        # A concurrent post used one of the keys: post each on its own (finds theirs).
        return {
            m.key: post(kind, m.legs, key=m.key, cause=m.cause, actor=actor, effective_at=effective_at, memo=m.memo).id for m in movements
        }
    for movement in fresh:
        for acc, _ in movement.legs:
            db.session.expire(acc, ["balance_pence"])
    return posted


def _already_posted(kind: TransactionKind, movements: Sequence[Movement]) -> dict[str, int]:
    by_key = {movement.key: movement for movement in movements}
    found = db.session.execute(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key.in_(by_key)).options(selectinload(LedgerTransaction.entries))
    ).scalars()
    posted = {}
    for existing in found:
        if not same_movement(existing, kind, by_key[existing.idempotency_key].legs):
            raise IdempotencyConflict(f"idempotency key {existing.idempotency_key!r} was used for a different movement")
        posted[existing.idempotency_key] = existing.id
    return posted


def _insert_transactions(
    kind: TransactionKind, movements: Sequence[Movement], *, actor: Actor, effective_at: dt.datetime
) -> dict[str, int]:
    now = utcnow()
    rows = db.session.execute(
        insert(LedgerTransaction.__table__).returning(LedgerTransaction.__table__.c.idempotency_key, LedgerTransaction.__table__.c.id),
        [
            {
                "kind": kind,
                "idempotency_key": movement.key,
                "cause_type": movement.cause[0],
                "cause_id": movement.cause[1],
                "actor_user_id": actor.user_id,
                "actor_label": actor.label,
                "memo": movement.memo,
                "effective_at": effective_at,
                "recorded_at": now,
                "corrects_id": None,
            }
            for movement in movements
        ],
    )
    return dict(rows.all())


def _apply_many(movements: Sequence[Movement]) -> None:
    """Every account's total change, in two statements: the accounts locked in one global
    order (by id, as ``post`` does), then changed, each debit of an account that may not go
    below zero only if it can cover it."""
    accounts: dict[int, LedgerAccount] = {}
    change: dict[int, int] = {}
    for movement in movements:
        for acc, amount in movement.legs:
            accounts[acc.id] = acc
            change[acc.id] = change.get(acc.id, 0) + amount
    change = {account_id: amount for account_id, amount in change.items() if amount}
    if not change:
        return
    table = LedgerAccount.__table__
    db.session.execute(select(table.c.id).where(table.c.id.in_(change)).order_by(table.c.id).with_for_update()).all()
    delta = case(change, value=table.c.id, else_=0)
    guarded = [account_id for account_id in change if change[account_id] < 0 and accounts[account_id].kind not in MAY_GO_NEGATIVE]
    statement = update(table).where(table.c.id.in_(change)).values(balance_pence=table.c.balance_pence + delta)
    if guarded:
        statement = statement.where(table.c.id.not_in(guarded) | (table.c.balance_pence + delta >= 0))
    if db.session.execute(statement).rowcount != len(change):
        short = db.session.execute(select(table.c.id).where(table.c.id.in_(guarded), table.c.balance_pence + delta < 0)).scalars().first()
        raise InsufficientFunds(accounts[short], -change[short])
