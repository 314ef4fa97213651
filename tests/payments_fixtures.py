"""Card payment fixtures: localstripe (a fake, stateful Stripe server) started once for the
test session on a free loopback port, and helpers that do what Stripe.js does in the
browser and sign webhooks exactly as Stripe does."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.request

import pytest

from app.models import FundingRoute

PUBLISHABLE_KEY = "pk_test_marketplace"
SECRET_KEY = "sk_test_marketplace"
WEBHOOK_SECRET = "whsec_test_marketplace"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"  # declined when it is saved
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
DECLINED_ON_CHARGE_CARD = "4000000000000341"  # saves, then every charge is declined


def localstripe_required() -> bool:
    """In CI (``REQUIRE_LOCALSTRIPE=1``, or ``CI=1``) a missing localstripe fails the card
    tests instead of skipping them, so they can never pass by not running."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes") for name in ("REQUIRE_LOCALSTRIPE", "CI"))


def import_localstripe_or_skip():
    try:
        import localstripe  # noqa: F401
    except ImportError as exc:
        if localstripe_required():
            pytest.fail(f"localstripe is required here (REQUIRE_LOCALSTRIPE/CI is set) but cannot be imported: {exc}", pytrace=False)
        pytest.skip("localstripe is a development dependency: make setup-dev")


@pytest.fixture(scope="session")
def localstripe():
    import_localstripe_or_skip()
    from tools.localstripe_loopback import LoopbackStripe

    server = LoopbackStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_app(app, localstripe):
    """The app configured for card payments against localstripe."""
    app.config.update(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe.url,
    )
    return app


def stripe_js_confirm_setup(base_url: str, setup, number: str) -> tuple[int, dict]:
    """What Stripe.js's confirmCardSetup sends from the browser (with the publishable key)."""
    intent_id = setup.stripe_setup_intent_id
    body = json.dumps(
        {
            "key": PUBLISHABLE_KEY,
            "use_stripe_sdk": True,
            "client_secret": setup.client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
                "billing_details": {"address": {"postal_code": "PE1 1AA"}},
            },
        }
    ).encode()
    request = urllib.request.Request(f"{base_url}/v1/setup_intents/{intent_id}/confirm", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def save_card(stripe_app, localstripe):
    """Save a card for a payer the way the browser journey does."""
    from app.services import card_payments

    def save(payer, number: str = GOOD_CARD, route: FundingRoute = FundingRoute.SELF_FUNDER):
        setup = card_payments.start_card_setup(payer)
        stripe_js_confirm_setup(localstripe.url, setup, number)
        return card_payments.finish_card_setup(setup.public_id, payer=payer, route=route)

    return save


def stripe_get(base_url: str, path: str) -> dict:
    request = urllib.request.Request(f"{base_url}{path}", headers={"Authorization": f"Bearer {SECRET_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def sign_webhook(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<unix time>,v1=<HMAC-SHA256 of "t.payload" with the secret>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"
