"""Setting money aside for the visits of a booking made in the same unit of work, in one
statement on PostgreSQL whatever the number of visits.

The rows are those ``hold_account`` and ``place_hold`` write (the booking's hold account;
for each visit a HOLD transaction under its key, its two entries and its hold), under
``post``'s rules, but nothing is looked up first: the booking and its visits are new, so no
key can have been used, and nobody else can see the hold account. The source is debited
first, by an UPDATE that checks it can cover every hold (``WHERE balance_pence - total >=
0``, on the row as it is once its lock is granted); the hold account is made with that total
as its balance only if the debit was made, and everything else hangs off the account. If the
source cannot cover the holds, nothing is written and InsufficientFunds is raised; the
caller's whole unit of work must then roll back (there is no savepoint). Written without the
ORM, so no flush hook sees these rows: a hold moves money from a budget to a booking's hold
account, never a provider's, so it is no care spend (``reports.spend_facts``).

PostgreSQL writes it all in one statement (the debit and each insert a data-modifying CTE, a
later one reading an earlier one's RETURNING rows), built and compiled once per process;
SQLite, which has no such CTEs, in one statement per table, the same rows with the ids its
inserts returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import BigInteger, String, Text, bindparam, insert, literal, select, union_all, update

from app.database import unnested, unnested_params, utcnow
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
    them all (having written nothing)."""
    if not holds:
        return
    for hold in holds:
        if isinstance(hold.amount_pence, bool) or not isinstance(hold.amount_pence, int) or hold.amount_pence <= 0:
            raise LedgerError("a hold is for whole pence, more than zero")
    if len({hold.visit_id for hold in holds}) != len(holds):
        raise LedgerError("one hold per visit")
    if source.id is None:
        raise LedgerError("accounts must be saved before posting")
    now, total = utcnow(), sum(hold.amount_pence for hold in holds)
    account = hold_account_fields(booking) | {"allow_negative": AccountKind.BOOKING_HOLD in MAY_GO_NEGATIVE, "balance_pence": total}
    account |= {"budget_id": None, "provider_id": None, "created_at": now}
    posted = {"actor_user_id": actor.user_id, "actor_label": actor.label, "effective_at": effective_at or now, "recorded_at": now}
    debit = {"source_id": source.id, "total": total}
    write = _write_together if db.session.get_bind().dialect.name == "postgresql" else _write_apart
    if not write(account, posted, debit, holds, checked=source.kind not in MAY_GO_NEGATIVE):
        raise InsufficientFunds(source, total)
    db.session.expire(source, ["balance_pence"])


def _write_together(account: dict, posted: dict, debit: dict, holds: Sequence[NewHold], *, checked: bool) -> bool:
    """``posted``: what every hold's transaction shares (who, and when); ``debit``: the
    source's id and the total to take from it. False if the source could not cover it (and
    nothing was written)."""
    if account.keys() != _ACCOUNT_COLUMNS:
        raise LedgerError(f"the hold account's columns changed: {sorted(account.keys() ^ _ACCOUNT_COLUMNS)}")
    params = {f"account_{name}": value for name, value in account.items()} | posted | debit
    rows = [{"visit_id": hold.visit_id, "amount": hold.amount_pence, "key": hold.key, "memo": hold.memo} for hold in holds]
    params |= unnested_params("visits", _VISIT_COLUMNS, rows)
    return db.session.execute(_together_statement(checked), params).first() is not None


# Each visit's hold, as the one statement takes them (arrays, one per column).
_VISIT_COLUMNS = {"visit_id": BigInteger(), "amount": BigInteger(), "key": String(), "memo": Text()}

# The hold account's columns: ``hold_account_fields`` and those ``hold_for_new_booking`` adds.
_ACCOUNT_COLUMNS = frozenset(
    ("kind", "owner_key", "name", "booking_id", "allow_negative", "balance_pence", "budget_id", "provider_id", "created_at")
)


@cache
def _together_statement(checked: bool):
    """The one PostgreSQL statement, built once per process (``checked``: the source may not
    go below zero): the visits' ids, amounts, keys and memos go in as arrays (``unnest``),
    so however many visits there are it is the same statement, compiled once and prepared
    by the server once per connection. It returns no row if the debit was not made."""
    debited = _debit_statement(checked).returning(ACCOUNTS.c.id).cte("debit")
    names = sorted(_ACCOUNT_COLUMNS)
    fields = select(*(bindparam(f"account_{name}", type_=ACCOUNTS.c[name].type) for name in names)).select_from(debited)
    made = insert(ACCOUNTS).from_select(names, fields)
    made = made.returning(ACCOUNTS.c.id).cte("hold_account")
    account_id = select(made.c.id).scalar_subquery()
    visits = unnested("visits", _VISIT_COLUMNS)
    columns = ("kind", "idempotency_key", "cause_type", "cause_id", "actor_user_id", "actor_label", "memo", "effective_at", "recorded_at")
    posted = insert(TRANSACTIONS).from_select(
        columns,
        select(
            literal(TransactionKind.HOLD, TRANSACTIONS.c.kind.type),
            visits.c.key,
            literal("booking_visit", TRANSACTIONS.c.cause_type.type),
            visits.c.visit_id,
            bindparam("actor_user_id", type_=TRANSACTIONS.c.actor_user_id.type),
            bindparam("actor_label", type_=TRANSACTIONS.c.actor_label.type),
            visits.c.memo,
            bindparam("effective_at", type_=TRANSACTIONS.c.effective_at.type),
            bindparam("recorded_at", type_=TRANSACTIONS.c.recorded_at.type),
        ).where(select(made.c.id).exists()),
    )
    posted = posted.returning(TRANSACTIONS.c.id, TRANSACTIONS.c.cause_id).cte("hold_transactions")
    each = select(visits.c.visit_id, visits.c.amount, posted.c.id.label("transaction_id")).join_from(
        visits, posted, posted.c.cause_id == visits.c.visit_id
    )
    each = each.cte("each_hold")
    source_id = bindparam("source_id", type_=BigInteger)
    legs = union_all(
        select(each.c.transaction_id, source_id, -each.c.amount),
        select(each.c.transaction_id, account_id, each.c.amount),
    )
    entries = insert(ENTRIES).from_select(("transaction_id", "account_id", "amount_pence"), legs).cte("hold_entries")
    hold_columns = ("visit_id", "budget_account_id", "hold_account_id", "amount_pence", "status", "captured_pence", "released_pence")
    placed = select(
        each.c.visit_id,
        source_id,
        account_id,
        each.c.amount,
        literal(HoldStatus.HELD, HOLDS.c.status.type),
        literal(0, BigInteger),
        literal(0, BigInteger),
        each.c.transaction_id,
        bindparam("recorded_at", type_=HOLDS.c.created_at.type),
    )
    statement = insert(HOLDS).from_select((*hold_columns, "placed_transaction_id", "created_at"), placed).add_cte(entries)
    return statement.returning(HOLDS.c.hold_account_id)


def _write_apart(account: dict, posted: dict, debit: dict, holds: Sequence[NewHold], *, checked: bool) -> bool:
    if db.session.execute(_debit_statement(checked), debit).rowcount != 1:
        return False
    source_id = debit["source_id"]
    account_id = db.session.execute(insert(ACCOUNTS).values(account).returning(ACCOUNTS.c.id)).scalar_one()
    transactions = [
        posted
        | {
            "kind": TransactionKind.HOLD,
            "idempotency_key": hold.key,
            "cause_type": "booking_visit",
            "cause_id": hold.visit_id,
            "memo": hold.memo,
            "corrects_id": None,
        }
        for hold in holds
    ]
    made = insert(TRANSACTIONS).values(transactions).returning(TRANSACTIONS.c.cause_id, TRANSACTIONS.c.id)
    transaction_ids = dict(db.session.execute(made).all())
    db.session.execute(insert(ENTRIES).values(_entries(holds, source_id, account_id, transaction_ids.__getitem__)))
    db.session.execute(insert(HOLDS).values(_holds(holds, source_id, account_id, transaction_ids.__getitem__)))
    return True


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


@cache
def _debit_statement(checked: bool):
    """The UPDATE that takes ``total`` from the source, built once per process (``checked``:
    only if it leaves the source at zero or more)."""
    total = bindparam("total", type_=BigInteger)
    statement = update(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("source_id", type_=BigInteger))
    if checked:
        statement = statement.where(ACCOUNTS.c.balance_pence - total >= 0)
    return statement.values(balance_pence=ACCOUNTS.c.balance_pence - total)
