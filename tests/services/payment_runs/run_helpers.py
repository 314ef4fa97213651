"""Helpers for payment run tests: delivered visits made through the real services, bank
accounts, the council's own bank details, and the run period a visit falls in."""

from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.models import BankAccountStatus, BookingVisit, CouncilSettings, ProviderBankAccount
from app.services import bookings
from app.uk_time import local_midnight
from tests.services.money_helpers import future_day, request_for


def council_bank_details() -> None:
    row = db.session.get(CouncilSettings, 1) or CouncilSettings(id=1, name="Test Council")
    row.bank_sort_code, row.bank_account_number, row.bacs_user_number = "309457", "12345678", "123456"
    db.session.add(row)
    db.session.commit()


def confirmed_bank_account(provider, by, *, sort_code="401234", account_number="87654321") -> ProviderBankAccount:
    account = ProviderBankAccount(
        provider_id=provider.id,
        sort_code=sort_code,
        account_number=account_number,
        account_name=provider.name,
        status=BankAccountStatus.CONFIRMED,
        submitted_by_id=by.id,
    )
    db.session.add(account)
    db.session.commit()
    return account


def book_visit(service, budget, *, staff, policy, units=1, days_ahead=2, at="10:00") -> BookingVisit:
    """One accepted visit, money held, not yet delivered."""
    citizen = budget.citizen
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy, days_ahead), units=units, at=at), citizen=citizen, booker=citizen, policy=policy
    )
    bookings.accept(bookings.get_booking(booking.public_id), by=staff)
    return db.session.get(BookingVisit, booking.visits[0].id)


def deliver(visit: BookingVisit, staff, *, units=None) -> BookingVisit:
    bookings.record_delivery(visit, by=staff, delivered_units=units, now=visit.starts_at + dt.timedelta(hours=2))
    return db.session.get(BookingVisit, visit.id)


def period_of(visit: BookingVisit, policy) -> tuple[dt.date, dt.datetime]:
    """(last day of the 4-week run period holding the visit, a moment just after it ended)."""
    _, end = policy.period_containing(visit.starts_at.date())
    return end - dt.timedelta(days=1), local_midnight(end) + dt.timedelta(hours=9)
