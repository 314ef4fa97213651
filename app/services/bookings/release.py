"""Giving back what a visit that will not happen had: its places, then its money."""

from __future__ import annotations

import datetime as dt

from app.database import utcnow
from app.models import (
    Booking,
    BookingVisit,
    VisitStatus,
)
from app.services.bookings.capacity import release_places
from app.services.bookings.payment import payment_strategy
from app.services.bookings.states import move_visit
from app.services.ledger import Actor


def release_places_of(booking: Booking, visits: list[BookingVisit]) -> None:
    """Give back the places of visits that will not happen: all of them before any money
    moves (capacity before money, the order booking takes them in)."""
    for visit in visits:
        release_places(booking, visit)


def release_visit(
    booking: Booking, visit: BookingVisit, actor: Actor, new_status: VisitStatus, memo: str, now: dt.datetime | None = None
) -> None:
    """Give back what was set aside for a visit that will not happen (its places are
    already given back), and move it to ``new_status``."""
    now = now or utcnow()
    seen = visit.status
    payment_strategy(booking.payment_method).release(booking, visit, actor=actor, memo=memo, now=now)
    move_visit(visit, (seen,), new_status, settled_at=now, settled_by_id=actor.user_id)
