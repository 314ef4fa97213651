"""Requests the provider never answered: after the council's ``request_expiry_hours``
(from when the provider was told of the request) a booking still waiting for the provider
expires.

Expiring is a decline that nobody made: in its own unit of work the booking is locked
(``states``' lock order), moved from requested to expired with one conditional update,
its visits' places given back and their money released exactly as a decline releases it
(the visits are marked declined, the status that means "the provider did not take it",
so the ledger, card payments and reports treat their money the same way), a line added
to its timeline and both sides told; the card work a decline calls for runs after it
commits. A provider accepting at the same moment, or a second run, finds the booking no
longer requested and changes nothing: each booking expires once and its money is
released once.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import Booking, BookingStatus, VisitStatus
from app.services import council
from app.services.bookings import notify
from app.services.bookings.payment import payment_strategy
from app.services.bookings.release import release_places_of, release_visit
from app.services.bookings.states import lock_booking, transition
from app.services.bookings.timeline import record_event
from app.services.errors import DomainError
from app.services.ledger import Actor

log = logging.getLogger(__name__)

ACTOR = Actor.system("request_expiry")


def expiry_cutoff(now: dt.datetime, hours: int) -> dt.datetime:
    """Requests the provider was told of at or before this moment have run out of time."""
    return now - dt.timedelta(hours=hours)


def due(now: dt.datetime, hours: int) -> list[int]:
    """The ids of the bookings still waiting for their provider past the council's time."""
    return list(
        db.session.execute(
            select(Booking.id)
            .where(
                Booking.status == BookingStatus.REQUESTED,
                Booking.requested_notified_at.is_not(None),
                Booking.requested_notified_at <= expiry_cutoff(now, hours),
            )
            .order_by(Booking.id)
        ).scalars()
    )


def expire_unanswered(now: dt.datetime | None = None) -> int:
    """Expire every request not answered within the council's time; how many expired.

    Safe to run at any time and more than once at a time: each booking is expired in its own
    unit of work, once. One that cannot be expired (it fails for a reason of its own) is
    logged and left for the next run; the others still expire."""
    now = now or utcnow()
    hours = council.current().request_expiry_hours
    expired = 0
    for booking_id in due(now, hours):
        try:
            expired += expire(booking_id, now=now, hours=hours)
        except DomainError as exc:
            log.warning("booking %s could not be expired, left for the next run: %s", booking_id, exc)
    return expired


def expire(booking_id: int, *, now: dt.datetime, hours: int) -> bool:
    """Expire one booking if it is still waiting past its time; False if it is not (the
    provider answered meanwhile, or another run expired it first)."""
    with write_transaction():
        booking = lock_booking(booking_id)
        told = booking.requested_notified_at
        if booking.status is not BookingStatus.REQUESTED or told is None or told > expiry_cutoff(now, hours):
            return False
        transition(booking, (BookingStatus.REQUESTED,), BookingStatus.EXPIRED)
        upcoming = [v for v in booking.visits if v.status.is_upcoming]
        release_places_of(booking, upcoming)
        memo = f"Released: {booking.reference} expired unanswered"
        for visit in upcoming:
            release_visit(booking, visit, ACTOR, VisitStatus.DECLINED, memo=memo, now=now)
        record_event(
            booking, "expired", f"Expired: {booking.provider.name} did not accept or decline it within {hours} hours", None, at=now
        )
        notify.booking_changed(booking, "expired", detail=str(hours))
    strategy = payment_strategy(booking.payment_method)
    strategy.after_commit(booking)
    strategy.after_money_back(booking, actor=ACTOR)
    return True
