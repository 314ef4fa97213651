"""The provider's answer to a request (accept or decline), and withdrawing a booking that
could not be paid for when it was made."""

from __future__ import annotations

import datetime as dt

from app.database import utcnow, write_transaction
from app.models import (
    Booking,
    BookingStatus,
    User,
    VisitStatus,
)
from app.services.bookings import notify
from app.services.bookings.payment import payment_strategy
from app.services.bookings.planning import MAX_MESSAGE
from app.services.bookings.release import release_places_of, release_visit
from app.services.bookings.states import lock_booking, move_visit, transition
from app.services.bookings.timeline import record_event
from app.services.errors import ValidationError
from app.services.ledger import Actor


def accept(booking: Booking, *, by: User, now: dt.datetime | None = None) -> Booking:
    now = now or utcnow()
    with write_transaction():
        booking = lock_booking(booking.id)
        transition(booking, (BookingStatus.REQUESTED,), BookingStatus.ACCEPTED, decided_at=now)
        record_event(booking, "accepted", f"Accepted by {booking.provider.name}", by, at=now)
        notify.booking_changed(booking, "accepted")
    return booking


def decline(booking: Booking, *, by: User, reason: str, now: dt.datetime | None = None) -> Booking:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter a reason for declining, so the person can look elsewhere"})
    if len(reason) > MAX_MESSAGE:
        raise ValidationError({"reason": f"The reason must be {MAX_MESSAGE} characters or fewer"})
    now = now or utcnow()
    actor = Actor.person(by)
    with write_transaction():
        booking = lock_booking(booking.id)
        transition(booking, (BookingStatus.REQUESTED,), BookingStatus.DECLINED, decided_at=now, decline_reason=reason)
        upcoming = [v for v in booking.visits if v.status.is_upcoming]
        release_places_of(booking, upcoming)
        for visit in upcoming:
            release_visit(booking, visit, actor, VisitStatus.DECLINED, memo=f"Released: {booking.reference} declined", now=now)
        record_event(booking, "declined", f"Declined by {booking.provider.name}: {reason}", by, at=now)
        notify.booking_changed(booking, "declined")
    strategy = payment_strategy(booking.payment_method)
    strategy.after_commit(booking)
    strategy.after_money_back(booking, actor=actor)
    return booking


def withdraw_unpaid(booking: Booking, *, message: str) -> Booking:
    """Undo a booking that could not be paid for when it was made (a declined card):
    every visit cancelled, places given back, nobody charged and the provider not asked."""
    with write_transaction():
        booking = lock_booking(booking.id)
        upcoming = [v for v in booking.visits if v.status.is_upcoming]
        release_places_of(booking, upcoming)
        for visit in upcoming:
            move_visit(visit, (visit.status,), VisitStatus.CANCELLED, settled_at=utcnow())
        transition(booking, (BookingStatus.REQUESTED,), BookingStatus.CANCELLED)
        record_event(booking, "payment_failed", message, None)
    return booking
