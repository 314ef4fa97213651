"""What one booking costs the database, and what it leaves behind.

A one-off booking paid from a personal budget is the marketplace's busiest write: the
number of statements it sends (counted as the bookings bench counts them, every
``cursor.execute``) must not creep back up, and cutting it must not cut a row it writes."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import (
    Booking,
    BookingEvent,
    BookingSchedule,
    BookingVisit,
    CapacityCell,
    HoldStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    Notification,
    OutboundEmail,
    VisitStatus,
)
from app.services import bookings, budgets, ledger_check
from app.services.budgets.booking_payment import BudgetPayment
from app.services.errors import ValidationError
from tests.services.money_helpers import future_day, request_for

# Statements a one-off budget booking sends on PostgreSQL (its one COMMIT not counted):
# the budget with its accounts, locked; the service with its hours, whether its provider
# can be reached and whether it is closed; the booking; its visit; its capacity cells; the
# budget's debit with the hold account, ledger movement and hold; who to tell; the
# notifications with their emails and the timeline line.
MOST_STATEMENTS = 8

TABLES = (
    Booking,
    BookingVisit,
    CapacityCell,
    LedgerAccount,
    LedgerTransaction,
    LedgerEntry,
    LedgerHold,
    BookingEvent,
    Notification,
    OutboundEmail,
)


def _rows() -> dict[str, int]:
    return {model.__tablename__: db.session.execute(select(func.count()).select_from(model)).scalar_one() for model in TABLES}


@pytest.fixture
def booked_once(make_budget, make_service, make_provider_staff, policy):
    budget = make_budget(amount=50_000)
    service = make_service(price_pence=2_000, capacity=3)
    make_provider_staff(service.provider)  # its owner answers requests
    # A first booking, so the cells and accounts every booking shares already exist.
    bookings.create(request_for(service, budget, day=future_day(policy)), citizen=budget.citizen, booker=budget.citizen, policy=policy)
    return budget, service


def test_a_one_off_budget_booking_sends_few_statements_on_postgresql(booked_once, policy):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the figure is PostgreSQL's (SQLite sends its own BEGIN IMMEDIATE)")
    budget, service = booked_once
    request = request_for(service, budget, day=future_day(policy), at="11:00")
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        bookings.create(request, citizen=budget.citizen, booker=budget.citizen, policy=policy)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(sent) <= MOST_STATEMENTS, "\n".join(s.split("\n")[0][:100] for s in sent)


def test_a_one_off_budget_booking_writes_every_row_it_always_has(booked_once, policy):
    budget, service = booked_once
    before = _rows()
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy), at="14:00"), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    after = _rows()
    assert {table: after[table] - before[table] for table in after} == {
        "bookings": 1,
        "booking_visits": 1,
        "capacity_cells": 4,  # an hour: four quarter hours, each with one place taken
        "ledger_accounts": 1,  # what is held for this booking
        "ledger_transactions": 1,
        "ledger_entries": 2,
        "ledger_holds": 1,
        "booking_events": 1,
        "notifications": 2,  # the provider's owner and the citizen
        "outbound_emails": 2,
    }
    [visit] = booking.visits
    assert visit.status is VisitStatus.HELD
    [hold] = db.session.execute(select(LedgerHold).where(LedgerHold.visit_id == visit.id)).scalars()
    assert hold.status is HoldStatus.HELD and hold.amount_pence == visit.amount_pence
    assert booking.requested_notified_at is not None
    assert [e.kind for e in booking.events] == ["requested"]
    used = db.session.execute(select(CapacityCell.used).where(CapacityCell.service_id == service.id, CapacityCell.used > 0)).scalars()
    assert sorted(used) == [1] * 8  # the first booking's hour (10:00) and this one's
    assert ledger_check.check() == []


def test_a_weekly_booking_sets_aside_each_visit_as_a_movement_of_its_own(booked_once, policy):
    budget, service = booked_once
    day = future_day(policy, 1)
    before = budgets.summary(budget).available_pence
    request = request_for(service, budget, day=day, at="15:00", schedule=BookingSchedule.WEEKLY, weekdays=tuple(range(7)), weeks=1)
    booking = bookings.create(request, citizen=budget.citizen, booker=budget.citizen, policy=policy)
    assert len(booking.visits) == 7 and all(visit.status is VisitStatus.HELD for visit in booking.visits)
    for visit in booking.visits:
        [hold] = db.session.execute(select(LedgerHold).where(LedgerHold.visit_id == visit.id)).scalars()
        movement = db.session.get(LedgerTransaction, hold.placed_transaction_id)
        assert movement.idempotency_key == f"hold:visit:{visit.id}:1"
        assert (movement.cause_type, movement.cause_id) == ("booking_visit", visit.id)
        legs = sorted((entry.account_id, entry.amount_pence) for entry in movement.entries)
        assert legs == sorted([(hold.budget_account_id, -2_000), (hold.hold_account_id, 2_000)])
    assert budgets.summary(budget).available_pence == before - 7 * 2_000
    assert ledger_check.check() == []


def test_holds_the_budget_cannot_cover_when_written_move_nothing(make_budget, make_service, make_provider_staff, policy, monkeypatch):
    # The plan checks the money first; the ledger's own check, in the UPDATE that debits the
    # budget, is what stops a booking that got in first spending it meanwhile.
    budget = make_budget(amount=5_000)
    service = make_service(price_pence=2_000, capacity=3)
    make_provider_staff(service.provider)
    monkeypatch.setattr(BudgetPayment, "check_quote", lambda self, quote, funding: None)
    before = _rows()
    with pytest.raises(ValidationError, match="not enough money"):
        bookings.create(
            request_for(service, budget, day=future_day(policy), units=3), citizen=budget.citizen, booker=budget.citizen, policy=policy
        )
    assert _rows() == before
    assert budgets.summary(budget).available_pence == 5_000
    assert ledger_check.check() == []


def test_a_hold_account_column_the_one_statement_does_not_write_is_refused(booked_once, policy, monkeypatch):
    # PostgreSQL writes the hold account in a statement built once, for the columns it names:
    # a column added to the account's fields must not be dropped without a word.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes the account's fields as they come")
    from app.services.ledger import new_booking

    budget, service = booked_once
    real = new_booking.hold_account_fields
    monkeypatch.setattr(new_booking, "hold_account_fields", lambda booking: real(booking) | {"memo": "new"})
    before = _rows()
    with pytest.raises(new_booking.LedgerError, match="hold account's columns changed"):
        bookings.create(
            request_for(service, budget, day=future_day(policy), at="16:00"), citizen=budget.citizen, booker=budget.citizen, policy=policy
        )
    assert _rows() == before
    assert ledger_check.check() == []
