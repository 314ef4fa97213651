"""The person (or whoever acts for them) confirms a delivered visit, or says it did not
happen as recorded, within the council's window; a commissioner settles a dispute.

A disputed visit is held out of payment runs until it is settled. Upheld, the money the
provider was paid for it goes back where it came from (the budget, or the card): if a run
paid the provider already, the next run takes it off. Not upheld, it is paid as recorded.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import Booking, BookingVisit, DisputeState, User, VisitOutcome, VisitRecord, VisitStatus
from app.services import accounts, audit, bookings, council
from app.services.delivery.recording import MAX_REASON
from app.services.errors import Conflict, NotFound, ValidationError


def confirm_until(record: VisitRecord, confirm_days: int) -> dt.datetime:
    return record.recorded_at + dt.timedelta(days=confirm_days)


def may_answer(record: VisitRecord | None, *, now: dt.datetime | None = None, confirm_days: int | None = None) -> bool:
    """Whether the person can still confirm or dispute this visit."""
    if record is None or record.outcome is not VisitOutcome.DELIVERED or record.dispute_state is not DisputeState.NONE:
        return False
    if record.visit.status is not VisitStatus.DELIVERED:
        return False
    days = confirm_days if confirm_days is not None else council.delivery_rules().confirm_days
    return (now or utcnow()) <= confirm_until(record, days)


def _answerable(record_id: int, by: User, now: dt.datetime) -> tuple[Booking, VisitRecord]:
    found = db.session.get(VisitRecord, record_id)
    if found is None or not accounts.can_act_for(by, found.visit.booking.citizen):
        raise NotFound("No such visit")
    booking = bookings.lock_booking(found.visit.booking_id)
    record = db.session.get(VisitRecord, record_id, populate_existing=True)
    if record.dispute_state is not DisputeState.NONE:
        raise Conflict(f"This visit was already answered: {record.dispute_state.label.lower()}")
    days = council.delivery_rules().confirm_days
    if not may_answer(record, now=now, confirm_days=days):
        raise Conflict(f"Visits can be confirmed or disputed for {days} days after they are recorded")
    return booking, record


def confirm(record_id: int, *, by: User, now: dt.datetime | None = None) -> VisitRecord:
    now = now or utcnow()
    with write_transaction():
        booking, record = _answerable(record_id, by, now)
        record.dispute_state = DisputeState.CONFIRMED
        record.confirmed_at = now
        record.confirmed_by_id = by.id
        bookings.record_event(booking, "confirmed", f"Visit on {format_datetime(record.visit.starts_at)} confirmed", by, at=now)
    return record


def dispute(record_id: int, *, reason: str, by: User, now: dt.datetime | None = None) -> VisitRecord:
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say what did not happen as recorded"})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Reason must be {MAX_REASON} characters or fewer"})
    with write_transaction():
        booking, record = _answerable(record_id, by, now)
        record.dispute_state = DisputeState.OPEN
        record.dispute_reason = reason
        record.disputed_at = now
        record.disputed_by_id = by.id
        detail = (
            f"Visit on {format_datetime(record.visit.starts_at)} disputed: {reason.rstrip('.')}. "
            "It is held out of payment until the council settles it"
        )
        bookings.record_event(booking, "disputed", detail, by, at=now)
        bookings.booking_changed(booking, "disputed", detail + ".")
    return record


def open_disputes() -> list[VisitRecord]:
    return list(
        db.session.execute(
            select(VisitRecord).where(VisitRecord.dispute_state == DisputeState.OPEN).order_by(VisitRecord.disputed_at)
        ).scalars()
    )


def _claim(record_id: int, booking_id: int, settled: DisputeState) -> None:
    """Claim the dispute first (one conditional update), so two commissioners settling it at
    once cannot both act; only then does money move, once per dispute (its own unit of work:
    a card refund talks to Stripe). If the money cannot move, the dispute is open again."""
    with write_transaction():
        bookings.lock_booking(booking_id)
        table = VisitRecord.__table__
        claimed = db.session.execute(
            update(table)
            .where(table.c.id == record_id, table.c.dispute_state == DisputeState.OPEN.value)
            .values(dispute_state=settled.value)
        ).rowcount
        if claimed != 1:
            record = db.session.get(VisitRecord, record_id, populate_existing=True)
            raise Conflict(f"This dispute was already settled: {record.dispute_state.label.lower()}")


def _decision_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Give a reason for the decision"})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Reason must be {MAX_REASON} characters or fewer"})
    return reason


def settle(
    record_id: int, *, uphold: bool, reason: str, by: User, take_back_pence: int | None = None, now: dt.datetime | None = None
) -> VisitRecord:
    """Settle an open dispute: upheld, ``take_back_pence`` (default: all) goes back; not, it is paid."""
    now = now or utcnow()
    reason = _decision_reason(reason)
    record = db.session.get(VisitRecord, record_id)
    if record is None:
        raise NotFound("No such visit record")
    if record.dispute_state is not DisputeState.OPEN:
        raise Conflict(f"This dispute was already settled: {record.dispute_state.label.lower()}")
    visit = db.session.get(BookingVisit, record.visit_id)
    booking = visit.booking
    amount = visit.charged_pence if take_back_pence is None else take_back_pence
    if uphold and (isinstance(amount, bool) or not isinstance(amount, int) or not (1 <= amount <= visit.charged_pence)):
        raise ValidationError({"take_back": f"Enter an amount from £0.01 to {format_pence(visit.charged_pence)}"})
    amount = amount if uphold else 0
    _claim(record_id, booking.id, DisputeState.UPHELD if uphold else DisputeState.REJECTED)
    if uphold:
        # The memo is cut to the length a card refund's reason may have; the whole reason is
        # kept on the record and in the audit trail.
        memo = f"visit disputed: {reason}"[:MAX_REASON]
        try:
            bookings.payment_strategy(booking.payment_method).take_back(
                booking, visit, amount_pence=amount, reason=memo, by=by, key=f"visit-dispute:{record_id}:taken-back"
            )
        except BaseException:
            db.session.rollback()
            with write_transaction():
                db.session.execute(
                    update(VisitRecord.__table__)
                    .where(VisitRecord.__table__.c.id == record_id)
                    .values(dispute_state=DisputeState.OPEN.value)
                )
            raise
    with write_transaction():
        bookings.lock_booking(booking.id)
        record = db.session.get(VisitRecord, record_id, populate_existing=True)
        record.dispute_note = reason
        record.dispute_settled_at = now
        record.dispute_settled_by_id = by.id
        record.taken_back_pence = amount
        outcome = f"upheld: {format_pence(amount)} taken back from the provider" if uphold else "not upheld: the visit is paid as recorded"
        bookings.record_event(
            booking, "dispute_settled", f"Dispute about the visit on {format_datetime(visit.starts_at)} {outcome}", by, at=now
        )
        bookings.booking_changed(
            booking, "dispute_settled", f"The council settled the dispute about the visit on {format_datetime(visit.starts_at)}: {outcome}."
        )
        audit.record(
            by,
            "visit.dispute_settled",
            "booking",
            booking.id,
            before={"dispute": "open"},
            after={"outcome": record.dispute_state.value, "taken_back_pence": amount, "visit": visit.id},
            note=reason,
            at=now,
        )
    return record
