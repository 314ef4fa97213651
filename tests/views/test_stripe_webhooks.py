"""POST /webhooks/stripe: signed exactly as Stripe signs, recorded once, applied only
forwards, so replayed and reordered events change nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import urllib.request

import pytest
import stripe

from app.extensions import db
from app.models import (
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    FundingRoute,
    LedgerHold,
    PaymentAttempt,
    PaymentMethod,
    RefundStatus,
    Role,
    StripeEvent,
    VisitStatus,
)
from app.services import bookings, card_payments, ledger, ledger_check
from app.services.card_payments import recording, stripe_api
from tests.payments_fixtures import sign_webhook, stripe_get
from tests.services.money_helpers import request_for

pytestmark = pytest.mark.usefixtures("stripe_app")


def event(event_id: str, event_type: str, obj: dict, created: int | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
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
    real = recording.record
    calls = {"n": 0}

    def crash_once(*args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("crash")
        return real(*args)

    monkeypatch.setattr(recording, "record", crash_once)
    request = request_for(
        service, None, day=dt.date.today() + dt.timedelta(days=2), payment_method=PaymentMethod.CARD, card_public_id=card.public_id
    )
    with pytest.raises(RuntimeError):
        bookings.create(request, citizen=citizen, booker=citizen, policy=policy)
    monkeypatch.undo()
    intents = [
        pi
        for pi in stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"]
        if pi["metadata"].get("marketplace_attempt", "").startswith("visit:")
    ]
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
    assert ledger_check.check() == []


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
    assert ledger_check.check() == []


def test_a_late_success_event_for_a_payment_we_lost_is_applied_once(client, lost_authorisation):
    """The webhook may come before our own retry: the payment still moves forward once."""
    intent = lost_authorisation["intent"]
    for event_id in ("evt_a", "evt_b"):  # two different events with the same state
        assert post(client, event(event_id, "payment_intent.amount_capturable_updated", intent)).status_code == 200
    assert db.session.query(LedgerHold).count() == 1
    assert ledger_check.check() == []


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
    payload = event(
        "evt_z", "payment_intent.succeeded", {"id": "pi_not_ours", "object": "payment_intent", "status": "succeeded", "metadata": {}}
    )
    response = post(client, payload)
    assert response.status_code == 200 and "not one of our payments" in response.json["outcome"]
    other = post(client, event("evt_c", "customer.created", {"id": "cus_1", "object": "customer"}))
    assert other.status_code == 200 and other.json["outcome"].startswith("ignored")


@pytest.mark.parametrize(
    ("event_id", "event_type", "obj", "why"),
    [
        ("evt_string_object", "payment_intent.succeeded", "not an object", "data.object is not an object"),
        ("evt_list_object", "payment_intent.succeeded", [1, 2], "data.object is not an object"),
        ("evt_" + "x" * 5_000, "payment_intent.succeeded", {"id": "pi_1"}, "its id or type is too long"),
        ("evt_nul", "payment_intent.succeeded", {"id": "pi_\x00", "metadata": {}}, "it holds a NUL character"),
        ("evt_nul_in\x00id", "payment_intent.succeeded", {"id": "pi_2"}, "it holds a NUL character"),
        ("evt_long_object", "payment_intent.succeeded", {"id": "pi_" + "y" * 300}, "its object's id is too long"),
    ],
)
def test_a_signed_but_malformed_event_is_recorded_and_ignored_never_an_error(client, event_id, event_type, obj, why):
    from app.models import StripeEvent

    payload = event(event_id, event_type, obj)
    response = post(client, payload)
    assert response.status_code == 200 and response.json["outcome"] == f"ignored: {why}", response.get_data(as_text=True)[:300]
    again = post(client, payload)  # Stripe sending it again changes nothing
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert db.session.query(StripeEvent).filter(StripeEvent.outcome == f"ignored: {why}").count() == 1


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


# Bad orders, through the endpoint -------------------------------------------------------------


@pytest.fixture
def lost_capture(make_user, make_service, save_card, monkeypatch, localstripe, policy):
    """A visit delivered with fewer units than booked: Stripe captured it, but we crashed
    before recording that (our payment still says authorised)."""
    citizen, staff = make_user(Role.CITIZEN), make_user(Role.PROVIDER)
    service = make_service(price_pence=2_000, accepts_self_funder=True)
    card = save_card(citizen)
    request = request_for(
        service, None, day=dt.date.today() + dt.timedelta(days=2), units=2, payment_method=PaymentMethod.CARD, card_public_id=card.public_id
    )
    booking = bookings.create(request, citizen=citizen, booker=citizen, policy=policy)
    bookings.accept(booking, by=staff)
    payment = db.session.query(CardPayment).one()
    authorised = stripe_get(localstripe.url, f"/v1/payment_intents/{payment.stripe_payment_intent_id}")
    real = recording.record

    def crash_on_capture(attempt_id, token, outcome):
        if db.session.get(PaymentAttempt, attempt_id).operation.value == "capture":
            raise RuntimeError("crash between the capture and our commit")
        return real(attempt_id, token, outcome)

    monkeypatch.setattr(recording, "record", crash_on_capture)
    visit = booking.visits[0]
    with pytest.raises(RuntimeError):
        bookings.record_delivery(visit, by=staff, delivered_units=1, now=visit.starts_at + dt.timedelta(hours=1))
    monkeypatch.undo()
    captured = stripe_get(localstripe.url, f"/v1/payment_intents/{payment.stripe_payment_intent_id}")
    assert captured["status"] == "succeeded" and db.session.get(CardPayment, payment.id).status is CardPaymentStatus.AUTHORISED
    return {"payment": payment, "authorised": authorised, "captured": captured, "service": service, "card": card, "visit": visit}


def test_succeeded_before_amount_capturable_updated_and_failed_after_succeeded(client, lost_capture):
    now = int(time.time())
    captured, authorised = lost_capture["captured"], lost_capture["authorised"]
    failed_snapshot = dict(authorised, status="requires_payment_method", last_payment_error={"code": "card_declined"})
    responses = [
        post(client, event("evt_ok", "payment_intent.succeeded", captured, created=now)),
        # The older event arrives after the newer one...
        post(client, event("evt_auth", "payment_intent.amount_capturable_updated", authorised, created=now - 60)),
        # ...and a failure after the success.
        post(client, event("evt_fail", "payment_intent.payment_failed", failed_snapshot, created=now + 5)),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "authorised -> captured" in responses[0].json["outcome"]
    assert all("no change" in r.json["outcome"] for r in responses[1:])
    db.session.expire_all()
    payment = db.session.get(CardPayment, lost_capture["payment"].id)
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000  # one unit delivered of two
    assert db.session.get(BookingVisit, payment.visit_id).status is VisitStatus.DELIVERED
    provider = lost_capture["service"].provider
    assert ledger.balance(ledger.provider_payable_account(provider)) == 2_000
    assert ledger.balance(card_payments.card_account(lost_capture["card"])) == -2_000
    assert db.session.get(LedgerHold, payment.hold_id).status.value == "released"
    # Our own retry then finds the capture done and moves nothing more.
    card_payments.retry_unfinished()
    assert ledger.balance(ledger.provider_payable_account(provider)) == 2_000
    assert ledger_check.check() == []


def test_a_failure_event_after_a_lost_charge_succeeded_changes_nothing(
    client, make_user, make_service, save_card, monkeypatch, localstripe, policy
):
    citizen, staff = make_user(Role.CITIZEN), make_user(Role.PROVIDER)
    service = make_service(price_pence=2_000, accepts_self_funder=True)
    card = save_card(citizen)
    request = request_for(
        service, None, day=dt.date.today() + dt.timedelta(days=12), payment_method=PaymentMethod.CARD, card_public_id=card.public_id
    )
    booking = bookings.create(request, citizen=citizen, booker=citizen, policy=policy)
    bookings.accept(booking, by=staff)
    real = recording.record
    monkeypatch.setattr(recording, "record", lambda *args: (_ for _ in ()).throw(RuntimeError("crash")))
    visit = booking.visits[0]
    with pytest.raises(RuntimeError):
        bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
    monkeypatch.setattr(recording, "record", real)
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.STARTED  # we never learnt the charge's outcome
    charged = next(
        pi
        for pi in stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"]
        if pi["metadata"].get("marketplace_payment") == payment.public_id
    )
    assert charged["status"] == "succeeded"
    now = int(time.time())
    ok = post(client, event("evt_charge_ok", "payment_intent.succeeded", charged, created=now))
    late = post(
        client,
        event(
            "evt_charge_failed",
            "payment_intent.payment_failed",
            dict(charged, status="requires_payment_method", last_payment_error={"code": "card_declined"}),
            created=now + 1,
        ),
    )
    assert "started -> captured" in ok.json["outcome"] and "no change" in late.json["outcome"]
    db.session.expire_all()
    assert db.session.get(CardPayment, payment.id).status is CardPaymentStatus.CAPTURED
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert ledger.balance(ledger.provider_payable_account(service.provider)) == 2_000
    card_payments.retry_unfinished()  # our retry finds the same intent: nothing charged again
    assert (
        len(
            [
                pi
                for pi in stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"]
                if pi["metadata"].get("marketplace_payment") == payment.public_id
            ]
        )
        == 1
    )
    assert ledger.balance(ledger.provider_payable_account(service.provider)) == 2_000
    assert ledger_check.check() == []


# Refunds: pending until Stripe says they succeeded ---------------------------------------------


@pytest.fixture
def paid_visit(make_user, make_service, save_card, localstripe, policy):
    citizen, staff, commissioner = make_user(Role.CITIZEN), make_user(Role.PROVIDER), make_user(Role.COMMISSIONER)
    service = make_service(price_pence=2_000, accepts_self_funder=True)
    card = save_card(citizen)
    request = request_for(
        service, None, day=dt.date.today() + dt.timedelta(days=2), payment_method=PaymentMethod.CARD, card_public_id=card.public_id
    )
    booking = bookings.create(request, citizen=citizen, booker=citizen, policy=policy)
    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
    return {"visit": visit, "card": card, "service": service, "commissioner": commissioner, "citizen": citizen, "booking": booking}


def pending_refunds_at_stripe(monkeypatch):
    """Stripe answers a refund request with status "pending" (the bank has not confirmed it
    yet); localstripe always answers "succeeded", so its real refund is shown as pending."""
    real_client = stripe_api.client

    def client():
        c = real_client()
        create = c.v1.refunds.create

        def pending(*args, **kwargs):
            made = create(*args, **kwargs).to_dict()
            made["status"] = "pending"
            return stripe.Refund.construct_from(made, None)

        c.v1.refunds.create = pending
        return c

    monkeypatch.setattr(stripe_api, "client", client)


def test_a_pending_refund_moves_money_to_the_card_only_when_stripe_says_it_succeeded(client, paid_visit, monkeypatch, localstripe):
    pending_refunds_at_stripe(monkeypatch)
    refund = card_payments.refund_visit(
        paid_visit["visit"], amount_pence=500, reason="Late arrival", by=paid_visit["commissioner"], request_key="r-pending"
    )
    monkeypatch.undo()
    assert refund.status is RefundStatus.PENDING and refund.stripe_refund_id.startswith("re_")
    card = paid_visit["card"]
    provider = paid_visit["service"].provider
    assert ledger.balance(card_payments.card_account(card)) == -2_000  # nothing back on the card yet
    assert ledger.balance(card_payments.clearing_account()) == 500  # in flight
    assert ledger.balance(ledger.provider_payable_account(provider)) == 1_500  # cannot be paid out to the provider meanwhile
    assert card_payments.card_statement(paid_visit["citizen"])[-1].refunded_pence == 0
    assert [r.id for r in card_payments.pending_refunds_for(paid_visit["citizen"])] == [refund.id]
    assert ledger_check.check() == []

    remote = stripe_get(localstripe.url, f"/v1/refunds/{refund.stripe_refund_id}")
    payload = event("evt_refund_ok", "charge.refund.updated", dict(remote, status="succeeded"))
    response = post(client, payload)
    assert response.status_code == 200 and "pending -> succeeded" in response.json["outcome"]
    assert post(client, payload).json["duplicate"] is True
    # A late, older "pending" event changes nothing.
    assert "no change" in post(client, event("evt_refund_old", "refund.updated", dict(remote, status="pending"))).json["outcome"]
    db.session.expire_all()
    refund = db.session.get(CardRefund, refund.id)
    assert refund.status is RefundStatus.SUCCEEDED
    assert ledger.balance(card_payments.card_account(card)) == -1_500
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert card_payments.card_statement(paid_visit["citizen"])[-1].refunded_pence == 500
    assert ledger_check.check() == []


def test_a_refund_that_fails_gives_the_money_back_to_the_provider(client, paid_visit, monkeypatch, localstripe):
    from app.models import AuditEvent

    pending_refunds_at_stripe(monkeypatch)
    refund = card_payments.refund_visit(
        paid_visit["visit"], amount_pence=700, reason="Complaint", by=paid_visit["commissioner"], request_key="r-fails"
    )
    monkeypatch.undo()
    remote = stripe_get(localstripe.url, f"/v1/refunds/{refund.stripe_refund_id}")
    response = post(
        client, event("evt_refund_failed", "refund.failed", dict(remote, status="failed", failure_reason="expired_or_canceled_card"))
    )
    assert "pending -> failed" in response.json["outcome"]
    db.session.expire_all()
    refund = db.session.get(CardRefund, refund.id)
    assert refund.status is RefundStatus.FAILED and "expired or been cancelled" in refund.failure_message
    provider = paid_visit["service"].provider
    assert ledger.balance(ledger.provider_payable_account(provider)) == 2_000  # nothing moved to the card, all back
    assert ledger.balance(card_payments.card_account(paid_visit["card"])) == -2_000
    back = ledger.find_transaction(f"card-refund:{refund.id}:back-to-provider")
    assert back.corrects_id == ledger.find_transaction(f"card-refund:{refund.id}:from-provider").id  # a linked correction
    assert db.session.query(AuditEvent).filter_by(action="payments.refund_failed").count() == 1
    assert ledger_check.check() == []


def test_a_refund_the_bank_sends_back_after_it_succeeded_is_reversed(client, paid_visit, localstripe):
    refund = card_payments.refund_visit(
        paid_visit["visit"], amount_pence=400, reason="Short visit", by=paid_visit["commissioner"], request_key="r-back"
    )
    assert refund.status is RefundStatus.SUCCEEDED  # localstripe: at once
    remote = stripe_get(localstripe.url, f"/v1/refunds/{refund.stripe_refund_id}")
    assert "succeeded -> failed" in post(client, event("evt_back", "charge.refund.updated", dict(remote, status="failed"))).json["outcome"]
    db.session.expire_all()
    assert db.session.get(CardRefund, refund.id).status is RefundStatus.FAILED
    assert db.session.get(CardPayment, db.session.get(CardRefund, refund.id).card_payment_id).refunded_pence == 0
    assert ledger.balance(card_payments.card_account(paid_visit["card"])) == -2_000
    assert ledger.balance(ledger.provider_payable_account(paid_visit["service"].provider)) == 2_000
    lines = card_payments.card_statement(paid_visit["citizen"])
    assert [line.refunded_pence for line in lines if line.refunded_pence] == [400, -400]
    assert ledger_check.check() == []


def test_refund_events_that_are_not_ours_are_ignored(client):
    response = post(
        client, event("evt_r_x", "charge.refund.updated", {"id": "re_unknown", "object": "refund", "status": "succeeded", "metadata": {}})
    )
    assert response.status_code == 200 and "not one of our refunds" in response.json["outcome"]


def test_flask_payments_retry_settles_a_pending_refund_whose_webhook_never_came(paid_visit, monkeypatch, localstripe):
    pending_refunds_at_stripe(monkeypatch)
    refund = card_payments.refund_visit(
        paid_visit["visit"], amount_pence=300, reason="Late", by=paid_visit["commissioner"], request_key="r-no-hook"
    )
    monkeypatch.undo()
    assert refund.status is RefundStatus.PENDING
    card_payments.retry_unfinished()  # localstripe's refund is succeeded
    db.session.expire_all()
    assert db.session.get(CardRefund, refund.id).status is RefundStatus.SUCCEEDED
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert ledger_check.check() == []


# A late success after the visit was paid another way: refunded automatically, once ------------


def test_a_late_success_for_a_visit_already_paid_is_refunded_automatically(client, make_user, make_service, save_card, localstripe, policy):
    from app.models import AuditEvent, Notification
    from tests.payments_fixtures import PUBLISHABLE_KEY, stripe_js_confirm_setup

    citizen, staff = make_user(Role.CITIZEN), make_user(Role.PROVIDER)
    service = make_service(price_pence=2_000, accepts_self_funder=True)
    # A card whose bank asks the holder every time (saved with the holder passing the check).
    setup = card_payments.start_card_setup(citizen)
    stripe_js_confirm_setup(localstripe.url, setup, "4000002500003155")
    urllib.request.urlopen(
        urllib.request.Request(
            f"{localstripe.url}/v1/setup_intents/{setup.stripe_setup_intent_id}/confirm",
            data=json.dumps({"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": setup.client_secret}).encode(),
            method="POST",
        )
    ).close()
    asks_the_bank = card_payments.finish_card_setup(setup.public_id, payer=citizen, route=FundingRoute.SELF_FUNDER)
    request = request_for(
        service,
        None,
        day=dt.date.today() + dt.timedelta(days=12),
        payment_method=PaymentMethod.CARD,
        card_public_id=asks_the_bank.public_id,
    )
    booking = bookings.create(request, citizen=citizen, booker=citizen, policy=policy)
    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
    db.session.expire_all()
    charge = db.session.query(CardPayment).one()
    # Off-session, the bank wanted the card holder: the charge failed and the visit is owed.
    assert charge.status is CardPaymentStatus.FAILED and db.session.get(BookingVisit, visit.id).status is VisitStatus.UNPAID
    # The person pays it now with another card...
    good = save_card(citizen)
    assert card_payments.pay_unpaid_visit(visit, payer=citizen, card=good, request_key="pay-now").paid
    provider_account = ledger.provider_payable_account(service.provider)
    assert ledger.balance(provider_account) == 2_000
    # ...and later passes the bank's check on the first charge after all, so it succeeds too.
    urllib.request.urlopen(
        urllib.request.Request(
            f"{localstripe.url}/v1/payment_intents/{charge.stripe_payment_intent_id}/_authenticate?success=true",
            data=json.dumps({"key": PUBLISHABLE_KEY, "client_secret": charge.client_secret}).encode(),
            method="POST",
        )
    ).close()
    late = stripe_get(localstripe.url, f"/v1/payment_intents/{charge.stripe_payment_intent_id}")
    assert late["status"] == "succeeded"
    payload = event("evt_late_success", "payment_intent.succeeded", late)
    assert "failed -> captured" in post(client, payload).json["outcome"]
    assert post(client, payload).json["duplicate"] is True

    db.session.expire_all()
    assert ledger.balance(provider_account) == 2_000  # the provider is paid once
    automatic = db.session.query(CardRefund).filter_by(automatic=True).one()
    assert automatic.amount_pence == 2_000 and automatic.status is RefundStatus.PENDING and automatic.requested_by_id is None
    assert "Paid twice" in automatic.reason
    assert ledger.balance(card_payments.clearing_account()) == 2_000
    assert ledger_check.check() == []
    # The next round of card work (`flask payments retry`) makes the refund, once.
    card_payments.retry_unfinished()
    card_payments.retry_unfinished()
    db.session.expire_all()
    automatic = db.session.get(CardRefund, automatic.id)
    assert automatic.status is RefundStatus.SUCCEEDED
    refunds = stripe_get(localstripe.url, f"/v1/refunds?payment_intent={charge.stripe_payment_intent_id}")["data"]
    assert [r["amount"] for r in refunds] == [2_000]
    assert ledger.balance(card_payments.card_account(asks_the_bank)) == 0
    assert ledger.balance(card_payments.card_account(good)) == -2_000
    assert ledger.balance(provider_account) == 2_000
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert "payments.duplicate_refund_started" in actions and "payments.refunded" in actions
    subjects = {n.subject for n in db.session.query(Notification).filter_by(user_id=citizen.id)}
    assert f"Paid twice, refund on its way: booking {booking.reference}" in subjects
    assert f"Refund made: booking {booking.reference}" in subjects
    assert ledger_check.check() == []


# The body is bounded however it is sent -----------------------------------------------------------


def test_a_body_too_large_is_refused_even_when_sent_chunked(client):
    from app.webhooks.routes import MAX_BODY

    big = b"{" + b" " * (MAX_BODY + 10) + b"}"
    declared = client.post("/webhooks/stripe", data=big, headers={"Stripe-Signature": sign_webhook(big)})
    assert declared.status_code == 413 and declared.is_json
    chunked = client.post(
        "/webhooks/stripe",
        input_stream=io.BytesIO(big),
        headers={"Transfer-Encoding": "chunked", "Stripe-Signature": sign_webhook(big), "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert chunked.status_code == 413 and chunked.is_json
    assert chunked.json["error"]["title"] == "Payload too large"
    assert db.session.query(StripeEvent).count() == 0
    # A normal chunked event still works.
    small = event("evt_chunked", "customer.created", {"id": "cus_1", "object": "customer"})
    ok = client.post(
        "/webhooks/stripe",
        input_stream=io.BytesIO(small),
        headers={"Transfer-Encoding": "chunked", "Stripe-Signature": sign_webhook(small)},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert ok.status_code == 200 and ok.json["event"] == "evt_chunked"


def test_a_reservation_given_up_that_is_taken_after_all_is_recorded_and_refunded(
    client, make_user, make_service, save_card, monkeypatch, localstripe, policy
):
    """Declining stands even when Stripe will not release the reservation (we give it up);
    if Stripe then takes that money after all, it is recorded and all of it refunded: the
    visit was declined, nothing is owed for it."""
    citizen, staff = make_user(Role.CITIZEN), make_user(Role.PROVIDER)
    service = make_service(price_pence=2_000, accepts_self_funder=True)
    card = save_card(citizen)
    request = request_for(
        service, None, day=dt.date.today() + dt.timedelta(days=2), payment_method=PaymentMethod.CARD, card_public_id=card.public_id
    )
    booking = bookings.create(request, citizen=citizen, booker=citizen, policy=policy)
    real_client = stripe_api.client

    def client_without_access():
        c = real_client()

        def forbidden(*args, **kwargs):
            raise stripe.PermissionError("The provided key does not have access to this resource.", http_status=403)

        c.v1.payment_intents.retrieve = c.v1.payment_intents.cancel = forbidden
        return c

    monkeypatch.setattr(stripe_api, "client", client_without_access)
    bookings.decline(booking, by=staff, reason="No carer")
    monkeypatch.undo()
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.CANCELLED and payment.failure_code == "cancel_refused"
    taken = dict(
        stripe_get(localstripe.url, f"/v1/payment_intents/{payment.stripe_payment_intent_id}"), status="succeeded", amount_received=2_000
    )
    assert "cancelled -> captured" in post(client, event("evt_taken", "payment_intent.succeeded", taken)).json["outcome"]
    db.session.expire_all()
    automatic = db.session.query(CardRefund).filter_by(automatic=True).one()
    assert automatic.amount_pence == 2_000
    # Said as it is: the visit was declined, not paid twice.
    assert automatic.reason.startswith("Not owed:") and "declined by the provider" in automatic.reason
    from app.models import Notification

    subjects = {n.subject for n in db.session.query(Notification).filter_by(user_id=citizen.id)}
    assert f"Refund on its way: booking {booking.reference}" in subjects
    assert not any(s.startswith("Paid twice") for s in subjects)
    assert ledger.balance(ledger.provider_payable_account(service.provider)) == 0  # never paid for a declined visit
    assert ledger_check.check() == []
