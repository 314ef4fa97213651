"""The ledger: the ONLY code that moves money.

Callers run these functions inside ``write_transaction()`` (app/database.py). Every
movement is a balanced transaction of integer pence, recorded once per idempotency key.
The check that an account can afford a debit and the debit itself are one conditional
``UPDATE ... WHERE balance_pence + delta >= 0``: on PostgreSQL the row lock makes
concurrent debits queue and re-check; on SQLite the write transaction holds the database
lock (BEGIN IMMEDIATE). Either way a budget can never go below zero, and a database CHECK
constraint refuses it even if this code were wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.database import utcnow
from app.extensions import db
from app.models import (
    MAY_GO_NEGATIVE,
    AccountKind,
    HoldStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
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


# Accounts ------------------------------------------------------------------------------


def account(kind: AccountKind, owner_key: str, name: str, **refs) -> LedgerAccount:
    """The account of ``kind`` for ``owner_key``, created on first use (race-safe)."""
    found = db.session.execute(
        select(LedgerAccount).where(LedgerAccount.kind == kind, LedgerAccount.owner_key == owner_key)
    ).scalar_one_or_none()
    if found is not None:
        return found
    created = LedgerAccount(kind=kind, owner_key=owner_key, name=name, allow_negative=kind in MAY_GO_NEGATIVE, **refs)
    try:
        with db.session.begin_nested():
            db.session.add(created)
    except IntegrityError:
        # Another request created it at the same moment: use theirs.
        return db.session.execute(
            select(LedgerAccount).where(LedgerAccount.kind == kind, LedgerAccount.owner_key == owner_key)
        ).scalar_one()
    return created


def council_funding_account() -> LedgerAccount:
    return account(AccountKind.COUNCIL_FUNDING, "council", "Council funding for personal budgets")


def budget_account(budget, provider=None) -> LedgerAccount:
    """A budget's spending account; an ISF has one per provider that has held it."""
    if provider is not None:
        return account(
            AccountKind.BUDGET,
            f"budget:{budget.id}:provider:{provider.id}",
            f"Individual Service Fund {budget.public_id} held with {provider.name}",
            budget_id=budget.id,
            provider_id=provider.id,
        )
    return account(AccountKind.BUDGET, f"budget:{budget.id}", f"Personal budget {budget.public_id}", budget_id=budget.id)


def hold_account(booking) -> LedgerAccount:
    return account(AccountKind.BOOKING_HOLD, f"booking:{booking.id}", f"Held for booking {booking.reference}", booking_id=booking.id)


def provider_payable_account(provider) -> LedgerAccount:
    return account(AccountKind.PROVIDER_PAYABLE, f"provider:{provider.id}", f"Owed to {provider.name}", provider_id=provider.id)


def provider_payable_accounts(providers) -> dict[int, LedgerAccount]:
    """Each provider's payable account by provider id, in one query (those missing created)."""
    providers = {provider.id: provider for provider in providers}
    found = db.session.execute(
        select(LedgerAccount).where(LedgerAccount.kind == AccountKind.PROVIDER_PAYABLE, LedgerAccount.provider_id.in_(providers))
    ).scalars()
    accounts = {acc.provider_id: acc for acc in found if acc.owner_key == f"provider:{acc.provider_id}"}
    for provider_id in providers.keys() - accounts.keys():
        accounts[provider_id] = provider_payable_account(providers[provider_id])
    return accounts


# Posting -------------------------------------------------------------------------------


def _validate(legs: Sequence[Leg]) -> None:
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


def _same_movement(existing: LedgerTransaction, kind: TransactionKind, legs: Sequence[Leg]) -> bool:
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
    _validate(legs)
    existing = find_transaction(key)
    if existing is not None:
        if not _same_movement(existing, kind, legs):
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different movement")
        return existing

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
    try:
        with db.session.begin_nested():
            # The transaction row first: a concurrent post with the same key waits here on
            # the unique index, then fails and finds ours instead of moving money again.
            db.session.add(transaction)
            db.session.flush()
            # Lock accounts in one global order (by id) so concurrent posts cannot deadlock.
            for acc, amount in sorted(legs, key=lambda leg: leg[0].id):
                _apply(acc, amount)
            for acc, amount in legs:
                db.session.add(LedgerEntry(transaction_id=transaction.id, account_id=acc.id, amount_pence=amount))
            db.session.flush()
    except IntegrityError:
        existing = find_transaction(key)
        if existing is None:
            raise
        if not _same_movement(existing, kind, legs):
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different movement") from None
        return existing
    for acc, _ in legs:
        db.session.expire(acc, ["balance_pence"])
    return transaction


def _apply(acc: LedgerAccount, amount: int) -> None:
    table = LedgerAccount.__table__
    statement = update(table).where(table.c.id == acc.id).values(balance_pence=table.c.balance_pence + amount)
    if amount < 0 and acc.kind not in MAY_GO_NEGATIVE:
        # The affordability check and the debit are one statement.
        statement = statement.where(table.c.balance_pence + amount >= 0)
    result = db.session.execute(statement)
    if result.rowcount != 1:
        raise InsufficientFunds(acc, -amount)


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
        _validate(movement.legs)
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
        if not _same_movement(existing, kind, by_key[existing.idempotency_key].legs):
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


# Holds ---------------------------------------------------------------------------------


def place_hold(
    *,
    visit_id: int,
    source: LedgerAccount,
    hold: LedgerAccount,
    amount_pence: int,
    key: str,
    actor: Actor,
    effective_at: dt.datetime | None = None,
    memo: str = "",
) -> LedgerHold:
    """Set money aside for one visit. Raises InsufficientFunds if the source cannot cover it."""
    if amount_pence <= 0:
        raise LedgerError("a hold must be for more than zero")
    transaction = post(
        TransactionKind.HOLD,
        [(source, -amount_pence), (hold, amount_pence)],
        key=key,
        cause=("booking_visit", visit_id),
        actor=actor,
        effective_at=effective_at,
        memo=memo,
    )
    existing = db.session.execute(select(LedgerHold).where(LedgerHold.placed_transaction_id == transaction.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    created = LedgerHold(
        visit_id=visit_id,
        budget_account_id=source.id,
        hold_account_id=hold.id,
        amount_pence=amount_pence,
        status=HoldStatus.HELD,
        placed_transaction_id=transaction.id,
    )
    db.session.add(created)
    db.session.flush()
    return created


def settle_hold(
    held: LedgerHold,
    *,
    capture_pence: int,
    payee: LedgerAccount | None,
    actor: Actor,
    effective_at: dt.datetime | None = None,
    memo: str = "",
    cause: tuple[str, int | None] | None = None,
) -> LedgerTransaction:
    """Capture ``capture_pence`` of a hold for ``payee`` and release the rest, exactly once.

    ``capture_pence`` 0 releases it all. A second settlement of the same hold raises
    HoldAlreadySettled and moves nothing.
    """
    if capture_pence < 0 or capture_pence > held.amount_pence:
        raise LedgerError("cannot capture more than was held, or less than nothing")
    if capture_pence and payee is None:
        raise LedgerError("a capture needs a payee")
    release_pence = held.amount_pence - capture_pence
    hold_acc = db.session.get(LedgerAccount, held.hold_account_id)
    source = db.session.get(LedgerAccount, held.budget_account_id)
    legs: list[Leg] = [(hold_acc, -held.amount_pence)]
    if capture_pence:
        legs.append((payee, capture_pence))
    if release_pence:
        legs.append((source, release_pence))
    now = utcnow()
    with db.session.begin_nested():
        # Claim the hold first: the row lock (PostgreSQL) or the write lock (SQLite) makes
        # a concurrent second settlement wait, then find it no longer held.
        claimed = db.session.execute(
            update(LedgerHold.__table__)
            .where(LedgerHold.__table__.c.id == held.id, LedgerHold.__table__.c.status == HoldStatus.HELD.value)
            .values(
                status=(HoldStatus.CAPTURED if capture_pence else HoldStatus.RELEASED).value,
                captured_pence=capture_pence,
                released_pence=release_pence,
                settled_at=now,
            )
        ).rowcount
        if claimed != 1:
            raise HoldAlreadySettled(f"hold {held.id} was already settled")
        transaction = post(
            TransactionKind.CAPTURE if capture_pence else TransactionKind.RELEASE,
            legs,
            key=f"settle-hold:{held.id}",
            cause=cause or ("booking_visit", held.visit_id),
            actor=actor,
            effective_at=effective_at,
            memo=memo,
        )
        db.session.execute(
            update(LedgerHold.__table__).where(LedgerHold.__table__.c.id == held.id).values(settled_transaction_id=transaction.id)
        )
    db.session.expire(held)
    return transaction


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


def live_hold_for_visit(visit_id: int) -> LedgerHold | None:
    return db.session.execute(
        select(LedgerHold).where(LedgerHold.visit_id == visit_id, LedgerHold.status == HoldStatus.HELD)
    ).scalar_one_or_none()


# Reading -------------------------------------------------------------------------------


def balance(acc: LedgerAccount, *, as_at: dt.datetime | None = None, known_at: dt.datetime | None = None) -> int:
    """An account's balance derived from its entries.

    ``as_at``: only movements that happened (business time) before that moment.
    ``known_at``: only movements written before that moment (what we knew then).
    """
    query = select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(LedgerEntry.account_id == acc.id)
    if as_at is not None or known_at is not None:
        query = query.join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        if as_at is not None:
            query = query.where(LedgerTransaction.effective_at < as_at)
        if known_at is not None:
            query = query.where(LedgerTransaction.recorded_at < known_at)
    return int(db.session.execute(query).scalar_one())


def balances(accounts: Iterable[LedgerAccount]) -> int:
    ids = [a.id for a in accounts]
    if not ids:
        return 0
    return int(
        db.session.execute(select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0)).where(LedgerEntry.account_id.in_(ids))).scalar_one()
    )


# Checking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"
