"""The commissioner's decision on a visit recorded outside the council's tolerance: pay it as
recorded, as planned, or not at all, with a reason. Once, audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import Booking, BookingVisit, ExceptionState, User, VisitRecord, VisitStatus
from app.services import audit, bookings
from app.services.delivery.recording import MAX_REASON, plan_of
from app.services.delivery.rules import pence_for_minutes
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.ledger import Actor

DECISIONS = (ExceptionState.PAID_AS_RECORDED, ExceptionState.PAID_AS_PLANNED, ExceptionState.NOT_PAID)


def open_exceptions() -> list[VisitRecord]:
    return list(
        db.session.execute(
            select(VisitRecord).where(VisitRecord.exception_state == ExceptionState.OPEN).order_by(VisitRecord.recorded_at)
        ).scalars()
    )


def recorded_pence(record: VisitRecord, booking: Booking, visit: BookingVisit) -> int:
    """What paying ``record`` as recorded pays (the minutes the rules gave, hourly)."""
    plan = plan_of(booking, visit)
    if record.paid_units_minutes is None:
        return plan.amount_pence
    return min(pence_for_minutes(plan.unit_price_pence, record.paid_units_minutes), plan.amount_pence)


def decide(record_id: int, *, decision: ExceptionState, reason: str, by: User, now: dt.datetime | None = None) -> VisitRecord:
    """Settle an open exception. Raises ValidationError for a bad decision or reason, and
    Conflict if someone decided it first."""
    now = now or utcnow()
    reason = " ".join((reason or "").split())
    errors = {}
    if decision not in DECISIONS:
        errors["decision"] = "Choose whether to pay as recorded, pay as planned, or not pay"
    if not reason:
        errors["reason"] = "Give a reason for the decision"
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Reason must be {MAX_REASON} characters or fewer"
    if errors:
        raise ValidationError(errors)
    with write_transaction():
        found = db.session.get(VisitRecord, record_id)
        if found is None:
            raise NotFound("No such visit record")
        booking = bookings.lock_booking(found.visit.booking_id)
        record = db.session.get(VisitRecord, record_id, populate_existing=True)
        visit = db.session.get(BookingVisit, record.visit_id)
        if record.exception_state is not ExceptionState.OPEN:
            raise Conflict(f"This visit was already decided: {record.exception_state.label.lower()}")
        amount = _pay_or_not(record, booking, visit, decision, reason=reason, by=by, now=now)
        record.exception_state = decision
        record.decision_reason = reason
        record.decided_at = now
        record.decided_by_id = by.id
        audit.record(
            by,
            "visit.exception_decided",
            "booking",
            booking.id,
            before={"exception": "open"},
            after={"decision": decision.value, "paid_pence": amount, "visit": visit.id},
            note=reason,
            at=now,
        )
    bookings.after_payment(booking, by=by, released_some=amount < visit.amount_pence)
    return record


def _pay_or_not(record: VisitRecord, booking: Booking, visit: BookingVisit, decision: ExceptionState, *, reason: str, by: User, now) -> int:
    if decision is ExceptionState.NOT_PAID:
        memo = f"Visit on {format_datetime(visit.starts_at)} not paid by the council's decision: {reason} ({booking.reference})"
        bookings.release_visit(booking, visit, Actor.person(by), VisitStatus.MISSED, memo, now=now)
        bookings.record_event(
            booking, "not_paid", f"The council decided not to pay the visit on {format_datetime(visit.starts_at)}", by, at=now
        )
        bookings.complete_if_done(booking)
        return 0
    amount = recorded_pence(record, booking, visit) if decision is ExceptionState.PAID_AS_RECORDED else visit.amount_pence
    if amount <= 0:
        raise ValidationError({"decision": "Paying as recorded would pay nothing: choose not to pay instead"})
    units = visit.units if amount == visit.amount_pence else max(1, min(visit.units, -(-(record.paid_units_minutes or 60) // 60)))
    bookings.pay_for_visit(booking, visit, by=by, units=units, amount_pence=amount, now=now)
    bookings.record_event(
        booking,
        "decided",
        f"The council decided to pay {format_pence(amount)} for the visit on {format_datetime(visit.starts_at)}",
        by,
        at=now,
    )
    return amount
