"""Helpers for money tests: dates inside the funded period (whatever today is), booking requests."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from app.database import write_transaction
from app.extensions import db
from app.models import (
    PERIOD_DAYS,
    Booking,
    BookingSchedule,
    BookingStatus,
    BookingVisit,
    Category,
    PaymentMethod,
    PriceUnit,
    Provider,
    ProviderStatus,
    Role,
    Service,
    ServiceStatus,
    User,
    VisitStatus,
)
from app.services.bookings import BookingRequest
from app.uk_time import uk_today

_n = itertools.count(1)


# Test budgets are funded for a period with at least this many days still to run, so
# every day a test books (up to a week ahead) falls in a funded period.
LEEWAY_DAYS = 7


def today() -> dt.date:
    """Today in the UK, as the services count days."""
    return uk_today()


def funded_period(policy) -> tuple[dt.date, dt.date]:
    """The 4-week period ``make_budget`` funds: the current one while more than a week of it
    is left, otherwise the next one. (first day, first day of the period after)."""
    start, end = policy.period_containing(today())
    if (end - today()).days <= LEEWAY_DAYS:
        start, end = end, end + dt.timedelta(days=PERIOD_DAYS)
    return start, end


def future_day(policy, days_ahead: int = 3) -> dt.date:
    """A day at least ``days_ahead`` (at most a week) from today, inside the period test
    budgets are funded for, whatever today's date and wherever it falls in its period."""
    if not 1 <= days_ahead <= LEEWAY_DAYS:
        raise ValueError(f"days_ahead must be 1 to {LEEWAY_DAYS}")
    start, end = funded_period(policy)
    day = max(today() + dt.timedelta(days=days_ahead), start)
    assert start <= day < end
    return day


def request_for(
    service, budget=None, *, day: dt.date, at: str = "10:00", units: int = 1, key: str | None = None, **extra
) -> BookingRequest:
    return BookingRequest(
        service_id=service.id,
        request_key=key or uuid.uuid4().hex,
        schedule=extra.pop("schedule", BookingSchedule.ONE_OFF),
        first_date=day,
        start_time=dt.time.fromisoformat(at),
        units=units,
        payment_method=extra.pop("payment_method", PaymentMethod.BUDGET),
        budget_public_id=budget.public_id if budget is not None else None,
        **extra,
    )


def bare_visit() -> int:
    """A booking visit row built directly (no money moved), for ledger-level tests."""
    return bare_visits(1)[0]


def bare_visits(count: int) -> list[int]:
    """``count`` visit rows of one booking built directly (no money moved)."""
    n = next(_n)
    with write_transaction():
        category = db.session.query(Category).first()
        provider = Provider(slug=f"ledger-test-{n}-{uuid.uuid4().hex[:6]}", name="Ledger test provider", status=ProviderStatus.VERIFIED)
        db.session.add(provider)
        db.session.flush()
        service = Service(
            provider_id=provider.id,
            category_id=category.id,
            title="Ledger test",
            price_pence=1000,
            price_unit=PriceUnit.HOUR,
            status=ServiceStatus.PUBLISHED,
        )
        citizen = User(email=f"ledger{n}-{uuid.uuid4().hex[:6]}@example.test", name="Ledger Citizen", role=Role.CITIZEN)
        db.session.add_all([service, citizen])
        db.session.flush()
        booking = Booking(
            public_id=uuid.uuid4().hex[:16],
            reference=f"T{uuid.uuid4().hex[:8]}",
            request_key=uuid.uuid4().hex,
            service_id=service.id,
            provider_id=provider.id,
            citizen_id=citizen.id,
            booked_by_id=citizen.id,
            payment_method=PaymentMethod.CARD,
            schedule=BookingSchedule.ONE_OFF,
            unit_price_pence=1000,
            price_unit=PriceUnit.HOUR,
            total_pence=1000,
            status=BookingStatus.REQUESTED,
        )
        db.session.add(booking)
        db.session.flush()
        start = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
        visits = [
            BookingVisit(
                booking_id=booking.id,
                starts_at=start + dt.timedelta(hours=i),
                ends_at=start + dt.timedelta(hours=i + 1),
                units=1,
                amount_pence=1000,
                status=VisitStatus.SCHEDULED,
            )
            for i in range(count)
        ]
        db.session.add_all(visits)
        db.session.flush()
        return [v.id for v in visits]
