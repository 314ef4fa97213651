"""The payment runs' part of `flask ledger check`: what a provider is owed, what is held out
by disputes, and what was paid all agree with the ledger.

* Every paid line has its payout in the ledger (owed -> paid, for exactly its net), and its
  items add up to its net.
* The paid account's balance is the sum of every paid line.
* Each provider's owed balance is every spend fact of theirs no paid line has claimed
  (owed now, disputed, or in a run not yet approved).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select

from app.extensions import db
from app.models import (
    AccountKind,
    DisputeState,
    LedgerAccount,
    LedgerEntry,
    LineStatus,
    PaymentRunItem,
    PaymentRunLine,
    SpendFact,
    VisitRecord,
)
from app.services.ledger import Problem


def check_payment_runs() -> list[Problem]:
    problems: list[Problem] = []
    for invariant in (_lines_match_items, _payouts_match_lines, _paid_account_matches_lines, _owed_matches_unpaid_facts):
        problems.extend(invariant())
    return problems


def _lines_match_items() -> list[Problem]:
    sums = select(PaymentRunItem.line_id, func.sum(PaymentRunItem.amount_pence).label("total")).group_by(PaymentRunItem.line_id).subquery()
    bad = db.session.execute(
        select(PaymentRunLine.id, PaymentRunLine.net_pence, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.line_id == PaymentRunLine.id)
        .where(PaymentRunLine.status != LineStatus.WITHHELD, func.coalesce(sums.c.total, 0) != PaymentRunLine.net_pence)
        .limit(1)
    ).first()
    return [Problem("payment run lines equal their items", f"line {bad[0]} nets {bad[1]} but its items sum to {bad[2]}")] if bad else []


def _payouts_match_lines() -> list[Problem]:
    paid_entry = (
        select(LedgerEntry.transaction_id, LedgerEntry.amount_pence)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.kind == AccountKind.PROVIDER_PAID)
        .subquery()
    )
    bad = db.session.execute(
        select(PaymentRunLine.id)
        .outerjoin(paid_entry, paid_entry.c.transaction_id == PaymentRunLine.payout_transaction_id)
        .where(PaymentRunLine.status == LineStatus.PAID, func.coalesce(paid_entry.c.amount_pence, 0) != PaymentRunLine.net_pence)
        .limit(1)
    ).first()
    return [Problem("each paid line is paid once in the ledger", f"line {bad[0]}'s payout does not match its net")] if bad else []


def _paid_account_matches_lines() -> list[Problem]:
    paid = db.session.execute(
        select(func.coalesce(func.sum(LedgerAccount.balance_pence), 0)).where(LedgerAccount.kind == AccountKind.PROVIDER_PAID)
    ).scalar_one()
    lines = db.session.execute(
        select(func.coalesce(func.sum(PaymentRunLine.net_pence), 0)).where(PaymentRunLine.status == LineStatus.PAID)
    ).scalar_one()
    return [Problem("paid to providers equals the paid lines", f"the ledger says {paid}, the paid lines {lines}")] if paid != lines else []


def _unpaid_facts():
    paid_item = exists().where(
        PaymentRunItem.entry_id == SpendFact.entry_id,
        PaymentRunLine.id == PaymentRunItem.line_id,
        PaymentRunLine.status == LineStatus.PAID,
    )
    return (
        select(SpendFact.provider_id, func.sum(SpendFact.amount_pence).label("total"))
        .where(~paid_item)
        .group_by(SpendFact.provider_id)
        .subquery()
    )


def _owed_matches_unpaid_facts() -> list[Problem]:
    unpaid = _unpaid_facts()
    bad = db.session.execute(
        select(LedgerAccount.provider_id, LedgerAccount.balance_pence, func.coalesce(unpaid.c.total, 0))
        .outerjoin(unpaid, unpaid.c.provider_id == LedgerAccount.provider_id)
        .where(
            LedgerAccount.kind == AccountKind.PROVIDER_PAYABLE,
            LedgerAccount.provider_id.is_not(None),
            LedgerAccount.balance_pence != func.coalesce(unpaid.c.total, 0),
        )
        .limit(1)
    ).first()
    if bad:
        return [
            Problem(
                "what each provider is owed equals its unpaid care", f"provider {bad[0]} is owed {bad[1]} but its unpaid care is {bad[2]}"
            )
        ]
    return []


@dataclass(frozen=True)
class Standing:
    """Money providers are owed, by where it stands (pence)."""

    owed: int  # due to a coming run
    disputed: int  # held out by an open dispute
    in_prepared_runs: int  # claimed by a run not approved yet
    paid: int


def standing() -> Standing:
    """The split `flask ledger check` reports: owed, disputed, in prepared runs, and paid."""
    item = PaymentRunItem
    line_status = select(PaymentRunLine.status).where(PaymentRunLine.id == item.line_id).correlate(item).scalar_subquery()
    claimed = select(item.entry_id, line_status.label("status")).subquery()
    disputed = exists().where(VisitRecord.visit_id == SpendFact.visit_id, VisitRecord.dispute_state == DisputeState.OPEN)
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((and_(claimed.c.entry_id.is_(None), ~disputed), SpendFact.amount_pence), else_=0)), 0),
            func.coalesce(func.sum(case((and_(claimed.c.entry_id.is_(None), disputed), SpendFact.amount_pence), else_=0)), 0),
            func.coalesce(func.sum(case((claimed.c.status == LineStatus.TO_PAY.value, SpendFact.amount_pence), else_=0)), 0),
            func.coalesce(func.sum(case((claimed.c.status == LineStatus.PAID.value, SpendFact.amount_pence), else_=0)), 0),
        ).outerjoin(claimed, claimed.c.entry_id == SpendFact.entry_id)
    ).one()
    return Standing(*(int(v) for v in row))
