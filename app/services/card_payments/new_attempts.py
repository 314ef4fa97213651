"""Recording card work before any request is made: a new payment with its first attempt, a
payment's one capture or cancellation, a refund's attempt. Each row is committed with the
caller's unit of work, and its key is what makes a retry find it again."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    AttemptOperation,
    AttemptState,
    Booking,
    BookingVisit,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    CardRefund,
    PaymentAttempt,
    PaymentCard,
)
from app.services.card_payments.public_ids import new_public_id


def new_payment(visit: BookingVisit, booking: Booking, card: PaymentCard, kind: CardPaymentKind, amount: int, *, key: str) -> CardPayment:
    """Record a payment and its first attempt (inside the caller's transaction)."""
    payment = CardPayment(
        public_id=new_public_id(),
        visit_id=visit.id,
        booking_id=booking.id,
        card_id=card.id,
        kind=kind,
        status=CardPaymentStatus.STARTED,
        funding=card.funding,
        route=card.route,
        amount_pence=amount,
    )
    db.session.add(payment)
    db.session.flush()
    db.session.add(
        PaymentAttempt(key=key, operation=AttemptOperation.PAY, state=AttemptState.STARTED, card_payment_id=payment.id, amount_pence=amount)
    )
    db.session.flush()
    return payment


def _attempt_key(payment: CardPayment, operation: AttemptOperation) -> str:
    """The one capture or cancellation a payment can have."""
    return f"card-payment:{payment.id}:{operation.value}"


def attempt_for(payment: CardPayment, operation: AttemptOperation) -> PaymentAttempt | None:
    """The payment's capture or cancellation, if one was recorded."""
    return db.session.execute(select(PaymentAttempt).where(PaymentAttempt.key == _attempt_key(payment, operation))).scalar_one_or_none()


def ensure_attempt(payment: CardPayment, operation: AttemptOperation, amount: int | None = None) -> None:
    """Record the capture (of ``amount``) or cancellation of a payment, once, for the next
    round of card work to carry out."""
    if attempt_for(payment, operation) is None:
        db.session.add(
            PaymentAttempt(
                key=_attempt_key(payment, operation),
                operation=operation,
                state=AttemptState.STARTED,
                card_payment_id=payment.id,
                amount_pence=amount,
            )
        )
        db.session.flush()


def refund_attempt(payment: CardPayment, refund: CardRefund) -> PaymentAttempt:
    """The attempt that makes a refund at Stripe, recorded before any request is sent."""
    return PaymentAttempt(
        key=f"card-refund:{refund.id}",
        operation=AttemptOperation.REFUND,
        state=AttemptState.STARTED,
        card_payment_id=payment.id,
        refund_id=refund.id,
        amount_pence=refund.amount_pence,
    )
