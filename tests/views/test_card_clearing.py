"""Money never stuck out of sight: a capture made outside the app for a visit cancelled free
is refunded automatically (both sides told); an automatic refund the card processor refuses
waits in card clearing, where commissioners see it with its cause and retry it or settle it
another way; `flask ledger check` warns when it has waited over a week."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import (
    AuditEvent,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    ClearingSettlement,
    LedgerTransaction,
    Notification,
    PaymentAttempt,
    RefundStatus,
    Role,
    User,
)
from app.services import bookings, card_payments, ledger, ledger_check
from app.services.card_payments import stripe_api
from app.services.errors import Conflict, NotFound
from tests.helpers import csrf_from, run_at_once, sign_in
from tests.payments_fixtures import SECRET_KEY, book_by_card, client_where, forbidden, invalid_request, sign_webhook, stripe_get

pytestmark = pytest.mark.usefixtures("stripe_app")


def webhook(client, event_type: str, obj: dict, event_id: str):
    payload = json.dumps(
        {"id": event_id, "object": "event", "type": event_type, "created": int(time.time()), "data": {"object": obj}}
    ).encode()
    return client.post(
        "/webhooks/stripe", data=payload, headers={"Content-Type": "application/json", "Stripe-Signature": sign_webhook(payload)}
    )


def captured_in_the_dashboard(localstripe, intent_id: str) -> dict:
    """Someone captures the authorisation in the Stripe dashboard."""
    request = urllib.request.Request(
        f"{localstripe.url}/v1/payment_intents/{intent_id}/capture",
        data=b"",
        method="POST",
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
    )
    urllib.request.urlopen(request).close()
    return stripe_get(localstripe.url, f"/v1/payment_intents/{intent_id}")


@pytest.fixture
def cancelled_then_captured(captured_in_dashboard_after_cancelling, client):
    """A card visit cancelled free while Stripe could not be reached (its reservation not
    released yet), then captured in the Stripe dashboard: Stripe's webhook tells us."""
    setup = captured_in_dashboard_after_cancelling
    answer = webhook(client, "payment_intent.succeeded", setup["intent"], "evt_dashboard_capture")
    assert answer.status_code == 200 and "authorised -> captured" in answer.json["outcome"]
    return setup


@pytest.fixture
def captured_in_dashboard_after_cancelling(
    client, make_provider, make_provider_staff, make_service, make_citizen, save_card, localstripe, policy, monkeypatch
):
    """A card visit cancelled free while Stripe could not be reached (its reservation not
    released yet), then captured in the Stripe dashboard; no webhook has come yet."""
    provider = make_provider(name="Nene Valley Home Care")
    staff = make_provider_staff(provider, name="Priya Owner")
    service = make_service(provider=provider, price_pence=2_000, accepts_self_funder=True)
    citizen = make_citizen(name="Margaret Citizen")
    card = save_card(citizen)
    booking = book_by_card(service, card, citizen=citizen, days=3)
    bookings.accept(booking, by=staff)

    def unreachable(request):
        raise card_payments.ProcessorUnavailable("We could not reach the card processor.")

    monkeypatch.setattr(stripe_api, "call", unreachable)
    bookings.cancel(booking, by=citizen, policy=policy)
    monkeypatch.undo()
    payment = db.session.query(CardPayment).one()
    intent = captured_in_the_dashboard(localstripe, payment.stripe_payment_intent_id)
    assert intent["status"] == "succeeded"
    return {
        "booking": booking,
        "citizen": citizen,
        "staff": staff,
        "provider": provider,
        "card": card,
        "payment": payment,
        "intent": intent,
    }


def both_sides_told_of_the_refund(setup) -> None:
    for person in (setup["citizen"], setup["staff"]):
        subjects = {n.subject for n in db.session.query(Notification).filter_by(user_id=person.id)}
        assert any("refund" in s.lower() and setup["booking"].reference in s for s in subjects), subjects


def test_a_capture_made_in_the_dashboard_for_a_visit_cancelled_free_is_refunded_and_both_sides_told(cancelled_then_captured, localstripe):
    setup = cancelled_then_captured
    refund = db.session.query(CardRefund).one()
    assert refund.automatic and refund.status is RefundStatus.PENDING and "cancelled in time" in refund.reason
    assert ledger.balance(ledger.provider_payable_account(setup["provider"])) == 0  # nothing owed for a visit cancelled free
    assert ledger.balance(card_payments.clearing_account()) == 2_000
    both_sides_told_of_the_refund(setup)
    assert ledger_check.check() == []

    card_payments.retry_unfinished()  # the next round of card work makes the refund
    db.session.expire_all()
    assert db.session.get(CardRefund, refund.id).status is RefundStatus.SUCCEEDED
    made = stripe_get(localstripe.url, f"/v1/refunds?payment_intent={setup['payment'].stripe_payment_intent_id}")["data"]
    assert [r["amount"] for r in made] == [2_000]
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert ledger.balance(card_payments.card_account(setup["card"])) == 0
    assert ledger_check.check() == []


def test_a_dashboard_capture_told_only_by_charge_captured_is_refunded_once(client, captured_in_dashboard_after_cancelling, localstripe):
    """Stripe may tell us of a capture made in its dashboard by ``charge.captured`` alone: it
    is applied as ``payment_intent.succeeded`` would be, and whichever comes second changes
    nothing (one refund, money moved once)."""
    setup = captured_in_dashboard_after_cancelling
    charge = stripe_get(localstripe.url, f"/v1/charges/{setup['intent']['latest_charge']['id']}")
    assert charge["captured"] is True and charge["payment_intent"] == setup["payment"].stripe_payment_intent_id
    answer = webhook(client, "charge.captured", charge, "evt_charge_captured")
    assert answer.status_code == 200 and "authorised -> captured" in answer.json["outcome"], answer.json
    db.session.expire_all()
    refund = db.session.query(CardRefund).one()
    assert refund.automatic and refund.amount_pence == 2_000 and "cancelled in time" in refund.reason
    assert ledger.balance(ledger.provider_payable_account(setup["provider"])) == 0
    both_sides_told_of_the_refund(setup)
    late = webhook(client, "payment_intent.succeeded", setup["intent"], "evt_intent_succeeded_late")
    assert late.status_code == 200 and late.json["outcome"].startswith("no change"), late.json
    card_payments.retry_unfinished()
    db.session.expire_all()
    assert db.session.query(CardRefund).one().status is RefundStatus.SUCCEEDED
    made = stripe_get(localstripe.url, f"/v1/refunds?payment_intent={setup['payment'].stripe_payment_intent_id}")["data"]
    assert [r["amount"] for r in made] == [2_000]
    assert ledger.balance(card_payments.card_account(setup["card"])) == 0
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert ledger_check.check() == []


def test_charge_events_that_are_not_captures_of_our_intents_are_ignored(client):
    for event_id, obj in [
        ("evt_not_captured", {"id": "ch_1", "object": "charge", "captured": False, "payment_intent": "pi_1"}),
        ("evt_no_intent", {"id": "ch_2", "object": "charge", "captured": True, "payment_intent": None}),
        ("evt_not_ours", {"id": "ch_3", "object": "charge", "captured": True, "payment_intent": "pi_unknown", "amount": 500}),
    ]:
        answer = webhook(client, "charge.captured", obj, event_id)
        assert answer.status_code == 200 and answer.json["outcome"].startswith("ignored"), answer.json
    assert db.session.query(CardPayment).count() == 0


@pytest.fixture
def given_up_then_captured(make_provider, make_provider_staff, make_service, make_citizen, save_card, localstripe, monkeypatch):
    """A visit declined while Stripe would not release its reservation (we gave it up), then
    captured in the Stripe dashboard; the webhook never comes."""
    provider = make_provider(name="Nene Valley Home Care")
    staff = make_provider_staff(provider, name="Priya Owner")
    service = make_service(provider=provider, price_pence=2_000, accepts_self_funder=True)
    citizen = make_citizen(name="Margaret Citizen")
    card = save_card(citizen)
    booking = book_by_card(service, card, citizen=citizen, days=3)
    client_where(monkeypatch, **{"payment_intents.retrieve": forbidden, "payment_intents.cancel": forbidden})
    bookings.decline(booking, by=staff, reason="No carer that day")
    monkeypatch.undo()
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.CANCELLED and payment.failure_code == "cancel_refused"
    assert captured_in_the_dashboard(localstripe, payment.stripe_payment_intent_id)["status"] == "succeeded"
    return {"booking": booking, "citizen": citizen, "staff": staff, "provider": provider, "card": card, "payment": payment}


def test_flask_payments_retry_finds_a_given_up_reservation_captured_outside_and_refunds_it(given_up_then_captured, localstripe):
    setup = given_up_then_captured
    card_payments.retry_unfinished()  # `flask payments retry`: no webhook came
    db.session.expire_all()
    payment = db.session.get(CardPayment, setup["payment"].id)
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000
    refund = db.session.query(CardRefund).one()
    assert refund.automatic and refund.status is RefundStatus.SUCCEEDED and "declined by the provider" in refund.reason
    both_sides_told_of_the_refund(setup)
    card_payments.retry_unfinished()  # again: nothing more moves
    made = stripe_get(localstripe.url, f"/v1/refunds?payment_intent={payment.stripe_payment_intent_id}")["data"]
    assert [r["amount"] for r in made] == [2_000]
    assert ledger.balance(ledger.provider_payable_account(setup["provider"])) == 0
    assert ledger.balance(card_payments.card_account(setup["card"])) == 0
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert ledger_check.check() == []


def test_a_reservation_given_up_over_a_week_ago_is_not_read_again(given_up_then_captured):
    """Bounded: Stripe lets a reservation lapse within 7 days, so older ones are not asked about."""
    setup = given_up_then_captured
    for attempt in db.session.query(PaymentAttempt).filter_by(card_payment_id=setup["payment"].id):
        attempt.finished_at -= dt.timedelta(days=8)
    db.session.commit()
    card_payments.retry_unfinished()
    db.session.expire_all()
    assert db.session.get(CardPayment, setup["payment"].id).status is CardPaymentStatus.CANCELLED
    assert db.session.query(CardRefund).count() == 0


@pytest.fixture
def refused(cancelled_then_captured, monkeypatch):
    """The automatic refund is refused by the card processor (the card was cancelled), and
    two days pass."""

    def refuse(real, *args, **kwargs):
        raise invalid_request("The card has been cancelled, so it cannot take a refund.", "charge_expired_for_capture")

    client_where(monkeypatch, **{"refunds.create": refuse})
    card_payments.retry_unfinished()
    monkeypatch.undo()
    db.session.expire_all()
    refund = db.session.query(CardRefund).one()
    assert refund.status is RefundStatus.FAILED
    with db.session.begin_nested():
        db.session.execute(update(CardRefund).values(created_at=refund.created_at - dt.timedelta(days=2)))
    db.session.commit()
    return {**cancelled_then_captured, "refund": db.session.get(CardRefund, refund.id)}


def test_commissioners_see_money_stuck_in_clearing_with_its_cause(client, refused, make_commissioner):
    commissioner = make_commissioner(name="Tom Commissioner")
    sign_in(client, commissioner)
    dashboard = client.get("/commissioner").get_data(as_text=True)
    assert "Card money in clearing for over a day" in dashboard and "/commissioner/card-clearing" in dashboard
    text = client.get("/commissioner/card-clearing").get_data(as_text=True)
    assert refused["booking"].reference in text and "Margaret Citizen" in text and "Nene Valley Home Care" in text
    assert "£20" in text and "refused by the card processor" in text
    assert "The card has been cancelled, so it cannot take a refund." in text  # Stripe's own reason
    assert ledger_check.check() == []


def test_a_retried_refund_reaches_the_card_once(client, refused, make_commissioner, localstripe):
    commissioner = make_commissioner()
    sign_in(client, commissioner)
    page = client.get(f"/commissioner/card-clearing/{refused['refund'].public_id}")
    assert page.status_code == 200
    key = "retry-key-1"
    data = {"csrf_token": csrf_from(page), "request_key": key}
    answer = client.post(f"/commissioner/card-clearing/{refused['refund'].public_id}/retry", data=data)
    assert answer.status_code == 302
    client.post(f"/commissioner/card-clearing/{refused['refund'].public_id}/retry", data=data)  # a double click
    db.session.expire_all()
    refund = db.session.get(CardRefund, refused["refund"].id)
    assert refund.status is RefundStatus.SUCCEEDED
    made = stripe_get(localstripe.url, f"/v1/refunds?payment_intent={refused['payment'].stripe_payment_intent_id}")["data"]
    assert [r["amount"] for r in made] == [2_000]
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert "payments.clearing_refund_retried" in {e.action for e in db.session.query(AuditEvent)}
    assert card_payments.in_card_clearing().items == []
    assert ledger_check.check() == []


@pytest.mark.parametrize("kind", ["repaid_outside_stripe", "owed_after_all"])
def test_settling_refused_money_another_way_moves_it_once_and_is_audited(client, refused, make_commissioner, kind):
    commissioner = make_commissioner()
    sign_in(client, commissioner)
    url = f"/commissioner/card-clearing/{refused['refund'].public_id}"
    page = client.get(url)
    data = {"csrf_token": csrf_from(page), "request_key": "settle-1", "kind": kind, "reason": "Refunded by BACS, ref RF-2291"}
    assert client.post(f"{url}/settle", data=data).status_code == 302
    assert client.post(f"{url}/settle", data=data).status_code == 302  # a double click settles once
    db.session.expire_all()
    assert db.session.query(ClearingSettlement).count() == 1
    assert ledger.balance(card_payments.clearing_account()) == 0
    provider_owed = ledger.balance(ledger.provider_payable_account(refused["provider"]))
    card_taken = -ledger.balance(card_payments.card_account(refused["card"]))
    assert (provider_owed, card_taken) == ((0, 0) if kind == "repaid_outside_stripe" else (2_000, 2_000))
    event = db.session.query(AuditEvent).filter_by(action="payments.clearing_settled").one()
    assert event.actor_id == commissioner.id and event.note == "Refunded by BACS, ref RF-2291"
    assert card_payments.in_card_clearing().items == []
    assert ledger_check.check() == []


def test_commissioners_acting_on_one_refund_at_once_move_its_money_once(app, refused, make_commissioner, localstripe):
    """Three commissioners act on the same refused refund at the same moment: one settles it
    as repaid outside Stripe, one as owed after all, one asks the card processor again. One
    wins; the others are told someone settled it a moment ago (a 409 or 404 on the page,
    never a 500); the money leaves clearing once."""
    ids = [make_commissioner(email=f"commissioner{i}@example.test").id for i in range(3)]
    public_id = refused["refund"].public_id

    def act(i):
        by = db.session.get(User, ids[i])
        if i == 2:
            return card_payments.retry_refund(public_id, by=by, request_key="retry-at-once")
        kind = ("repaid_outside_stripe", "owed_after_all")[i]
        return card_payments.settle_refund(public_id, kind=kind, reason="Refunded by BACS, ref RF-2291", by=by, request_key=f"settle-{i}")

    done, refused_now = run_at_once(app, 3, act)
    assert len(done) == 1 and len(refused_now) == 2
    assert all(isinstance(error, (Conflict, NotFound)) for error in refused_now), refused_now
    db.session.expire_all()
    assert ledger.balance(card_payments.clearing_account()) == 0
    out_of_clearing = [
        t.idempotency_key
        for t in db.session.query(LedgerTransaction)
        if t.idempotency_key.endswith(":settled") or t.idempotency_key.endswith(":to-card")
    ]
    assert len(out_of_clearing) == 1, out_of_clearing
    assert db.session.query(ClearingSettlement).count() == (0 if isinstance(done[0], CardRefund) else 1)
    assert card_payments.in_card_clearing().items == []
    assert ledger_check.check() == []


def test_asking_again_for_a_refund_settled_while_it_waited_asks_nothing(app, refused, make_commissioner, localstripe, monkeypatch):
    """A commissioner settles the refund as repaid outside Stripe (slowed while it holds the
    refund's lock); another asks the card processor again a moment later, having found it
    still waiting before the lock was free. Settling leaves the refund FAILED, so only the
    settlement itself shows it is done: the second is refused, and the card is not refunded
    by Stripe on top of the council's own repayment."""
    from app.services.card_payments import clearing_actions
    from tests.services.test_money_concurrency import first_and_second, slow_down

    settler, retrier = (make_commissioner(email=f"commissioner{i}@example.test").id for i in range(2))
    public_id = refused["refund"].public_id

    def settle():
        by = db.session.get(User, settler)
        return card_payments.settle_refund(public_id, kind="repaid_outside_stripe", reason="BACS RF-1", by=by, request_key="settle-a")

    def retry():
        return card_payments.retry_refund(public_id, by=db.session.get(User, retrier), request_key="retry-a")

    slow_down(monkeypatch, clearing_actions.audit, "record")
    done, errors = run_at_once(app, 2, first_and_second(settle, retry))
    assert [label for label, _ in done] == ["first"] and len(errors) == 1, (done, errors)
    assert isinstance(errors[0], (Conflict, NotFound)), errors
    made = stripe_get(localstripe.url, f"/v1/refunds?payment_intent={refused['payment'].stripe_payment_intent_id}")["data"]
    assert made == []  # the council repaid it; the card processor was not asked again
    db.session.expire_all()
    assert db.session.get(CardRefund, refused["refund"].id).status is RefundStatus.FAILED
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert card_payments.in_card_clearing().items == []
    assert ledger_check.check() == []


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "", "reason": "x"}, "Select how the money was settled"),
        ({"kind": "written_off", "reason": "x"}, "Not a valid choice"),
        ({"kind": "owed_after_all", "reason": "  "}, "Enter the reason"),
        ({"kind": "owed_after_all", "reason": "x" * 501}, "500 characters or fewer"),
    ],
)
def test_bad_settlements_are_refused_with_a_clear_error(client, refused, make_commissioner, data, message):
    sign_in(client, make_commissioner())
    url = f"/commissioner/card-clearing/{refused['refund'].public_id}"
    page = client.get(url)
    answer = client.post(f"{url}/settle", data={"csrf_token": csrf_from(page), "request_key": "k", **data})
    assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    assert db.session.query(ClearingSettlement).count() == 0
    assert ledger.balance(card_payments.clearing_account()) == 2_000


def test_only_commissioners_reach_card_clearing_and_forms_need_csrf(client, refused, make_user, make_commissioner, app):
    url = f"/commissioner/card-clearing/{refused['refund'].public_id}"
    for role in (Role.CITIZEN, Role.PROVIDER, Role.ADMIN):
        other = client.application.test_client()
        sign_in(other, make_user(role))
        assert other.get("/commissioner/card-clearing").status_code == 404  # as for other commissioner pages
        assert other.get(url).status_code == 404
        assert other.post(f"{url}/settle", data={"kind": "owed_after_all", "reason": "x"}).status_code in (400, 404)
    sign_in(client, make_commissioner())
    assert client.get("/commissioner/card-clearing/no-such-refund").status_code == 404
    app.config["WTF_CSRF_ENABLED"] = True
    answer = client.post(f"{url}/settle", data={"kind": "owed_after_all", "reason": "x", "request_key": "k"})
    assert answer.status_code == 400
    assert db.session.query(ClearingSettlement).count() == 0


def test_ledger_check_warns_about_card_clearing_older_than_a_week(app, refused):
    runner = app.test_cli_runner(mix_stderr=False) if "mix_stderr" in app.test_cli_runner.__code__.co_varnames else app.test_cli_runner()
    calm = runner.invoke(args=["ledger", "check"])
    assert calm.exit_code == 0 and "WARNING" not in (calm.stderr if hasattr(calm, "stderr") else calm.output)
    with db.session.begin_nested():
        db.session.execute(update(CardRefund).values(created_at=refused["refund"].created_at - dt.timedelta(days=6)))
    db.session.commit()
    assert ledger_check.check() == []  # not a failure
    [warning] = ledger_check.warnings()
    assert refused["booking"].reference in str(warning) and "2000 pence" in str(warning)
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0
    assert "WARNING: card clearing older than 7 days" in (result.stderr if hasattr(result, "stderr") else result.output)
