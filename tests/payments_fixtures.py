"""Card payment fixtures: localstripe (a fake, stateful Stripe server) started once for the
test session on a free loopback port, and helpers that do what Stripe.js does in the
browser and sign webhooks exactly as Stripe does."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import time
import urllib.request

import pytest
import stripe

from app.models import FundingRoute, PaymentMethod

PUBLISHABLE_KEY = "pk_test_marketplace"
SECRET_KEY = "sk_test_marketplace"
WEBHOOK_SECRET = "whsec_test_marketplace"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"  # declined when it is saved
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
DECLINED_ON_CHARGE_CARD = "4000000000000341"  # saves, then every charge is declined
THREE_D_SECURE_CARD = "4000002500003155"  # localstripe asks the card holder's bank every time


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


# Booking by card, and Stripe answering as localstripe cannot -----------------------------------


def book_by_card(service, card, *, citizen, booker=None, days=2, units=1, key=None, at="10:00", **extra):
    """A card booking of ``service`` ``days`` from today, made as the checkout makes it."""
    from app.services import bookings
    from app.services.policy import current_policy
    from tests.services.money_helpers import request_for

    request = request_for(
        service,
        None,
        day=dt.date.today() + dt.timedelta(days=days),
        at=at,
        units=units,
        key=key,
        payment_method=PaymentMethod.CARD,
        card_public_id=card.public_id,
        **extra,
    )
    return bookings.create(request, citizen=citizen, booker=booker or citizen, policy=current_policy())


def card_that_asks_the_bank(payer, localstripe):
    """A card whose bank wants the holder for every payment (saved with them passing the
    check): an off-session charge on it needs their confirmation, so it fails at first."""
    from app.services import card_payments

    setup = card_payments.start_card_setup(payer)
    stripe_js_confirm_setup(localstripe.url, setup, THREE_D_SECURE_CARD)
    urllib.request.urlopen(
        urllib.request.Request(
            f"{localstripe.url}/v1/setup_intents/{setup.stripe_setup_intent_id}/confirm",
            data=json.dumps({"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": setup.client_secret}).encode(),
            method="POST",
        )
    ).close()
    return card_payments.finish_card_setup(setup.public_id, payer=payer, route=FundingRoute.SELF_FUNDER)


def holder_confirms_with_their_bank(localstripe, intent_id: str) -> dict:
    """The card holder passes their bank's check (3-D Secure): the payment succeeds."""
    intent = stripe_get(localstripe.url, f"/v1/payment_intents/{intent_id}")
    urllib.request.urlopen(
        urllib.request.Request(
            f"{localstripe.url}/v1/payment_intents/{intent_id}/_authenticate?success=true",
            data=json.dumps({"key": PUBLISHABLE_KEY, "client_secret": intent["client_secret"]}).encode(),
            method="POST",
        )
    ).close()
    done = stripe_get(localstripe.url, f"/v1/payment_intents/{intent_id}")
    assert done["status"] == "succeeded"
    return done


class CrashAfterStripeAnswers:
    """Make the process 'die' after Stripe answered but before our commit, ``times`` times."""

    def __init__(self, monkeypatch, times=1):
        from app.services.card_payments import recording

        self.left = times
        real = recording.record

        def record(attempt_id, token, outcome):
            if self.left:
                self.left -= 1
                raise RuntimeError("crash between the Stripe call and our commit")
            return real(attempt_id, token, outcome)

        monkeypatch.setattr(recording, "record", record)


def client_where(monkeypatch, **replacements):
    """The real client against localstripe, with some of its calls answered as Stripe would
    where localstripe cannot (``replacements``: "payment_intents.capture" -> function(real, *args, **kwargs))."""
    from app.services.card_payments import stripe_api

    real_client = stripe_api.client

    def client():
        c = real_client()
        for name, replacement in replacements.items():
            service_name, method = name.split(".")
            service = getattr(c.v1, service_name)
            real = getattr(service, method)
            setattr(service, method, lambda *args, _real=real, _r=replacement, **kwargs: _r(_real, *args, **kwargs))
        return c

    monkeypatch.setattr(stripe_api, "client", client)


def invalid_request(message: str, code: str, param: str | None = None, status: int = 400):
    body = {"error": {"type": "invalid_request_error", "code": code, "message": message, "param": param}}
    return stripe.InvalidRequestError(message, param, code=code, http_status=status, json_body=body)


def forbidden(real, *args, **kwargs):
    """Stripe refusing our key access (a replacement for ``client_where``)."""
    body = {"error": {"type": "invalid_request_error", "message": "The provided key does not have access to this resource."}}
    raise stripe.PermissionError(body["error"]["message"], http_status=403, json_body=body)


def pending_refunds_at_stripe(monkeypatch):
    """Stripe answers a refund request with status "pending" (the bank has not confirmed it
    yet); localstripe always answers "succeeded", so its real refund is shown as pending."""

    def pending(real, *args, **kwargs):
        made = real(*args, **kwargs).to_dict()
        made["status"] = "pending"
        return stripe.Refund.construct_from(made, None)

    client_where(monkeypatch, **{"refunds.create": pending})
