"""Reading the ledger: balances from the entries (as at a business date, as known at a moment),
and the problems `flask ledger check` reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)

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
