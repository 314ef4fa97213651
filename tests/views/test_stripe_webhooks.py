"""POST /webhooks/stripe: signed exactly as Stripe signs, recorded once, applied only
forwards, so replayed and reordered events change nothing."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from app.extensions import db
from app.models import (
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    LedgerHold,
    PaymentMethod,
    Role,
    StripeEvent,
    VisitStatus,
)
from app.services import bookings, card_payments, ledger
from tests.payments_fixtures import sign_webhook, stripe_get
from tests.services.money_helpers import request_for

pytestmark = pytest.mark.usefixtures("stripe_app")


def event(event_id: str, event_type: str, obj: dict, created: int | None = None) -> bytes:
    return json.dumps(
        {"id": event_id, "object": "event", "type": event_type, "created": created or int(time.time()),
         "livemode": False, "data": {"object": obj}}
    ).encode()


def post(client, payload: bytes, signature: str | None = None):
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = sign_webhook(payload) if signature is None else signature
    return client.post("/webhooks/stripe", data=payload, headers=headers)


@pytest.fixture
def lost_authorisation(make_user, make_service, save_card, monkeypatch, localstripe, policy):
    """A card booking whose authorisation Stripe made but whose outcome we never recorded."""
    citizen = make_user(Role.CITIZEN)
    service = make_service(price_pence=2_000, accepts_self_funder=True)
    card = save_card(citizen)
    real = card_payments._record
    calls = {"n": 0}

    def crash_once(*args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("crash")
        return real(*args)

    monkeypatch.setattr(card_payments, "_record", crash_once)
    request = request_for(service, None, day=dt.date.today() + dt.timedelta(days=2), payment_method=PaymentMethod.CARD,
                          card_public_id=card.public_id)
    with pytest.raises(RuntimeError):
        bookings.create(request, citizen=citizen, booker=citizen, policy=policy)
    monkeypatch.undo()
    intents = [pi for pi in stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"]
               if pi["metadata"].get("marketplace_attempt", "").startswith("visit:")]
    payment = db.session.query(CardPayment).one()
    mine = [pi for pi in intents if pi["metadata"]["marketplace_payment"] == payment.public_id]
    assert payment.status is CardPaymentStatus.STARTED and len(mine) == 1
    return {"payment": payment, "intent": mine[0], "service": service, "citizen": citizen}


def test_a_signed_event_brings_a_payment_forward_and_a_replay_changes_nothing(client, lost_authorisation):
    intent = lost_authorisation["intent"]
    assert intent["status"] == "requires_capture"
    payload = event("evt_auth_1", "payment_intent.amount_capturable_updated", intent)
    response = post(client, payload)
    assert response.status_code == 200 and response.json["duplicate"] is False
    payment = db.session.get(CardPayment, lost_authorisation["payment"].id)
    db.session.refresh(payment)
    assert payment.status is CardPaymentStatus.AUTHORISED
    assert db.session.get(BookingVisit, payment.visit_id).status is VisitStatus.HELD
    assert db.session.query(LedgerHold).count() == 1

    replay = post(client, payload)
    assert replay.status_code == 200 and replay.json["duplicate"] is True
    assert db.session.query(LedgerHold).count() == 1
    assert db.session.query(StripeEvent).count() == 1
    # Our own retry later finds the payment already recorded and asks Stripe nothing new.
    card_payments.retry_unfinished()
    assert db.session.query(LedgerHold).count() == 1
    assert ledger.check() == []


def test_events_arriving_out_of_order_never_move_a_payment_back(client, lost_authorisation, localstripe):
    payment = lost_authorisation["payment"]
    authorised = lost_authorisation["intent"]
    card_payments.retry_unfinished()  # we record the authorisation ourselves
    booking = db.session.get(CardPayment, payment.id).booking
    staff_user = booking.citizen  # any user may stand as the recorder here
    bookings.accept(booking, by=staff_user)
    visit = db.session.get(BookingVisit, payment.visit_id)
    bookings.record_delivery(visit, by=staff_user, now=visit.starts_at + dt.timedelta(hours=1))
    captured = stripe_get(localstripe.url, f"/v1/payment_intents/{authorised['id']}")
    assert captured["status"] == "succeeded"

    newer = post(client, event("evt_2", "payment_intent.succeeded", captured, created=int(time.time())))
    older = post(client, event("evt_1", "payment_intent.amount_capturable_updated", authorised, created=int(time.time()) - 60))
    failed_snapshot = dict(authorised, status="requires_payment_method", last_payment_error={"code": "card_declined"})
    oldest = post(client, event("evt_0", "payment_intent.payment_failed", failed_snapshot, created=int(time.time()) - 120))
    assert [r.status_code for r in (newer, older, oldest)] == [200, 200, 200]
    assert all("no change" in r.json["outcome"] for r in (newer, older, oldest))
    db.session.expire_all()
    payment = db.session.get(CardPayment, payment.id)
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000
    assert ledger.balance(ledger.provider_payable_account(lost_authorisation["service"].provider)) == 2_000
    assert ledger.check() == []


def test_a_late_success_event_for_a_payment_we_lost_is_applied_once(client, lost_authorisation):
    """The webhook may come before our own retry: the payment still moves forward once."""
    intent = lost_authorisation["intent"]
    for event_id in ("evt_a", "evt_b"):  # two different events with the same state
        assert post(client, event(event_id, "payment_intent.amount_capturable_updated", intent)).status_code == 200
    assert db.session.query(LedgerHold).count() == 1
    assert ledger.check() == []


@pytest.mark.parametrize(
    "signature",
    [
        "t=1,v1=0000",  # wrong signature, ancient time
        "",  # none at all
        "garbage",
    ],
)
def test_unsigned_or_badly_signed_events_are_refused(client, signature):
    payload = event("evt_x", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent", "status": "succeeded"})
    response = post(client, payload, signature=signature)
    assert response.status_code == 400 and response.json["error"]["title"] == "Bad request"
    assert db.session.query(StripeEvent).count() == 0


def test_a_signature_with_another_secret_or_a_stale_time_is_refused(client):
    payload = event("evt_y", "payment_intent.succeeded", {"id": "pi_y", "object": "payment_intent", "status": "succeeded"})
    assert post(client, payload, signature=sign_webhook(payload, secret="whsec_someone_else")).status_code == 400
    stale = sign_webhook(payload, timestamp=int(time.time()) - 3600)
    assert post(client, payload, signature=stale).status_code == 400
    # And a body changed after signing.
    signature = sign_webhook(payload)
    assert post(client, payload.replace(b"succeeded", b"canceled"), signature=signature).status_code == 400


def test_events_that_are_not_ours_are_acknowledged_and_ignored(client):
    payload = event("evt_z", "payment_intent.succeeded", {"id": "pi_not_ours", "object": "payment_intent", "status": "succeeded", "metadata": {}})
    response = post(client, payload)
    assert response.status_code == 200 and "not one of our payments" in response.json["outcome"]
    other = post(client, event("evt_c", "customer.created", {"id": "cus_1", "object": "customer"}))
    assert other.status_code == 200 and other.json["outcome"].startswith("ignored")


def test_without_configuration_the_webhook_says_so(client, app):
    app.config.update(STRIPE_SECRET_KEY="", STRIPE_PUBLISHABLE_KEY="", STRIPE_WEBHOOK_SECRET="")
    payload = event("evt_n", "payment_intent.succeeded", {"id": "pi_n"})
    response = post(client, payload)
    assert response.status_code == 503 and response.is_json


def test_only_post_is_allowed_and_answers_are_json(client):
    response = client.get("/webhooks/stripe")
    assert response.status_code == 405 and response.is_json


def test_pages_allow_stripe_js_only_when_cards_are_set_up(client, app, localstripe):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert localstripe.url in policy  # stripe_app: Stripe.js from localstripe, its API for fetch()
    assert "script-src 'self' 'nonce-" in policy and "frame-src 'none'" in policy
    app.config.update(STRIPE_API_BASE="")
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "https://js.stripe.com" in policy and "connect-src 'self' https://api.stripe.com" in policy
    app.config.update(STRIPE_SECRET_KEY="", STRIPE_PUBLISHABLE_KEY="")
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "stripe" not in policy and "127.0.0.1" not in policy
