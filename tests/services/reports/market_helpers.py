"""A small fixed market for the report tests: providers, budgets and delivered visits made
through the real booking services, so the ledger and its spend facts are the real ones."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from app.extensions import db
from app.models import Booking, BookingSchedule, BookingStatus, BookingVisit, PaymentMethod, Role
from app.services import bookings
from app.services.reports.filters import ReportFilter, add_months, first_of_month
from app.uk_time import uk_today
from tests.services.money_helpers import future_day, request_for


def deliver_booking(service, budget, *, staff, policy, units=1, days_ahead=2, delivered_units=None, at="10:00"):
    """Book one visit from ``budget``, accept it and record it delivered; the visit."""
    citizen = budget.citizen
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy, days_ahead), units=units, at=at), citizen=citizen, booker=citizen, policy=policy
    )
    booking = bookings.get_booking(booking.public_id)
    bookings.accept(booking, by=staff)
    visit = db.session.get(BookingVisit, booking.visits[0].id)
    bookings.record_delivery(visit, by=staff, delivered_units=delivered_units, now=visit.starts_at + dt.timedelta(hours=2))
    return db.session.get(BookingVisit, visit.id)


def staff_for(make_user, provider):
    return make_user(Role.PROVIDER)


def wide_filter(**kw) -> ReportFilter:
    """This month and the next two: wherever the visits booked a few days ahead fall."""
    month = first_of_month(uk_today())
    return ReportFilter(add_months(month, -1), add_months(month, 2), **kw)


_booking_numbers = itertools.count(1)


def add_booking(
    service, citizen, *, district="PE1", status=BookingStatus.REQUESTED, created_at=None, decided_at=None, reason=None, budget=None
) -> Booking:
    """A booking row made directly (no money moves), for counting rather than paying: paid
    from ``budget``, or by a card that is not a council prepaid card when there is none."""
    n = next(_booking_numbers)
    booking = Booking(
        public_id=f"rep{n}{uuid.uuid4().hex[:8]}",
        reference=f"R{n:07d}",
        request_key=uuid.uuid4().hex,
        service_id=service.id,
        provider_id=service.provider_id,
        citizen_id=citizen.id,
        booked_by_id=citizen.id,
        budget_id=budget.id if budget is not None else None,
        payment_method=PaymentMethod.BUDGET if budget is not None else PaymentMethod.CARD,
        schedule=BookingSchedule.ONE_OFF,
        unit_price_pence=service.price_pence,
        price_unit=service.price_unit,
        total_pence=service.price_pence,
        status=status,
        area_district=district,
        decided_at=decided_at,
        decline_reason=reason,
        **({"created_at": created_at} if created_at is not None else {}),
    )
    db.session.add(booking)
    db.session.commit()
    return booking
