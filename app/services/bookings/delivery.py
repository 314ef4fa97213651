"""The provider records a visit as delivered: its money is paid to them, once."""

from __future__ import annotations

import datetime as dt

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    BookingStatus,
    BookingVisit,
    User,
    VisitStatus,
)
from app.services.bookings import notify
from app.services.bookings.payment import payment_strategy
from app.services.bookings.states import lock_booking, move_visit, transition
from app.services.bookings.timeline import record_event
from app.services.errors import Conflict, InvalidTransition, NotFound, ValidationError
from app.services.ledger import Actor, HoldAlreadySettled


def record_delivery(visit: BookingVisit, *, by: User, delivered_units: int | None = None, now: dt.datetime | None = None) -> BookingVisit:
    """The provider records a visit as delivered: its money is captured for them and the
    rest (if fewer units were delivered than booked) released, exactly once."""
    now = now or utcnow()
    visit_id = visit.id
    with write_transaction():
        found = db.session.get(BookingVisit, visit_id)
        if found is None:
            raise NotFound("No such visit")
        booking = lock_booking(found.booking_id)
        visit = db.session.get(BookingVisit, visit_id)
        units = visit.units if delivered_units is None else delivered_units
        if isinstance(units, bool) or not isinstance(units, int) or not (1 <= units <= visit.units):
            raise ValidationError({"delivered_units": f"Enter the {booking.price_unit.value}s delivered, from 1 to {visit.units}"})
        if booking.status is not BookingStatus.ACCEPTED:
            raise InvalidTransition("Accept the booking before recording visits")
        if visit.starts_at > now:
            raise ValidationError({"visit": "You can only record a visit once it has started"})
        if visit.status is VisitStatus.DELIVERED:
            raise Conflict("This visit is already recorded as delivered")
        amount = units * booking.unit_price_pence
        strategy = payment_strategy(booking.payment_method)
        if not strategy.can_deliver(visit):
            raise Conflict(f"This visit cannot be recorded as delivered: {visit.status.label.lower()}")
        seen = visit.status
        try:
            strategy.charge(
                booking,
                visit,
                amount_pence=amount,
                actor=Actor.person(by),
                now=now,
                memo=(
                    f"{booking.service.title} on {format_datetime(visit.starts_at)}: "
                    f"{units} {booking.price_unit.value}{'s' if units != 1 else ''} delivered ({booking.reference})"
                ),
            )
        except HoldAlreadySettled:
            raise Conflict("This visit is already recorded") from None
        move_visit(visit, (seen,), VisitStatus.DELIVERED, delivered_units=units, charged_pence=amount, settled_at=now, settled_by_id=by.id)
        detail = f"Visit on {format_datetime(visit.starts_at)} delivered ({units} of {visit.units}), {format_pence(amount)} paid"
        record_event(booking, "delivered", detail, by, at=now)
        notify.booking_changed(booking, "delivered", detail + ".")
        db.session.expire(booking, ["visits"])
        if not any(v.status.is_upcoming for v in booking.visits):
            transition(booking, (BookingStatus.ACCEPTED,), BookingStatus.COMPLETED)
        released_some = amount < visit.amount_pence
    strategy.after_commit(booking)
    if released_some:
        strategy.after_money_back(booking, actor=Actor.person(by))
    return visit
