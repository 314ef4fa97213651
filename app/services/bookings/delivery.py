"""A visit is paid for what was delivered: its money is captured for the provider, once.

``record_delivery`` is the provider's "delivered" on a booking's page (the visit as planned,
or fewer units); the visits page and ECM files go through ``app.services.delivery``, which
applies the council's rules and then calls ``pay_for_visit`` here. Both write the visit's
record (``VisitRecord``), so a delivered visit can be confirmed or disputed by the person.
"""

from __future__ import annotations

import datetime as dt

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    Booking,
    BookingStatus,
    BookingVisit,
    PriceUnit,
    RecordSource,
    User,
    VisitOutcome,
    VisitRecord,
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
    with write_transaction():
        booking, visit = lock_visit_for_recording(visit.id, now=now)
        units = visit.units if delivered_units is None else delivered_units
        if isinstance(units, bool) or not isinstance(units, int) or not (1 <= units <= visit.units):
            raise ValidationError({"delivered_units": f"Enter the {booking.price_unit.value}s delivered, from 1 to {visit.units}"})
        if db.session.query(VisitRecord.id).filter_by(visit_id=visit.id).first() is not None:
            raise Conflict("This visit is already recorded")
        length = visit.ends_at - visit.starts_at
        ends = visit.starts_at + (dt.timedelta(hours=units) if booking.price_unit is PriceUnit.HOUR else length * units / visit.units)
        db.session.add(
            VisitRecord(
                visit_id=visit.id,
                outcome=VisitOutcome.DELIVERED,
                actual_start=visit.starts_at,
                actual_end=max(ends, visit.starts_at + dt.timedelta(minutes=1)),
                source=RecordSource.FORM,
                recorded_at=now,
                recorded_by_id=by.id,
                planned_minutes=int(length.total_seconds() // 60),
                paid_units_minutes=units * 60 if booking.price_unit is PriceUnit.HOUR else None,
                rule_note=f"Recorded by the provider as {units} of {visit.units} {booking.price_unit.value}s delivered",
            )
        )
        released_some = pay_for_visit(booking, visit, by=by, units=units, amount_pence=units * booking.unit_price_pence, now=now)
    after_payment(booking, by=by, released_some=released_some)
    return visit


def lock_visit_for_recording(visit_id: int, *, now: dt.datetime) -> tuple[Booking, BookingVisit]:
    """Inside a write transaction: the visit's booking locked, and the visit, once it is sure
    the visit can be recorded now (its booking accepted, the visit started, not recorded)."""
    found = db.session.get(BookingVisit, visit_id)
    if found is None:
        raise NotFound("No such visit")
    booking = lock_booking(found.booking_id)
    visit = db.session.get(BookingVisit, visit_id)
    if booking.status is not BookingStatus.ACCEPTED:
        raise InvalidTransition("Accept the booking before recording visits")
    if visit.starts_at > now:
        raise ValidationError({"visit": "You can only record a visit once it has started"})
    if visit.status is VisitStatus.DELIVERED:
        raise Conflict("This visit is already recorded as delivered")
    return booking, visit


def pay_for_visit(booking: Booking, visit: BookingVisit, *, by: User, units: int, amount_pence: int, now: dt.datetime) -> bool:
    """Inside the recording's transaction: capture ``amount_pence`` of the visit's money for
    the provider (release the rest) and mark it delivered. Returns whether some was released."""
    strategy = payment_strategy(booking.payment_method)
    if not strategy.can_deliver(visit):
        raise Conflict(f"This visit cannot be recorded as delivered: {visit.status.label.lower()}")
    if not (0 < amount_pence <= visit.amount_pence):
        raise ValidationError({"visit": "A visit is paid more than nothing and no more than was booked"})
    seen = visit.status
    unit = booking.price_unit.value + ("s" if units != 1 else "")
    try:
        strategy.charge(
            booking,
            visit,
            amount_pence=amount_pence,
            actor=Actor.person(by),
            now=now,
            memo=f"{booking.service.title} on {format_datetime(visit.starts_at)}: {units} {unit} delivered ({booking.reference})",
        )
    except HoldAlreadySettled:
        raise Conflict("This visit is already recorded") from None
    paid = {"delivered_units": units, "charged_pence": amount_pence, "settled_at": now, "settled_by_id": by.id}
    move_visit(visit, (seen,), VisitStatus.DELIVERED, **paid)
    detail = f"Visit on {format_datetime(visit.starts_at)} delivered ({units} of {visit.units}), {format_pence(amount_pence)} paid"
    record_event(booking, "delivered", detail, by, at=now)
    notify.booking_changed(booking, "delivered", detail + ".")
    complete_if_done(booking)
    return amount_pence < visit.amount_pence


def complete_if_done(booking: Booking) -> None:
    """Inside a transaction: the booking is completed once no visit is still to come."""
    db.session.expire(booking, ["visits"])
    if booking.status is BookingStatus.ACCEPTED and not any(v.status.is_upcoming for v in booking.visits):
        transition(booking, (BookingStatus.ACCEPTED,), BookingStatus.COMPLETED)


def after_payment(booking: Booking, *, by: User | None, released_some: bool) -> None:
    """After the recording's transaction committed: the way of paying's follow-ups (a card
    is charged; money given back is told)."""
    strategy = payment_strategy(booking.payment_method)
    strategy.after_commit(booking)
    if released_some:
        strategy.after_money_back(booking, actor=Actor.person(by) if by else Actor.system("delivery"))
