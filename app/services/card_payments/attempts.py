"""Running one recorded attempt exactly once, whoever calls and however often: claim its
lease, find out what an earlier unrecorded try did at Stripe (and ask again only if it did
nothing), make the request, and record the outcome."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import select, update

from app.database import write_transaction
from app.extensions import db
from app.models import AttemptOperation, AttemptState, Booking, CardCustomer, CardPayment, CardPaymentKind, CardRefund, PaymentAttempt
from app.services.card_payments import leases, notices, recording, settings, stripe_api
from app.services.card_payments.errors import PaymentInProgress, ProcessorRefused, ProcessorUnavailable
from app.services.card_payments.outcomes import Outcome, failure, refund_outcome

LOOK_BACK = dt.timedelta(minutes=10)  # clock skew allowed when looking for an earlier request


def run_attempt(attempt_id: int, *, wait: bool = True) -> PaymentAttempt:
    """Carry out one recorded attempt exactly once, whoever calls and however often."""
    deadline = time.monotonic() + settings.WAIT_FOR_OTHER
    while True:
        db.session.rollback()
        attempt = db.session.get(PaymentAttempt, attempt_id)
        db.session.refresh(attempt)
        if attempt.state is not AttemptState.STARTED:
            return attempt
        claimed = leases.claim(attempt_id)
        if claimed is not None:
            token, claimed_until = claimed
            break
        if not wait or time.monotonic() > deadline:
            raise PaymentInProgress("This payment is being processed. Wait a moment, then refresh the page.")
        time.sleep(0.1)
    leases.begin(attempt_id, token, claimed_until)
    try:
        attempt = db.session.get(PaymentAttempt, attempt_id)
        db.session.refresh(attempt)
        try:
            outcome = _perform(attempt)
        except leases.LeaseLost:
            db.session.rollback()
            raise PaymentInProgress("This payment is being processed. Wait a moment, then refresh the page.") from None
        finally:
            leases.end()
        recording.record(attempt.id, token, outcome)
    finally:
        leases.drop(attempt_id, token)
    notices.send_queued()
    return db.session.get(PaymentAttempt, attempt_id)


def _idempotency_key(attempt: PaymentAttempt, payment: CardPayment) -> str:
    """Derived from our operation; the payment's random public id keeps it unique across
    databases that share one Stripe account (staging and live, or test runs)."""
    return f"marketplace:{payment.public_id}:{attempt.key}"


def _perform(attempt: PaymentAttempt) -> Outcome:
    payment = db.session.get(CardPayment, attempt.card_payment_id)
    operation = {
        AttemptOperation.PAY: _perform_pay,
        AttemptOperation.CAPTURE: _perform_capture,
        AttemptOperation.CANCEL: _perform_cancel,
        AttemptOperation.REFUND: _perform_refund,
    }[attempt.operation]
    try:
        return operation(attempt, payment, earlier_try=attempt.tries > 1)
    except ProcessorRefused as exc:
        # A definite refusal of any request the operation made (a lookup included): the
        # attempt is finished as failed, and the card work moves on from there.
        return failure(exc.error)


# Paying -----------------------------------------------------------------------------------------


def _perform_pay(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> Outcome:
    card = payment.card
    customer_id = db.session.execute(select(CardCustomer.stripe_customer_id).where(CardCustomer.user_id == card.owner_id)).scalar_one()
    if earlier_try or payment.stripe_payment_intent_id:
        found = _find_earlier_intent(attempt, payment, customer_id)
        if found is not None:
            _remember_intent(attempt.id, payment.id, found)
            return _pay_outcome(found)
    booking = db.session.get(Booking, payment.booking_id)
    params: dict[str, Any] = {
        "amount": payment.amount_pence,
        "currency": settings.CURRENCY,
        "customer": customer_id,
        "payment_method": card.stripe_payment_method_id,
        "payment_method_types": ["card"],
        "capture_method": "manual" if payment.kind is CardPaymentKind.AUTHORISE else "automatic",
        "confirm": True,
        "metadata": {
            "marketplace_attempt": attempt.key,
            "marketplace_payment": payment.public_id,
            "booking": booking.reference,
        },
    }
    if payment.kind is CardPaymentKind.CHARGE:
        params["off_session"] = True  # the card holder is not here: a merchant-initiated charge
    intent = stripe_api.call(
        lambda c: c.v1.payment_intents.create(params=params, options={"idempotency_key": _idempotency_key(attempt, payment)})
    )
    _remember_intent(attempt.id, payment.id, intent)
    return _pay_outcome(intent)


def _remember_intent(attempt_id: int, payment_id: int, intent) -> None:
    """Commit the PaymentIntent's id (and its card secret) the moment Stripe names it, on its
    own: a crash before the outcome is recorded then finds the intent by its id, even one
    that has no charge yet (waiting for the card holder's bank, or still processing), and
    never creates a second one. First come stands (a conditional update)."""
    db.session.rollback()
    payments, attempts = CardPayment.__table__, PaymentAttempt.__table__
    with write_transaction():
        db.session.execute(
            update(payments)
            .where(payments.c.id == payment_id, payments.c.stripe_payment_intent_id.is_(None))
            .values(stripe_payment_intent_id=intent.id, client_secret=stripe_api.field(intent, "client_secret"))
        )
        db.session.execute(
            update(attempts).where(attempts.c.id == attempt_id, attempts.c.stripe_object_id.is_(None)).values(stripe_object_id=intent.id)
        )


def _pay_outcome(intent) -> Outcome:
    """A payment Stripe is still processing is no answer yet: the attempt stays open (its
    intent id is kept), and the next round of card work or `flask payments retry` reads the
    intent again, never charging beside it, until the bank answers."""
    if intent.status == "processing":
        raise ProcessorUnavailable("The card processor is still working on this payment. Nothing has been lost: we will look again.")
    return Outcome(AttemptState.SUCCEEDED, intent=intent)


def _find_earlier_intent(attempt: PaymentAttempt, payment: CardPayment, customer_id: str):
    """What an earlier, unrecorded try of this attempt did at Stripe, if anything.

    Every charge of the customer since the attempt was recorded is looked at, page after
    page (a busy payer can have more than one page of them), so an earlier request that
    did charge the card is always found and never sent again."""
    if payment.stripe_payment_intent_id:
        return stripe_api.call(lambda c: c.v1.payment_intents.retrieve(payment.stripe_payment_intent_id))
    since = int((attempt.created_at - LOOK_BACK).timestamp())
    params: dict[str, Any] = {"customer": customer_id, "created": {"gt": since}, "limit": stripe_api.PAGE_SIZE}
    seen: set[str] = set()
    while True:
        page = stripe_api.call(lambda c: c.v1.charges.list(params=dict(params)))
        for charge in page.data:
            intent_id = (
                charge.payment_intent
                if isinstance(charge.payment_intent, str) or charge.payment_intent is None
                else charge.payment_intent.id
            )
            # Only a charge of our amount can be ours: look no further at the others.
            if not intent_id or intent_id in seen or stripe_api.field(charge, "amount") != payment.amount_pence:
                continue
            seen.add(intent_id)
            intent = stripe_api.call(lambda c, intent_id=intent_id: c.v1.payment_intents.retrieve(intent_id))
            metadata = stripe_api.field(intent, "metadata")
            if (
                stripe_api.field(metadata, "marketplace_attempt") == attempt.key
                and stripe_api.field(metadata, "marketplace_payment") == payment.public_id
            ):
                return intent
        if not stripe_api.field(page, "has_more") or not page.data:
            return None
        params["starting_after"] = page.data[-1].id


# Capturing and cancelling an authorisation ------------------------------------------------------


def _perform_capture(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> Outcome:
    """Take the reserved money. We look at the authorisation first: one that lapsed or was
    cancelled is never sent a capture (the visit is charged to the card instead)."""
    intent_id = payment.stripe_payment_intent_id
    intent = stripe_api.call(lambda c: c.v1.payment_intents.retrieve(intent_id))
    if intent.status != "requires_capture":
        return _intent_outcome_for_capture(intent)
    try:
        intent = stripe_api.call(
            lambda c: c.v1.payment_intents.capture(
                intent_id,
                params={"amount_to_capture": attempt.amount_pence},
                options={"idempotency_key": _idempotency_key(attempt, payment)},
            )
        )
    except ProcessorRefused as exc:
        # Refused: look at the intent itself (it may have lapsed meanwhile). One still
        # waiting to be captured is cancelled and the visit charged instead (the next round
        # of card work).
        intent = stripe_api.call(lambda c: c.v1.payment_intents.retrieve(intent_id))
        if intent.status == "requires_capture":
            return failure(exc.error, intent=intent)
        return _intent_outcome_for_capture(intent)
    return _intent_outcome_for_capture(intent)


def _intent_outcome_for_capture(intent) -> Outcome:
    if intent.status == "succeeded":
        return Outcome(AttemptState.SUCCEEDED, intent=intent)
    if intent.status == "processing":  # not settled yet: look again later, never charge beside it
        raise ProcessorUnavailable("The card processor is still working on this payment. Nothing has been lost: we will look again.")
    return Outcome(AttemptState.FAILED, intent=intent, code="authorisation_lapsed", message="The authorisation on the card has lapsed.")


def _perform_cancel(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> Outcome:
    intent_id = payment.stripe_payment_intent_id
    if intent_id is None:
        return Outcome(AttemptState.SUCCEEDED)  # nothing was ever reserved at Stripe
    try:
        intent = stripe_api.call(lambda c: c.v1.payment_intents.retrieve(intent_id))
    except ProcessorRefused as exc:
        if exc.missing:
            return Outcome(AttemptState.SUCCEEDED)  # no such authorisation: nothing is reserved
        raise
    if intent.status in ("canceled", "succeeded", "requires_payment_method"):
        return Outcome(AttemptState.SUCCEEDED if intent.status != "succeeded" else AttemptState.FAILED, intent=intent)
    try:
        intent = stripe_api.call(
            lambda c: c.v1.payment_intents.cancel(intent_id, options={"idempotency_key": _idempotency_key(attempt, payment)})
        )
    except ProcessorRefused as exc:
        return failure(exc.error, intent=stripe_api.call(lambda c: c.v1.payment_intents.retrieve(intent_id)))
    return Outcome(AttemptState.SUCCEEDED, intent=intent)


# Refunding ----------------------------------------------------------------------------------------


def _perform_refund(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> Outcome:
    """Ask Stripe for the refund. Its answer may be "pending": the request is made (the
    attempt succeeded) but the refund itself stays PENDING until Stripe says it succeeded."""
    intent_id = payment.stripe_payment_intent_id
    refund_row = db.session.get(CardRefund, attempt.refund_id)
    if earlier_try:
        found = _find_earlier_refund(attempt, intent_id, refund_row)
        if found is not None:
            return refund_outcome(found)
    try:
        refund = stripe_api.call(
            lambda c: c.v1.refunds.create(
                params={
                    "payment_intent": intent_id,
                    "amount": attempt.amount_pence,
                    "metadata": {"marketplace_attempt": attempt.key, "marketplace_refund": refund_row.public_id},
                },
                options={"idempotency_key": _idempotency_key(attempt, payment)},
            )
        )
    except ProcessorRefused as exc:
        return failure(exc.error)
    return refund_outcome(refund)


def _find_earlier_refund(attempt: PaymentAttempt, intent_id: str, refund_row: CardRefund):
    """The refund an earlier, unrecorded try of this attempt made at Stripe, if any (every
    page of the payment's refunds is looked at)."""
    params: dict[str, Any] = {"payment_intent": intent_id, "limit": stripe_api.PAGE_SIZE}
    while True:
        existing = stripe_api.call(lambda c: c.v1.refunds.list(params=dict(params)))
        for refund in existing.data:
            metadata = stripe_api.field(refund, "metadata")
            if (
                stripe_api.field(metadata, "marketplace_attempt") == attempt.key
                and stripe_api.field(metadata, "marketplace_refund") == refund_row.public_id
            ):
                return refund
        if not stripe_api.field(existing, "has_more") or not existing.data:
            return None
        params["starting_after"] = existing.data[-1].id
