"""Who may review a booking's service: the person whose care it was, or someone who arranges
their care, once a visit of that booking was delivered, within 12 months of the last one, and
only once per booking (verified reviews: from people who used the service, never anyone else)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, BookingVisit, Review, User, VisitStatus
from app.services import accounts

REVIEW_WITHIN = dt.timedelta(days=365)


def last_delivered(booking: Booking) -> dt.datetime | None:
    """When the booking's latest delivered visit started (None: nothing delivered yet)."""
    return db.session.execute(
        select(func.max(BookingVisit.starts_at)).where(BookingVisit.booking_id == booking.id, BookingVisit.status == VisitStatus.DELIVERED)
    ).scalar_one()


def review_of(booking: Booking) -> Review | None:
    return db.session.execute(select(Review).where(Review.booking_id == booking.id)).scalar_one_or_none()


def why_not(booking: Booking, user: User, *, now: dt.datetime) -> str | None:
    """Why ``user`` cannot review ``booking`` now, in words, or None if they can. (Someone
    who does not arrange the person's care is not told anything: the caller answers 404.)"""
    if not accounts.can_act_for(user, booking.citizen):
        return "Only the person who used the service, or someone who arranges their care, can review it"
    if review_of(booking) is not None:
        return "This booking has been reviewed already: there is one review for each booking"
    delivered = last_delivered(booking)
    if delivered is None:
        return "You can review the service once a visit has been delivered"
    if delivered < now - REVIEW_WITHIN:
        return "Reviews are for care used in the last 12 months: the last visit of this booking was longer ago"
    return None


def reviewable(bookings: list[Booking], *, now: dt.datetime) -> list[Booking]:
    """Of ``bookings`` (ones the caller arranges care for), those that may be reviewed now,
    the latest delivered first: in two queries, whatever their number."""
    ids = [booking.id for booking in bookings]
    if not ids:
        return []
    reviewed = set(db.session.execute(select(Review.booking_id).where(Review.booking_id.in_(ids))).scalars())
    last = dict(
        db.session.execute(
            select(BookingVisit.booking_id, func.max(BookingVisit.starts_at))
            .where(BookingVisit.booking_id.in_(ids), BookingVisit.status == VisitStatus.DELIVERED)
            .group_by(BookingVisit.booking_id)
        ).all()
    )
    open_to_review = [b for b in bookings if b.id not in reviewed and b.id in last and last[b.id] >= now - REVIEW_WITHIN]
    return sorted(open_to_review, key=lambda booking: last[booking.id], reverse=True)
