"""Visits a failed card charge left owing: which they are, who may pay them, and paying one
now ("Pay now"), with the card holder here to confirm with their bank if it asks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Booking,
    BookingCard,
    BookingVisit,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    PaymentAttempt,
    PaymentCard,
    User,
    VisitStatus,
)
from app.services import bookings
from app.services.card_payments import amounts, attempts, declines, settings
from app.services.card_payments.errors import CardDeclined, PaymentInProgress
from app.services.card_payments.new_attempts import new_payment
from app.services.errors import Conflict, NotFound


def unpaid_visits(payer: User) -> list[BookingVisit]:
    """Visits whose card charge failed, for the card's owner (or the citizen) to pay."""
    return list(
        db.session.execute(
            select(BookingVisit)
            .join(Booking, BookingVisit.booking_id == Booking.id)
            .join(BookingCard, BookingCard.booking_id == Booking.id)
            .join(PaymentCard, BookingCard.card_id == PaymentCard.id)
            .where(BookingVisit.status == VisitStatus.UNPAID, or_(PaymentCard.owner_id == payer.id, Booking.citizen_id == payer.id))
            .order_by(BookingVisit.starts_at)
        ).scalars()
    )


@dataclass(frozen=True)
class PayNowResult:
    payment: CardPayment
    paid: bool
    requires_action: bool
    client_secret: str | None  # for Stripe.js to let the card holder confirm with their bank


def pay_unpaid_visit(visit: BookingVisit, *, payer: User, card: PaymentCard, request_key: str) -> PayNowResult:
    """The card holder pays a visit whose charge failed, while they are here (on-session).

    Idempotent on ``request_key`` (one per "Pay now" form)."""
    settings.require_configured()
    if card.owner_id != payer.id or card.removed_at is not None:
        raise NotFound("No such card")
    key = f"visit:{visit.id}:pay-now:{request_key}"[:160]
    existing = db.session.execute(select(PaymentAttempt).where(PaymentAttempt.key == key)).scalar_one_or_none()
    if existing is None:
        try:
            with write_transaction():
                visit = db.session.get(BookingVisit, visit.id)
                booking = bookings.lock_booking(visit.booking_id)  # the visit as it is now, and what it owes
                visit = db.session.get(BookingVisit, visit.id)
                if not may_pay(payer, booking):
                    raise NotFound("No such visit")
                if visit.status is not VisitStatus.UNPAID:
                    raise Conflict("This visit has nothing left to pay")
                owed = amounts.amount_owed(visit)
                new_payment(visit, booking, card, CardPaymentKind.PAY_NOW, owed, key=key)
        except IntegrityError:
            db.session.rollback()
            raise PaymentInProgress("A payment for this visit is already being made. Wait a moment, then refresh the page.") from None
    attempt_id = db.session.execute(select(PaymentAttempt.id).where(PaymentAttempt.key == key)).scalar_one()
    attempt = attempts.run_attempt(attempt_id)
    payment = db.session.get(CardPayment, attempt.card_payment_id)
    if payment.status is CardPaymentStatus.FAILED:
        raise CardDeclined(payment.failure_message or declines.decline_message(None, None, payment.amount_pence))
    return PayNowResult(
        payment,
        paid=payment.status is CardPaymentStatus.CAPTURED,
        requires_action=payment.status is CardPaymentStatus.REQUIRES_ACTION,
        client_secret=payment.client_secret if payment.status is CardPaymentStatus.REQUIRES_ACTION else None,
    )


def _booking_card_owner(booking: Booking) -> int | None:
    link = db.session.get(BookingCard, booking.id)
    return link.card.owner_id if link else None


def may_pay(user: User, booking: Booking) -> bool:
    """Who may pay what a card booking owes: the citizen, whoever booked it, or the card's owner."""
    return user.id in (booking.citizen_id, booking.booked_by_id, _booking_card_owner(booking))
