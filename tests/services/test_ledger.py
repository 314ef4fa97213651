"""The ledger, as an auditor would check it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import AccountKind, HoldStatus, LedgerAccount, TransactionKind
from app.services import ledger
from app.services.ledger import Actor

SYSTEM = Actor.system("test")


@pytest.fixture
def accounts(app):
    with write_transaction():
        council = ledger.council_funding_account()
        budget = ledger.account(AccountKind.BUDGET, "budget:test", "Test budget")
        hold = ledger.account(AccountKind.BOOKING_HOLD, "booking:test", "Test hold")
        payable = ledger.account(AccountKind.PROVIDER_PAYABLE, "provider:test", "Test provider")
    return council, budget, hold, payable


def _fund(council, budget, amount, key="fund-1"):
    with write_transaction():
        return ledger.post(TransactionKind.FUNDING, [(council, -amount), (budget, amount)], key=key, cause=("test", None), actor=SYSTEM)


def test_a_balanced_posting_moves_money_both_ways(accounts):
    council, budget, _, _ = accounts
    transaction = _fund(council, budget, 50_000)
    assert sum(e.amount_pence for e in transaction.entries) == 0
    assert ledger.balance(budget) == 50_000
    assert ledger.balance(council) == -50_000
    db.session.refresh(budget)
    assert budget.balance_pence == 50_000
    assert ledger.check() == []


@pytest.mark.parametrize(
    "amounts, message",
    [
        ((-100, 99), "sum to zero"),
        ((0, 0), "cannot be zero"),
        ((-1.5, 1.5), "whole pence"),
        ((-True, True), "whole pence"),
    ],
)
def test_unbalanced_zero_or_fractional_postings_are_refused(accounts, amounts, message):
    council, budget, _, _ = accounts
    with pytest.raises(ledger.LedgerError, match=message):
        with write_transaction():
            ledger.post(TransactionKind.FUNDING, [(council, amounts[0]), (budget, amounts[1])], key="bad", cause=("test", None), actor=SYSTEM)
    assert ledger.balance(budget) == 0


def test_retrying_with_the_same_key_moves_money_once(accounts):
    council, budget, _, _ = accounts
    first = _fund(council, budget, 10_000, key="retry-me")
    again = _fund(council, budget, 10_000, key="retry-me")
    assert again.id == first.id
    assert ledger.balance(budget) == 10_000
    with pytest.raises(ledger.IdempotencyConflict):
        _fund(council, budget, 99, key="retry-me")
    assert ledger.balance(budget) == 10_000


def test_a_budget_cannot_go_below_zero_and_a_failed_debit_moves_nothing(accounts):
    council, budget, hold, _ = accounts
    _fund(council, budget, 1_000)
    with pytest.raises(ledger.InsufficientFunds):
        with write_transaction():
            ledger.post(TransactionKind.HOLD, [(budget, -1_001), (hold, 1_001)], key="too-much", cause=("test", None), actor=SYSTEM)
    assert ledger.balance(budget) == 1_000
    assert ledger.balance(hold) == 0
    assert ledger.find_transaction("too-much") is None
    assert ledger.check() == []


def test_the_database_itself_refuses_a_negative_budget(accounts):
    _, budget, _, _ = accounts
    with pytest.raises(IntegrityError):
        with write_transaction():
            db.session.execute(text("UPDATE ledger_accounts SET balance_pence = -1 WHERE id = :id"), {"id": budget.id})


@pytest.mark.parametrize("statement", ["UPDATE ledger_entries SET amount_pence = 1", "DELETE FROM ledger_entries",
                                       "UPDATE ledger_transactions SET memo = 'changed'", "DELETE FROM ledger_transactions"])
def test_entries_and_transactions_cannot_be_edited_or_deleted(accounts, statement):
    council, budget, _, _ = accounts
    _fund(council, budget, 500)
    with pytest.raises(DBAPIError, match="append-only"):
        with write_transaction():
            db.session.execute(text(statement))
    assert ledger.balance(budget) == 500


def test_a_hold_is_captured_in_part_once_and_the_rest_released(accounts):
    council, budget, hold_acc, payable = accounts
    _fund(council, budget, 10_000)
    with write_transaction():
        held = ledger.place_hold(visit_id=_visit_id(), source=budget, hold=hold_acc, amount_pence=4_000, key="h1", actor=SYSTEM)
    assert (ledger.balance(budget), ledger.balance(hold_acc)) == (6_000, 4_000)
    with write_transaction():
        ledger.settle_hold(held, capture_pence=3_000, payee=payable, actor=SYSTEM)
    db.session.refresh(held)
    assert held.status is HoldStatus.CAPTURED
    assert (held.captured_pence, held.released_pence) == (3_000, 1_000)
    assert (ledger.balance(budget), ledger.balance(hold_acc), ledger.balance(payable)) == (7_000, 0, 3_000)
    with pytest.raises(ledger.HoldAlreadySettled):
        with write_transaction():
            ledger.settle_hold(held, capture_pence=0, payee=None, actor=SYSTEM)
    assert (ledger.balance(budget), ledger.balance(payable)) == (7_000, 3_000)
    assert ledger.check() == []


def test_a_hold_cannot_be_captured_for_more_than_was_held(accounts):
    council, budget, hold_acc, payable = accounts
    _fund(council, budget, 10_000)
    with write_transaction():
        held = ledger.place_hold(visit_id=_visit_id(), source=budget, hold=hold_acc, amount_pence=4_000, key="h2", actor=SYSTEM)
    with pytest.raises(ledger.LedgerError):
        with write_transaction():
            ledger.settle_hold(held, capture_pence=4_001, payee=payable, actor=SYSTEM)


def test_balances_as_at_a_business_date_and_as_known_at(accounts):
    council, budget, _, _ = accounts
    with write_transaction():
        ledger.post(TransactionKind.FUNDING, [(council, -100), (budget, 100)], key="old", cause=("t", None), actor=SYSTEM,
                    effective_at=dt.datetime(2026, 5, 4, tzinfo=dt.timezone.utc))
    _fund(council, budget, 250, key="new")
    assert ledger.balance(budget, as_at=dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)) == 100
    assert ledger.balance(budget) == 350
    assert ledger.balance(budget, known_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)) == 0


def test_check_names_a_tampered_cached_balance(accounts, runner):
    council, budget, _, _ = accounts
    _fund(council, budget, 700)
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    with write_transaction():
        db.session.execute(text("UPDATE ledger_accounts SET balance_pence = 900 WHERE id = :id"), {"id": budget.id})
    problems = ledger.check()
    assert problems and problems[0].invariant == "cached balance equals entries"
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code != 0
    assert "cached balance equals entries" in result.output
    assert f"account {budget.id} caches 900 but its entries sum to 700" in result.output


def test_check_names_holds_that_do_not_match_their_account(accounts):
    council, budget, hold_acc, _ = accounts
    _fund(council, budget, 1_000)
    # Money moved into a hold account with no hold behind it: an auditor must see it.
    with write_transaction():
        ledger.post(TransactionKind.ADJUSTMENT, [(budget, -300), (hold_acc, 300)], key="sneaky", cause=("t", None), actor=SYSTEM)
    assert [p.invariant for p in ledger.check()] == ["holds match hold accounts"]


def _visit_id() -> int:
    """A real booking visit row for holds to point at."""
    from tests.services.money_helpers import bare_visit

    return bare_visit()
