"""Refunds a person asks for: a provider (for their own bookings) or a commissioner gives
back some or all of what a card paid for a visit, with a reason. The provider gives the money
back into the clearing account at once; it reaches the card when Stripe confirms."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    Booking,
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    LedgerTransaction,
    PaymentAttempt,
    RefundStatus,
    Role,
    TransactionKind,
    User,
)
from app.services import audit, bookings, ledger
from app.services.card_payments import attempts, settings
from app.services.card_payments.amounts import refundable_pence
from app.services.card_payments.card_ledger import clearing_account
from app.services.card_payments.new_attempts import refund_attempt
from app.services.card_payments.public_ids import new_public_id
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.ledger import Actor

MAX_REASON = 500


def refund_visit(visit: BookingVisit, *, amount_pence: int, reason: str, by: User, request_key: str, for_provider=None) -> CardRefund:
    """A provider (for their own bookings) or a commissioner gives back some or all of what
    a card paid for a visit, with a reason. Idempotent on ``request_key``.

    Provider staff pass ``for_provider``, the provider they work for (the provider pages know
    it); a visit of another provider's booking answers NotFound."""
    settings.require_configured()
    existing = db.session.execute(select(CardRefund).where(CardRefund.request_key == request_key)).scalar_one_or_none()
    if existing is None:
        reason = _checked_request(amount_pence, reason)
        try:
            existing = _record_refund(
                visit, amount_pence=amount_pence, reason=reason, by=by, request_key=request_key, for_provider=for_provider
            )
        except IntegrityError:
            db.session.rollback()
            existing = db.session.execute(select(CardRefund).where(CardRefund.request_key == request_key)).scalar_one()
    if existing.requested_by_id != by.id:
        raise Conflict("That refund request was already used")
    attempt_id = db.session.execute(select(PaymentAttempt.id).where(PaymentAttempt.refund_id == existing.id)).scalar_one()
    attempts.run_attempt(attempt_id)
    refund = db.session.get(CardRefund, existing.id)
    db.session.refresh(refund)
    if refund.status is RefundStatus.FAILED:
        raise Conflict(f"The refund could not be made: {refund.failure_message}")
    return refund


def _checked_request(amount_pence: int, reason: str) -> str:
    """The reason, trimmed; ValidationError if it or the amount will not do."""
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = "Enter the reason for the refund: the person will see it"
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"The reason must be {MAX_REASON} characters or fewer"
    if isinstance(amount_pence, bool) or not isinstance(amount_pence, int) or amount_pence <= 0:
        errors["amount"] = "Enter an amount to refund, like 12.50"
    if errors:
        raise ValidationError(errors)
    return reason


def _may_refund(user: User, booking: Booking, for_provider) -> bool:
    if user.role is Role.COMMISSIONER:
        return True
    if user.role is Role.PROVIDER:
        return for_provider is not None and for_provider.id == booking.provider_id
    return False


def _record_refund(visit: BookingVisit, *, amount_pence: int, reason: str, by: User, request_key: str, for_provider) -> CardRefund:
    with write_transaction():
        visit = db.session.get(BookingVisit, visit.id)
        # The booking and its visits first, then its payments, as every card step does.
        booking = bookings.lock_booking(visit.booking_id)
        if not _may_refund(by, booking, for_provider):
            raise NotFound("No such visit")
        payment = _payment_to_refund(visit, amount_pence)
        refund = CardRefund(
            public_id=new_public_id(),
            card_payment_id=payment.id,
            request_key=request_key,
            amount_pence=amount_pence,
            reason=reason,
            status=RefundStatus.PENDING,
            requested_by_id=by.id,
        )
        db.session.add(refund)
        db.session.flush()
        _take_back_from_provider(refund, payment, booking, by=by)
        db.session.add(refund_attempt(payment, refund))
        audit.record(
            by,
            "payments.refund_requested",
            "booking",
            booking.reference,
            after={
                "visit_starts_at": visit.starts_at,
                "amount_pence": amount_pence,
                "card": payment.card.description,
                "refund": refund.public_id,
            },
            note=reason,
        )
        bookings.record_event(
            booking,
            "refund_requested",
            f"Refund of {format_pence(amount_pence)} for the visit on {format_datetime(visit.starts_at)} asked for by {by.name}: {reason}",
            by,
        )
    return refund


def _payment_to_refund(visit: BookingVisit, amount_pence: int) -> CardPayment:
    """The visit's payment the refund comes from, locked, once it is sure it can give back
    ``amount_pence`` (ValidationError otherwise)."""
    captured = (
        db.session.execute(
            select(CardPayment)
            .where(CardPayment.visit_id == visit.id, CardPayment.status == CardPaymentStatus.CAPTURED)
            .order_by(CardPayment.id.desc())
        )
        .scalars()
        .all()
    )
    if not captured:
        raise ValidationError({"amount": "Nothing has been paid by card for this visit, so there is nothing to refund"})
    # The latest payment with something left to refund (a visit paid twice has two).
    payment = next((p for p in captured if refundable_pence(p) > 0), captured[0])
    # Lock the payment row so two refunds cannot both pass the check (SQLite: the write lock).
    db.session.execute(select(CardPayment.id).where(CardPayment.id == payment.id).with_for_update())
    left = refundable_pence(payment)
    if amount_pence > left:
        raise ValidationError({"amount": f"You can refund at most {format_pence(left)} for this visit"})
    return payment


def _take_back_from_provider(refund: CardRefund, payment: CardPayment, booking: Booking, *, by: User) -> None:
    """The provider gives the money back now, so it cannot be paid out to them as well."""
    try:
        ledger.post(
            TransactionKind.CORRECTION,
            [(ledger.provider_payable_account(booking.provider), -refund.amount_pence), (clearing_account(), refund.amount_pence)],
            key=f"card-refund:{refund.id}:from-provider",
            cause=("card_refund", refund.id),
            actor=Actor.person(by),
            memo=f"Refund to {payment.card.description} for {booking.reference}: {refund.reason}",
            corrects=_capture_transaction(payment),
        )
    except ledger.InsufficientFunds:
        raise Conflict(
            f"{booking.provider.name} has already been paid this money, so the refund must come from their next payment. "
            "Contact the council's payments team."
        ) from None


def _capture_transaction(payment: CardPayment) -> LedgerTransaction | None:
    return ledger.find_transaction(f"card-payment:{payment.id}:to-provider")
