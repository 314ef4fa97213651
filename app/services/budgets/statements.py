"""A budget's statement for any stretch of days, as the ledger knew it at any moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    PersonalBudget,
    TransactionKind,
)
from app.services import ledger
from app.services.budgets.accounts import budget_accounts
from app.services.budgets.corrections import MONEY_IN
from app.services.budgets.funding import latest_funded_period_end
from app.services.policy import PERIOD_DAYS, Policy
from app.uk_time import local_midnight, uk_today


@dataclass(frozen=True)
class StatementLine:
    at: dt.datetime
    description: str
    money_in_pence: int  # funding and adjustments into the budget
    held_pence: int  # set aside for a booking (out of available)
    released_pence: int  # back from a hold into available
    paid_pence: int  # paid to a provider out of held money
    # An ISF move: what moved to the new provider. The fund keeps it, so the money
    # available does not change: the line says how much went with the fund.
    moved_pence: int
    available_after_pence: int
    transaction_id: int | None = None
    kind: TransactionKind | None = None
    reversed: bool = False  # money in that was later reversed (the reversal is a line of its own)

    @property
    def in_pence(self) -> int:
        """What came into the money available (funding, releases; never a move)."""
        return max(self.money_in_pence, 0) + self.released_pence

    @property
    def out_pence(self) -> int:
        """What went out of the money available (set aside, money in reversed)."""
        return self.held_pence + max(-self.money_in_pence, 0)

    @property
    def reversible(self) -> bool:
        return self.kind in MONEY_IN and not self.reversed


@dataclass(frozen=True)
class Statement:
    budget: PersonalBudget
    starts_on: dt.date
    ends_on: dt.date  # exclusive
    opening_available_pence: int
    opening_held_pence: int
    lines: list[StatementLine]

    @property
    def money_in_pence(self) -> int:
        return sum(line.money_in_pence for line in self.lines)

    @property
    def held_pence(self) -> int:
        return sum(line.held_pence for line in self.lines)

    @property
    def released_pence(self) -> int:
        return sum(line.released_pence for line in self.lines)

    @property
    def paid_pence(self) -> int:
        return sum(line.paid_pence for line in self.lines)

    @property
    def moved_pence(self) -> int:
        return sum(line.moved_pence for line in self.lines)

    @property
    def closing_available_pence(self) -> int:
        return self.opening_available_pence + self.money_in_pence - self.held_pence + self.released_pence

    @property
    def closing_held_pence(self) -> int:
        return self.opening_held_pence + self.held_pence - self.released_pence - self.paid_pence

    @property
    def last_day(self) -> dt.date:
        return self.ends_on - dt.timedelta(days=1)


def statement(budget: PersonalBudget, starts_on: dt.date, ends_on: dt.date, *, known_at: dt.datetime | None = None) -> Statement:
    """Everything that happened to the budget between two dates (business time), as the
    ledger knew it at ``known_at`` (default: now)."""
    reading = _LedgerAsKnown([a.id for a in budget_accounts(budget)], local_midnight(starts_on), local_midnight(ends_on), known_at)
    placed = reading.holds_placed()
    opening_available = reading.opening_available()
    ordered, moved_in = reading.transactions(placed)
    captured = {h.settled_transaction_id: h.captured_pence for h, _ in placed if h.settled_transaction_id and h.captured_pence}
    reversed_ids = reading.reversed_ids([t.id for t, _ in ordered if t.kind in MONEY_IN])
    lines: list[StatementLine] = []
    available = opening_available
    for transaction, net in ordered:
        available += net
        lines.append(
            _line(
                transaction,
                net,
                available,
                paid=captured.get(transaction.id, 0),
                moved=moved_in.get(transaction.id, 0),
                reversed_=transaction.id in reversed_ids,
            )
        )
    return Statement(budget, starts_on, ends_on, opening_available, reading.opening_held(placed), lines)


def _line(transaction: LedgerTransaction, net: int, available: int, *, paid: int, moved: int, reversed_: bool) -> StatementLine:
    """One transaction's line: ``net`` is what it did to the budget's own accounts."""
    money_in = held = released = paid_out = moved_out = 0
    if transaction.kind is TransactionKind.HOLD:
        held = -net
    elif transaction.kind in (TransactionKind.CAPTURE, TransactionKind.RELEASE):
        released, paid_out = net, paid
    elif transaction.kind is TransactionKind.ISF_TRANSFER:
        moved_out = moved
    else:  # funding, adjustments and their reversals
        money_in = net
    return StatementLine(
        transaction.effective_at,
        transaction.memo or transaction.kind.value,
        money_in,
        held,
        released,
        paid_out,
        moved_out,
        available,
        transaction.id,
        transaction.kind,
        reversed_,
    )


@dataclass(frozen=True)
class _LedgerAsKnown:
    """The budget's accounts between two moments of business time, as the ledger knew them
    at ``known_at`` (every query leaves out what was recorded after it)."""

    account_ids: list[int]
    start_at: dt.datetime
    end_at: dt.datetime
    known_at: dt.datetime | None

    def recorded(self, query):
        return query.where(LedgerTransaction.recorded_at <= self.known_at) if self.known_at else query

    def opening_available(self) -> int:
        if not self.account_ids:
            return 0
        return int(
            db.session.execute(
                self.recorded(
                    select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
                    .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
                    .where(LedgerEntry.account_id.in_(self.account_ids), LedgerTransaction.effective_at < self.start_at)
                )
            ).scalar_one()
        )

    def holds_placed(self) -> list:
        """(hold, when it was placed) for the budget's holds placed before the end."""
        return db.session.execute(
            self.recorded(
                select(LedgerHold, LedgerTransaction.effective_at)
                .join(LedgerTransaction, LedgerHold.placed_transaction_id == LedgerTransaction.id)
                .where(LedgerHold.budget_account_id.in_(self.account_ids or [-1]), LedgerTransaction.effective_at < self.end_at)
            )
        ).all()

    def opening_held(self, placed: list) -> int:
        """Held at the start: holds placed before the start and not settled before it."""
        settled_at = {}
        settled_ids = [h.settled_transaction_id for h, _ in placed if h.settled_transaction_id]
        if settled_ids:
            settled_at = dict(
                db.session.execute(
                    self.recorded(select(LedgerTransaction.id, LedgerTransaction.effective_at).where(LedgerTransaction.id.in_(settled_ids)))
                ).all()
            )
        return sum(
            h.amount_pence
            for h, placed_at in placed
            if placed_at < self.start_at
            and (h.settled_transaction_id not in settled_at or settled_at[h.settled_transaction_id] >= self.start_at)
        )

    def transactions(self, placed: list) -> tuple[list[tuple[LedgerTransaction, int]], dict[int, int]]:
        """Each transaction in the stretch with what it did to the budget's accounts, in
        order; and what each ISF move brought into the new provider's account."""
        rows = []
        if self.account_ids:
            rows = db.session.execute(
                self.recorded(
                    select(LedgerTransaction, LedgerEntry.amount_pence)
                    .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                    .where(*self._in_stretch(), LedgerEntry.account_id.in_(self.account_ids))
                    .order_by(LedgerTransaction.effective_at, LedgerTransaction.id)
                )
            ).all()
        # Sum each transaction's entries on the budget's accounts (an ISF move touches two or
        # more, and nets to zero: what it moved is what reached the new provider's account).
        per_transaction: dict[int, tuple[LedgerTransaction, int]] = {}
        moved_in: dict[int, int] = {}
        for transaction, amount in rows:
            _, total = per_transaction.get(transaction.id, (transaction, 0))
            per_transaction[transaction.id] = (transaction, total + amount)
            if amount > 0:
                moved_in[transaction.id] = moved_in.get(transaction.id, 0) + amount
        # Payments to providers come out of held money, so a visit paid in full touches no
        # budget account: add those settlements from the budget's own holds.
        missing = [h.settled_transaction_id for h, _ in placed if h.settled_transaction_id and h.captured_pence]
        missing = [tid for tid in missing if tid not in per_transaction]
        if missing:
            for transaction in db.session.execute(
                self.recorded(select(LedgerTransaction).where(*self._in_stretch(), LedgerTransaction.id.in_(missing)))
            ).scalars():
                per_transaction[transaction.id] = (transaction, 0)
        ordered = sorted(per_transaction.values(), key=lambda pair: (pair[0].effective_at, pair[0].id))
        return ordered, moved_in

    def reversed_ids(self, money_in_ids: list[int]) -> set[int]:
        if not money_in_ids:
            return set()
        return set(
            db.session.execute(
                self.recorded(
                    select(LedgerTransaction.corrects_id).where(ledger.IS_REVERSAL, LedgerTransaction.corrects_id.in_(money_in_ids))
                )
            ).scalars()
        )

    def _in_stretch(self):
        return (LedgerTransaction.effective_at >= self.start_at, LedgerTransaction.effective_at < self.end_at)


def statement_periods(budget: PersonalBudget, policy: Policy, today: dt.date | None = None) -> list[tuple[dt.date, dt.date]]:
    """The 4-week periods from the budget's start to today (the UK date), newest first.
    (Money paid in ahead of a period counts from when it was paid, so it is on these.)"""
    today = today or uk_today()
    paid_in = latest_funded_period_end(budget) is not None
    first, _ = policy.period_containing(min(budget.starts_on, today) if paid_in else budget.starts_on)
    last, _ = policy.period_containing(min(today, budget.ends_on) if budget.ends_on else today)
    periods = []
    start = first
    while start <= last:
        periods.append((start, start + dt.timedelta(days=PERIOD_DAYS)))
        start += dt.timedelta(days=PERIOD_DAYS)
    return list(reversed(periods))
