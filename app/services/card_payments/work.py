"""Bringing a booking's card payments in line with its visits: planning the card work the
visits call for (captures, charges, cancellations, recorded before any request) and
carrying it out, round after round, until none is left (``settle_booking``)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.models import (
    AttemptOperation,
    AttemptState,
    Booking,
    BookingCard,
    BookingVisit,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    PaymentAttempt,
    VisitStatus,
)
from app.services import bookings
from app.services.card_payments import attempts, settings
from app.services.card_payments.errors import PaymentInProgress, ProcessorUnavailable
from app.services.card_payments.failures import mark_unpaid
from app.services.card_payments.new_attempts import attempt_for, ensure_attempt, new_payment

log = logging.getLogger(__name__)


def settle_booking(booking: Booking) -> None:
    """Do every piece of card work the booking's visits call for, and finish any attempt
    left unfinished. Safe to run at any time, any number of times."""
    if not settings.is_configured():
        return
    # A refused capture leads to a cancellation, then a charge: up to three rounds of work.
    busy: set[int] = set()  # attempts another process is working on: left to it
    for _ in range(6):
        _plan_work(booking.id)
        pending = [
            attempt_id
            for attempt_id in db.session.execute(
                select(PaymentAttempt.id)
                .join(CardPayment, PaymentAttempt.card_payment_id == CardPayment.id)
                .where(CardPayment.booking_id == booking.id, PaymentAttempt.state == AttemptState.STARTED)
                .order_by(PaymentAttempt.id)
            ).scalars()
            if attempt_id not in busy
        ]
        if not pending:
            return
        for attempt_id in pending:
            try:
                attempts.run_attempt(attempt_id)
            except PaymentInProgress:
                busy.add(attempt_id)
            except ProcessorUnavailable:
                log.warning("card processor unavailable for attempt %s: left for `flask payments retry`", attempt_id)
                return


def _plan_work(booking_id: int) -> None:
    """Record (before any call) the captures, charges and cancellations the visits need."""
    with write_transaction():
        link = db.session.get(BookingCard, booking_id)
        if link is None:
            return
        # The booking, then its visits, then its payments: decided on what is true now.
        booking = bookings.lock_booking(booking_id)
        for visit in booking.visits:
            _plan_visit(visit, booking, link)


def _plan_visit(visit: BookingVisit, booking: Booking, link: BookingCard) -> None:
    """Record the card work one visit needs now, if any (inside ``_plan_work``'s locks)."""
    charged = visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED)
    if not charged and visit.status not in (VisitStatus.CANCELLED, VisitStatus.DECLINED):
        return  # coming up, or unpaid (its payer has been asked to pay): nothing to do
    payments = db.session.execute(select(CardPayment).where(CardPayment.visit_id == visit.id).order_by(CardPayment.id)).scalars().all()
    open_payment = next((p for p in payments if p.status.is_open), None)
    due = visit.charged_pence
    if not charged or sum(p.captured_pence for p in payments) >= due:
        # Declined, cancelled in time, or paid: nothing may stay reserved on the card
        # (a late authorisation included).
        if open_payment is not None and open_payment.status in (CardPaymentStatus.AUTHORISED, CardPaymentStatus.REQUIRES_ACTION):
            ensure_attempt(open_payment, AttemptOperation.CANCEL)
    elif open_payment is None:
        charges = [p for p in payments if p.kind is CardPaymentKind.CHARGE]
        if not charges:
            new_payment(visit, booking, link.card, CardPaymentKind.CHARGE, due, key=f"visit:{visit.id}:charge")
        else:
            mark_unpaid(visit, booking, charges[-1])
    elif open_payment.status is CardPaymentStatus.REQUIRES_ACTION:
        ensure_attempt(open_payment, AttemptOperation.CANCEL)
    elif open_payment.status is CardPaymentStatus.AUTHORISED:
        capture = attempt_for(open_payment, AttemptOperation.CAPTURE)
        if capture is None:
            ensure_attempt(open_payment, AttemptOperation.CAPTURE, due)
        elif capture.state is AttemptState.FAILED:
            # The processor refused the capture: release the reservation, then
            # charge the saved card (the next round, once it is released).
            ensure_attempt(open_payment, AttemptOperation.CANCEL)
