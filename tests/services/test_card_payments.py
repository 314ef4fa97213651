"""Card payments against localstripe over real HTTP: authorise and capture, partial
capture, save and charge later, declines, refunds, failed charges and paying what is owed.
Every test ends with the whole-ledger check."""

from __future__ import annotations

import datetime as dt

import pytest
import stripe

from app.extensions import db
from app.models import (
    Booking,
    BookingSchedule,
    BookingStatus,
    BookingVisit,
    CardFunding,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    FundingRoute,
    LedgerHold,
    PaymentMethod,
    Role,
    VisitStatus,
)
from app.services import bookings, card_payments, ledger, ledger_check
from app.services.card_payments import stripe_api
from app.services.errors import NotFound, ValidationError
from tests.payments_fixtures import (
    DECLINED_CARD,
    DECLINED_ON_CHARGE_CARD,
    INSUFFICIENT_FUNDS_CARD,
    stripe_get,
)
from tests.services.money_helpers import request_for

pytestmark = pytest.mark.usefixtures("stripe_app")


def day_ahead(days: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=days)


@pytest.fixture
def people(make_user, make_service):
    service = make_service(price_pence=2_000, capacity=5, accepts_self_funder=True, accepts_prepaid_card=True)
    return {
        "citizen": make_user(Role.CITIZEN),
        "staff": make_user(Role.PROVIDER),
        "commissioner": make_user(Role.COMMISSIONER),
        "service": service,
    }


def book_by_card(people, card, *, days=2, units=1, key=None, at="10:00", booker=None, citizen=None, **extra):
    citizen = citizen or people["citizen"]
    booker = booker or citizen
    request = request_for(
        people["service"],
        None,
        day=day_ahead(days),
        at=at,
        units=units,
        key=key,
        payment_method=PaymentMethod.CARD,
        card_public_id=card.public_id,
        **extra,
    )
    from app.services.policy import current_policy

    return bookings.create(request, citizen=citizen, booker=booker, policy=current_policy())


def payment_of(visit) -> CardPayment:
    db.session.expire_all()
    return db.session.query(CardPayment).filter_by(visit_id=visit.id).order_by(CardPayment.id.desc()).first()


def intent(localstripe, payment) -> dict:
    return stripe_get(localstripe.url, f"/v1/payment_intents/{payment.stripe_payment_intent_id}")


def delivered_at(visit):
    return visit.starts_at + dt.timedelta(hours=1)


def test_a_visit_within_days_is_authorised_at_booking_and_captured_on_delivery(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    visit = booking.visits[0]
    assert visit.status is VisitStatus.HELD
    payment = payment_of(visit)
    assert payment.kind is CardPaymentKind.AUTHORISE and payment.status is CardPaymentStatus.AUTHORISED
    assert intent(localstripe, payment)["status"] == "requires_capture"
    assert intent(localstripe, payment)["capture_method"] == "manual"
    held = db.session.get(LedgerHold, payment.hold_id)
    assert held.amount_pence == 2_000 and ledger.balance(card_payments.card_account(card)) == -2_000

    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    payment = payment_of(visit)
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000
    assert intent(localstripe, payment)["status"] == "succeeded"
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger.balance(card_payments.card_account(card)) == -2_000
    assert ledger.balance(card_payments.clearing_account()) == 0
    assert ledger_check.check() == []


def test_partial_delivery_captures_only_what_was_delivered(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=1, units=3)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], delivered_units=1, now=delivered_at(visit))
    payment = payment_of(visit)
    assert (payment.amount_pence, payment.captured_pence) == (6_000, 2_000)
    assert intent(localstripe, payment)["status"] == "succeeded"
    assert ledger.balance(card_payments.card_account(card)) == -2_000  # the rest went back to the card
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    lines = card_payments.card_statement(people["citizen"])
    assert [line.authorised_pence for line in lines] == [6_000, 0, 0]
    assert [line.released_pence for line in lines] == [0, 6_000, 0]
    assert [line.paid_pence for line in lines] == [0, 0, 2_000]
    assert ledger_check.check() == []


def test_a_visit_further_ahead_is_saved_and_charged_when_delivered(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=12)
    visit = booking.visits[0]
    assert visit.status is VisitStatus.SCHEDULED
    assert payment_of(visit) is None  # nothing authorised: too far ahead for a card authorisation
    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    payment = payment_of(visit)
    assert payment.kind is CardPaymentKind.CHARGE and payment.status is CardPaymentStatus.CAPTURED
    remote = intent(localstripe, payment)
    assert remote["status"] == "succeeded" and remote["capture_method"] == "automatic"
    assert remote["payment_method"] == card.stripe_payment_method_id
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger_check.check() == []


def test_a_card_declined_when_saved_is_not_saved(people, stripe_app, localstripe):
    from tests.payments_fixtures import stripe_js_confirm_setup

    for number in (DECLINED_CARD, INSUFFICIENT_FUNDS_CARD):
        setup = card_payments.start_card_setup(people["citizen"])
        status, _ = stripe_js_confirm_setup(localstripe.url, setup, number)
        assert status == 402
        with pytest.raises(card_payments.CardDeclined, match="declined"):
            card_payments.finish_card_setup(setup.public_id, payer=people["citizen"], route=FundingRoute.SELF_FUNDER)
    assert card_payments.saved_cards(people["citizen"]) == []


def test_a_declined_authorisation_withdraws_the_booking_and_says_why(people, save_card, localstripe):
    card = save_card(people["citizen"], DECLINED_ON_CHARGE_CARD)
    with pytest.raises(card_payments.CardDeclined) as declined:
        book_by_card(people, card, days=2, key="declined-once")
    assert "has not been made" in declined.value.message and "declined" in declined.value.message
    booking = db.session.query(Booking).one()
    assert booking.status is BookingStatus.CANCELLED
    assert all(v.status is VisitStatus.CANCELLED for v in booking.visits)
    assert booking.events[-1].kind == "payment_failed"
    # The same request again says the same and makes nothing new.
    with pytest.raises(card_payments.CardDeclined):
        book_by_card(people, card, days=2, key="declined-once")
    assert db.session.query(Booking).count() == 1
    # The place was given back.
    other = save_card(people["citizen"])
    assert book_by_card(people, other, days=2).status is BookingStatus.REQUESTED
    assert ledger_check.check() == []


def test_not_enough_money_on_the_card_is_a_clear_message(people, save_card, monkeypatch):
    """localstripe only declines generically, so the bank's insufficient_funds answer is a
    Stripe-shaped error (as the Stripe API returns it) for the payment request alone."""
    card = save_card(people["citizen"], route=FundingRoute.PREPAID_CARD)
    real_client = stripe_api.client

    def client_whose_bank_says_no_money():
        client = real_client()

        def create(params, options=None):
            body = {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                }
            }
            raise stripe.CardError(body["error"]["message"], None, "card_declined", http_status=402, json_body=body)

        client.v1.payment_intents.create = create
        return client

    monkeypatch.setattr(stripe_api, "client", client_whose_bank_says_no_money)
    with pytest.raises(card_payments.CardDeclined) as declined:
        book_by_card(people, card, days=1, units=2)
    message = declined.value.message
    assert "does not have enough money for this payment of £40." in message
    assert "prepaid card" in message and "every 4 weeks" in message
    assert db.session.query(Booking).one().status is BookingStatus.CANCELLED
    assert ledger_check.check() == []


def test_a_prepaid_card_is_recorded_as_prepaid_and_never_refused(people, save_card, make_user, monkeypatch, localstripe):
    """localstripe reports every card as credit: the card network's answer for a prepaid
    card is a Stripe-shaped PaymentMethod for that one request; the payments are real."""
    representative = make_user(Role.REPRESENTATIVE)
    real_client = stripe_api.client

    def client_with_prepaid_cards():
        client = real_client()
        retrieve = client.v1.payment_methods.retrieve

        def prepaid(method_id, *args, **kwargs):
            method = retrieve(method_id, *args, **kwargs).to_dict()
            method["card"]["funding"] = "prepaid"
            return stripe.PaymentMethod.construct_from(method, None)

        client.v1.payment_methods.retrieve = prepaid
        return client

    monkeypatch.setattr(stripe_api, "client", client_with_prepaid_cards)
    card = save_card(representative, route=FundingRoute.PREPAID_CARD)
    monkeypatch.undo()
    assert card.funding is CardFunding.PREPAID and card.is_direct_payment
    assert "prepaid card ending 4242" in card.description

    booking = book_by_card(people, card, days=3, booker=representative)
    assert booking.citizen_id == people["citizen"].id and booking.booked_by_id == representative.id
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    payment = payment_of(visit)
    assert payment.status is CardPaymentStatus.CAPTURED and payment.funding is CardFunding.PREPAID
    assert payment.route is FundingRoute.PREPAID_CARD
    spend = {(row.route, row.funding): row.net_pence for row in card_payments.card_spend()}
    assert spend == {(FundingRoute.PREPAID_CARD, CardFunding.PREPAID): 2_000}
    # Attributed to the citizen whose direct payment it is, and to the representative who paid.
    assert [(row.citizen.id, row.holder.id, row.net_pence) for row in card_payments.prepaid_card_holders_spend()] == [
        (people["citizen"].id, representative.id, 2_000)
    ]
    assert ledger_check.check() == []


def test_declining_a_booking_cancels_the_authorisation(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    payment = payment_of(booking.visits[0])
    bookings.decline(booking, by=people["staff"], reason="No carer free that day")
    payment = payment_of(booking.visits[0])
    assert payment.status is CardPaymentStatus.CANCELLED
    assert intent(localstripe, payment)["status"] == "canceled"
    assert ledger.balance(card_payments.card_account(card)) == 0
    assert ledger_check.check() == []


def test_cancelling_in_time_releases_and_cancelling_late_charges(people, save_card, localstripe, policy):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=3, schedule=BookingSchedule.ONE_OFF)
    bookings.accept(booking, by=people["staff"])
    bookings.cancel(booking, by=people["citizen"], policy=policy)
    assert payment_of(booking.visits[0]).status is CardPaymentStatus.CANCELLED
    assert intent(localstripe, payment_of(booking.visits[0]))["status"] == "canceled"

    late = book_by_card(people, card, days=1)
    bookings.accept(late, by=people["staff"])
    visit = late.visits[0]
    bookings.cancel(late, by=people["citizen"], policy=policy, now=visit.starts_at - dt.timedelta(hours=2))
    payment = payment_of(visit)
    assert payment.status is CardPaymentStatus.CAPTURED and payment.captured_pence == 2_000
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.LATE_CANCELLED
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger_check.check() == []


def test_a_failed_charge_marks_the_visit_unpaid_and_the_person_can_pay(people, save_card, localstripe):
    bad = save_card(people["citizen"], DECLINED_ON_CHARGE_CARD)
    booking = book_by_card(people, bad, days=10)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    visit = db.session.get(BookingVisit, visit.id)
    assert visit.status is VisitStatus.UNPAID
    assert [v.id for v in card_payments.unpaid_visits(people["citizen"])] == [visit.id]
    assert card_payments.amount_owed(visit) == 2_000
    assert "failed" in db.session.get(Booking, booking.id).events[-1].message
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 0
    # Running the card work again does not charge again or lose the debt.
    card_payments.settle_booking(db.session.get(Booking, booking.id))
    assert db.session.query(CardPayment).filter_by(visit_id=visit.id).count() == 1

    good = save_card(people["citizen"])
    result = card_payments.pay_unpaid_visit(visit, payer=people["citizen"], card=good, request_key="pay-1")
    assert result.paid
    again = card_payments.pay_unpaid_visit(visit, payer=people["citizen"], card=good, request_key="pay-1")
    assert again.payment.id == result.payment.id
    visit = db.session.get(BookingVisit, visit.id)
    assert visit.status is VisitStatus.DELIVERED
    assert card_payments.unpaid_visits(people["citizen"]) == []
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger_check.check() == []


def test_refunds_in_part_and_in_whole_with_a_reason(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=1, units=2)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    payment = payment_of(visit)

    first = card_payments.refund_visit(
        visit,
        amount_pence=1_500,
        reason="Carer arrived 40 minutes late",
        by=people["staff"],
        request_key="r1",
        for_provider=people["service"].provider,
    )
    assert first.status.value == "succeeded" and first.stripe_refund_id.startswith("re_")
    remote = stripe_get(localstripe.url, f"/v1/refunds/{first.stripe_refund_id}")
    assert remote["amount"] == 1_500 and remote["payment_intent"] == payment.stripe_payment_intent_id
    assert (
        card_payments.refund_visit(
            visit,
            amount_pence=1_500,
            reason="Carer arrived 40 minutes late",
            by=people["staff"],
            request_key="r1",
            for_provider=people["service"].provider,
        ).id
        == first.id
    )
    with pytest.raises(ValidationError, match="at most £25 for this visit"):
        card_payments.refund_visit(visit, amount_pence=3_000, reason="Too much", by=people["commissioner"], request_key="r2")
    with pytest.raises(ValidationError, match="reason"):
        card_payments.refund_visit(visit, amount_pence=100, reason="  ", by=people["commissioner"], request_key="r3")
    with pytest.raises(NotFound):
        card_payments.refund_visit(visit, amount_pence=100, reason="Not mine", by=people["staff"], request_key="r4")
    card_payments.refund_visit(visit, amount_pence=2_500, reason="Complaint upheld", by=people["commissioner"], request_key="r5")

    payment = payment_of(visit)
    assert payment.refunded_pence == 4_000 == payment.captured_pence
    assert ledger.balance(card_payments.card_account(card)) == 0
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 0
    lines = card_payments.card_statement(people["citizen"])
    assert [line.refunded_pence for line in lines if line.refunded_pence] == [1_500, 2_500]
    assert "Complaint upheld" in lines[-1].description
    assert [e.kind for e in db.session.get(Booking, booking.id).events].count("refunded") == 2
    assert ledger_check.check() == []


def test_without_keys_the_card_option_explains_it_is_not_configured(app, make_service, make_user, policy):
    app.config.update(STRIPE_SECRET_KEY="", STRIPE_PUBLISHABLE_KEY="")
    service = make_service(accepts_self_funder=True)
    citizen = make_user(Role.CITIZEN)
    request = request_for(service, None, day=day_ahead(2), payment_method=PaymentMethod.CARD)
    with pytest.raises(ValidationError) as error:
        bookings.plan(request, citizen=citizen, policy=policy)
    assert "not set up" in error.value.errors["payment"]
    with pytest.raises(card_payments.CardPaymentsNotConfigured):
        card_payments.start_card_setup(citizen)


# A capture that cannot be made (never leave a delivered visit unpaid and untracked) ----


def stripe_post(base_url: str, path: str, data: bytes = b"") -> dict:
    import json
    import urllib.request

    from tests.payments_fixtures import SECRET_KEY

    request = urllib.request.Request(f"{base_url}{path}", data=data, method="POST", headers={"Authorization": f"Bearer {SECRET_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def client_where(monkeypatch, **replacements):
    """The real client against localstripe, with some of its calls answered as Stripe would
    where localstripe cannot (``replacements``: "payment_intents.capture" -> function(real, *args, **kwargs))."""
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


def attempts_of(payment) -> dict[str, str]:
    from app.models import PaymentAttempt

    db.session.expire_all()
    return {a.operation.value: a.state.value for a in db.session.query(PaymentAttempt).filter_by(card_payment_id=payment.id)}


def test_a_lapsed_authorisation_is_released_and_the_visit_charged_to_the_card(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    visit = booking.visits[0]
    authorised = payment_of(visit)
    assert authorised.status is CardPaymentStatus.AUTHORISED
    # Stripe let the authorisation lapse (localstripe: cancelled on its side, not by us).
    stripe_post(localstripe.url, f"/v1/payment_intents/{authorised.stripe_payment_intent_id}/cancel")

    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    db.session.expire_all()
    authorised = db.session.get(CardPayment, authorised.id)
    assert authorised.status is CardPaymentStatus.CANCELLED
    # The lapsed authorisation was never sent a capture: it was looked at first.
    remote = intent(localstripe, authorised)
    assert remote["status"] == "canceled" and remote["latest_charge"]["captured"] is False
    assert attempts_of(authorised)["capture"] == "failed"
    charge = payment_of(visit)
    assert charge.kind is CardPaymentKind.CHARGE and charge.status is CardPaymentStatus.CAPTURED
    assert intent(localstripe, charge)["status"] == "succeeded"
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger.balance(card_payments.card_account(card)) == -2_000
    assert card_payments.unpaid_visits(people["citizen"]) == []
    assert ledger_check.check() == []


def test_a_refused_capture_releases_the_reservation_and_charges_the_saved_card(people, save_card, localstripe, monkeypatch):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    visit = booking.visits[0]
    authorised = payment_of(visit)
    bookings.accept(booking, by=people["staff"])

    def refuse(real, *args, **kwargs):  # Stripe says no; the intent stays requires_capture
        raise invalid_request("This PaymentIntent could not be captured.", "payment_intent_unexpected_state")

    client_where(monkeypatch, **{"payment_intents.capture": refuse})
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    monkeypatch.undo()
    db.session.expire_all()
    authorised = db.session.get(CardPayment, authorised.id)
    assert attempts_of(authorised) == {"pay": "succeeded", "capture": "failed", "cancel": "succeeded"}
    assert authorised.status is CardPaymentStatus.CANCELLED and authorised.failure_code == "capture_refused"
    assert intent(localstripe, authorised)["status"] == "canceled"  # the reservation is released
    charge = payment_of(visit)
    assert charge.kind is CardPaymentKind.CHARGE and charge.status is CardPaymentStatus.CAPTURED
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert "capture_refused" in [e.kind for e in db.session.get(Booking, booking.id).events]
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger.balance(card_payments.card_account(card)) == -2_000
    card_payments.retry_unfinished()  # nothing more to do, nothing taken twice
    assert db.session.query(CardPayment).filter_by(visit_id=visit.id).count() == 2
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 2_000
    assert ledger_check.check() == []


def test_a_refused_capture_and_a_declined_charge_mark_the_visit_unpaid(people, save_card, localstripe, monkeypatch):
    from app.models import Notification

    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])

    def refuse(real, *args, **kwargs):
        raise invalid_request("This PaymentIntent could not be captured.", "payment_intent_unexpected_state")

    def decline_off_session(real, *args, params=None, **kwargs):
        if params.get("off_session"):
            body = {"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}}
            raise stripe.CardError("Your card has insufficient funds.", None, "card_declined", http_status=402, json_body=body)
        return real(*args, params=params, **kwargs)

    client_where(monkeypatch, **{"payment_intents.capture": refuse, "payment_intents.create": decline_off_session})
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    monkeypatch.undo()
    db.session.expire_all()
    visit = db.session.get(BookingVisit, visit.id)
    assert visit.status is VisitStatus.UNPAID
    assert [v.id for v in card_payments.unpaid_visits(people["citizen"])] == [visit.id]
    assert card_payments.amount_owed(visit) == 2_000
    assert "does not have enough money" in payment_of(visit).failure_message
    told = {n.user_id for n in db.session.query(Notification).filter(Notification.subject.ilike("%card payment failed%"))}
    assert {people["citizen"].id} <= told  # the person is told how to pay (the provider side too, through its staff)
    assert ledger.balance(ledger.provider_payable_account(people["service"].provider)) == 0
    assert ledger.balance(card_payments.card_account(card)) == 0  # the reservation went back to the card
    assert ledger_check.check() == []


def test_the_ledger_check_reports_a_delivered_card_visit_nobody_is_collecting(people, save_card, localstripe, monkeypatch):
    from app.database import write_transaction
    from app.models import AttemptState, PaymentAttempt

    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])

    def unreachable(real, *args, **kwargs):
        raise stripe.APIConnectionError("Could not connect to Stripe")

    client_where(monkeypatch, **{"payment_intents.retrieve": unreachable})
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    monkeypatch.undo()
    assert ledger_check.check() == []  # the capture is recorded and under way: `flask payments retry` finishes it
    # The state the audit found: the capture finished as failed, the payment still authorised,
    # nothing charged and the visit not marked unpaid.
    with write_transaction():
        capture = db.session.query(PaymentAttempt).filter(PaymentAttempt.key.like("%:capture")).one()
        capture.state = AttemptState.FAILED
    problems = ledger_check.check()
    assert [p.invariant for p in problems] == ["a delivered card visit is paid, marked unpaid or being paid"]
    assert booking.reference in problems[0].detail
    # And the card work moves it on from there (release, then charge) until the check passes.
    card_payments.retry_unfinished()
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert ledger_check.check() == []


def test_the_ledger_check_names_a_card_whose_payments_disagree_with_its_account(people, save_card, localstripe):
    from sqlalchemy import update

    from app.database import write_transaction

    card = save_card(people["citizen"])
    visit = book_by_card(people, card, days=2).visits[0]
    assert ledger_check.check() == []  # the card's account reserves what the authorisation holds
    with write_transaction():
        db.session.execute(update(CardPayment).where(CardPayment.visit_id == visit.id).values(amount_pence=CardPayment.amount_pence + 1))
    problems = ledger_check.check()
    assert [p.invariant for p in problems] == ["card ledger matches card payments"]
    assert problems[0].detail == f"card {card.public_id}: the ledger shows 2000 taken or reserved, its payments 2001"


# Stripe's other refusals are definite answers, never error pages ------------------------------


def test_declining_and_cancelling_stand_when_stripe_refuses_the_card_work(people, save_card, localstripe, monkeypatch, policy):
    from app.models import AttemptState, PaymentAttempt

    card = save_card(people["citizen"])
    declined = book_by_card(people, card, days=2, key="to-decline")
    cancelled = book_by_card(people, card, days=3, key="to-cancel", at="14:00")

    def forbidden(real, *args, **kwargs):
        body = {"error": {"type": "invalid_request_error", "message": "The provided key does not have access to this resource."}}
        raise stripe.PermissionError(body["error"]["message"], http_status=403, json_body=body)

    client_where(monkeypatch, **{"payment_intents.retrieve": forbidden})
    bookings.decline(declined, by=people["staff"], reason="No carer free that day")  # no exception
    bookings.cancel(cancelled, by=people["citizen"], policy=policy)
    monkeypatch.undo()
    db.session.expire_all()
    assert db.session.get(Booking, declined.id).status is BookingStatus.DECLINED
    assert db.session.get(Booking, cancelled.id).status is BookingStatus.CANCELLED
    cancels = db.session.query(PaymentAttempt).filter(PaymentAttempt.key.like("%:cancel")).all()
    assert len(cancels) == 2 and all(a.state is AttemptState.FAILED for a in cancels)  # finished: not retried forever
    for booking in (declined, cancelled):
        payment = payment_of(booking.visits[0])
        # We will never capture it: for us it is over (Stripe lets it lapse by itself).
        assert payment.status is CardPaymentStatus.CANCELLED and payment.failure_code == "cancel_refused"
    assert ledger.balance(card_payments.card_account(card)) == 0
    assert card_payments.retry_unfinished() == 2  # looked at again: nothing is sent
    assert db.session.query(PaymentAttempt).filter(PaymentAttempt.key.like("%:cancel")).count() == 2
    assert ledger_check.check() == []


def test_a_payment_refused_by_stripe_for_another_reason_is_a_clear_failure(people, save_card, monkeypatch):
    card = save_card(people["citizen"])

    def idempotency_error(real, *args, **kwargs):
        body = {
            "error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters."}
        }
        raise stripe.IdempotencyError(body["error"]["message"], http_status=400, json_body=body)

    client_where(monkeypatch, **{"payment_intents.create": idempotency_error})
    with pytest.raises(card_payments.CardDeclined) as refused:
        book_by_card(people, card, days=1)
    assert "The card processor could not take this payment from your card" in refused.value.message
    assert db.session.query(Booking).one().status is BookingStatus.CANCELLED
    assert ledger_check.check() == []


def test_saving_a_card_sends_idempotency_keys_derived_from_our_own_set_up(people, stripe_app, localstripe, monkeypatch):
    from tests.payments_fixtures import stripe_js_confirm_setup

    sent = []

    def record(name):
        def call(real, *args, options=None, **kwargs):
            sent.append((name, (options or {}).get("idempotency_key")))
            return real(*args, options=options, **kwargs)

        return call

    client_where(monkeypatch, **{"setup_intents.create": record("setup"), "payment_methods.attach": record("attach")})
    setup = card_payments.start_card_setup(people["citizen"])
    stripe_js_confirm_setup(localstripe.url, setup, "4242424242424242")
    card_payments.finish_card_setup(setup.public_id, payer=people["citizen"], route=FundingRoute.SELF_FUNDER)
    assert [name for name, _ in sent] == ["setup", "attach"]  # localstripe leaves attaching to us
    assert all(key and key.startswith(f"marketplace:card-setup:{setup.public_id}:") for _, key in sent), sent
    again = card_payments.start_card_setup(people["citizen"])
    assert sent[-1][1] != sent[0][1] and again.public_id in sent[-1][1]  # a new set-up is a new operation
