"""The card holder confirming a payment with their bank (3-D Secure): which payments wait for
it, and reading a payment again from Stripe once they have."""

from __future__ import annotations

from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.models import Booking, CardPayment, CardPaymentStatus, PaymentCard, User
from app.services.card_payments import locks, notices, stripe_api
from app.services.card_payments.intents import apply_intent
from app.services.card_payments.lookups import payments_for_booking
from app.services.errors import NotFound


def payment_for_card_holder(public_id: str, holder: User) -> CardPayment:
    """One payment, for the person whose card it is on (for confirming it with their bank)."""
    payment = db.session.execute(
        select(CardPayment)
        .join(PaymentCard, CardPayment.card_id == PaymentCard.id)
        .where(CardPayment.public_id == public_id, PaymentCard.owner_id == holder.id)
    ).scalar_one_or_none()
    if payment is None:
        raise NotFound("No such payment")
    return payment


def awaiting_bank(booking: Booking, holder: User) -> list[CardPayment]:
    """The booking's payments on ``holder``'s card that their bank wants them to confirm."""
    return [p for p in payments_for_booking(booking) if p.status is CardPaymentStatus.REQUIRES_ACTION and p.card.owner_id == holder.id]


def refresh_payment(payment: CardPayment) -> CardPayment:
    """Read a payment's state from Stripe again (after the card holder confirmed with their
    bank in the browser, or to check one a webhook has not told us about)."""
    if payment.stripe_payment_intent_id is None:
        return payment
    intent = stripe_api.call(lambda c: c.v1.payment_intents.retrieve(payment.stripe_payment_intent_id))
    with write_transaction():
        payment = locks.lock_payment(payment.id)
        apply_intent(payment, intent, captured_pence=payment.amount_pence)
    notices.send_queued()
    return db.session.get(CardPayment, payment.id)
