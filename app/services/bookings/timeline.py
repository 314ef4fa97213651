"""A booking's timeline: what happened to it, when and by whom, as both sides see it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from app.database import utcnow
from app.extensions import db
from app.formatting import format_pence
from app.models import (
    Booking,
    BookingEvent,
    BookingSchedule,
    User,
)


def describe(booking: Booking, visits: int) -> str:
    total = format_pence(booking.total_pence)
    if booking.schedule is BookingSchedule.ONE_OFF:
        return f"1 visit, {total}"
    return f"{visits} visits, {total} in all"


EVENTS = BookingEvent.__table__


def event_row(booking: Booking, kind: str, message: str, actor: User | None, at: dt.datetime | None = None) -> dict:
    """A line of the booking's timeline, as a row of ``EVENTS`` (``record_event`` writes it;
    a caller writing other rows at the same time may write it with them)."""
    return {"booking_id": booking.id, "kind": kind, "message": message, "actor_user_id": actor.id if actor else None, "at": at or utcnow()}


_ADD_EVENT = insert(EVENTS)


def record_event(booking: Booking, kind: str, message: str, actor: User | None, at: dt.datetime | None = None) -> None:
    """Add a line to the booking's timeline (both sides see it): written now, in the caller's
    unit of work (one row needs no ORM object)."""
    db.session.execute(_ADD_EVENT, event_row(booking, kind, message, actor, at))
