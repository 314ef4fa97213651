"""Bringing our record of a card payment forward to what Stripe shows of its PaymentIntent,
and the ledger with it: a reservation held, released or given up, a charge taken and passed
on to the provider (as far as the visit still owes it), a failure recorded."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    AttemptOperation,
    AttemptState,
    Booking,
    BookingVisit,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    TransactionKind,
    VisitStatus,
)
from app.services import bookings, ledger
from app.services.card_payments import amounts, duplicates, stripe_api
from app.services.card_payments.card_ledger import card_account, clearing_account, release_payment_hold
from app.services.card_payments.failures import RANK, fail_payment
from app.services.card_payments.new_attempts import ensure_attempt
from app.services.card_payments.outcomes import Outcome
from app.services.ledger import Actor

# What a PaymentIntent's status means for our payment (any other status changes nothing).
_TARGETS = {
    "requires_action": CardPaymentStatus.REQUIRES_ACTION,
    "requires_capture": CardPaymentStatus.AUTHORISED,
    "succeeded": CardPaymentStatus.CAPTURED,
    "canceled": CardPaymentStatus.CANCELLED,
    "requires_payment_method": CardPaymentStatus.FAILED,
}


def apply_intent(payment: CardPayment, intent, *, captured_pence: int) -> None:
    """Bring our record of a payment forward to what Stripe shows, moving the ledger to match."""
    if payment.stripe_payment_intent_id is None:
        payment.stripe_payment_intent_id = intent.id
    if payment.client_secret is None:
        # Also when the id was stored first (straight after Stripe named it): the card
        # holder needs the secret to confirm with their bank.
        payment.client_secret = stripe_api.field(intent, "client_secret")
    target = _TARGETS.get(intent.status)
    if not _moves_forward(payment, target):
        return
    if target is CardPaymentStatus.REQUIRES_ACTION and payment.kind is CardPaymentKind.CHARGE:
        # Off-session and the bank wants the card holder: a failure they must act on.
        fail_payment(payment, Outcome(AttemptState.FAILED, code="authentication_required"))
    elif target is CardPaymentStatus.FAILED:
        error = stripe_api.field(intent, "last_payment_error")
        fail_payment(
            payment,
            Outcome(AttemptState.FAILED, code=stripe_api.field(error, "code"), decline_code=stripe_api.field(error, "decline_code")),
        )
    elif target is CardPaymentStatus.REQUIRES_ACTION:
        payment.status = target
    elif target is CardPaymentStatus.AUTHORISED:
        _authorised(payment)
    elif target is CardPaymentStatus.CANCELLED:
        _released(payment)
    else:
        _captured(payment, intent, captured_pence)


def _moves_forward(payment: CardPayment, target: CardPaymentStatus | None) -> bool:
    """Whether Stripe's news moves the payment on (states never move back)."""
    if target is None or payment.status is CardPaymentStatus.CAPTURED:
        return False
    if payment.status is CardPaymentStatus.CANCELLED:
        # Over, except a reservation we gave up because Stripe would not release it: if it
        # was taken after all, that money is recorded (and refunded if the visit was paid).
        return target is CardPaymentStatus.CAPTURED and payment.failure_code == "cancel_refused"
    return RANK[target] > RANK[payment.status]


def _authorised(payment: CardPayment) -> None:
    """The money is reserved on the card: held in the ledger, or (if it is not needed) to be
    cancelled by the next round of card work."""
    visit = db.session.get(BookingVisit, payment.visit_id)
    booking = db.session.get(Booking, payment.booking_id)
    card = payment.card
    if payment.status is CardPaymentStatus.FAILED and _other_open_payment(payment) is not None:
        # A late authorisation of a payment we had given up, while another payment for
        # the visit is under way: it is not needed, so it is cancelled (never captured).
        ensure_attempt(payment, AttemptOperation.CANCEL)
        return
    held = ledger.place_hold(
        visit_id=visit.id,
        source=card_account(card),
        hold=ledger.hold_account(booking),
        amount_pence=payment.amount_pence,
        key=f"card-payment:{payment.id}:hold",
        actor=Actor.system("card payments"),
        memo=f"Authorised on {card.description} for {booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})",
    )
    payment.hold_id = held.id
    payment.status = CardPaymentStatus.AUTHORISED
    if visit.status is VisitStatus.SCHEDULED:
        bookings.try_move_visit(visit, (VisitStatus.SCHEDULED,), VisitStatus.HELD)
    if not _authorisation_needed(visit):
        # The visit was cancelled or declined (or paid another way) before the
        # authorisation reached us: it stands, and nothing may stay reserved on the card.
        # The reservation is recorded as it is, and its cancellation too, for the next
        # round of card work (the cancelling step's own, or `flask payments retry`).
        ensure_attempt(payment, AttemptOperation.CANCEL)


def _released(payment: CardPayment) -> None:
    visit = db.session.get(BookingVisit, payment.visit_id)
    booking = db.session.get(Booking, payment.booking_id)
    release_payment_hold(
        payment,
        Actor.system("card payments"),
        f"Released from {payment.card.description}: {booking.reference} visit on {format_datetime(visit.starts_at)} not going ahead",
    )
    payment.status = CardPaymentStatus.CANCELLED


def _captured(payment: CardPayment, intent, captured_pence: int) -> None:
    """The card paid ``amount``: to the provider as far as the visit still owes it, the rest
    back to the card automatically."""
    visit = db.session.get(BookingVisit, payment.visit_id)
    booking = db.session.get(Booking, payment.booking_id)
    amount = captured_pence if payment.kind is CardPaymentKind.AUTHORISE else payment.amount_pence
    received = stripe_api.field(intent, "amount_received")
    if isinstance(received, int) and 0 < received <= payment.amount_pence:
        amount = received
    # A payment we had recorded as failed can still succeed later (the card holder passed
    # their bank's check after all). If the visit was paid meanwhile ("Pay now"), only what
    # is still due goes to the provider; the rest is refunded to the card automatically.
    to_provider = min(amount, max(0, amounts.amount_due(visit) - amounts.paid_by_others(payment)))
    _post_capture(payment, visit, booking, amount=amount, to_provider=to_provider)
    payment.status = CardPaymentStatus.CAPTURED
    payment.captured_pence = amount
    if to_provider < amount:
        # More than is owed now (the visit was paid another way, or cancelled or declined
        # meanwhile): the rest goes back to the card, automatically.
        duplicates.refund_duplicate(payment, booking, visit, amount - to_provider)
    if visit.status is VisitStatus.UNPAID and to_provider:
        paid = VisitStatus.DELIVERED if visit.delivered_units is not None else VisitStatus.LATE_CANCELLED
        if bookings.try_move_visit(visit, (VisitStatus.UNPAID,), paid):
            bookings.record_event(
                booking, "paid", f"{format_pence(amount)} paid by card for the visit on {format_datetime(visit.starts_at)}", None
            )
    elif visit.status is VisitStatus.SCHEDULED:
        # Paid before delivery: only by a webhook racing the booking.
        bookings.try_move_visit(visit, (VisitStatus.SCHEDULED,), VisitStatus.HELD)


def _post_capture(payment: CardPayment, visit: BookingVisit, booking: Booking, *, amount: int, to_provider: int) -> None:
    """The reservation (if any) goes back to the card and the charge is taken, as a card
    statement shows them: so the card's account tells its whole story. Then what is owed
    passes on to the provider."""
    card = payment.card
    actor = Actor.system("card payments")
    memo = f"{booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})"
    release_payment_hold(payment, actor, f"Reservation on {card.description} ended: the payment was taken. {memo}")
    ledger.post(
        TransactionKind.CARD_PAYMENT,
        [(card_account(card), -amount), (clearing_account(), amount)],
        key=f"card-payment:{payment.id}:charged",
        cause=("booking_visit", visit.id),
        actor=actor,
        memo=f"Charged to {card.description}: {memo}",
    )
    if to_provider:
        ledger.post(
            TransactionKind.CAPTURE,
            [(clearing_account(), -to_provider), (ledger.provider_payable_account(booking.provider), to_provider)],
            key=f"card-payment:{payment.id}:to-provider",
            cause=("booking_visit", visit.id),
            actor=actor,
            memo=f"Paid by card: {memo}",
        )


def _authorisation_needed(visit: BookingVisit) -> bool:
    """Whether a reservation on the card still has a use: the visit is coming up, or it was
    delivered (or cancelled late) and not paid yet, so the reservation is to be captured."""
    if visit.status.is_upcoming:
        return True
    return visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED) and amounts.amount_owed(visit) > 0


def _other_open_payment(payment: CardPayment) -> CardPayment | None:
    return (
        db.session.execute(
            select(CardPayment).where(
                CardPayment.visit_id == payment.visit_id,
                CardPayment.id != payment.id,
                CardPayment.status.in_([CardPaymentStatus.STARTED, CardPaymentStatus.REQUIRES_ACTION, CardPaymentStatus.AUTHORISED]),
            )
        )
        .scalars()
        .first()
    )
