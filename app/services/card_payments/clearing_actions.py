"""A commissioner settling money an automatic refund left in card clearing (the card
processor refused to give it back to the card): ask the card processor again, or settle it
another way with a reason. Each is audited and told to the booking's people; the money
moves through the ledger once, under a key derived from the refund.

* Retry: the refund is asked for again under a new attempt (its own key, so the card
  processor treats it as a new request); the money stays in clearing and reaches the card
  only when the card processor says the refund succeeded (``card-refund:<id>:to-card``).
* Repaid outside Stripe (BACS or cheque by the council's payments team): out of clearing to
  the card holder's account (``card-clearing:<id>:settled``), counted as refunded.
* Owed after all (the visit was owed, so the money is kept): out of clearing to what the
  provider is owed, paid in its next run like any other care."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.formatting import format_pence
from app.models import (
    AttemptOperation,
    AttemptState,
    Booking,
    CardPayment,
    CardRefund,
    ClearingSettlement,
    ClearingSettlementKind,
    PaymentAttempt,
    RefundStatus,
    Role,
    TransactionKind,
    User,
)
from app.services import audit, bookings, ledger
from app.services.card_payments import attempts, locks, notices
from app.services.card_payments.card_ledger import card_account, clearing_account
from app.services.card_payments.clearing import refused_refund
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.ledger import Actor

MAX_REASON = 500
MAX_KEY = 40

SETTLEMENT_LABELS = {
    ClearingSettlementKind.REPAID_OUTSIDE_STRIPE: "Repaid to the card holder outside Stripe (BACS or cheque)",
    ClearingSettlementKind.OWED_AFTER_ALL: "Kept: the visit was owed after all (paid to the provider)",
}


def _commissioner(by: User) -> None:
    if by.role is not Role.COMMISSIONER:
        raise NotFound("No such refund")  # money decisions are commissioners' alone


def _checked_key(request_key: str) -> str:
    key = (request_key or "").strip()
    if not key or len(key) > MAX_KEY:
        raise ValidationError({"request_key": "This form has expired: open the page again"})
    return key


def retry_refund(public_id: str, *, by: User, request_key: str) -> CardRefund:
    """Ask the card processor again for an automatic refund it refused. Idempotent on
    ``request_key`` (a double click asks once). May raise ProcessorUnavailable or
    PaymentInProgress: the new attempt stays recorded and `flask payments retry` finishes it."""
    _commissioner(by)
    key = f"card-refund:retry:{_checked_key(request_key)}"
    attempt = db.session.execute(select(PaymentAttempt).where(PaymentAttempt.key == key)).scalar_one_or_none()
    if attempt is None:
        try:
            attempt_id = _record_retry(public_id, by=by, key=key)
        except IntegrityError:
            db.session.rollback()
            attempt_id = db.session.execute(select(PaymentAttempt.id).where(PaymentAttempt.key == key)).scalar_one()
    else:
        refund = db.session.get(CardRefund, attempt.refund_id)
        if refund is None or refund.public_id != public_id:
            raise Conflict("That form was already used for another refund: open the page again")
        attempt_id = attempt.id
    attempts.run_attempt(attempt_id)
    refund = db.session.get(CardRefund, db.session.get(PaymentAttempt, attempt_id).refund_id)
    db.session.refresh(refund)
    return refund


def _record_retry(public_id: str, *, by: User, key: str) -> int:
    with write_transaction():
        found = refused_refund(public_id)
        if found is None or found.status is not RefundStatus.FAILED:
            raise NotFound("No such refund waiting in card clearing")
        refund = _locked_if_waiting(found.id)
        payment = db.session.get(CardPayment, refund.card_payment_id)
        booking = db.session.get(Booking, payment.booking_id)
        refused = refund.failure_message
        # The refund is in flight again: its money stays in clearing until the card
        # processor answers. Stripe's id for the refused refund stays on its attempt.
        refund.status, refund.stripe_refund_id, refund.failure_message, refund.settled_at = RefundStatus.PENDING, None, None, None
        attempt = PaymentAttempt(
            key=key,
            operation=AttemptOperation.REFUND,
            state=AttemptState.STARTED,
            card_payment_id=payment.id,
            refund_id=refund.id,
            amount_pence=refund.amount_pence,
        )
        db.session.add(attempt)
        db.session.flush()
        audit.record(
            by,
            "payments.clearing_refund_retried",
            "booking",
            booking.reference,
            after={"amount_pence": refund.amount_pence, "refund": refund.public_id, "card": payment.card.description},
            note=f"Refused before: {refused}",
        )
        bookings.record_event(
            booking, "refund_retried", f"Refund of {format_pence(refund.amount_pence)} to {payment.card.description} asked for again", by
        )
        return attempt.id


def _locked_if_waiting(refund_id: int) -> CardRefund:
    """The refused refund, locked, if it still waits in clearing once the lock is ours:
    neither asked for again (no longer FAILED) nor settled another way (which leaves it
    FAILED, so the settlement itself is looked for). Read before the lock, by whoever waited
    on it, either could have happened meanwhile (Conflict)."""
    refund = locks.lock_refund(refund_id)
    settled = db.session.execute(select(ClearingSettlement.id).where(ClearingSettlement.refund_id == refund.id)).first()
    if refund.status is not RefundStatus.FAILED or settled:
        raise Conflict("This refund is no longer waiting: someone settled it a moment ago")
    return refund


def settle_refund(public_id: str, *, kind: str, reason: str, by: User, request_key: str) -> ClearingSettlement:
    """Settle an automatic refund the card processor refused another way, with a reason.
    Idempotent on ``request_key``."""
    _commissioner(by)
    key = _checked_key(request_key)
    existing = db.session.execute(select(ClearingSettlement).where(ClearingSettlement.request_key == key)).scalar_one_or_none()
    if existing is not None:
        if existing.settled_by_id != by.id or existing.refund.public_id != public_id:
            raise Conflict("That form was already used: open the page again")
        return existing
    chosen, reason = _checked_settlement(kind, reason)
    try:
        settlement = _record_settlement(public_id, chosen, reason, by=by, key=key)
    except IntegrityError:
        db.session.rollback()
        existing = db.session.execute(select(ClearingSettlement).where(ClearingSettlement.request_key == key)).scalar_one_or_none()
        if existing is None:
            raise Conflict("This refund is already settled: someone settled it a moment ago") from None
        return existing
    # Told once it has committed.
    repaid = settlement.kind is ClearingSettlementKind.REPAID_OUTSIDE_STRIPE
    notices.queue(settlement.refund.payment.booking_id, "clearing_repaid" if repaid else "clearing_kept")
    notices.send_queued()
    return settlement


def _checked_settlement(kind: str, reason: str) -> tuple[ClearingSettlementKind, str]:
    errors = {}
    chosen = next((k for k in ClearingSettlementKind if k.value == kind), None)
    if chosen is None:
        errors["kind"] = "Select how the money was settled"
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Enter the reason, like the BACS reference or why the visit was owed"
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"The reason must be {MAX_REASON} characters or fewer"
    if errors:
        raise ValidationError(errors)
    return chosen, reason


def _record_settlement(public_id: str, kind: ClearingSettlementKind, reason: str, *, by: User, key: str) -> ClearingSettlement:
    with write_transaction():
        found = refused_refund(public_id)
        if found is None or found.status is not RefundStatus.FAILED:
            raise NotFound("No such refund waiting in card clearing")
        refund = _locked_if_waiting(found.id)
        payment = db.session.get(CardPayment, refund.card_payment_id)
        booking = db.session.get(Booking, payment.booking_id)
        _move_money(refund, payment, booking, kind, reason, by)
        settlement = ClearingSettlement(
            refund_id=refund.id, request_key=key, kind=kind, amount_pence=refund.amount_pence, reason=reason, settled_by_id=by.id
        )
        db.session.add(settlement)
        db.session.flush()
        audit.record(
            by,
            "payments.clearing_settled",
            "booking",
            booking.reference,
            after={"kind": kind, "amount_pence": refund.amount_pence, "refund": refund.public_id, "card": payment.card.description},
            note=reason,
        )
        bookings.record_event(booking, "clearing_settled", f"{format_pence(refund.amount_pence)}: {SETTLEMENT_LABELS[kind]}. {reason}", by)
    return settlement


def _move_money(refund: CardRefund, payment: CardPayment, booking: Booking, kind: ClearingSettlementKind, reason: str, by: User) -> None:
    if kind is ClearingSettlementKind.REPAID_OUTSIDE_STRIPE:
        legs = [(clearing_account(), -refund.amount_pence), (card_account(payment.card), refund.amount_pence)]
        transaction_kind, memo = TransactionKind.CARD_REFUND, f"Repaid outside the card processor to {payment.card.description}"
        payment.refunded_pence = payment.refunded_pence + refund.amount_pence
    else:
        legs = [(clearing_account(), -refund.amount_pence), (ledger.provider_payable_account(booking.provider), refund.amount_pence)]
        transaction_kind, memo = TransactionKind.CAPTURE, f"Owed after all, to {booking.provider.name}"
    ledger.post(
        transaction_kind,
        legs,
        key=f"card-clearing:{refund.id}:settled",
        cause=("card_refund", refund.id),
        actor=Actor.person(by),
        memo=f"{memo} ({booking.reference}): {reason}"[:500],
    )
