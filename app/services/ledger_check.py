"""`flask ledger check`: every invariant of the money, run from this one place.

The ledger's own invariants are here; each area that keeps money (budgets, card payments)
owns the invariants of its own records and is called explicitly below, so reading this
module tells you everything the check covers. Each invariant is a read-only query that
reports the first row breaking it. ``check()`` returns the problems, worst first: an empty
list means the books are straight.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import MAY_GO_NEGATIVE, AccountKind, HoldStatus, LedgerAccount, LedgerEntry, LedgerHold, LedgerTransaction, TransactionKind
from app.services import budgets, card_payments, payment_runs, reports
from app.services.ledger import IS_REVERSAL, Problem


def check() -> list[Problem]:
    """Verify every invariant over the whole ledger and the records that agree with it."""
    problems: list[Problem] = []
    for invariant in LEDGER_INVARIANTS:
        problems.extend(invariant())
    problems.extend(budgets.check_budgets())
    problems.extend(card_payments.check_cards())
    facts = reports.check_spend_facts()
    problems.extend(facts)
    if not facts:
        # Payment runs are checked against the spend facts: a broken fact is named once, above.
        problems.extend(payment_runs.check_payment_runs())
    return problems


def warnings() -> list[Problem]:
    """What is accounted for but waiting too long for someone (`flask ledger check` prints
    each as a WARNING line and still exits 0): money left in card clearing over a week."""
    return card_payments.clearing_warnings()


def _entry_sums():
    return (
        select(LedgerEntry.account_id.label("account_id"), func.sum(LedgerEntry.amount_pence).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )


def _balanced_transactions() -> list[Problem]:
    unbalanced = db.session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount_pence), func.count())
        .group_by(LedgerEntry.transaction_id)
        .having((func.sum(LedgerEntry.amount_pence) != 0) | (func.count() < 2))
        .order_by(LedgerEntry.transaction_id)
        .limit(1)
    ).first()
    if unbalanced:
        return [Problem("balanced transactions", f"transaction {unbalanced[0]} sums to {unbalanced[1]} over {unbalanced[2]} entries")]
    empty = db.session.execute(
        select(LedgerTransaction.id)
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerEntry.id.is_(None))
        .limit(1)
    ).scalar()
    if empty:
        return [Problem("balanced transactions", f"transaction {empty} has no entries")]
    return []


def _cached_balances() -> list[Problem]:
    sums = _entry_sums()
    drift = db.session.execute(
        select(LedgerAccount.id, LedgerAccount.balance_pence, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.balance_pence != func.coalesce(sums.c.total, 0))
        .order_by(LedgerAccount.id)
        .limit(1)
    ).first()
    if drift:
        return [Problem("cached balance equals entries", f"account {drift[0]} caches {drift[1]} but its entries sum to {drift[2]}")]
    return []


def _nothing_below_zero() -> list[Problem]:
    sums = _entry_sums()
    negative = db.session.execute(
        select(LedgerAccount.id, LedgerAccount.kind, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind.notin_(list(MAY_GO_NEGATIVE)), func.coalesce(sums.c.total, 0) < 0)
        .limit(1)
    ).first()
    if negative:
        return [Problem("no account below zero", f"account {negative[0]} ({negative[1].value}) is at {negative[2]}")]
    return []


def _sums_to_zero() -> list[Problem]:
    total = db.session.execute(select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))).scalar_one()
    return [Problem("ledger sums to zero", f"all entries sum to {total}")] if total != 0 else []


def _holds_match_hold_accounts() -> list[Problem]:
    sums = _entry_sums()
    held = (
        select(
            LedgerHold.hold_account_id.label("account_id"),
            func.sum(case((LedgerHold.status == HoldStatus.HELD, LedgerHold.amount_pence), else_=0)).label("live"),
        )
        .group_by(LedgerHold.hold_account_id)
        .subquery()
    )
    # No LIMIT: with one, PostgreSQL joins the grouped subqueries by nested loop (hundreds of
    # millions of comparisons at council scale) instead of hashing them once.
    mismatch = db.session.execute(
        select(LedgerAccount.id, func.coalesce(sums.c.total, 0), func.coalesce(held.c.live, 0))
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .outerjoin(held, held.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind == AccountKind.BOOKING_HOLD, func.coalesce(sums.c.total, 0) != func.coalesce(held.c.live, 0))
        .order_by(LedgerAccount.id)
    ).first()
    if mismatch:
        return [
            Problem("holds match hold accounts", f"hold account {mismatch[0]} holds {mismatch[1]} but its live holds total {mismatch[2]}")
        ]
    return []


def _hold_transactions_have_holds() -> list[Problem]:
    orphan = db.session.execute(
        select(LedgerTransaction.id)
        .outerjoin(LedgerHold, LedgerHold.placed_transaction_id == LedgerTransaction.id)
        .where(LedgerTransaction.kind == TransactionKind.HOLD, LedgerHold.id.is_(None))
        .limit(1)
    ).scalar()
    return [Problem("every hold transaction has its hold", f"transaction {orphan} holds money for no visit")] if orphan else []


def _hold_amounts_match_transactions() -> list[Problem]:
    placed_entry = (
        select(LedgerHold.id)
        .outerjoin(
            LedgerEntry,
            (LedgerEntry.transaction_id == LedgerHold.placed_transaction_id) & (LedgerEntry.account_id == LedgerHold.hold_account_id),
        )
        .where((LedgerEntry.id.is_(None)) | (LedgerEntry.amount_pence != LedgerHold.amount_pence))
        .order_by(LedgerHold.id)
        .limit(1)
    )
    settled_entry = (
        select(LedgerHold.id)
        .outerjoin(
            LedgerEntry,
            (LedgerEntry.transaction_id == LedgerHold.settled_transaction_id) & (LedgerEntry.account_id == LedgerHold.hold_account_id),
        )
        .where(
            LedgerHold.settled_transaction_id.is_not(None),
            (LedgerEntry.id.is_(None)) | (LedgerEntry.amount_pence != -LedgerHold.amount_pence),
        )
        .order_by(LedgerHold.id)
        .limit(1)
    )
    wrong_amount = db.session.execute(placed_entry).scalar() or db.session.execute(settled_entry).scalar()
    if wrong_amount:
        return [Problem("hold amount equals its transaction", f"hold {wrong_amount} is not for the amount its transactions moved")]
    return []


def _settled_holds_have_settlements() -> list[Problem]:
    settled_without = db.session.execute(
        select(LedgerHold.id).where(LedgerHold.status != HoldStatus.HELD, LedgerHold.settled_transaction_id.is_(None)).limit(1)
    ).scalar()
    if settled_without:
        return [Problem("every settled hold has its settlement", f"hold {settled_without} is settled with no transaction")]
    return []


def _reversed_at_most_once() -> list[Problem]:
    twice = db.session.execute(
        select(LedgerTransaction.corrects_id, func.count())
        .where(IS_REVERSAL)
        .group_by(LedgerTransaction.corrects_id)
        .having(func.count() > 1)
        .order_by(LedgerTransaction.corrects_id)
        .limit(1)
    ).first()
    return [Problem("reversed at most once", f"transaction {twice[0]} is reversed {twice[1]} times")] if twice else []


def _reversals_mirror_what_they_reverse() -> list[Problem]:
    reversals = db.session.execute(
        select(LedgerTransaction.id, LedgerTransaction.corrects_id).where(IS_REVERSAL).order_by(LedgerTransaction.id)
    ).all()
    if not reversals:
        return []
    ids = {tid for pair in reversals for tid in pair if tid is not None}
    legs: dict[int, list[tuple[int, int]]] = {}
    for transaction_id, account_id, amount in db.session.execute(
        select(LedgerEntry.transaction_id, LedgerEntry.account_id, LedgerEntry.amount_pence).where(LedgerEntry.transaction_id.in_(ids))
    ):
        legs.setdefault(transaction_id, []).append((account_id, amount))
    for reversal_id, original_id in reversals:
        if original_id is None or sorted(legs.get(reversal_id, [])) != sorted((a, -amount) for a, amount in legs.get(original_id, [])):
            return [
                Problem(
                    "a reversal mirrors what it reverses", f"transaction {reversal_id} does not undo exactly the transaction it corrects"
                )
            ]
    return []


# The ledger's own invariants, worst first.
LEDGER_INVARIANTS: tuple[Callable[[], list[Problem]], ...] = (
    _balanced_transactions,
    _cached_balances,
    _nothing_below_zero,
    _sums_to_zero,
    _holds_match_hold_accounts,
    _hold_transactions_have_holds,
    _hold_amounts_match_transactions,
    _settled_holds_have_settlements,
    _reversed_at_most_once,
    _reversals_mirror_what_they_reverse,
)
