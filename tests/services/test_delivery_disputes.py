"""Checking delivered visits, at the service layer: the person confirms or disputes within the
council's window, a commissioner settles disputes and decides visits outside the tolerance,
and visits nobody recorded show up after 48 hours. Money is read back from the ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, DisputeState, ExceptionState, VisitStatus
from app.services import bookings, budgets, delivery, ledger, ledger_check
from app.services.errors import Conflict, NotFound, ValidationError
from tests.services.money_helpers import future_day, request_for

PRICE = 2_000  # an hour's visit
BUDGET = 50_000


@dataclass
class Care:
    provider: object
    staff: object
    service: object
    citizen: object
    budget: object
    booking: object
    visit: object


@pytest.fixture
def care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy) -> Care:
    return book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)


def book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy) -> Care:
    """An accepted one-hour visit paid from Alice's budget (its money set aside)."""
    provider = make_provider(name="Nene Valley Home Care")
    staff = make_provider_staff(provider)
    service = make_service(provider=provider, title="Home care visits", price_pence=PRICE)
    citizen = make_citizen(name="Alice Citizen")
    budget = make_budget(citizen=citizen, amount=BUDGET)
    booking = bookings.create(request_for(service, budget, day=future_day(policy)), citizen=citizen, booker=citizen, policy=policy)
    bookings.accept(booking, by=staff)
    return Care(provider, staff, service, citizen, budget, booking, booking.visits[0])


def record_visit(care: Care, *, late: int = 0, minutes: int = 60):
    """The provider records the visit: ``late`` minutes after the plan, lasting ``minutes``."""
    visit = care.visit
    start = visit.starts_at + dt.timedelta(minutes=late)
    actuals = delivery.Actuals(visit.id, start, start + dt.timedelta(minutes=minutes))
    return delivery.record(actuals, provider=care.provider, by=care.staff, now=visit.starts_at + dt.timedelta(hours=2))


def payable(care: Care) -> int:
    return ledger.balance(ledger.provider_payable_account(care.provider))


def money(care: Care) -> tuple[int, int, int]:
    """(available, set aside, payable to the provider)."""
    figures = budgets.summary(care.budget)
    return figures.available_pence, figures.held_pence, payable(care)


def audits(action: str) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


# -- The person's answer ------------------------------------------------------------------------


def test_a_delivered_visit_is_confirmed_once_within_the_window(care):
    record = record_visit(care)
    assert delivery.may_answer(record)
    confirmed = delivery.confirm(record.id, by=care.citizen)
    assert confirmed.dispute_state is DisputeState.CONFIRMED and confirmed.confirmed_by_id == care.citizen.id
    assert not delivery.may_answer(confirmed)
    with pytest.raises(Conflict, match="already answered"):
        delivery.dispute(record.id, reason="Changed my mind", by=care.citizen)


def test_after_the_council_window_the_visit_cannot_be_answered(care):
    record = record_visit(care)
    closed = record.recorded_at + dt.timedelta(days=7, minutes=1)
    assert not delivery.may_answer(record, now=closed)
    assert delivery.may_answer(record, now=closed, confirm_days=14)  # a council that allows longer
    with pytest.raises(Conflict, match="for 7 days"):
        delivery.confirm(record.id, by=care.citizen, now=closed)
    with pytest.raises(Conflict, match="for 7 days"):
        delivery.dispute(record.id, reason="Nobody came", by=care.citizen, now=closed)
    assert db.session.get(type(record), record.id).dispute_state is DisputeState.NONE


def test_a_dispute_needs_a_reason_and_holds_the_visit_for_the_council(care, make_citizen, make_representative):
    record = record_visit(care)
    with pytest.raises(NotFound):
        delivery.dispute(record.id, reason="Nobody came", by=make_citizen())
    with pytest.raises(ValidationError, match="did not happen as recorded"):
        delivery.dispute(record.id, reason="   ", by=care.citizen)
    disputed = delivery.dispute(record.id, reason="The carer left after 20 minutes", by=make_representative(care.citizen))
    assert disputed.dispute_state is DisputeState.OPEN
    assert delivery.open_disputes() == [disputed]
    assert money(care) == (BUDGET - PRICE, 0, PRICE)  # paid, but held out of payment runs


# -- The commissioner settles a dispute ---------------------------------------------------------


def test_an_upheld_dispute_takes_the_money_back_to_the_budget(care, make_commissioner):
    record = record_visit(care)
    delivery.dispute(record.id, reason="Nobody came", by=care.citizen)
    settled = delivery.settle(record.id, uphold=True, reason="The carer's phone shows them elsewhere", by=make_commissioner())
    assert settled.dispute_state is DisputeState.UPHELD and settled.taken_back_pence == PRICE
    assert money(care) == (BUDGET, 0, 0)
    # The budget holder's figures: the money is back as spending undone, not as new funding.
    figures = budgets.summary(care.budget)
    assert (figures.funded_pence, figures.available_pence, figures.spent_pence) == (BUDGET, BUDGET, 0) and figures.balances
    [audit] = audits("visit.dispute_settled")
    assert audit.after == {"outcome": "upheld", "taken_back_pence": PRICE, "visit": care.visit.id}
    assert audit.note == "The carer's phone shows them elsewhere"
    assert delivery.open_disputes() == []
    assert ledger_check.check() == []


def test_a_dispute_not_upheld_keeps_the_payment_and_is_settled_once(care, make_commissioner):
    record = record_visit(care)
    delivery.dispute(record.id, reason="Nobody came", by=care.citizen)
    commissioner = make_commissioner()
    with pytest.raises(ValidationError, match=r"from £0\.01 to £20"):
        delivery.settle(record.id, uphold=True, reason="Too much", by=commissioner, take_back_pence=PRICE + 1)
    with pytest.raises(ValidationError, match="reason"):
        delivery.settle(record.id, uphold=False, reason=" ", by=commissioner)
    settled = delivery.settle(record.id, uphold=False, reason="The visit log matches the record", by=commissioner)
    assert settled.dispute_state is DisputeState.REJECTED and settled.taken_back_pence == 0
    assert money(care) == (BUDGET - PRICE, 0, PRICE)
    with pytest.raises(Conflict, match="already settled"):
        delivery.settle(record.id, uphold=True, reason="Second thoughts", by=commissioner)
    assert [a.after["outcome"] for a in audits("visit.dispute_settled")] == ["rejected"]


# -- The commissioner decides a visit outside the tolerance -----------------------------------


@pytest.mark.parametrize(
    "decision, paid, status",
    [
        (ExceptionState.PAID_AS_RECORDED, PRICE // 2, VisitStatus.DELIVERED),  # 30 minutes of an hour
        (ExceptionState.PAID_AS_PLANNED, PRICE, VisitStatus.DELIVERED),
        (ExceptionState.NOT_PAID, 0, VisitStatus.MISSED),
    ],
)
def test_a_visit_outside_the_tolerance_is_paid_as_the_commissioner_decides(care, make_commissioner, decision, paid, status):
    record = record_visit(care, minutes=30)
    assert record.exception_state is ExceptionState.OPEN and "Lasted 30 minutes (planned 60)" in record.exception_reason
    assert delivery.open_exceptions() == [record]
    assert delivery.recorded_pence(record, care.booking, care.visit) == PRICE // 2
    assert money(care) == (BUDGET - PRICE, PRICE, 0)  # still set aside

    decided = delivery.decide(record.id, decision=decision, reason="Checked with the provider", by=make_commissioner())
    assert decided.exception_state is decision
    assert money(care) == (BUDGET - paid, 0, paid)  # what is not paid goes back to the budget
    assert db.session.get(type(care.visit), care.visit.id).status is status
    [audit] = audits("visit.exception_decided")
    assert audit.after == {"decision": decision.value, "paid_pence": paid, "visit": care.visit.id}
    assert audit.note == "Checked with the provider"
    assert delivery.open_exceptions() == []
    assert ledger_check.check() == []


def test_a_decision_needs_a_reason_and_is_made_once(care, make_commissioner):
    record = record_visit(care, late=45)
    commissioner = make_commissioner()
    with pytest.raises(ValidationError, match="reason"):
        delivery.decide(record.id, decision=ExceptionState.PAID_AS_PLANNED, reason="", by=commissioner)
    with pytest.raises(ValidationError, match="Choose"):
        delivery.decide(record.id, decision=ExceptionState.OPEN, reason="Sneaky", by=commissioner)
    delivery.decide(record.id, decision=ExceptionState.PAID_AS_PLANNED, reason="Traffic", by=commissioner)
    with pytest.raises(Conflict, match="already decided"):
        delivery.decide(record.id, decision=ExceptionState.NOT_PAID, reason="Again", by=commissioner)
    assert money(care) == (BUDGET - PRICE, 0, PRICE)


# -- Visits nobody recorded -------------------------------------------------------------------


def test_a_visit_nobody_recorded_is_listed_48_hours_after_it_was_due(care):
    due = care.visit.starts_at
    assert delivery.unrecorded_visits(now=due + dt.timedelta(hours=47)) == []
    assert delivery.unrecorded_visits(now=due + dt.timedelta(hours=49)) == [care.visit]
    record_visit(care)
    assert delivery.unrecorded_visits(now=due + dt.timedelta(hours=49)) == []
