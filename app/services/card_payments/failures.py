"""A card payment that failed: what the card holder is told, and the visit it leaves unpaid
(its payer asked to pay it) when it was a charge for a visit still owed."""

from __future__ import annotations

from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import Booking, BookingVisit, CardPayment, CardPaymentKind, CardPaymentStatus, User, VisitStatus
from app.services import bookings
from app.services.card_payments import amounts, declines, notices
from app.services.card_payments.outcomes import Outcome

# Payment states only ever move forward (a late or replayed event cannot move them back).
RANK = {
    CardPaymentStatus.STARTED: 0,
    CardPaymentStatus.REQUIRES_ACTION: 1,
    CardPaymentStatus.FAILED: 2,
    CardPaymentStatus.AUTHORISED: 3,
    CardPaymentStatus.CAPTURED: 4,
    CardPaymentStatus.CANCELLED: 4,
}


def fail_payment(payment: CardPayment, outcome: Outcome) -> None:
    if RANK[payment.status] >= RANK[CardPaymentStatus.FAILED]:
        return
    payment.status = CardPaymentStatus.FAILED
    payment.failure_code = outcome.decline_code or outcome.code
    if outcome.declined:
        payment.failure_message = declines.decline_message(outcome.code, outcome.decline_code, payment.amount_pence, card=payment.card)
    else:
        payment.failure_message = "The card processor could not take this payment from your card. Add your card again, or use another card."
    _after_payment_failed(payment)


def _after_payment_failed(payment: CardPayment) -> None:
    visit = db.session.get(BookingVisit, payment.visit_id)
    booking = db.session.get(Booking, payment.booking_id)
    if payment.kind is CardPaymentKind.CHARGE and visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED):
        mark_unpaid(visit, booking, payment)


def mark_unpaid(visit: BookingVisit, booking: Booking, payment: CardPayment) -> None:
    """A card charge for a delivered (or late-cancelled) visit failed: the visit is owed and
    its payer asked to pay. The booking is locked (``locks.lock_payment``); nothing happens if
    the visit was paid meanwhile (a late success, "Pay now") or is no longer delivered or
    cancelled late: a conditional move, never an overwrite."""
    if amounts.amount_owed(visit) <= 0:
        return
    if not bookings.try_move_visit(visit, (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED), VisitStatus.UNPAID):
        return
    payer = db.session.get(User, payment.card.owner_id)
    bookings.record_event(
        booking,
        "payment_failed",
        f"Card payment of {format_pence(visit.charged_pence)} for the visit on {format_datetime(visit.starts_at)} failed: "
        f"{payment.failure_message or 'the card was declined'} {payer.name} has been asked to pay.",
        None,
    )
    notices.queue(booking.id, "payment_failed")
