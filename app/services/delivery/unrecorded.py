"""Visits nobody recorded: still waiting 48 hours after they were due to start."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, cast, exists, select

from app.database import utcnow
from app.extensions import db
from app.models import Booking, BookingStatus, BookingVisit, SentReminder, VisitRecord, VisitStatus

UNRECORDED_AFTER = dt.timedelta(hours=48)
# The kind of reminder sent to a provider, once per visit (SentReminder.about: the visit id).
UNRECORDED_REMINDER = "unrecorded-visit"


def unrecorded_visits(
    *, provider_id: int | None = None, now: dt.datetime | None = None, limit: int = 500, not_reminded: bool = False
) -> list[BookingVisit]:
    """Visits of accepted bookings due more than 48 hours ago with no record, oldest first
    (one provider's, or everyone's for the council); ``not_reminded``: only those whose
    provider has not been reminded of them yet."""
    now = now or utcnow()
    query = (
        select(BookingVisit)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .outerjoin(VisitRecord, VisitRecord.visit_id == BookingVisit.id)
        .where(
            VisitRecord.id.is_(None),
            Booking.status == BookingStatus.ACCEPTED,
            BookingVisit.status.in_([VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT]),
            BookingVisit.starts_at < now - UNRECORDED_AFTER,
        )
        .order_by(BookingVisit.starts_at, BookingVisit.id)
        .limit(limit)
    )
    if not_reminded:
        reminded = exists().where(SentReminder.kind == UNRECORDED_REMINDER, SentReminder.about == cast(BookingVisit.id, String))
        query = query.where(~reminded)
    if provider_id is not None:
        query = query.where(Booking.provider_id == provider_id)
    return list(db.session.execute(query).scalars())
