"""Stripe's webhooks: verify each event, record its id once, and apply it. A webhook never
asks Stripe anything (so it answers fast), and only ever moves a payment or a refund forward,
so a replayed or late event changes nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import AttemptOperation, CardPayment, CardRefund, PaymentAttempt, StripeEvent
from app.services.card_payments import locks, notices, settings, stripe_api
from app.services.card_payments.errors import CardPaymentsNotConfigured, WebhookRejected
from app.services.card_payments.intents import apply_intent
from app.services.card_payments.refund_results import apply_refund_status

REFUND_EVENTS = ("charge.refund.updated", "refund.created", "refund.updated", "refund.failed")


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    duplicate: bool
    outcome: str


def handle_webhook(payload: bytes, signature_header: str | None) -> WebhookResult:
    """Verify, record once, and apply one Stripe event. Never asks Stripe anything, so it
    answers fast; state only moves forward, so replays and late events change nothing."""
    secret = settings.webhook_secret()
    if not secret:
        raise CardPaymentsNotConfigured()
    stripe_api.verify_webhook_signature(payload, signature_header, secret)
    try:
        event = json.loads(payload)
        event_id, event_type, created = event["id"], event["type"], int(event.get("created") or 0)
        obj = event["data"]["object"]
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected("Not a Stripe event") from exc
    problem = _malformed(event_id, event_type, created, obj)
    if problem:
        # Signed, so it came from Stripe, but not an event we can act on: recorded (under a
        # name that fits) and ignored, so Stripe does not send it again and again.
        event_id, event_type, created, obj = _safe_id(event_id), _safe_text(event_type, 120), 0, {}
    object_id = obj.get("id") if isinstance(obj, dict) else None
    try:
        with write_transaction():
            db.session.add(StripeEvent(event_id=event_id, event_type=event_type, object_id=object_id, stripe_created=created))
            db.session.flush()
            outcome = f"ignored: {problem}" if problem else _apply_event(event_type, obj)
            db.session.execute(update(StripeEvent.__table__).where(StripeEvent.__table__.c.event_id == event_id).values(outcome=outcome))
    except IntegrityError:
        db.session.rollback()
        recorded = db.session.execute(select(StripeEvent).where(StripeEvent.event_id == event_id)).scalar_one()
        return WebhookResult(event_id, True, recorded.outcome)
    notices.send_queued()
    return WebhookResult(event_id, False, outcome)


MAX_ID = 255  # stripe_events.event_id and object_id
MAX_CREATED = 2**63 - 1


def _malformed(event_id, event_type, created, obj) -> str | None:
    """Why a signed event cannot be applied, or None."""
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not 0 <= created <= MAX_CREATED:
        return "its id, type or time is not what Stripe sends"
    if len(event_id) > MAX_ID or len(event_type) > 120:
        return "its id or type is too long"
    if not isinstance(obj, dict):
        return "data.object is not an object"
    if isinstance(obj.get("id"), str) and len(obj["id"]) > MAX_ID:
        return "its object's id is too long"
    if _holds_nul([event_id, event_type, obj]):
        return "it holds a NUL character"
    return None


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _safe_id(value) -> str:
    """An event id that fits the column: the id itself, or a digest of a malformed one."""
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) <= MAX_ID and "\x00" not in text:
        return text
    return "malformed:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _safe_text(value, limit: int) -> str:
    return (value if isinstance(value, str) else str(value)).replace("\x00", "")[:limit]


def _apply_event(event_type: str, obj: dict) -> str:
    if event_type in REFUND_EVENTS:
        return _apply_refund_event(obj)
    if event_type == "charge.captured":
        # A capture made outside the app (the Stripe dashboard) may come as this event
        # alone: it means what "payment_intent.succeeded" means for the charge's intent,
        # and is applied the same way (so whichever comes second changes nothing).
        obj = _intent_of_captured_charge(obj)
        if obj is None:
            return "ignored: not a captured charge of a payment intent"
    elif not event_type.startswith("payment_intent."):
        return "ignored: not a payment intent or refund event"
    intent = stripe_api.payment_intent_from(obj)
    payment_id = db.session.execute(select(CardPayment.id).where(CardPayment.stripe_payment_intent_id == intent.id)).scalar_one_or_none()
    if payment_id is None:
        key = (obj.get("metadata") or {}).get("marketplace_attempt")
        attempt = db.session.execute(select(PaymentAttempt).where(PaymentAttempt.key == key)).scalar_one_or_none() if key else None
        if attempt is None:
            return "ignored: not one of our payments"
        payment_id = attempt.card_payment_id
    # The booking, its visits, then the payment: a cancellation of the same visit at the
    # same moment goes wholly before or wholly after this event, never half-way.
    payment = locks.lock_payment(payment_id)
    if payment.stripe_payment_intent_id not in (None, intent.id):
        return "ignored: an earlier, superseded payment intent"
    before = payment.status
    captured = payment.amount_pence
    capture = db.session.execute(
        select(PaymentAttempt).where(PaymentAttempt.card_payment_id == payment.id, PaymentAttempt.operation == AttemptOperation.CAPTURE)
    ).scalar_one_or_none()
    if capture is not None:
        captured = capture.amount_pence
    apply_intent(payment, intent, captured_pence=captured)
    if payment.status is before:
        return f"no change: payment {payment.public_id} is {payment.status.value}"
    return f"payment {payment.public_id}: {before.value} -> {payment.status.value}"


def _intent_of_captured_charge(charge: dict) -> dict | None:
    """What a captured charge says of its PaymentIntent (read from the event, never fetched):
    it succeeded, having taken what the charge captured."""
    if charge.get("object") != "charge" or charge.get("captured") is not True:
        return None
    intent_id = charge.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    if not isinstance(intent_id, str) or not intent_id:
        return None
    received = charge.get("amount_captured")
    if not isinstance(received, int) or isinstance(received, bool):
        received = charge.get("amount")
    metadata = charge.get("metadata") if isinstance(charge.get("metadata"), dict) else {}
    return {"id": intent_id, "object": "payment_intent", "status": "succeeded", "amount_received": received, "metadata": metadata}


def _apply_refund_event(obj: dict) -> str:
    """A refund's status from Stripe: only "succeeded" moves money to the card; "failed" or
    "canceled" gives it back where it came from (reversing the refund if it had succeeded)."""
    if not isinstance(obj, dict) or obj.get("object") != "refund":
        return "ignored: not a refund"
    refund = _our_refund(obj)
    if refund is None:
        return "ignored: not one of our refunds"
    refund = locks.lock_refund(refund.id)  # locks first, then writes
    if refund.stripe_refund_id is None:
        refund.stripe_refund_id = obj.get("id")
    elif refund.stripe_refund_id != obj.get("id"):
        return "ignored: not one of our refunds"
    return apply_refund_status(refund, obj)


def _our_refund(obj) -> CardRefund | None:
    """Which of our refunds a Stripe refund is (by its id, or the public id we put in its
    metadata before Stripe told us its id). Reads only."""
    refund = db.session.execute(select(CardRefund).where(CardRefund.stripe_refund_id == obj.get("id"))).scalar_one_or_none()
    if refund is None:
        metadata = obj.get("metadata") or {}
        public_id = metadata.get("marketplace_refund")
        refund = db.session.execute(select(CardRefund).where(CardRefund.public_id == public_id)).scalar_one_or_none() if public_id else None
        if refund is None or refund.stripe_refund_id not in (None, obj.get("id")):
            return None
        # A refund asked for again (after the card processor refused it) is its latest
        # attempt's: news of the earlier, refused request is not news of this one.
        latest = db.session.execute(
            select(PaymentAttempt.key).where(PaymentAttempt.refund_id == refund.id).order_by(PaymentAttempt.id.desc()).limit(1)
        ).scalar_one_or_none()
        if latest is not None and metadata.get("marketplace_attempt") not in (None, latest):
            return None
    return refund
