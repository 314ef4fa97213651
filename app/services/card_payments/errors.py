"""What card payments raise: errors a page shows a person, and the two kinds of answer from
Stripe that are not a success (an unknown outcome, and a definite no)."""

from __future__ import annotations

from app.services.errors import Conflict, DomainError, ValidationError


class CardPaymentsNotConfigured(DomainError):
    def __init__(self):
        super().__init__(
            "Card payments are not set up on this marketplace yet, so you cannot pay by card. "
            "Pay from a personal budget, or contact the council."
        )


class CardDeclined(ValidationError):
    """The card was refused. ``errors["card"]`` says what to do."""

    def __init__(self, message: str):
        super().__init__({"card": message})
        self.message = message


class PaymentInProgress(Conflict):
    """Another request is working on this payment right now."""


class ProcessorUnavailable(DomainError):
    """Stripe could not be reached or answered with an error; the outcome is not known yet
    and will be settled by a retry (``flask payments retry``)."""


class ProcessorRefused(DomainError):
    """Stripe gave a definite no (a declined card, a missing or refused object, a permission
    or idempotency error): asking again with the same request changes nothing.
    ``error`` is Stripe's own error (a ``stripe.StripeError``), ``code`` its code (e.g.
    ``resource_missing``)."""

    def __init__(self, message: str, error: Exception):
        super().__init__(message)
        self.error = error
        self.code = getattr(error, "code", None) or getattr(getattr(error, "error", None), "code", None)
        # The object the request named does not exist (any more) at Stripe.
        self.missing = self.code == "resource_missing" or getattr(error, "http_status", None) == 404


class WebhookRejected(DomainError):
    """The request is not a genuine Stripe event for us."""
