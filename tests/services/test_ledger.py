"""The ledger, as an auditor would check it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import AccountKind, HoldStatus, TransactionKind
from app.services import ledger, ledger_check
from app.services.ledger import Actor
from app.services.ledger import bulk as ledger_bulk

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
    assert ledger_check.check() == []


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
    with pytest.raises(ledger.LedgerError, match=message), write_transaction():
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
    with pytest.raises(ledger.InsufficientFunds), write_transaction():
        ledger.post(TransactionKind.HOLD, [(budget, -1_001), (hold, 1_001)], key="too-much", cause=("test", None), actor=SYSTEM)
    assert ledger.balance(budget) == 1_000
    assert ledger.balance(hold) == 0
    assert ledger.find_transaction("too-much") is None
    assert ledger_check.check() == []


def test_the_database_itself_refuses_a_negative_budget(accounts):
    _, budget, _, _ = accounts
    with pytest.raises(IntegrityError), write_transaction():
        db.session.execute(text("UPDATE ledger_accounts SET balance_pence = -1 WHERE id = :id"), {"id": budget.id})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount_pence = 1",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET memo = 'changed'",
        "DELETE FROM ledger_transactions",
    ],
)
def test_entries_and_transactions_cannot_be_edited_or_deleted(accounts, statement):
    council, budget, _, _ = accounts
    _fund(council, budget, 500)
    with pytest.raises(DBAPIError, match="append-only"), write_transaction():
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
    with pytest.raises(ledger.HoldAlreadySettled), write_transaction():
        ledger.settle_hold(held, capture_pence=0, payee=None, actor=SYSTEM)
    assert (ledger.balance(budget), ledger.balance(payable)) == (7_000, 3_000)
    assert ledger_check.check() == []


def test_a_hold_cannot_be_captured_for_more_than_was_held(accounts):
    council, budget, hold_acc, payable = accounts
    _fund(council, budget, 10_000)
    with write_transaction():
        held = ledger.place_hold(visit_id=_visit_id(), source=budget, hold=hold_acc, amount_pence=4_000, key="h2", actor=SYSTEM)
    with pytest.raises(ledger.LedgerError), write_transaction():
        ledger.settle_hold(held, capture_pence=4_001, payee=payable, actor=SYSTEM)


def test_balances_as_at_a_business_date_and_as_known_at(accounts):
    council, budget, _, _ = accounts
    with write_transaction():
        ledger.post(
            TransactionKind.FUNDING,
            [(council, -100), (budget, 100)],
            key="old",
            cause=("t", None),
            actor=SYSTEM,
            effective_at=dt.datetime(2026, 5, 4, tzinfo=dt.UTC),
        )
    _fund(council, budget, 250, key="new")
    assert ledger.balance(budget, as_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)) == 100
    assert ledger.balance(budget) == 350
    assert ledger.balance(budget, known_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == 0


def test_check_names_a_tampered_cached_balance(accounts, runner):
    council, budget, _, _ = accounts
    _fund(council, budget, 700)
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    with write_transaction():
        db.session.execute(text("UPDATE ledger_accounts SET balance_pence = 900 WHERE id = :id"), {"id": budget.id})
    problems = ledger_check.check()
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
    assert [p.invariant for p in ledger_check.check()] == ["holds match hold accounts"]


def _visit_id() -> int:
    """A real booking visit row for holds to point at."""
    from tests.services.money_helpers import bare_visit

    return bare_visit()


# Corrections -------------------------------------------------------------------------------


def test_a_reversal_is_a_new_linked_balanced_transaction_made_once(accounts, runner):
    council, budget, _, _ = accounts
    funding = _fund(council, budget, 4_200, key="fund-wrong")
    with write_transaction():
        reversal = ledger.reverse(db.session.get(type(funding), funding.id), actor=SYSTEM, reason="Paid for the wrong person")
    assert reversal.kind is TransactionKind.CORRECTION and reversal.corrects_id == funding.id
    assert sorted((e.account_id, e.amount_pence) for e in reversal.entries) == [(council.id, 4_200), (budget.id, -4_200)]
    assert "Paid for the wrong person" in reversal.memo
    assert ledger.balance(budget) == 0 and ledger.balance(council) == 0
    # Asking again (a double click, a retry) returns the same reversal and moves nothing.
    with write_transaction():
        again = ledger.reverse(db.session.get(type(funding), funding.id), actor=SYSTEM, reason="Again")
    assert again.id == reversal.id and ledger.balance(budget) == 0
    assert ledger.reversal_of(db.session.get(type(funding), funding.id)).id == reversal.id
    # The original is untouched.
    assert [e.amount_pence for e in db.session.get(type(funding), funding.id).entries] == [-4_200, 4_200]
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0


def test_a_reversal_needs_a_reason_money_to_give_back_and_a_reversible_kind(accounts):
    council, budget, hold_acc, _ = accounts
    funding = _fund(council, budget, 1_000, key="fund-spent")
    with write_transaction():
        ledger.post(TransactionKind.HOLD, [(budget, -600), (hold_acc, 600)], key="spend", cause=("t", None), actor=SYSTEM)
    with pytest.raises(ledger.LedgerError, match="reason"), write_transaction():
        ledger.reverse(db.session.get(type(funding), funding.id), actor=SYSTEM, reason="  ")
    with pytest.raises(ledger.InsufficientFunds), write_transaction():
        ledger.reverse(db.session.get(type(funding), funding.id), actor=SYSTEM, reason="Too late, it is spent")
    with pytest.raises(ledger.LedgerError, match="cannot be reversed"), write_transaction():
        ledger.reverse(ledger.find_transaction("spend"), actor=SYSTEM, reason="A hold is released, never reversed")
    assert ledger.balance(budget) == 400 and ledger.find_transaction(f"reverse:transaction:{funding.id}") is None


# `flask ledger check` names each broken invariant -----------------------------------------------
#
# Each test breaks the data the way a bug (or a hand in the database) would, with raw SQL
# that goes round the services, and checks the command fails naming what is wrong.


def _check_fails_naming(runner, invariant: str) -> str:
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code != 0, result.output
    assert invariant in result.output, result.output
    return result.output


def _raw(sql: str, **params) -> None:
    with write_transaction():
        db.session.execute(text(sql), params)


def test_check_names_a_transaction_reversed_twice(accounts, runner):
    council, budget, _, _ = accounts
    funding = _fund(council, budget, 900, key="fund-twice")
    with write_transaction():
        ledger.reverse(db.session.get(type(funding), funding.id), actor=SYSTEM, reason="Wrong budget")
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    # A second reversal under another key (a bug that forgot the reversal's own key).
    with write_transaction():
        ledger.post(TransactionKind.CORRECTION, [(council, -900), (budget, 900)], key="refund-again", cause=("t", None), actor=SYSTEM)
        ledger.post(
            TransactionKind.CORRECTION,
            [(budget, -900), (council, 900)],
            key="reverse-again",
            cause=(ledger.REVERSAL_CAUSE, funding.id),
            actor=SYSTEM,
            corrects=db.session.get(type(funding), funding.id),
        )
    output = _check_fails_naming(runner, "reversed at most once")
    assert f"transaction {funding.id} is reversed 2 times" in output


def test_check_names_a_hold_for_another_amount_than_its_transaction(accounts, runner):
    council, budget, hold_acc, payable = accounts
    _fund(council, budget, 5_000)
    with write_transaction():
        held = ledger.place_hold(visit_id=_visit_id(), source=budget, hold=hold_acc, amount_pence=2_000, key="h-amount", actor=SYSTEM)
        ledger.settle_hold(held, capture_pence=1_000, payee=payable, actor=SYSTEM)
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    # The hold's row rewritten to say it was for less (its own CHECK still satisfied): the
    # money its transactions moved says otherwise.
    _raw("UPDATE ledger_holds SET amount_pence = 1500, released_pence = 500 WHERE id = :id", id=held.id)
    output = _check_fails_naming(runner, "hold amount equals its transaction")
    assert f"hold {held.id}" in output


def test_check_names_a_visit_whose_status_disagrees_with_its_hold(app, runner, make_budget, make_service, make_user, policy):
    from app.models import Role
    from app.services import bookings
    from tests.services.money_helpers import future_day, request_for

    budget = make_budget()
    service = make_service(price_pence=2_000)
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy)), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    visit = booking.visits[0]
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    # The lost update of a race: the visit says cancelled while its money is still held.
    _raw("UPDATE booking_visits SET status = 'cancelled' WHERE id = :id", id=visit.id)
    output = _check_fails_naming(runner, "visit status agrees with its hold")
    assert f"visit {visit.id} is cancelled with 1 live hold," in output
    # And the other way: delivered and paid for, but the visit says nothing was charged.
    _raw("UPDATE booking_visits SET status = 'held' WHERE id = :id", id=visit.id)
    staff = make_user(Role.PROVIDER)
    bookings.accept(booking, by=staff)
    bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    _raw("UPDATE booking_visits SET charged_pence = 0 WHERE id = :id", id=visit.id)
    assert "2000 pence captured and 0 charged" in _check_fails_naming(runner, "visit status agrees with its hold")


def test_check_names_a_budget_period_without_its_funding(app, runner, make_budget):
    from app.models import BudgetPeriod

    budget = make_budget()
    period = db.session.query(BudgetPeriod).filter_by(budget_id=budget.id).one()
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    _raw("UPDATE budget_periods SET transaction_id = NULL WHERE id = :id", id=period.id)
    output = _check_fails_naming(runner, "every budget period has its funding")
    assert f"budget period {period.id}" in output


def _payouts(payable, paid, amounts: dict[str, int]) -> list[ledger.Movement]:
    return [
        ledger.Movement([(payable, -amount), (paid, amount)], key=key, cause=("test", n)) for n, (key, amount) in enumerate(amounts.items())
    ]


def test_many_payouts_at_once_each_move_once_and_balance(accounts):
    _, _, _, payable = accounts
    with write_transaction():
        paid = ledger.account(AccountKind.PROVIDER_PAID, "providers", "Paid to providers")
    with write_transaction():
        first = ledger.post_many(TransactionKind.PAYOUT, _payouts(payable, paid, {"p-1": 1_000, "p-2": 250}), actor=SYSTEM)
    assert set(first) == {"p-1", "p-2"}
    assert ledger.balance(paid) == 1_250 and ledger.balance(payable) == -1_250
    # Retried with one more: the first two are found, only the new one moves.
    with write_transaction():
        again = ledger.post_many(TransactionKind.PAYOUT, _payouts(payable, paid, {"p-1": 1_000, "p-2": 250, "p-3": 5}), actor=SYSTEM)
    assert again["p-1"] == first["p-1"] and again["p-2"] == first["p-2"] and again["p-3"] not in first.values()
    assert ledger.balance(paid) == 1_255
    db.session.refresh(paid)
    assert paid.balance_pence == 1_255
    assert ledger.find_transaction("p-3").memo == "" and len(ledger.find_transaction("p-3").entries) == 2
    # Balanced, cached balances right (no payment run paid these, and the check says so too).
    assert [problem.invariant for problem in ledger_check.check()] == ["paid to providers equals the paid lines"]


def test_many_at_once_refuses_a_used_key_for_another_movement_and_moves_nothing(accounts):
    _, _, _, payable = accounts
    with write_transaction():
        paid = ledger.account(AccountKind.PROVIDER_PAID, "providers", "Paid to providers")
        ledger.post_many(TransactionKind.PAYOUT, _payouts(payable, paid, {"p-1": 1_000}), actor=SYSTEM)
    with pytest.raises(ledger.IdempotencyConflict), write_transaction():
        ledger.post_many(TransactionKind.PAYOUT, _payouts(payable, paid, {"p-new": 7, "p-1": 999}), actor=SYSTEM)
    assert ledger.balance(paid) == 1_000 and ledger.find_transaction("p-new") is None
    with pytest.raises(ledger.LedgerError, match="one movement per idempotency key"), write_transaction():
        ledger.post_many(TransactionKind.PAYOUT, _payouts(payable, paid, {"x": 1}) * 2, actor=SYSTEM)
    with pytest.raises(ledger.LedgerError, match="one at a time"), write_transaction():
        ledger.post_many(TransactionKind.CAPTURE, _payouts(payable, paid, {"y": 1}), actor=SYSTEM)


def test_many_at_once_never_takes_an_account_below_zero_and_then_moves_nothing(accounts, monkeypatch):
    council, budget, _, _ = accounts
    _fund(council, budget, 1_000)
    # No kind posted in bulk takes from an account that may not go below zero: pretend one does.
    monkeypatch.setattr(ledger_bulk, "BULK_KINDS", {TransactionKind.ADJUSTMENT})
    takes = [ledger.Movement([(budget, -600), (council, 600)], key=f"h-{n}", cause=("test", n)) for n in range(2)]
    with pytest.raises(ledger.InsufficientFunds) as refused, write_transaction():
        ledger.post_many(TransactionKind.ADJUSTMENT, takes, actor=SYSTEM)
    assert refused.value.account_id == budget.id and refused.value.needed_pence == 1_200
    assert ledger.balance(budget) == 1_000 and ledger.balance(council) == -1_000 and ledger.find_transaction("h-0") is None
    with write_transaction():
        ledger.post_many(TransactionKind.ADJUSTMENT, takes[:1], actor=SYSTEM)
    assert ledger.balance(budget) == 400
    assert ledger_check.check() == []
