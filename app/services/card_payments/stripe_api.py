"""Talking to Stripe: the ONLY module in the app that imports ``stripe``.

The client (with our timeouts and no automatic retries), making one request and turning
Stripe's errors into ours, reading fields of Stripe objects and errors, and checking the
signature of a webhook. Every request goes through ``call``, which reaches the client as
``client()`` here, so replacing ``stripe_api.client`` replaces it for every request."""

from __future__ import annotations

import logging
from typing import Any

import stripe
from flask import current_app

from app.services.card_payments import declines, leases, settings
from app.services.card_payments.errors import ProcessorRefused, ProcessorUnavailable, WebhookRejected

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Stripe's largest page


def client() -> stripe.StripeClient:
    settings.require_configured()
    config = current_app.config
    options: dict[str, Any] = {}
    if config.get("STRIPE_API_BASE"):
        options["base_addresses"] = {"api": config["STRIPE_API_BASE"]}
    http_client = stripe.RequestsClient(timeout=(settings.STRIPE_CONNECT_TIMEOUT, settings.STRIPE_READ_TIMEOUT))
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"], max_network_retries=settings.STRIPE_NETWORK_RETRIES, http_client=http_client, **options
    )


def call(request):
    """Make one request to Stripe. An unknown outcome (network, 5xx, rate limit, our key
    refused) raises ProcessorUnavailable: a retry settles it. Any other Stripe error is a
    definite answer and raises ProcessorRefused, which callers turn into a clear outcome
    (never a stray exception, so never an error page)."""
    leases.renew_if_short()
    try:
        return request(client())
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise ProcessorUnavailable("We could not reach the card processor. Nothing has been lost: we will try again.") from exc
    except stripe.APIError as exc:
        raise ProcessorUnavailable("The card processor had a problem. Nothing has been lost: we will try again.") from exc
    except stripe.AuthenticationError as exc:
        log.error("Stripe rejected our API key: check STRIPE_SECRET_KEY")
        raise ProcessorUnavailable("Card payments are not working at the moment. Try again later.") from exc
    except stripe.CardError as exc:
        raise ProcessorRefused(declines.decline_message(exc.code, decline_code(exc), None), exc) from exc
    except stripe.StripeError as exc:
        log.warning("Stripe refused a request: %s (%s)", type(exc).__name__, getattr(exc, "code", None))
        raise ProcessorRefused(
            "The card processor refused this request, so nothing has been charged. Try again, or contact the council if it happens again.",
            exc,
        ) from exc


def field(obj, name: str, default=None):
    """A field of a Stripe object (or a plain dict), or ``default`` if it is absent."""
    if obj is None:
        return default
    try:
        # A StripeObject answers `in` and `[]` but refuses `.get`.
        return obj[name] if name in obj else default  # noqa: SIM401
    except (KeyError, TypeError):
        return default


# Reading a Stripe error (the ``error`` of a ProcessorRefused).


def error_code(exc: stripe.StripeError) -> str | None:
    error = getattr(exc, "error", None)
    return getattr(exc, "code", None) or (error.code if error else None)


def decline_code(exc: stripe.StripeError) -> str | None:
    error = getattr(exc, "error", None)
    return getattr(error, "decline_code", None) if error else None


def error_message(exc: stripe.StripeError) -> str:
    return getattr(exc, "user_message", None) or str(exc)


def declined_by_bank(exc: stripe.StripeError) -> bool:
    """The bank refused the card (not the card processor refusing our request)."""
    return isinstance(exc, stripe.CardError)


# Webhooks.


def verify_webhook_signature(payload: bytes, signature_header: str | None, secret: str) -> None:
    """Raise WebhookRejected unless the payload is signed with our endpoint's secret."""
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature_header or "", secret, stripe.Webhook.DEFAULT_TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected("The signature does not match") from exc


def payment_intent_from(obj: dict) -> stripe.PaymentIntent:
    """A PaymentIntent from the object of an event (read as Stripe sent it, never fetched)."""
    return stripe.PaymentIntent.construct_from(obj, None)
