"""Recording what Stripe did with one attempt's request, in one unit of work that takes the
locks in the one order (booking, visits, payment) and decides on what is true now. An
attempt someone else finished meanwhile (our lease lapsed) keeps their answer."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import AttemptOperation, AttemptState, Booking, BookingVisit, CardPayment, CardPaymentStatus, PaymentAttempt
from app.services import bookings
from app.services.card_payments import locks, refund_results
from app.services.card_payments.card_ledger import release_payment_hold
from app.services.card_payments.failures import fail_payment
from app.services.card_payments.intents import apply_intent
from app.services.card_payments.outcomes import Outcome
from app.services.ledger import Actor

log = logging.getLogger(__name__)


def record(attempt_id: int, token: str, outcome: Outcome) -> None:
    """Record an attempt's outcome, if the attempt is still ours (``token``) to finish."""
    db.session.rollback()
    with write_transaction():
        payment_id = db.session.execute(select(PaymentAttempt.card_payment_id).where(PaymentAttempt.id == attempt_id)).scalar_one()
        payment = locks.lock_payment(payment_id)
        attempt = locks.locked(PaymentAttempt, attempt_id)
        if attempt.state is not AttemptState.STARTED or attempt.lease_token != token:
            return  # someone else finished it (our lease lapsed): theirs stands
        attempt.state = outcome.state
        attempt.finished_at = utcnow()
        attempt.error_code = outcome.decline_code or outcome.code
        attempt.error_message = outcome.message
        if attempt.operation is AttemptOperation.PAY:
            _record_pay(attempt, payment, outcome)
        elif attempt.operation is AttemptOperation.CAPTURE:
            _record_capture(attempt, payment, outcome)
        elif attempt.operation is AttemptOperation.CANCEL:
            _record_cancel(attempt, payment, outcome)
        elif attempt.operation is AttemptOperation.REFUND:
            refund_results.finish_refund(attempt, payment, outcome)


def _record_pay(attempt: PaymentAttempt, payment: CardPayment, outcome: Outcome) -> None:
    if outcome.intent is not None:
        attempt.stripe_object_id = outcome.intent.id
        apply_intent(payment, outcome.intent, captured_pence=payment.amount_pence)
    else:
        fail_payment(payment, outcome)


def _record_capture(attempt: PaymentAttempt, payment: CardPayment, outcome: Outcome) -> None:
    if outcome.state is AttemptState.SUCCEEDED or (outcome.intent is not None and outcome.intent.status != "requires_capture"):
        apply_intent(payment, outcome.intent, captured_pence=attempt.amount_pence)
        return
    # Refused while the money is still reserved: the next round of card work cancels the
    # authorisation and charges the saved card instead.
    payment.failure_code = "capture_refused"
    booking = db.session.get(Booking, payment.booking_id)
    visit = db.session.get(BookingVisit, payment.visit_id)
    bookings.record_event(
        booking,
        "capture_refused",
        f"The card processor would not take the {format_pence(attempt.amount_pence)} reserved for the visit on "
        f"{format_datetime(visit.starts_at)}: the reservation is being released and the card charged instead.",
        None,
    )


def _record_cancel(attempt: PaymentAttempt, payment: CardPayment, outcome: Outcome) -> None:
    if outcome.intent is not None:
        attempt.stripe_object_id = outcome.intent.id
        apply_intent(payment, outcome.intent, captured_pence=payment.amount_pence)
    if payment.status.is_open and (outcome.state is AttemptState.FAILED or outcome.intent is None):
        _abandon_authorisation(payment, outcome)


def _abandon_authorisation(payment: CardPayment, outcome: Outcome) -> None:
    """A reservation Stripe will not cancel (or no longer has): we will never capture it, so
    for us it is over. Stripe lets an uncaptured authorisation lapse by itself within 7 days.
    Its ledger hold goes back to the card, and any charge the visit needs is made afresh."""
    booking = db.session.get(Booking, payment.booking_id)
    visit = db.session.get(BookingVisit, payment.visit_id)
    release_payment_hold(
        payment,
        Actor.system("card payments"),
        f"Reservation on {payment.card.description} given up ({booking.reference}, visit on {format_datetime(visit.starts_at)})",
    )
    payment.status = CardPaymentStatus.CANCELLED
    if outcome.state is AttemptState.FAILED:
        payment.failure_code = "cancel_refused"
        payment.failure_message = "The card processor would not release the reservation: it lapses by itself within 7 days."
        log.warning("card payment %s: Stripe refused to cancel the authorisation (%s)", payment.public_id, outcome.code)
