"""Card payment settings: whether Stripe is configured, its keys and where Stripe.js is
loaded from, and the timing every request to Stripe and every attempt's lease must keep."""

from __future__ import annotations

import datetime as dt

from flask import current_app

from app.services.card_payments.errors import CardPaymentsNotConfigured

CURRENCY = "gbp"
# Stripe keeps an online card authorisation for 7 days: authorise visits that start within
# 5, leaving two days for the provider to record the visit before it lapses.
AUTHORISE_WITHIN = dt.timedelta(days=5)
LEASE = dt.timedelta(seconds=60)  # how long one process may work on an attempt
WAIT_FOR_OTHER = 15.0  # seconds a double submission waits for the first to finish
# Every request to Stripe gives up well inside a lease, so a slow request can never outlive
# the lease of the attempt it belongs to (and a second worker repeat it). The Stripe library
# would otherwise wait 80 seconds. Before each request the lease is renewed if less than one
# request's worst case is left (``leases.renew_if_short``).
STRIPE_CONNECT_TIMEOUT = 5.0  # seconds
STRIPE_READ_TIMEOUT = 15.0  # seconds
STRIPE_NETWORK_RETRIES = 0  # no automatic retries: a retry is a decision made with our own attempt record
CALL_BUDGET = dt.timedelta(seconds=(STRIPE_CONNECT_TIMEOUT + STRIPE_READ_TIMEOUT) * (STRIPE_NETWORK_RETRIES + 1))


def check_timing(lease: dt.timedelta = LEASE, call_budget: dt.timedelta = CALL_BUDGET) -> None:
    """A lease must outlast one request to Stripe at its slowest (every timeout, every retry);
    otherwise a second worker could take the attempt over while the first one's request is
    still in flight and send it again. Checked when this module is loaded (start-up)."""
    if lease <= call_budget:
        raise RuntimeError(
            f"card payments: the attempt lease ({lease.total_seconds():.0f}s) must be longer than one Stripe request "
            f"can take ({call_budget.total_seconds():.0f}s: timeouts x (network retries + 1))"
        )
    if dt.timedelta(seconds=WAIT_FOR_OTHER) >= lease:
        raise RuntimeError("card payments: a double submission must give up waiting before the lease ends")


check_timing()


def is_configured() -> bool:
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"))


def require_configured() -> None:
    if not is_configured():
        raise CardPaymentsNotConfigured()


def publishable_key() -> str:
    require_configured()
    return current_app.config["STRIPE_PUBLISHABLE_KEY"]


def webhook_secret() -> str | None:
    """The signing secret of our webhook endpoint (None if unset)."""
    return current_app.config.get("STRIPE_WEBHOOK_SECRET")


def stripe_js_url() -> str:
    """Where the browser loads Stripe.js (localstripe serves a look-alike in the demo)."""
    base = current_app.config.get("STRIPE_API_BASE")
    return f"{base}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"
