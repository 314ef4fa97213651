"""Nothing is charged twice, whatever is retried: a crash between Stripe's answer and our
commit, a worker that died holding an attempt, and double submissions at the same moment.

localstripe ignores idempotency keys (the first test proves it), so these tests show that
our own attempt records are what keep every charge single."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest
import stripe

from app.extensions import db
from app.models import (
    AttemptState,
    Booking,
    BookingVisit,
    CardCustomer,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    LedgerHold,
    PaymentAttempt,
    PaymentMethod,
    Role,
    User,
    VisitStatus,
)
from app.services import bookings, card_payments, ledger, ledger_check
from app.services.card_payments import attempts, leases, recording, stripe_api
from tests.helpers import run_at_once
from tests.payments_fixtures import (
    SECRET_KEY,
    card_that_asks_the_bank,
    client_where,
    holder_confirms_with_their_bank,
    stripe_get,
)
from tests.services.money_helpers import request_for

pytestmark = pytest.mark.usefixtures("stripe_app")


@pytest.fixture
def people(make_user, make_service):
    return {
        "citizen": make_user(Role.CITIZEN),
        "staff": make_user(Role.PROVIDER),
        "service": make_service(price_pence=2_000, capacity=20, accepts_self_funder=True),
    }


def book(people, card, *, days=2, key="the-request", units=1):
    from app.services.policy import current_policy

    request = request_for(
        people["service"],
        None,
        day=dt.date.today() + dt.timedelta(days=days),
        key=key,
        units=units,
        payment_method=PaymentMethod.CARD,
        card_public_id=card.public_id,
    )
    return bookings.create(request, citizen=people["citizen"], booker=people["citizen"], policy=current_policy())


def intents_for_attempt(localstripe, key: str) -> list[dict]:
    """The PaymentIntents localstripe holds for one of our attempts (in this test's database)."""
    attempt = db.session.query(PaymentAttempt).filter_by(key=key).one()
    payment = db.session.get(CardPayment, attempt.card_payment_id)
    listed = stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"]
    return [
        pi
        for pi in listed
        if pi["metadata"].get("marketplace_attempt") == key and pi["metadata"].get("marketplace_payment") == payment.public_id
    ]


class CrashAfterStripeAnswers:
    """Make the process 'die' after Stripe answered but before our commit, ``times`` times."""

    def __init__(self, monkeypatch, times=1):
        self.left = times
        real = recording.record

        def record(attempt_id, token, outcome):
            if self.left:
                self.left -= 1
                raise RuntimeError("crash between the Stripe call and our commit")
            return real(attempt_id, token, outcome)

        monkeypatch.setattr(recording, "record", record)


def test_localstripe_really_ignores_idempotency_keys(stripe_app, localstripe):
    """Why our own de-duplication is needed (and what these tests would catch without it)."""
    created = []
    for _ in range(2):
        body = b"amount=500&currency=gbp&payment_method_types[]=card"
        request = urllib.request.Request(
            f"{localstripe.url}/v1/payment_intents",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {SECRET_KEY}", "Idempotency-Key": "same-key"},
        )
        with urllib.request.urlopen(request) as response:
            created.append(json.loads(response.read())["id"])
    assert created[0] != created[1]


def test_a_crash_after_authorising_then_a_retry_authorises_once(people, save_card, localstripe, monkeypatch):
    card = save_card(people["citizen"])
    CrashAfterStripeAnswers(monkeypatch)
    with pytest.raises(RuntimeError, match="crash"):
        book(people, card)
    booking = db.session.query(Booking).one()
    attempt = db.session.query(PaymentAttempt).one()
    assert attempt.state is AttemptState.STARTED and attempt.lease_until is None  # outcome unknown to us
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1  # ...but Stripe did it

    again = book(people, card)  # the person presses "Book" again: same request
    assert again.id == booking.id
    db.session.expire_all()
    attempt = db.session.get(PaymentAttempt, attempt.id)
    assert attempt.state is AttemptState.SUCCEEDED and attempt.tries == 2
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1  # no second authorisation
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.AUTHORISED
    assert payment.stripe_payment_intent_id == intents_for_attempt(localstripe, attempt.key)[0]["id"]
    assert db.session.query(LedgerHold).count() == 1
    assert ledger_check.check() == []


def test_a_crash_after_capturing_then_a_retry_captures_once(people, save_card, localstripe, monkeypatch):
    card = save_card(people["citizen"])
    booking = book(people, card, units=2)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    CrashAfterStripeAnswers(monkeypatch)
    with pytest.raises(RuntimeError):
        bookings.record_delivery(visit, by=people["staff"], delivered_units=1, now=visit.starts_at + dt.timedelta(hours=2))
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.AUTHORISED
    assert stripe_get(localstripe.url, f"/v1/payment_intents/{payment.stripe_payment_intent_id}")["status"] == "succeeded"

    card_payments.retry_unfinished()  # `flask payments retry`, or the next action on the booking
    db.session.expire_all()
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    card_payments.retry_unfinished()
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger_check.check() == []


def test_a_crash_after_an_off_session_charge_then_a_retry_charges_once(people, save_card, localstripe, monkeypatch):
    card = save_card(people["citizen"])
    booking = book(people, card, days=15)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    CrashAfterStripeAnswers(monkeypatch)
    with pytest.raises(RuntimeError):
        bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    attempt = db.session.query(PaymentAttempt).one()
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1

    card_payments.retry_unfinished()
    card_payments.retry_unfinished()
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1
    db.session.expire_all()
    assert db.session.query(CardPayment).one().status is CardPaymentStatus.CAPTURED
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert ledger.balance(card_payments.card_account(card)) == -2_000
    assert ledger_check.check() == []


def intents_of_customer(localstripe, user) -> list[dict]:
    """Every PaymentIntent localstripe holds for the payer (it cannot filter by customer)."""
    customer = db.session.query(CardCustomer).filter_by(user_id=user.id).one().stripe_customer_id
    return [pi for pi in stripe_get(localstripe.url, "/v1/payment_intents?limit=1000")["data"] if pi["customer"] == customer]


def test_a_crash_after_an_off_session_charge_that_waits_for_the_bank_then_a_retry_reuses_its_intent(people, localstripe, monkeypatch):
    """The charge waits for the card holder's bank (no charge exists yet, so a lookup by the
    payer's charges cannot find it): its id, committed the moment Stripe named it, is what
    the retry reads, so no second intent is made. When the bank says yes later (and the
    webhook never comes), `flask payments retry` reads it again and the money moves once."""
    card = card_that_asks_the_bank(people["citizen"], localstripe)
    booking = book(people, card, days=15)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    CrashAfterStripeAnswers(monkeypatch)
    with pytest.raises(RuntimeError):
        bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    db.session.expire_all()
    attempt = db.session.query(PaymentAttempt).one()
    [intent] = intents_for_attempt(localstripe, attempt.key)
    assert intent["status"] == "requires_action"
    payment = db.session.query(CardPayment).one()
    assert attempt.state is AttemptState.STARTED and payment.status is CardPaymentStatus.STARTED
    assert (payment.stripe_payment_intent_id, payment.client_secret) == (intent["id"], intent["client_secret"])

    card_payments.retry_unfinished()
    card_payments.retry_unfinished()
    db.session.expire_all()
    assert [pi["id"] for pi in intents_of_customer(localstripe, people["citizen"])] == [intent["id"]]  # one intent, ever
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.FAILED and payment.failure_code == "authentication_required"
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.UNPAID  # the payer is asked
    assert ledger.balance(card_payments.card_account(card)) == 0

    holder_confirms_with_their_bank(localstripe, intent["id"])  # the bank says yes; no webhook comes
    card_payments.retry_unfinished()
    card_payments.retry_unfinished()
    db.session.expire_all()
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert card_payments.unpaid_visits(people["citizen"]) == []
    assert ledger.balance(card_payments.card_account(card)) == -2_000  # taken once
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert len(intents_of_customer(localstripe, people["citizen"])) == 1
    assert db.session.query(CardRefund).count() == 0
    assert ledger_check.check() == []


@pytest.mark.parametrize("asks_the_bank", [False, True])
def test_a_crash_before_the_intent_id_is_committed_asks_again_with_the_same_idempotency_key(
    people, save_card, localstripe, monkeypatch, asks_the_bank
):
    """The narrow window left: Stripe made the intent, and we crashed before committing its
    id. The retry sends the same idempotency key (real Stripe answers it with the first
    intent, for 24 hours). localstripe ignores the key: a charged intent is still found by
    the payer's charges, but one waiting for the bank has no charge, so localstripe makes a
    second (which holds no money: nobody has its secret to confirm it). Either way we
    record one intent and take the money at most once."""
    card = card_that_asks_the_bank(people["citizen"], localstripe) if asks_the_bank else save_card(people["citizen"])
    booking = book(people, card, days=15)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    keys = []

    def create(real, *args, **kwargs):
        keys.append(kwargs["options"]["idempotency_key"])
        return real(*args, **kwargs)

    client_where(monkeypatch, **{"payment_intents.create": create})
    real_remember, crashes = attempts._remember_intent, []

    def crash_before_commit(*args):
        if not crashes:
            crashes.append(1)
            raise RuntimeError("crash between Stripe's answer and our commit of its id")
        return real_remember(*args)

    monkeypatch.setattr(attempts, "_remember_intent", crash_before_commit)
    with pytest.raises(RuntimeError):
        bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    assert db.session.query(CardPayment).one().stripe_payment_intent_id is None
    card_payments.retry_unfinished()
    card_payments.retry_unfinished()
    db.session.expire_all()
    attempt = db.session.query(PaymentAttempt).one()
    payment = db.session.query(CardPayment).one()
    made = intents_for_attempt(localstripe, attempt.key)
    assert attempt.state is AttemptState.SUCCEEDED and payment.stripe_payment_intent_id in {pi["id"] for pi in made}
    if asks_the_bank:
        assert len(keys) == 2 and keys[0] == keys[1]  # the same key: real Stripe gives back the first intent
        assert payment.status is CardPaymentStatus.FAILED
        assert all(pi["status"] == "requires_action" for pi in made)  # no money taken by either
        assert ledger.balance(card_payments.card_account(card)) == 0
    else:
        assert len(keys) == 1 and len(made) == 1  # found by its charge: never asked again
        assert payment.status is CardPaymentStatus.CAPTURED
        assert ledger.balance(card_payments.card_account(card)) == -2_000
    assert ledger_check.check() == []


def test_a_payment_stripe_is_still_processing_keeps_its_attempt_open_until_the_bank_answers(people, save_card, localstripe, monkeypatch):
    """Stripe answers "processing": no answer yet. The attempt stays open with the intent's
    id, each retry reads that intent again (never charging beside it), and the money moves
    once the bank has answered."""
    card = save_card(people["citizen"])
    booking = book(people, card, days=15)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    bank = {"answered": False}

    def processing(real, *args, **kwargs):
        intent = real(*args, **kwargs)
        if bank["answered"]:
            return intent
        return stripe.PaymentIntent.construct_from(dict(intent.to_dict(), status="processing"), None)

    client_where(monkeypatch, **{"payment_intents.create": processing, "payment_intents.retrieve": processing})
    bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    card_payments.retry_unfinished()
    db.session.expire_all()
    attempt = db.session.query(PaymentAttempt).one()
    payment = db.session.query(CardPayment).one()
    assert attempt.state is AttemptState.STARTED and attempt.tries == 2
    assert payment.status is CardPaymentStatus.STARTED and payment.stripe_payment_intent_id is not None
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert ledger.balance(card_payments.card_account(card)) == 0  # nothing recorded as taken yet
    assert ledger_check.check() == []  # the visit is being paid

    bank["answered"] = True
    card_payments.retry_unfinished()
    card_payments.retry_unfinished()
    db.session.expire_all()
    assert db.session.query(CardPayment).one().status is CardPaymentStatus.CAPTURED
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1
    assert len(intents_of_customer(localstripe, people["citizen"])) == 1
    assert ledger.balance(card_payments.card_account(card)) == -2_000
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger_check.check() == []


def test_a_crash_after_refunding_then_a_retry_refunds_once(people, save_card, make_user, localstripe, monkeypatch):
    commissioner = make_user(Role.COMMISSIONER)
    card = save_card(people["citizen"])
    booking = book(people, card)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    CrashAfterStripeAnswers(monkeypatch)
    with pytest.raises(RuntimeError):
        card_payments.refund_visit(visit, amount_pence=700, reason="Short visit", by=commissioner, request_key="refund-1")
    refund = db.session.query(CardRefund).one()
    assert refund.status.value == "pending"
    assert ledger_check.check() == []  # the money is in the clearing account while the refund is in flight

    card_payments.refund_visit(visit, amount_pence=700, reason="Short visit", by=commissioner, request_key="refund-1")
    payment = db.session.query(CardPayment).one()
    refunds = stripe_get(localstripe.url, f"/v1/refunds?payment_intent={payment.stripe_payment_intent_id}")["data"]
    assert [r["amount"] for r in refunds] == [700]
    db.session.expire_all()
    assert db.session.query(CardRefund).one().status.value == "succeeded"
    assert db.session.query(CardPayment).one().refunded_pence == 700
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert ledger_check.check() == []


def test_an_attempt_held_by_another_worker_waits_until_its_lease_lapses(people, save_card, localstripe, monkeypatch):
    card = save_card(people["citizen"])
    CrashAfterStripeAnswers(monkeypatch)
    with pytest.raises(RuntimeError):
        book(people, card)
    attempt = db.session.query(PaymentAttempt).one()
    from app.database import utcnow, write_transaction

    with write_transaction():  # a worker that died mid-call still holds the lease
        row = db.session.get(PaymentAttempt, attempt.id)
        row.lease_token, row.lease_until = "other-worker", utcnow() + dt.timedelta(seconds=60)
    with pytest.raises(card_payments.PaymentInProgress):
        card_payments.run_attempt(attempt.id, wait=False)
    with write_transaction():
        db.session.get(PaymentAttempt, attempt.id).lease_until = utcnow() - dt.timedelta(seconds=1)
    assert card_payments.run_attempt(attempt.id).state is AttemptState.SUCCEEDED
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1
    assert ledger_check.check() == []


def test_a_double_submitted_card_booking_charges_once(app, people, save_card, localstripe, backend):
    if backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite serialises every writer)")
    card = save_card(people["citizen"])
    citizen_id, card_public_id, service_id = people["citizen"].id, card.public_id, people["service"].id
    day = dt.date.today() + dt.timedelta(days=2)

    def submit(i):
        from app.services.policy import current_policy

        citizen = db.session.get(User, citizen_id)
        service = bookings.listed_service(service_id)
        request = request_for(service, None, day=day, key="double-click", payment_method=PaymentMethod.CARD, card_public_id=card_public_id)
        return bookings.create(request, citizen=citizen, booker=citizen, policy=current_policy()).id

    ok, errors = run_at_once(app, 8, submit)
    assert errors == [] and len(set(ok)) == 1
    assert db.session.query(Booking).count() == 1
    attempt = db.session.query(PaymentAttempt).one()
    assert attempt.state is AttemptState.SUCCEEDED
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1
    assert db.session.query(LedgerHold).count() == 1
    assert ledger_check.check() == []


def test_concurrent_deliveries_of_a_card_visit_capture_once(app, people, save_card, localstripe, backend):
    if backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite serialises every writer)")
    card = save_card(people["citizen"])
    booking = book(people, card)
    bookings.accept(booking, by=people["staff"])
    visit_id, staff_id, when = booking.visits[0].id, people["staff"].id, booking.visits[0].starts_at + dt.timedelta(hours=1)

    def deliver(i):
        return bookings.record_delivery(db.session.get(BookingVisit, visit_id), by=db.session.get(User, staff_id), now=when).id

    ok, errors = run_at_once(app, 6, deliver)
    assert len(ok) == 1 and len(errors) == 5
    db.session.expire_all()
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger_check.check() == []


def test_the_lookup_after_a_crash_reads_every_page_of_a_busy_payers_charges(people, save_card, localstripe, monkeypatch):
    """More than one page (100) of the payer's charges since the attempt: the earlier request
    is still found, so the card is not charged again."""
    card = save_card(people["citizen"])
    customer = db.session.query(CardCustomer).filter_by(user_id=people["citizen"].id).one().stripe_customer_id
    for _ in range(card_payments.PAGE_SIZE + 20):  # the payer's other charges (localstripe lists oldest first)
        body = (
            f"amount=2000&currency=gbp&customer={customer}&payment_method={card.stripe_payment_method_id}"
            "&payment_method_types[]=card&confirm=true"
        ).encode()
        request = urllib.request.Request(
            f"{localstripe.url}/v1/payment_intents", data=body, method="POST", headers={"Authorization": f"Bearer {SECRET_KEY}"}
        )
        urllib.request.urlopen(request).close()
    CrashAfterStripeAnswers(monkeypatch)
    with pytest.raises(RuntimeError):
        book(people, card)
    attempt = db.session.query(PaymentAttempt).one()
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1
    listed = stripe_get(localstripe.url, f"/v1/charges?customer={customer}&limit=100")
    assert listed["has_more"] is True  # ours is not on the first page

    book(people, card)  # the same request again
    assert len(intents_for_attempt(localstripe, attempt.key)) == 1  # found, not charged again
    db.session.expire_all()
    assert db.session.query(CardPayment).one().status is CardPaymentStatus.AUTHORISED
    assert ledger_check.check() == []


def test_a_lease_is_renewed_before_a_request_that_could_outlive_it(people, save_card, localstripe, monkeypatch):
    """Each request to Stripe gives up well inside a lease, and the lease is renewed first
    when less than one request's worst case is left on it (declining: look, then cancel)."""
    from app.database import utcnow

    card = save_card(people["citizen"])
    booking = book(people, card)
    seen = []
    real_client, real_now = stripe_api.client, utcnow
    clock = {"skew": dt.timedelta(0)}

    def slow_client():
        # As if each request took 45 seconds: after the first, the lease is nearly spent.
        attempt = db.session.query(PaymentAttempt).filter(PaymentAttempt.key.like("%:cancel")).one_or_none()
        if attempt is not None:
            db.session.refresh(attempt)
            seen.append(attempt.lease_until - (real_now() + clock["skew"]))
        clock["skew"] += dt.timedelta(seconds=45)
        return real_client()

    monkeypatch.setattr(stripe_api, "client", slow_client)
    monkeypatch.setattr(leases, "utcnow", lambda: real_now() + clock["skew"])
    bookings.decline(booking, by=people["staff"], reason="No carer that day")
    monkeypatch.undo()
    assert len(seen) >= 2
    assert all(left >= card_payments.CALL_BUDGET for left in seen), seen  # never a request without a full budget left
    db.session.expire_all()
    assert db.session.query(CardPayment).one().status is CardPaymentStatus.CANCELLED


def test_an_attempt_taken_over_by_another_worker_sends_nothing_more(people, save_card, localstripe, monkeypatch):
    from app.database import utcnow, write_transaction

    card = save_card(people["citizen"])
    booking = book(people, card)
    bookings.accept(booking, by=people["staff"])
    real_client = stripe_api.client
    calls = []

    def client_then_taken_over():
        calls.append(1)
        if len(calls) == 1:
            # Our lease ran out during the first request, and another worker took the attempt.
            with write_transaction():
                attempt = db.session.query(PaymentAttempt).filter(PaymentAttempt.key.like("%:capture")).one()
                attempt.lease_token, attempt.lease_until = "another-worker", utcnow() + dt.timedelta(seconds=60)
            leases.current.until = utcnow()  # ours is spent
        return real_client()

    monkeypatch.setattr(stripe_api, "client", client_then_taken_over)
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=people["staff"], now=visit.starts_at + dt.timedelta(hours=1))
    monkeypatch.undo()
    assert len(calls) == 1  # the capture itself was never sent by us
    db.session.expire_all()
    payment = db.session.query(CardPayment).one()
    assert payment.status is CardPaymentStatus.AUTHORISED
    assert stripe_get(localstripe.url, f"/v1/payment_intents/{payment.stripe_payment_intent_id}")["status"] == "requires_capture"
