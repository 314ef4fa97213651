"""What one attempt's request to Stripe came to (an ``Outcome``), as its recording reads it:
from a Stripe error, or from a refund as Stripe shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.models import AttemptState, RefundStatus
from app.services.card_payments import stripe_api

# What Stripe's refund statuses mean to us: only "succeeded" moves money to the card.
REFUND_SETTLED = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED, "canceled": RefundStatus.FAILED}


@dataclass
class Outcome:
    state: AttemptState
    intent: Any = None  # the PaymentIntent as Stripe last showed it
    refund: Any = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    declined: bool = True  # the bank refused the card (not the card processor refusing our request)


def failure(exc, **extra) -> Outcome:
    """A failed outcome from Stripe's definite no (``ProcessorRefused.error``)."""
    return Outcome(
        AttemptState.FAILED,
        code=stripe_api.error_code(exc),
        decline_code=stripe_api.decline_code(exc),
        message=stripe_api.error_message(exc),
        declined=stripe_api.declined_by_bank(exc),
        **extra,
    )


def refund_outcome(refund) -> Outcome:
    if REFUND_SETTLED.get(refund.status) is RefundStatus.FAILED:
        return Outcome(AttemptState.FAILED, refund=refund, message=refund_failure_message(refund))
    return Outcome(AttemptState.SUCCEEDED, refund=refund)


def refund_failure_message(refund) -> str:
    reason = stripe_api.field(refund, "failure_reason")
    if reason == "expired_or_canceled_card":
        return "The card has expired or been cancelled, so the bank could not take the refund."
    if reason == "lost_or_stolen_card":
        return "The card was reported lost or stolen, so the bank could not take the refund."
    return "The card processor could not make the refund."
