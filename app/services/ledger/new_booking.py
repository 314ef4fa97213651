"""Setting money aside for the visits of a booking made in the same unit of work, in two
statements on PostgreSQL whatever the number of visits.

The rows are those ``hold_account`` and ``place_hold`` write (the booking's hold account;
for each visit a HOLD transaction under its key, its two entries and its hold), under
``post``'s rules, but nothing is looked up first: the booking and its visits are new, so no
key can have been used, and nobody else can see the hold account (nor lock it: the one
UPDATE of both balances cannot deadlock with another posting). The source's debit is
checked and made in that UPDATE, ``WHERE balance_pence + delta >= 0``; if it cannot cover
the holds, InsufficientFunds, and the caller's whole unit of work must roll back (there is
no savepoint). Written without the ORM, so no flush hook sees these rows: a hold moves
money from a budget to a booking's hold account, never a provider's, so it is no care
spend (``reports.spend_facts``).

PostgreSQL writes the rows in one statement (each insert a data-modifying CTE, a later
row naming an earlier one's id by a subquery); SQLite, which has no such CTEs, in one
statement per table, the same rows with the ids its inserts returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, case, insert, literal, select, update

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
from app.services.ledger.accounts import hold_account_fields
from app.services.ledger.posting import Actor, InsufficientFunds, LedgerError

ACCOUNTS, TRANSACTIONS, ENTRIES, HOLDS = (m.__table__ for m in (LedgerAccount, LedgerTransaction, LedgerEntry, LedgerHold))


@dataclass(frozen=True)
class NewHold:
    """Money to set aside for one new visit: ``key`` is its movement's idempotency key."""

    visit_id: int
    amount_pence: int
    key: str
    memo: str = ""


def hold_for_new_booking(
    booking, source: LedgerAccount, holds: Sequence[NewHold], *, actor: Actor, effective_at: dt.datetime | None = None
) -> None:
    """Set money aside from ``source`` for new visits of ``booking`` (made in this unit of
    work), in its new hold account. Raises InsufficientFunds if ``source`` cannot cover
    them all (moving nothing once the caller rolls back)."""
    if not holds:
        return
    for hold in holds:
        if isinstance(hold.amount_pence, bool) or not isinstance(hold.amount_pence, int) or hold.amount_pence <= 0:
            raise LedgerError("a hold is for whole pence, more than zero")
    if len({hold.visit_id for hold in holds}) != len(holds):
        raise LedgerError("one hold per visit")
    if source.id is None:
        raise LedgerError("accounts must be saved before posting")
    now = utcnow()
    account = hold_account_fields(booking) | {"allow_negative": AccountKind.BOOKING_HOLD in MAY_GO_NEGATIVE, "balance_pence": 0}
    account |= {"budget_id": None, "provider_id": None, "created_at": now}
    transactions = [
        {
            "kind": TransactionKind.HOLD,
            "idempotency_key": hold.key,
            "cause_type": "booking_visit",
            "cause_id": hold.visit_id,
            "actor_user_id": actor.user_id,
            "actor_label": actor.label,
            "memo": hold.memo,
            "effective_at": effective_at or now,
            "recorded_at": now,
            "corrects_id": None,
        }
        for hold in holds
    ]
    write = _write_together if db.session.get_bind().dialect.name == "postgresql" else _write_apart
    hold_account_id = write(account, transactions, source.id, holds)
    _move(source, hold_account_id, sum(hold.amount_pence for hold in holds))


def _write_together(account: dict, transactions: list[dict], source_id: int, holds: Sequence[NewHold]) -> int:
    made = insert(ACCOUNTS).values(account).returning(ACCOUNTS.c.id).cte("hold_account")
    posted = insert(TRANSACTIONS).values(transactions).returning(TRANSACTIONS.c.id, TRANSACTIONS.c.cause_id).cte("hold_transactions")
    account_id = select(made.c.id).scalar_subquery()

    def transaction_id(visit_id):
        return select(posted.c.id).where(posted.c.cause_id == visit_id).scalar_subquery()

    entries = insert(ENTRIES).values(_entries(holds, source_id, account_id, transaction_id)).cte("hold_entries")
    statement = insert(HOLDS).values(_holds(holds, source_id, account_id, transaction_id)).add_cte(entries)
    return db.session.execute(statement.returning(HOLDS.c.hold_account_id)).scalars().first()


def _write_apart(account: dict, transactions: list[dict], source_id: int, holds: Sequence[NewHold]) -> int:
    account_id = db.session.execute(insert(ACCOUNTS).values(account).returning(ACCOUNTS.c.id)).scalar_one()
    posted = dict(db.session.execute(insert(TRANSACTIONS).values(transactions).returning(TRANSACTIONS.c.cause_id, TRANSACTIONS.c.id)).all())
    db.session.execute(insert(ENTRIES).values(_entries(holds, source_id, account_id, posted.__getitem__)))
    db.session.execute(insert(HOLDS).values(_holds(holds, source_id, account_id, posted.__getitem__)))
    return account_id


def _entries(holds: Sequence[NewHold], source_id: int, account_id, transaction_id) -> list[dict]:
    return [
        {"transaction_id": transaction_id(hold.visit_id), "account_id": leg_account, "amount_pence": amount}
        for hold in holds
        for leg_account, amount in ((source_id, -hold.amount_pence), (account_id, hold.amount_pence))
    ]


def _holds(holds: Sequence[NewHold], source_id: int, account_id, transaction_id) -> list[dict]:
    now = utcnow()
    return [
        {
            "visit_id": hold.visit_id,
            "budget_account_id": source_id,
            "hold_account_id": account_id,
            "amount_pence": hold.amount_pence,
            "status": HoldStatus.HELD,
            "captured_pence": 0,
            "released_pence": 0,
            "placed_transaction_id": transaction_id(hold.visit_id),
            "settled_transaction_id": None,
            "created_at": now,
            "settled_at": None,
        }
        for hold in holds
    ]


def _move(source: LedgerAccount, hold_account_id: int, total: int) -> None:
    """Both balances in one UPDATE: the source debited only if it can cover it all."""
    delta = case((ACCOUNTS.c.id == source.id, literal(-total, BigInteger)), else_=literal(total, BigInteger))
    statement = (
        update(ACCOUNTS).where(ACCOUNTS.c.id.in_([source.id, hold_account_id])).values(balance_pence=ACCOUNTS.c.balance_pence + delta)
    )
    if source.kind not in MAY_GO_NEGATIVE:
        statement = statement.where((ACCOUNTS.c.id != source.id) | (ACCOUNTS.c.balance_pence + delta >= 0))
    if db.session.execute(statement).rowcount != 2:
        raise InsufficientFunds(source, total)
    db.session.expire(source, ["balance_pence"])
