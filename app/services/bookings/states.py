"""The booking and visit state machines, and the one lock order every step keeps.

Each step locks the booking, then its visits (PostgreSQL row locks; on SQLite the unit of
work holds the write lock), then capacity, then money. Every status change is a
conditional ``UPDATE ... WHERE status IN (...)`` with its row count checked, so of two
people changing the same thing at once exactly one wins."""

from __future__ import annotations

from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.formatting import format_datetime
from app.models import (
    Booking,
    BookingStatus,
    BookingVisit,
    VisitStatus,
)
from app.services.errors import Conflict, InvalidTransition, NotFound


def lock_visits(query) -> list[BookingVisit]:
    """Lock the visits ``query`` selects (in id order, so two steps never deadlock on them)
    and return them as they are now."""
    return list(
        db.session.execute(
            query.order_by(BookingVisit.id).with_for_update(of=BookingVisit, key_share=True).execution_options(populate_existing=True)
        ).scalars()
    )


def lock_booking(booking_id: int) -> Booking:
    """Lock a booking and its visits for the rest of this unit of work; return it as it is now.

    Every step that changes a booking or its visits starts here, card payments too (a
    webhook, a recorded Stripe answer, ``flask payments retry``: they lock their own payment
    rows after this). PostgreSQL: row locks (FOR NO KEY UPDATE, which still lets other
    work add rows that refer to the booking, such as its timeline); SQLite: the unit of
    work already holds the write lock."""
    table = Booking.__table__
    found = db.session.execute(select(table.c.id).where(table.c.id == booking_id).with_for_update(key_share=True)).scalar()
    if found is None:
        raise NotFound("No such booking")
    booking = db.session.get(Booking, booking_id, populate_existing=True)
    lock_visits(select(BookingVisit).where(BookingVisit.booking_id == booking_id))
    db.session.expire(booking, ["visits"])
    return booking


# Which status a visit may move to, and from where: the visit state machine.
VISIT_MOVES: dict[VisitStatus, tuple[VisitStatus, ...]] = {
    VisitStatus.HELD: (VisitStatus.SCHEDULED, VisitStatus.SHORT),
    VisitStatus.SHORT: (VisitStatus.SCHEDULED, VisitStatus.SHORT),
    # From UNPAID: a card visit whose failed charge is paid at last goes back to what it was.
    VisitStatus.DELIVERED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.UNPAID),
    VisitStatus.LATE_CANCELLED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.UNPAID),
    VisitStatus.CANCELLED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT),
    VisitStatus.DECLINED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT),
    VisitStatus.UNPAID: (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED),  # its card charge failed
    # Recorded as missed, or a visit outside the council's tolerance it decided not to pay.
    VisitStatus.MISSED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT),
}


_VISIT_VERBS = {
    VisitStatus.HELD: "paid for",
    VisitStatus.SHORT: "marked as not covered",
    VisitStatus.DELIVERED: "recorded as delivered",
    VisitStatus.LATE_CANCELLED: "cancelled",
    VisitStatus.CANCELLED: "cancelled",
    VisitStatus.DECLINED: "declined",
    VisitStatus.UNPAID: "marked as unpaid",
    VisitStatus.MISSED: "recorded as missed",
}


def move_visit(visit: BookingVisit, allowed: tuple[VisitStatus, ...], to: VisitStatus, **values) -> None:
    """Change a visit's status only if it is still one of ``allowed`` (and the state machine
    allows it): one conditional UPDATE, its row count checked. Raises Conflict otherwise."""
    allowed = tuple(s for s in allowed if s in VISIT_MOVES[to])
    table = BookingVisit.__table__
    changed = (
        db.session.execute(
            update(table).where(table.c.id == visit.id, table.c.status.in_([s.value for s in allowed])).values(status=to.value, **values)
        ).rowcount
        if allowed
        else 0
    )
    if changed != 1:
        db.session.refresh(visit)
        raise Conflict(
            f"The visit on {format_datetime(visit.starts_at)} is {visit.status.label.lower()} now, so it cannot be {_VISIT_VERBS[to]}"
        )
    db.session.expire(visit)


def try_move_visit(visit: BookingVisit, allowed: tuple[VisitStatus, ...], to: VisitStatus, **values) -> bool:
    """``move_visit`` for a step that follows what happened elsewhere rather than carrying
    out a person's request (card payments: a webhook, a recorded Stripe answer): the same
    conditional move, but False instead of a Conflict when the visit has moved on (it is
    refreshed, so the caller can act on what it is now, e.g. release the money)."""
    try:
        move_visit(visit, allowed, to, **values)
    except Conflict:
        return False
    return True


def transition(booking: Booking, allowed: tuple[BookingStatus, ...], to: BookingStatus, **values) -> None:
    table = Booking.__table__
    changed = db.session.execute(
        update(table)
        .where(table.c.id == booking.id, table.c.status.in_([s.value for s in allowed]))
        .values(status=to.value, updated_at=utcnow(), **values)
    ).rowcount
    if changed != 1:
        db.session.refresh(booking)
        raise InvalidTransition(f"This booking is {booking.status.label.lower()}, so it cannot be {_verb(to)}")
    db.session.expire(booking)


def _verb(status: BookingStatus) -> str:
    return {
        BookingStatus.ACCEPTED: "accepted",
        BookingStatus.DECLINED: "declined",
        BookingStatus.CANCELLED: "cancelled",
        BookingStatus.COMPLETED: "completed",
        BookingStatus.EXPIRED: "expired",
    }.get(status, status.value)
