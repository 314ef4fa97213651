"""A provider records a visit: its actual start and end (then it is paid by the council's
rules, or queued for a commissioner when outside the tolerance), or that it was missed, with
a reason (then its money goes back). Once per visit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_time
from app.models import (
    Booking,
    BookingVisit,
    ExceptionState,
    Provider,
    RecordSource,
    User,
    VisitOutcome,
    VisitRecord,
    VisitStatus,
)
from app.services import bookings, council
from app.services.delivery.rules import Assessment, Plan, assess
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.ledger import Actor

MAX_REASON = 500
MAX_CARER_REF = 40
# Actual times further than this from the plan are not this visit's: refused, not queued.
FURTHEST_FROM_PLAN = dt.timedelta(hours=12)
LONGEST_VISIT = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Actuals:
    """What a provider says happened at one visit."""

    visit_id: int
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    carer_ref: str = ""
    missed_reason: str = ""

    @property
    def missed(self) -> bool:
        return self.start is None and self.end is None


def plan_of(booking: Booking, visit: BookingVisit) -> Plan:
    return Plan(visit.starts_at, visit.ends_at, visit.units, booking.price_unit, booking.unit_price_pence)


def get_record(record_id: int) -> VisitRecord:
    """One visit's record (NotFound if there is none)."""
    found = db.session.get(VisitRecord, record_id)
    if found is None:
        raise NotFound("No such visit record")
    return found


def check_actuals(actuals: Actuals, visit: BookingVisit, *, now: dt.datetime) -> dict[str, str]:
    """What is wrong with ``actuals`` for ``visit`` (field -> message); empty when fine."""
    errors: dict[str, str] = {}
    if len(actuals.carer_ref) > MAX_CARER_REF:
        errors["carer_ref"] = f"Carer reference must be {MAX_CARER_REF} characters or fewer"
    if actuals.missed:
        reason = actuals.missed_reason.strip()
        if not reason:
            errors["missed_reason"] = "Say why the visit did not happen"
        elif len(reason) > MAX_REASON:
            errors["missed_reason"] = f"Reason must be {MAX_REASON} characters or fewer"
        return errors
    if actuals.start is None:
        errors["start"] = "Enter the time the visit started"
    if actuals.end is None:
        errors["end"] = "Enter the time the visit ended"
    if errors:
        return errors
    if actuals.end <= actuals.start:
        errors["end"] = "The end must be after the start"
    elif actuals.end - actuals.start > LONGEST_VISIT:
        errors["end"] = "A visit cannot last more than 24 hours"
    if actuals.start > now:
        errors["start"] = "The start cannot be in the future"
    elif actuals.end > now + dt.timedelta(minutes=5):
        errors["end"] = "The end cannot be in the future"
    if abs(actuals.start - visit.starts_at) > FURTHEST_FROM_PLAN:
        errors["start"] = f"The start must be within 12 hours of the planned start ({format_datetime(visit.starts_at)})"
    return errors


def record(actuals: Actuals, *, provider: Provider, by: User, now: dt.datetime | None = None) -> VisitRecord:
    """Record one visit for ``provider`` (another provider's visit answers NotFound)."""
    now = now or utcnow()
    with write_transaction():
        booking, written, released = record_in_transaction(actuals, provider=provider, by=by, source=RecordSource.FORM, now=now)
    if written.outcome is VisitOutcome.MISSED or written.exception_state is ExceptionState.NONE:
        bookings.after_payment(booking, by=by, released_some=released)
    return written


def record_in_transaction(
    actuals: Actuals, *, provider: Provider, by: User, source: RecordSource, now: dt.datetime, upload_id: int | None = None
) -> tuple[Booking, VisitRecord, bool]:
    """Inside a write transaction: check and write one visit's record and move its money.
    Returns the booking, the record and whether some money was given back."""
    found = db.session.get(BookingVisit, actuals.visit_id)
    if found is None or found.booking.provider_id != provider.id:
        raise NotFound("No such visit")
    booking, visit = bookings.lock_visit_for_recording(actuals.visit_id, now=now)
    if db.session.execute(select(VisitRecord.id).where(VisitRecord.visit_id == visit.id)).first() is not None:
        raise Conflict(f"The visit on {format_datetime(visit.starts_at)} is already recorded")
    errors = check_actuals(actuals, visit, now=now)
    if errors:
        raise ValidationError(errors)
    written = VisitRecord(
        visit_id=visit.id,
        carer_ref=actuals.carer_ref.strip(),
        source=source,
        upload_id=upload_id,
        recorded_at=now,
        recorded_by_id=by.id,
        planned_minutes=plan_of(booking, visit).minutes,
    )
    if actuals.missed:
        return booking, _missed(booking, visit, written, actuals.missed_reason.strip(), by=by, now=now), True
    assessment = assess(plan_of(booking, visit), actuals.start, actuals.end, council.delivery_rules())
    released = _delivered(booking, visit, written, actuals, assessment, by=by, now=now)
    return booking, written, released


def _missed(booking: Booking, visit: BookingVisit, written: VisitRecord, reason: str, *, by: User, now: dt.datetime) -> VisitRecord:
    written.outcome = VisitOutcome.MISSED
    written.missed_reason = reason
    written.rule_note = "Missed: not charged"
    db.session.add(written)
    bookings.release_visit(booking, visit, Actor.person(by), VisitStatus.MISSED, f"Visit missed: {reason} ({booking.reference})", now=now)
    detail = f"Visit on {format_datetime(visit.starts_at)} missed: {reason}. Nothing is charged for it"
    bookings.record_event(booking, "missed", detail, by, at=now)
    bookings.booking_changed(booking, "missed", detail + ".")
    bookings.complete_if_done(booking)
    db.session.flush()
    return written


def _delivered(
    booking: Booking, visit: BookingVisit, written: VisitRecord, actuals: Actuals, assessment: Assessment, *, by: User, now: dt.datetime
) -> bool:
    written.outcome = VisitOutcome.DELIVERED
    written.actual_start = actuals.start
    written.actual_end = actuals.end
    written.paid_units_minutes = assessment.recorded_minutes
    written.rule_note = assessment.note
    times = f"{format_time(actuals.start)} to {format_time(actuals.end)}"
    if not assessment.within_tolerance:
        written.exception_state = ExceptionState.OPEN
        written.exception_reason = assessment.exception_reason
        db.session.add(written)
        detail = f"Visit on {format_datetime(visit.starts_at)} recorded ({times}): {assessment.exception_reason}. "
        detail += "The council will decide what is paid"
        bookings.record_event(booking, "recorded", detail, by, at=now)
        db.session.flush()
        return False
    db.session.add(written)
    db.session.flush()
    return bookings.pay_for_visit(booking, visit, by=by, units=visit.units, amount_pence=assessment.pence, now=now)
