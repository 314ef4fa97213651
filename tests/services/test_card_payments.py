"""Card payments against localstripe over real HTTP: authorise and capture, partial
capture, save and charge later, declines, refunds, failed charges and paying what is owed.
Every test ends with the whole-ledger check."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import stripe

from app.extensions import db
from app.models import (
    Booking,
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
from app.services import bookings, card_payments, ledger
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
        people["service"], None, day=day_ahead(days), at=at, units=units, key=key,
        payment_method=PaymentMethod.CARD, card_public_id=card.public_id, **extra,
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
    assert ledger.check() == []


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
    assert ledger.check() == []


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
    assert ledger.check() == []


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
    assert ledger.check() == []


def test_not_enough_money_on_the_card_is_a_clear_message(people, save_card, monkeypatch):
    """localstripe only declines generically, so the bank's insufficient_funds answer is a
    Stripe-shaped error (as the Stripe API returns it) for the payment request alone."""
    card = save_card(people["citizen"], route=FundingRoute.PREPAID_CARD)
    real_client = card_payments._client

    def client_whose_bank_says_no_money():
        client = real_client()

        def create(params, options=None):
            body = {"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                              "message": "Your card has insufficient funds."}}
            raise stripe.CardError(body["error"]["message"], None, "card_declined", http_status=402, json_body=body)

        client.v1.payment_intents.create = create
        return client

    monkeypatch.setattr(card_payments, "_client", client_whose_bank_says_no_money)
    with pytest.raises(card_payments.CardDeclined) as declined:
        book_by_card(people, card, days=1, units=2)
    message = declined.value.message
    assert "does not have enough money for this payment of £40." in message
    assert "prepaid card" in message and "every 4 weeks" in message
    assert db.session.query(Booking).one().status is BookingStatus.CANCELLED
    assert ledger.check() == []


def test_a_prepaid_card_is_recorded_as_prepaid_and_never_refused(people, save_card, make_user, monkeypatch, localstripe):
    """localstripe reports every card as credit: the card network's answer for a prepaid
    card is a Stripe-shaped PaymentMethod for that one request; the payments are real."""
    representative = make_user(Role.REPRESENTATIVE)
    real_client = card_payments._client

    def client_with_prepaid_cards():
        client = real_client()
        retrieve = client.v1.payment_methods.retrieve

        def prepaid(method_id, *args, **kwargs):
            method = retrieve(method_id, *args, **kwargs).to_dict()
            method["card"]["funding"] = "prepaid"
            return stripe.PaymentMethod.construct_from(method, None)

        client.v1.payment_methods.retrieve = prepaid
        return client

    monkeypatch.setattr(card_payments, "_client", client_with_prepaid_cards)
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
    assert [(user.id, total) for user, total in card_payments.prepaid_card_holders_spend()] == [(representative.id, 2_000)]
    assert ledger.check() == []


def test_declining_a_booking_cancels_the_authorisation(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=2)
    payment = payment_of(booking.visits[0])
    bookings.decline(booking, by=people["staff"], reason="No carer free that day")
    payment = payment_of(booking.visits[0])
    assert payment.status is CardPaymentStatus.CANCELLED
    assert intent(localstripe, payment)["status"] == "canceled"
    assert ledger.balance(card_payments.card_account(card)) == 0
    assert ledger.check() == []


def test_cancelling_in_time_releases_and_cancelling_late_charges(people, save_card, localstripe, policy):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=3, schedule=bookings.BookingSchedule.ONE_OFF)
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
    assert ledger.check() == []


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
    assert ledger.check() == []


def test_refunds_in_part_and_in_whole_with_a_reason(people, save_card, localstripe):
    card = save_card(people["citizen"])
    booking = book_by_card(people, card, days=1, units=2)
    visit = booking.visits[0]
    bookings.accept(booking, by=people["staff"])
    bookings.record_delivery(visit, by=people["staff"], now=delivered_at(visit))
    payment = payment_of(visit)

    first = card_payments.refund_visit(visit, amount_pence=1_500, reason="Carer arrived 40 minutes late",
                                       by=people["staff"], request_key="r1", for_provider=people["service"].provider)
    assert first.status.value == "succeeded" and first.stripe_refund_id.startswith("re_")
    remote = stripe_get(localstripe.url, f"/v1/refunds/{first.stripe_refund_id}")
    assert remote["amount"] == 1_500 and remote["payment_intent"] == payment.stripe_payment_intent_id
    assert card_payments.refund_visit(visit, amount_pence=1_500, reason="Carer arrived 40 minutes late",
                                      by=people["staff"], request_key="r1", for_provider=people["service"].provider).id == first.id
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
    assert ledger.check() == []


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
