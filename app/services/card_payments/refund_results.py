"""Recording what became of a refund at Stripe: succeeded (the money reaches the card),
failed (it goes back where it came from), or sent back by the bank after it had succeeded.
Each moves the ledger once, however often Stripe tells us."""

from __future__ import annotations

from app.database import utcnow
from app.extensions import db
from app.formatting import format_pence
from app.models import AttemptState, Booking, CardPayment, CardRefund, PaymentAttempt, RefundStatus, TransactionKind
from app.services import audit, bookings, ledger
from app.services.card_payments import notices, stripe_api
from app.services.card_payments.card_ledger import card_account, clearing_account
from app.services.card_payments.outcomes import REFUND_SETTLED, Outcome, refund_failure_message
from app.services.ledger import Actor


def finish_refund(attempt: PaymentAttempt, payment: CardPayment, outcome: Outcome) -> None:
    """Record Stripe's answer to our refund request. A refund Stripe accepted but has not
    finished ("pending") stays PENDING: its money stays in the clearing account and reaches
    the card only when Stripe says it succeeded (a webhook, or ``flask payments retry``)."""
    refund = db.session.get(CardRefund, attempt.refund_id)
    if outcome.refund is not None:
        attempt.stripe_object_id = outcome.refund.id
        if refund.stripe_refund_id is None:
            refund.stripe_refund_id = outcome.refund.id
    if outcome.state is AttemptState.SUCCEEDED:
        settled = REFUND_SETTLED.get(outcome.refund.status)
        if settled is RefundStatus.SUCCEEDED:
            _refund_succeeded(refund)
        elif refund.status is RefundStatus.PENDING:
            booking = db.session.get(Booking, payment.booking_id)
            bookings.record_event(
                booking,
                "refund_pending",
                f"Refund of {format_pence(refund.amount_pence)} to {payment.card.description} sent to the card processor: "
                "it shows on the card once the bank confirms it.",
                None,
            )
    else:
        _refund_failed(refund, outcome.message or "the card processor refused it")


def apply_refund_status(refund: CardRefund, obj) -> str:
    """Bring a refund (locked: ``locks.lock_refund``) to the status Stripe shows in ``obj``;
    says what changed."""
    before = refund.status
    settled = REFUND_SETTLED.get(stripe_api.field(obj, "status"))
    if settled is RefundStatus.SUCCEEDED:
        _refund_succeeded(refund)
    elif settled is RefundStatus.FAILED:
        message = refund_failure_message(obj)
        if refund.status is RefundStatus.SUCCEEDED:
            _refund_reversed(refund, message)
        else:
            _refund_failed(refund, message)
    if refund.status is before:
        return f"no change: refund {refund.public_id} is {refund.status.value}"
    return f"refund {refund.public_id}: {before.value} -> {refund.status.value}"


def _refund_succeeded(refund: CardRefund) -> None:
    """The refund reached the card: money out of the clearing account to the card. Once."""
    if refund.status is not RefundStatus.PENDING:
        return
    payment = db.session.get(CardPayment, refund.card_payment_id)
    booking = db.session.get(Booking, payment.booking_id)
    refund.status = RefundStatus.SUCCEEDED
    refund.settled_at = utcnow()
    payment.refunded_pence = payment.refunded_pence + refund.amount_pence
    ledger.post(
        TransactionKind.CARD_REFUND,
        [(clearing_account(), -refund.amount_pence), (card_account(payment.card), refund.amount_pence)],
        key=f"card-refund:{refund.id}:to-card",
        cause=("card_refund", refund.id),
        actor=Actor.system("card payments"),
        memo=f"Refunded to {payment.card.description} ({booking.reference}): {refund.reason}",
    )
    bookings.record_event(
        booking, "refunded", f"{format_pence(refund.amount_pence)} refunded to {payment.card.description}: {refund.reason}", None
    )
    audit.record(
        None,
        "payments.refunded",
        "booking",
        booking.reference,
        after={
            "amount_pence": refund.amount_pence,
            "refund": refund.public_id,
            "stripe_refund": refund.stripe_refund_id,
            "automatic": refund.automatic,
        },
    )
    notices.queue(booking.id, "refunded")


def _refund_failed(refund: CardRefund, message: str) -> None:
    """Stripe would not make the refund (or reversed it). A refund a person asked for gives
    the money back to the provider, where it came from (a linked correction). An automatic
    refund of a visit paid twice cannot: that money never reached the provider, so it stays
    in the clearing account, owed to the card holder, for the council's payments team
    (the booking and the audit trail say so, and `flask ledger check` counts it)."""
    if refund.status is not RefundStatus.PENDING:
        return
    payment = db.session.get(CardPayment, refund.card_payment_id)
    booking = db.session.get(Booking, payment.booking_id)
    refund.status = RefundStatus.FAILED
    refund.failure_message = message
    refund.settled_at = utcnow()
    if refund.automatic:
        note = (
            f"Automatic refund of {format_pence(refund.amount_pence)} (money not owed) not made: {message} "
            "The council's payments team will repay it."
        )
    else:
        ledger.post(
            TransactionKind.CORRECTION,
            [(clearing_account(), -refund.amount_pence), (ledger.provider_payable_account(booking.provider), refund.amount_pence)],
            key=f"card-refund:{refund.id}:back-to-provider",
            cause=("card_refund", refund.id),
            actor=Actor.system("card payments"),
            memo=f"Refund not made, money back to {booking.provider.name}: {message}",
            corrects=ledger.find_transaction(f"card-refund:{refund.id}:from-provider"),
        )
        note = f"Refund of {format_pence(refund.amount_pence)} not made: {message}"
    bookings.record_event(booking, "refund_failed", note, None)
    audit.record(
        None,
        "payments.refund_failed",
        "booking",
        booking.reference,
        after={"amount_pence": refund.amount_pence, "refund": refund.public_id, "automatic": refund.automatic},
        note=message,
    )
    notices.queue(booking.id, "refund_failed")


def _refund_reversed(refund: CardRefund, message: str) -> None:
    """A refund that had succeeded failed afterwards (rare: the bank sent it back). The
    money that reached the card comes back through linked corrections: from the card to
    the clearing account, then (for a refund a person asked for) on to the provider."""
    payment = db.session.get(CardPayment, refund.card_payment_id)
    booking = db.session.get(Booking, payment.booking_id)
    actor = Actor.system("card payments")
    ledger.post(
        TransactionKind.CORRECTION,
        [(card_account(payment.card), -refund.amount_pence), (clearing_account(), refund.amount_pence)],
        key=f"card-refund:{refund.id}:reversed",
        cause=("card_refund", refund.id),
        actor=actor,
        memo=f"Refund to {payment.card.description} sent back by the bank ({booking.reference}): {message}",
        corrects=ledger.find_transaction(f"card-refund:{refund.id}:to-card"),
    )
    payment.refunded_pence = payment.refunded_pence - refund.amount_pence
    refund.status = RefundStatus.PENDING  # the money is back in clearing: settle it as a failure
    _refund_failed(refund, message)
