"""Requests the provider never answers expire after the council's time: the money set aside
comes back exactly once, both sides are told, and a provider accepting at the same moment,
or a second run, never makes it happen twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    CardPaymentStatus,
    HoldStatus,
    LedgerHold,
    LedgerTransaction,
    Role,
    User,
    VisitStatus,
)
from app.services import bookings, budgets, card_payments, ledger, ledger_check
from app.services.bookings import expiry
from app.services.bookings import notify as booking_notices
from app.services.errors import InvalidTransition
from tests.helpers import outbox, run_at_once
from tests.services.money_helpers import future_day, request_for
from tests.services.test_card_payments import book_by_card, intent, payment_of
from tests.services.test_money_concurrency import first_and_second, slow_down


@pytest.fixture
def request_waiting(make_citizen, make_representative, make_provider, make_provider_staff, make_service, make_budget, policy):
    """A request for two hours of home care, from a budget of £420, that nobody has answered."""
    provider = make_provider(name="Nene Valley Home Care")
    staff = make_provider_staff(provider, email="owner@nene.example")
    service = make_service(provider=provider, title="Home care visits", price_pence=2_200, capacity=4)
    citizen = make_citizen(name="Alice Citizen", email="alice@example.com")
    make_representative(citizen, email="daughter@example.com")
    budget = make_budget(citizen=citizen, amount=42_000)
    booking = bookings.create(request_for(service, budget, day=future_day(policy), units=2), citizen=citizen, booker=citizen, policy=policy)
    assert budgets.summary(budget).available_pence == 42_000 - 4_400
    return booking, budget, staff


def _told(booking) -> dt.datetime:
    return db.session.get(Booking, booking.id).requested_notified_at


def _fresh(booking) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking.id)


def _transactions() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerTransaction)).scalar()


def test_a_request_expires_after_48_hours_and_not_before(request_waiting):
    booking, budget, staff = request_waiting
    told = _told(booking)
    assert bookings.expire_unanswered(now=told + dt.timedelta(hours=47, minutes=59)) == 0
    assert _fresh(booking).status is BookingStatus.REQUESTED
    assert budgets.summary(budget).available_pence == 42_000 - 4_400

    assert bookings.expire_unanswered(now=told + dt.timedelta(hours=48)) == 1
    expired = _fresh(booking)
    assert expired.status is BookingStatus.EXPIRED and expired.status.label == "Expired: no answer from the provider"
    assert expired.decided_at is None  # nobody answered it: the service-level report counts it unanswered
    assert [v.status for v in expired.visits] == [VisitStatus.DECLINED]
    holds = db.session.execute(select(LedgerHold).where(LedgerHold.visit_id == expired.visits[0].id)).scalars().all()
    assert [h.status for h in holds] == [HoldStatus.RELEASED]
    assert budgets.summary(budget).available_pence == 42_000  # back to what it was before the request
    assert ledger_check.check() == []
    events = [e for e in expired.events if e.kind == "expired"]
    assert len(events) == 1 and events[0].message == "Expired: Nene Valley Home Care did not accept or decline it within 48 hours"


def test_expiring_tells_the_person_their_representative_and_the_provider(request_waiting):
    booking, budget, staff = request_waiting
    bookings.expire_unanswered(now=_told(booking) + dt.timedelta(hours=49))
    for person in ("alice@example.com", "daughter@example.com"):
        emails = [e for e in outbox(person) if "expired" in e.subject]
        assert len(emails) == 1, person
        assert emails[0].subject == f"Booking {booking.reference} expired: Nene Valley Home Care did not answer"
        assert "within 48 hours" in emails[0].body_text and "The money set aside has been released" in emails[0].body_text
        assert f"/bookings/{booking.public_id}" in emails[0].body_text
    to_provider = [e for e in outbox("owner@nene.example") if "expired" in e.subject]
    assert [e.subject for e in to_provider] == [f"Booking request {booking.reference} expired"]
    assert "Alice Citizen" in to_provider[0].body_text


def test_a_second_run_expires_nothing_and_moves_no_money(request_waiting):
    booking, budget, staff = request_waiting
    later = _told(booking) + dt.timedelta(hours=50)
    assert bookings.expire_unanswered(now=later) == 1
    moved, emails = _transactions(), len(outbox())
    assert bookings.expire_unanswered(now=later) == 0
    assert bookings.expire_unanswered(now=later + dt.timedelta(days=3)) == 0
    assert _transactions() == moved and len(outbox()) == emails
    assert budgets.summary(budget).available_pence == 42_000
    assert db.session.execute(select(func.count()).where(BookingEvent.kind == "expired")).scalar() == 1


def test_answered_requests_never_expire(request_waiting, make_service, make_budget, policy):
    booking, budget, staff = request_waiting
    bookings.accept(booking, by=staff)
    other = make_budget(amount=10_000)
    declined = bookings.create(
        request_for(make_service(price_pence=1_000), other, day=future_day(policy)),
        citizen=other.citizen,
        booker=other.citizen,
        policy=policy,
    )
    bookings.decline(declined, by=staff, reason="No carers free")
    assert bookings.expire_unanswered(now=_told(booking) + dt.timedelta(days=30)) == 0
    assert _fresh(booking).status is BookingStatus.ACCEPTED and _fresh(declined).status is BookingStatus.DECLINED
    assert ledger_check.check() == []


def test_the_councils_setting_decides_when(app, request_waiting, make_commissioner):
    from app.services import council

    booking, budget, staff = request_waiting
    council.update(
        make_commissioner(),
        name="Council",
        contact_email="",
        contact_phone="",
        address="",
        website="",
        districts_text="PE1",
        request_expiry_hours=12,
    )
    told = _told(booking)
    assert bookings.expire_unanswered(now=told + dt.timedelta(hours=11)) == 0
    assert bookings.expire_unanswered(now=told + dt.timedelta(hours=12)) == 1
    assert "within 12 hours" in _fresh(booking).events[-1].message


def test_accepting_while_the_request_expires_one_wins(app, monkeypatch, request_waiting):
    """Expiry decides first (slowed after telling both sides, before it commits): the accept
    waits on the booking's lock, then finds it expired."""
    booking, budget, staff = request_waiting
    booking_id, staff_id, later = booking.id, staff.id, _told(booking) + dt.timedelta(hours=49)

    def accept():
        return bookings.accept(db.session.get(Booking, booking_id), by=db.session.get(User, staff_id))

    slow_down(monkeypatch, booking_notices, "booking_changed")
    ok, errors = run_at_once(app, 2, first_and_second(lambda: bookings.expire_unanswered(now=later), accept))
    assert ok == [("first", 1)] and len(errors) == 1 and isinstance(errors[0], InvalidTransition), (ok, errors)
    assert "expired" in str(errors[0])
    assert _fresh(booking).status is BookingStatus.EXPIRED
    assert budgets.summary(budget).available_pence == 42_000
    assert ledger_check.check() == []


def test_expiring_while_the_provider_accepts_leaves_it_accepted(app, monkeypatch, request_waiting):
    """The accept decides first: expiry finds the booking accepted and changes nothing."""
    booking, budget, staff = request_waiting
    booking_id, staff_id, later = booking.id, staff.id, _told(booking) + dt.timedelta(hours=49)

    def accept():
        return bookings.accept(db.session.get(Booking, booking_id), by=db.session.get(User, staff_id))

    slow_down(monkeypatch, booking_notices, "booking_changed")
    ok, errors = run_at_once(app, 2, first_and_second(accept, lambda: bookings.expire_unanswered(now=later)))
    assert not errors and ("second", 0) in ok, (ok, errors)
    assert _fresh(booking).status is BookingStatus.ACCEPTED
    assert budgets.summary(budget).available_pence == 42_000 - 4_400  # still set aside for the visit
    assert ledger_check.check() == []


def test_two_runs_at_once_expire_each_request_once(app, monkeypatch, request_waiting, make_service, make_budget, policy):
    booking, budget, staff = request_waiting
    other = make_budget(amount=10_000)
    second = bookings.create(
        request_for(make_service(price_pence=1_000), other, day=future_day(policy)),
        citizen=other.citizen,
        booker=other.citizen,
        policy=policy,
    )
    later = max(_told(booking), _told(second)) + dt.timedelta(hours=49)
    moved, emails = _transactions(), len(outbox())
    slow_down(monkeypatch, expiry, "release_places_of", seconds=0.3)
    ok, errors = run_at_once(
        app, 2, first_and_second(lambda: bookings.expire_unanswered(now=later), lambda: bookings.expire_unanswered(now=later), lag=0.05)
    )
    assert not errors, errors
    assert sum(count for _, count in ok) == 2
    assert _fresh(booking).status is BookingStatus.EXPIRED and _fresh(second).status is BookingStatus.EXPIRED
    assert _transactions() == moved + 2  # one release per visit, once
    told = [(e.to_address, e.subject) for e in outbox()[emails:] if "expired" in e.subject]
    assert len(told) == len(set(told)) >= 2  # each side told once per booking
    assert db.session.execute(select(func.count()).where(BookingEvent.kind == "expired")).scalar() == 2
    assert budgets.summary(budget).available_pence == 42_000 and budgets.summary(other).available_pence == 10_000
    assert ledger_check.check() == []


def test_the_cli_says_how_many_expired(app, request_waiting, monkeypatch):
    booking, budget, staff = request_waiting
    later = _told(booking) + dt.timedelta(hours=49)
    monkeypatch.setattr(expiry, "utcnow", lambda: later)
    result = app.test_cli_runner().invoke(args=["bookings", "expire"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Booking requests expired: 1."
    assert app.test_cli_runner().invoke(args=["bookings", "expire"]).output.strip() == "Booking requests expired: 0."
    assert _fresh(booking).status is BookingStatus.EXPIRED


def test_an_expired_card_request_cancels_the_authorisation(app, localstripe, stripe_app, save_card, make_user, make_service):
    """The card path: the authorisation is cancelled at Stripe as on a decline, and nothing
    stays reserved on the card's account."""
    people = {"citizen": make_user(Role.CITIZEN), "service": make_service(price_pence=2_000, capacity=5, accepts_self_funder=True)}
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    assert payment_of(booking.visits[0]).status is CardPaymentStatus.AUTHORISED
    assert bookings.expire_unanswered(now=_told(booking) + dt.timedelta(hours=48)) == 1
    payment = payment_of(booking.visits[0])
    assert payment.status is CardPaymentStatus.CANCELLED
    assert intent(localstripe, payment)["status"] == "canceled"
    assert ledger.balance(card_payments.card_account(card)) == 0
    assert _fresh(booking).status is BookingStatus.EXPIRED
    assert ledger_check.check() == []
    assert bookings.expire_unanswered(now=_told(booking) + dt.timedelta(hours=96)) == 0


def test_the_demand_report_counts_expiries_apart_from_declines(request_waiting):
    from app.services.reports import demand
    from app.services.reports.filters import ReportFilter

    booking, budget, staff = request_waiting
    at = _told(booking) + dt.timedelta(hours=48)
    bookings.expire_unanswered(now=at)
    month = dt.date(at.year, at.month, 1)
    table = demand.build(ReportFilter(month, month)).table("turned-away")
    columns = [c.key for c in table.columns]
    assert table.total[columns.index("expired")] == 1 and table.total[columns.index("declined")] == 0
