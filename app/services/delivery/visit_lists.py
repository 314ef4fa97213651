"""A provider's own visits, as its visits page lists them: the visits of its accepted (or
since completed) bookings planned on a run of UK days, and one visit of its own to record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from app.extensions import db
from app.models import Booking, BookingStatus, BookingVisit
from app.services.errors import NotFound
from app.uk_time import local_midnight

LISTED = (BookingStatus.ACCEPTED, BookingStatus.COMPLETED)


def provider_visits(provider_id: int, first_day: dt.date, last_day: dt.date) -> list[BookingVisit]:
    """Visits planned to start on UK days ``first_day`` to ``last_day`` (both included), with
    their booking, person, service and record loaded, in time order."""
    starts, ends = local_midnight(first_day), local_midnight(last_day + dt.timedelta(days=1))
    query = (
        select(BookingVisit)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .where(
            Booking.provider_id == provider_id,
            Booking.status.in_(LISTED),
            BookingVisit.starts_at >= starts.astimezone(dt.UTC),
            BookingVisit.starts_at < ends.astimezone(dt.UTC),
        )
        .options(contains_eager(BookingVisit.booking), selectinload(BookingVisit.record))
        .order_by(BookingVisit.starts_at, BookingVisit.id)
    )
    return list(db.session.execute(query).unique().scalars())


def provider_visit(provider_id: int, visit_id: int) -> BookingVisit:
    """One of the provider's visits; NotFound for anyone else's (or none)."""
    visit = db.session.get(BookingVisit, visit_id)
    if visit is None or visit.booking.provider_id != provider_id:
        raise NotFound("No such visit")
    return visit
