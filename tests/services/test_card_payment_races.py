"""Card payments racing a person's change to the same visit, with real threads.

A Stripe webhook (signed, through POST /webhooks/stripe) or a `flask payments retry` run
records what Stripe did while the citizen cancels, or while someone pays: each side is
slowed at its decision point in turn (as tests/services/test_money_concurrency.py does for
delivering and cancelling), so the other runs in between every time. Whatever the order,
nobody's change is overwritten, the money does what the visit now needs (a reservation on
a cancelled visit is released, money for a visit already paid is refunded automatically),
nothing is paid twice and `ledger_check.check()` (with the card invariants) stays clean.

On SQLite every writer takes turns (BEGIN IMMEDIATE), so these show the same logic there;
the interleavings themselves only happen on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request

import pytest

from app.extensions import db
from app.models import (
    AttemptOperation,
    AttemptState,
    Booking,
    BookingStatus,
    BookingVisit,
    CapacityCell,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    CardRefund,
    FundingRoute,
    HoldStatus,
    LedgerHold,
    PaymentAttempt,
    PaymentCard,
    PaymentMethod,
    RefundStatus,
    Role,
    User,
    VisitStatus,
)
from app.services import bookings, card_payments, ledger, ledger_check
from app.services.bookings import cancelling
from app.services.card_payments import amounts, declines, recording, stripe_api
from app.services.errors import Conflict
from tests.helpers import run_at_once
from tests.payments_fixtures import PUBLISHABLE_KEY, sign_webhook, stripe_get, stripe_js_confirm_setup
from tests.services.money_helpers import request_for
from tests.services.test_money_concurrency import _slow, slow_down
from tests.views.test_stripe_webhooks import event

pytestmark = pytest.mark.usefixtures("stripe_app")

PAUSE = 0.8  # how long the slowed side waits at its decision point
LAG = 0.2  # how long after the slowed side the other one starts


@pytest.fixture
def people(make_user, make_service):
    return {
        "citizen": make_user(Role.CITIZEN),
        "staff": make_user(Role.PROVIDER),
        "service": make_service(price_pence=2_000, capacity=5, accepts_self_funder=True),
    }


def _book(people, card, *, days: int, key: str | None = None) -> Booking:
    from app.services.policy import current_policy

    request = request_for(
        people["service"],
        None,
        day=dt.date.today() + dt.timedelta(days=days),
        key=key,
        payment_method=PaymentMethod.CARD,
        card_public_id=card.public_id,
    )
    return bookings.create(request, citizen=people["citizen"], booker=people["citizen"], policy=current_policy())


def _crash_once_after_stripe_answers(monkeypatch):
    """The process 'dies' once after Stripe answered, before we recorded the answer."""
    real = recording.record
    left = {"n": 1}

    def record(*args):
        if left["n"]:
            left["n"] -= 1
            raise RuntimeError("crash between the Stripe call and our commit")
        return real(*args)

    monkeypatch.setattr(recording, "record", record)


def _post_webhook(app, payload: bytes):
    """POST a signed event to /webhooks/stripe from this thread, as Stripe would."""
    with app.test_client() as client:
        response = client.post(
            "/webhooks/stripe", data=payload, headers={"Content-Type": "application/json", "Stripe-Signature": sign_webhook(payload)}
        )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["outcome"]


def _card_that_asks_the_bank(payer, localstripe) -> PaymentCard:
    """A card whose bank wants the holder for every payment (saved with them passing the
    check): an off-session charge on it needs their confirmation, so it fails at first."""
    setup = card_payments.start_card_setup(payer)
    stripe_js_confirm_setup(localstripe.url, setup, "4000002500003155")
    urllib.request.urlopen(
        urllib.request.Request(
            f"{localstripe.url}/v1/setup_intents/{setup.stripe_setup_intent_id}/confirm",
            data=json.dumps({"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": setup.client_secret}).encode(),
            method="POST",
        )
    ).close()
    return card_payments.finish_card_setup(setup.public_id, payer=payer, route=FundingRoute.SELF_FUNDER)


def _holder_confirms_with_their_bank(localstripe, intent_id: str) -> dict:
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


def _both_at_once(app, first, second, *, lag: float = LAG):
    """Run ``first`` (slowed at its decision point: ``_slow.on`` in its thread) and, a moment
    later, ``second``, in threads of their own. Returns ({"first": result, "second": result}
    for those that returned, [the exceptions raised])."""

    def work(i):
        if i == 0:
            _slow.on = True
            try:
                return "first", first()
            finally:
                _slow.on = False
        time.sleep(lag)
        return "second", second()

    ok, errors = run_at_once(app, 2, work)
    done = dict(ok)
    return done, errors


def _money_is_clean():
    assert ledger_check.check() == []


# A webhook (or a retry) recording an authorisation while the citizen cancels the visit ------------


@pytest.fixture
def unrecorded_authorisation(people, save_card, monkeypatch, localstripe):
    """A card booking of one visit in two days: Stripe authorised it, but we crashed before
    recording that (our payment says started, the visit is booked, not yet paid for)."""
    card = save_card(people["citizen"])
    _crash_once_after_stripe_answers(monkeypatch)
    with pytest.raises(RuntimeError):
        _book(people, card, days=2)
    booking = db.session.query(Booking).one()
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.STARTED and booking.visits[0].status is VisitStatus.SCHEDULED
    intent = next(
        pi
        for pi in stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"]
        if pi["metadata"].get("marketplace_payment") == payment.public_id
    )
    assert intent["status"] == "requires_capture"
    return {"booking": booking, "visit": booking.visits[0], "payment": payment, "intent": intent, "card": card}


def _assert_cancelled_and_released(people, localstripe, setup):
    """The cancellation stands and nothing stays reserved on the card (once `flask payments
    retry` has done any card work left over)."""
    db.session.expire_all()
    visit = db.session.get(BookingVisit, setup["visit"].id)
    payment = db.session.get(CardPayment, setup["payment"].id)
    assert visit.status is VisitStatus.CANCELLED
    assert db.session.get(Booking, setup["booking"].id).status is BookingStatus.CANCELLED
    # Before any retry: the reservation is released already, or its release is recorded.
    cancel = db.session.query(PaymentAttempt).filter_by(key=f"card-payment:{payment.id}:cancel").one_or_none()
    assert payment.status is CardPaymentStatus.CANCELLED or (cancel is not None and cancel.state is AttemptState.STARTED), (
        payment.status,
        cancel,
    )
    card_payments.retry_unfinished()  # the next `flask payments retry`
    db.session.expire_all()
    payment = db.session.get(CardPayment, setup["payment"].id)
    assert payment.status is CardPaymentStatus.CANCELLED and payment.captured_pence == 0
    assert stripe_get(localstripe.url, f"/v1/payment_intents/{setup['intent']['id']}")["status"] == "canceled"
    assert db.session.get(BookingVisit, setup["visit"].id).status is VisitStatus.CANCELLED
    assert {h.status for h in db.session.query(LedgerHold).all()} <= {HoldStatus.RELEASED}
    assert ledger.balance(card_payments.card_account(setup["card"])) == 0  # nothing taken or reserved
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 0
    assert sum(c.used for c in db.session.query(CapacityCell).filter_by(service_id=people["service"].id)) == 0
    _money_is_clean()


@pytest.mark.parametrize("card_side", ["webhook", "retry"])
@pytest.mark.parametrize("slow_side", ["card", "cancel"])
def test_an_authorisation_recorded_while_the_citizen_cancels_never_brings_the_visit_back(
    app, monkeypatch, people, unrecorded_authorisation, localstripe, policy, card_side, slow_side
):
    """The authorisation arrives (a signed webhook, or `flask payments retry` finding it) as
    the citizen cancels the visit in good time. Before the fix the card side set the visit
    back to "held" over the cancellation; now the cancellation stands and the reservation
    on the card is released at Stripe."""
    setup = unrecorded_authorisation
    booking_id, visit_id, citizen_id = setup["booking"].id, setup["visit"].id, people["citizen"].id
    payload = event("evt_authorised_during_cancel", "payment_intent.amount_capturable_updated", setup["intent"])

    def cancel():
        return bookings.cancel(
            db.session.get(Booking, booking_id), by=db.session.get(User, citizen_id), policy=policy, visit_ids=[visit_id]
        )

    def card_work():
        if card_side == "webhook":
            return _post_webhook(app, payload)
        return card_payments.retry_unfinished()

    if slow_side == "card":
        slow_down(monkeypatch, ledger, "place_hold", PAUSE)  # decided to record the reservation, then waits
        done, errors = _both_at_once(app, card_work, cancel)
    else:
        slow_down(monkeypatch, cancelling, "cancellation_plan", PAUSE)  # decided what to cancel, then waits
        done, errors = _both_at_once(app, cancel, card_work)
    assert errors == [], errors  # the cancellation is the person's: it always goes through
    _assert_cancelled_and_released(people, localstripe, setup)


def test_an_authorisation_webhook_for_a_visit_already_cancelled_records_its_release(
    app, client, monkeypatch, people, unrecorded_authorisation, localstripe, policy
):
    """The citizen cancelled while Stripe could not be reached (so the cancelling step's own
    card work was left for later); then Stripe's webhook says the visit's money is reserved.
    The visit stays cancelled, and the release of the reservation is recorded with the
    webhook (the webhook asks Stripe nothing), so the next round of card work makes it."""
    setup = unrecorded_authorisation

    def unreachable(request):
        raise card_payments.ProcessorUnavailable("We could not reach the card processor.")

    monkeypatch.setattr(stripe_api, "call", unreachable)
    bookings.cancel(setup["booking"], by=people["citizen"], policy=policy)
    monkeypatch.undo()
    payload = event("evt_authorised_after_cancel", "payment_intent.amount_capturable_updated", setup["intent"])
    response = client.post(
        "/webhooks/stripe", data=payload, headers={"Content-Type": "application/json", "Stripe-Signature": sign_webhook(payload)}
    )
    assert response.status_code == 200 and "started -> authorised" in response.json["outcome"]
    db.session.expire_all()
    payment = db.session.get(CardPayment, setup["payment"].id)
    assert db.session.get(BookingVisit, setup["visit"].id).status is VisitStatus.CANCELLED
    cancel = db.session.query(PaymentAttempt).filter_by(key=f"card-payment:{payment.id}:cancel").one()
    assert cancel.operation is AttemptOperation.CANCEL and cancel.state is AttemptState.STARTED
    _money_is_clean()  # the reservation is recorded as it is at Stripe
    _assert_cancelled_and_released(people, localstripe, setup)


# A failed charge marking a visit unpaid while the card holder's payment goes through ---------------


@pytest.fixture
def delivered_with_unrecorded_charge(people, monkeypatch, localstripe):
    """A visit delivered and charged off-session to a card whose bank wants the holder: the
    charge is waiting for them at Stripe, but we crashed before recording that."""
    card = _card_that_asks_the_bank(people["citizen"], localstripe)
    booking = _book(people, card, days=12)  # beyond AUTHORISE_WITHIN: charged when delivered
    bookings.accept(booking, by=people["staff"])
    visit = booking.visits[0]
    _crash_once_after_stripe_answers(monkeypatch)
    with pytest.raises(RuntimeError):
        bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    db.session.expire_all()
    charge = db.session.query(CardPayment).one()
    assert charge.kind is CardPaymentKind.CHARGE and charge.status is CardPaymentStatus.STARTED
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    intent = next(
        pi
        for pi in stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"]
        if pi["metadata"].get("marketplace_payment") == charge.public_id
    )
    assert intent["status"] == "requires_action"
    return {"booking": booking, "visit": visit, "charge": charge, "intent_id": intent["id"], "card": card}


@pytest.mark.parametrize("slow_side", ["failed", "succeeded"])
def test_marking_a_visit_unpaid_while_its_charge_succeeds_leaves_it_paid(
    app, monkeypatch, people, delivered_with_unrecorded_charge, localstripe, slow_side
):
    """The card holder's first try at their bank's check fails, their second succeeds, and
    Stripe delivers both events at the same moment (it promises no order): the failure
    marks the visit unpaid as the success pays it. Before the fix the visit could end
    "unpaid" though paid, or the payment "failed" though the card was charged; now it ends
    delivered and paid, once, and nobody is asked to pay it again."""
    setup = delivered_with_unrecorded_charge
    asked = stripe_get(localstripe.url, f"/v1/payment_intents/{setup['intent_id']}")
    failed = event(
        "evt_charge_failed",
        "payment_intent.payment_failed",
        dict(asked, status="requires_payment_method", last_payment_error={"code": "authentication_required"}),
    )
    succeeded = event("evt_charge_succeeded", "payment_intent.succeeded", _holder_confirms_with_their_bank(localstripe, setup["intent_id"]))

    def post_failed():
        return _post_webhook(app, failed)

    def post_succeeded():
        return _post_webhook(app, succeeded)

    if slow_side == "failed":
        # Decided the charge failed (its message for the payer written), then waits before
        # marking the visit unpaid.
        slow_down(monkeypatch, declines, "decline_message", PAUSE)
        done, errors = _both_at_once(app, post_failed, post_succeeded)
    else:
        slow_down(monkeypatch, amounts, "paid_by_others", PAUSE)  # worked out what to pay the provider, then waits
        done, errors = _both_at_once(app, post_succeeded, post_failed)
    assert errors == [], errors
    db.session.expire_all()
    charge = db.session.get(CardPayment, setup["charge"].id)
    visit = db.session.get(BookingVisit, setup["visit"].id)
    assert (charge.status, charge.captured_pence, visit.status) == (CardPaymentStatus.CAPTURED, 2_000, VisitStatus.DELIVERED), done
    assert card_payments.unpaid_visits(people["citizen"]) == []  # nobody is asked to pay it again
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger.balance(card_payments.card_account(setup["card"])) == -2_000
    assert db.session.query(CardRefund).count() == 0
    _money_is_clean()
    card_payments.retry_unfinished()  # our own unfinished attempt finds the charge done: nothing more moves
    db.session.expire_all()
    assert db.session.get(CardPayment, setup["charge"].id).status is CardPaymentStatus.CAPTURED
    assert db.session.get(BookingVisit, setup["visit"].id).status is VisitStatus.DELIVERED
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    _money_is_clean()


# "Pay now" and a late success of the failed charge at the same moment ---------------------------------


@pytest.fixture
def unpaid_visit(people, localstripe):
    """A delivered visit whose off-session charge failed (the bank wanted the card holder):
    it is unpaid, and the holder is asked to pay it."""
    card = _card_that_asks_the_bank(people["citizen"], localstripe)
    booking = _book(people, card, days=12)
    bookings.accept(booking, by=people["staff"])
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    db.session.expire_all()
    charge = db.session.query(CardPayment).one()
    assert charge.status is CardPaymentStatus.FAILED and db.session.get(BookingVisit, visit.id).status is VisitStatus.UNPAID
    return {"booking": booking, "visit": visit, "charge": charge}


@pytest.mark.parametrize("slow_side", ["pay_now", "webhook"])
def test_paying_now_while_the_failed_charge_succeeds_pays_the_provider_once(
    app, monkeypatch, people, unpaid_visit, save_card, localstripe, slow_side
):
    """The holder pays the unpaid visit with another card just as they pass their bank's
    check on the first charge (its webhook says it succeeded). Before the fix both payments
    could each pay the provider in full; now the provider is paid once and, if both cards
    were charged, the second is refunded automatically."""
    setup = unpaid_visit
    good = save_card(people["citizen"])
    late = _holder_confirms_with_their_bank(localstripe, setup["charge"].stripe_payment_intent_id)
    payload = event("evt_late_success", "payment_intent.succeeded", late)
    visit_id, citizen_id, good_id = setup["visit"].id, people["citizen"].id, good.id

    def pay_now():
        return card_payments.pay_unpaid_visit(
            db.session.get(BookingVisit, visit_id),
            payer=db.session.get(User, citizen_id),
            card=db.session.get(PaymentCard, good_id),
            request_key="pay-now",
        ).paid

    def webhook():
        return _post_webhook(app, payload)

    slow_down(monkeypatch, amounts, "paid_by_others", PAUSE)  # worked out what to pay the provider, then waits
    if slow_side == "pay_now":
        done, errors = _both_at_once(app, pay_now, webhook)
        assert errors == [] and done["first"] is True, (done, errors)  # both cards were charged
    else:
        done, errors = _both_at_once(app, webhook, pay_now)
        # "Pay now" comes second: the visit is paid by then, so the other card is not charged.
        assert len(errors) == 1 and isinstance(errors[0], Conflict) and "nothing left to pay" in str(errors[0]), (done, errors)
    db.session.expire_all()
    provider = ledger.provider_payable_account(people["service"].provider)
    assert ledger.balance(provider) == 2_000  # paid once
    assert db.session.get(BookingVisit, visit_id).status is VisitStatus.DELIVERED
    captured = db.session.query(CardPayment).filter_by(status=CardPaymentStatus.CAPTURED).all()
    automatic = db.session.query(CardRefund).filter_by(automatic=True).all()
    taken = sum(p.captured_pence for p in captured)
    assert taken - sum(r.amount_pence for r in automatic) == 2_000  # whatever both cards paid beyond the visit goes back
    _money_is_clean()
    card_payments.retry_unfinished()  # makes any automatic refund
    db.session.expire_all()
    assert all(r.status is RefundStatus.SUCCEEDED for r in db.session.query(CardRefund).all())
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert (
        ledger.balance(card_payments.card_account(db.session.get(PaymentCard, good_id)))
        + ledger.balance(card_payments.card_account(db.session.get(PaymentCard, setup["charge"].card_id)))
        == -2_000
    )
    _money_is_clean()
