"""Paying by card through the real pages, against localstripe over real HTTP: the checkout
(choosing or adding a card, a declined card), confirming with the bank (3-D Secure),
paying what a failed charge left owing, refunds by the provider and the commissioner,
the card statement, and the council's prepaid card spend.

Where the browser would run Stripe.js, the test does what Stripe.js does: it sends the
card to localstripe with the publishable key and the client secret the page carries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import urllib.request
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    BookingStatus,
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    FundingRoute,
    Notification,
    OrgRole,
    PaymentCard,
    PaymentMethod,
    VisitStatus,
)
from app.services import bookings, card_payments, ledger, ledger_check
from app.services.card_payments import leases, settings, stripe_api
from app.services.policy import current_policy
from tests.helpers import csrf_from, h1, page, summary_rows, visible_text
from tests.payments_fixtures import (
    DECLINED_CARD,
    DECLINED_ON_CHARGE_CARD,
    GOOD_CARD,
    PUBLISHABLE_KEY,
    stripe_get,
    stripe_js_confirm_setup,
)
from tests.services.money_helpers import request_for

THREE_D_SECURE_CARD = "4000002500003155"  # localstripe asks the card holder's bank every time


def day_ahead(days: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=days)


@pytest.fixture
def market(stripe_app, make_provider, make_provider_staff, make_service, make_citizen, make_representative, make_commissioner):
    provider = make_provider(name="Nene Valley Home Care")
    service = make_service(
        provider=provider, title="Home care visits", price_pence=2_000, capacity=4, accepts_prepaid_card=True, accepts_self_funder=True
    )
    citizen = make_citizen(name="Margaret Citizen")
    return SimpleNamespace(
        provider=provider,
        staff=make_provider_staff(provider, name="Priya Owner"),
        service=service,
        self_funder=make_citizen(name="David Selffunder"),
        citizen=citizen,
        representative=make_representative(citizen, name="Susan Representative"),
        commissioner=make_commissioner(name="Tom Commissioner"),
    )


# What the browser does ----------------------------------------------------------------------


def _date_fields(day: dt.date) -> dict:
    return {"first_date": [str(day.day), str(day.month), str(day.year)]}


def start_booking(client, service, payment: str, day: dt.date, units: int = 1, **extra):
    """Fill in the booking form and continue: the response to that POST."""
    form_page = client.get(f"/services/{service.id}/book")
    soup = page(form_page)
    data = {
        "csrf_token": csrf_from(form_page),
        "request_key": soup.find("input", attrs={"name": "request_key"})["value"],
        "citizen": soup.find("input", attrs={"name": "citizen"})["value"],
        "schedule": "one_off",
        "start_time": "10:00",
        "units": str(units),
        "payment": payment,
        **_date_fields(day),
        **extra,
    }
    return client.post(f"/services/{service.id}/book", data=data)


def stripe_js_enters_card(localstripe, card_page, number: str) -> None:
    """stripe.confirmCardSetup(clientSecret, {payment_method: {card}}) from the card page,
    with the publishable key the page gave it (and, for 3-D Secure, the person confirming)."""
    form = page(card_page).find("form", attrs={"data-card-setup": True})
    assert form["data-publishable-key"] == PUBLISHABLE_KEY
    secret = form["data-client-secret"]
    setup = SimpleNamespace(stripe_setup_intent_id=secret.split("_secret_")[0], client_secret=secret)
    status, body = stripe_js_confirm_setup(localstripe.url, setup, number)
    if status == 200 and body.get("status") == "requires_action":
        _post_json(
            f"{localstripe.url}/v1/setup_intents/{setup.stripe_setup_intent_id}/confirm",
            {"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": secret},
        )


def stripe_js_authenticates(localstripe, confirm_page, success: bool = True) -> None:
    """stripe.confirmCardPayment(clientSecret): the person passes (or fails) their bank's check."""
    form = page(confirm_page).find("form", attrs={"data-card-payment": True})
    secret = form["data-client-secret"]
    intent_id = secret.split("_secret_")[0]
    _post_json(
        f"{localstripe.url}/v1/payment_intents/{intent_id}/_authenticate?success={'true' if success else 'false'}",
        {"key": form["data-publishable-key"], "client_secret": secret},
    )


def _post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def add_card(client, localstripe, card_page, number: str = GOOD_CARD, route: str | None = None):
    """On the card page: choose the kind of card, enter it (Stripe.js), press Save card."""
    stripe_js_enters_card(localstripe, card_page, number)
    soup = page(card_page)
    chosen = soup.find("input", attrs={"name": "route", "checked": True})
    return client.post(
        "/cards/new",
        data={
            "csrf_token": csrf_from(card_page),
            "setup": soup.find("input", attrs={"name": "setup"})["value"],
            "next": soup.find("input", attrs={"name": "next"})["value"],
            "route": route or (chosen["value"] if chosen else ""),
        },
    )


def confirm_booking(client, check_page):
    soup = page(check_page)
    form = soup.select_one("form[action*='/book/check']")
    return client.post(
        form["action"],
        data={
            "csrf_token": csrf_from(check_page),
            "request_key": soup.find("input", attrs={"name": "request_key"})["value"],
            "expected_total": soup.find("input", attrs={"name": "expected_total"})["value"],
        },
    )


def book_by_card_through_pages(client, localstripe, service, *, route="self_funder", number=GOOD_CARD, days=2, units=1):
    """The whole checkout for someone with no saved card: the booking page afterwards."""
    to_card = start_booking(client, service, f"card:{route}", day_ahead(days), units)
    assert to_card.status_code == 302 and "/book/card" in to_card.headers["Location"], visible_text(to_card)[:400]
    to_new = client.get(to_card.headers["Location"])
    assert to_new.status_code == 302 and to_new.headers["Location"].startswith("/cards/new")
    saved = add_card(client, localstripe, client.get(to_new.headers["Location"]), number)
    assert saved.status_code == 302, visible_text(saved)[:400]
    check = client.get(client.get(saved.headers["Location"]).headers["Location"])
    assert h1(check) == "Check your booking", visible_text(check)[:300]
    done = confirm_booking(client, check)
    assert done.status_code == 302, visible_text(done)[:500]
    return client.get(done.headers["Location"])


def deliver(staff, booking_id: int, units: int | None = None):
    """The provider accepts the booking and records its visit (as of after it started)."""
    booking = db.session.get(Booking, booking_id)
    if booking.status is BookingStatus.REQUESTED:
        bookings.accept(booking, by=staff)
    visit = db.session.get(Booking, booking_id).visits[0]
    bookings.record_delivery(visit, by=staff, delivered_units=units, now=visit.starts_at + dt.timedelta(hours=2))
    db.session.expire_all()
    return db.session.get(BookingVisit, visit.id)


def only_booking(person) -> Booking:
    db.session.expire_all()
    return db.session.execute(select(Booking).where(Booking.citizen_id == person.id)).scalar_one()


# The checkout -------------------------------------------------------------------------------


def test_a_self_funder_books_and_pays_by_card_end_to_end(client, login, market, localstripe):
    login(client, market.self_funder)
    form = client.get(f"/services/{market.service.id}/book")
    radios = {i["value"]: i for i in page(form).select("input[name=payment]")}
    assert set(radios) == {"card:prepaid_card", "card:self_funder"}
    text = visible_text(form)
    assert "Council prepaid card (direct payment)" in text and "Your own debit or credit card" in text
    assert "Choose one of your saved cards or add a card on the next page" in text

    to_card = start_booking(client, market.service, "card:self_funder", day_ahead(2), units=2)
    card_step = client.get(to_card.headers["Location"])
    card_page = client.get(card_step.headers["Location"])  # no saved card yet: straight to adding one
    assert h1(card_page) == "Add a card"
    # The page loads Stripe.js from the configured Stripe (localstripe here), and its CSP allows it.
    scripts = [s.get("src") for s in page(card_page).find_all("script")]
    assert f"{localstripe.url}/js.stripe.com/v3/" in scripts and "/static/js/cards.mjs" in scripts
    assert localstripe.url in card_page.headers["Content-Security-Policy"].split("script-src", 1)[1].split(";")[0]
    assert page(card_page).find("input", attrs={"name": "route", "value": "self_funder"}).has_attr("checked")

    saved = add_card(client, localstripe, card_page)
    assert saved.status_code == 302
    check = client.get(client.get(saved.headers["Location"]).headers["Location"])
    assert h1(check) == "Check your booking"
    rows = summary_rows(check)
    assert rows["Paid from"].startswith("Your own debit or credit card")
    assert rows["Card"].startswith("Visa credit card ending 4242 (own card)")
    text = visible_text(check)
    assert "Total: £40" in text and "Reserved on your card now, taken when delivered" in text
    assert "Nothing is taken from your card until a visit is delivered" in text

    booking_page = client.get(confirm_booking(client, check).headers["Location"])
    text = visible_text(booking_page)
    assert re.search(r"Booking BK-[A-Z0-9]{6} sent to Nene Valley Home Care", text)
    assert "Booked, money reserved on the card" in text and "£40 reserved on card" in text
    assert summary_rows(booking_page)["Card holder"] == "David Selffunder"

    booking = only_booking(market.self_funder)
    assert booking.payment_method is PaymentMethod.CARD and booking.booked_by_id == market.self_funder.id
    statement = visible_text(client.get("/payments"))
    assert "Visa credit card ending 4242" in statement and "Authorised on Visa credit card ending 4242" in statement

    # The visit happens: the money is taken, and every page says so.
    deliver(market.staff, booking.id, units=1)
    text = visible_text(client.get(f"/bookings/{booking.public_id}"))
    assert "£20 paid by card" in text and "Paid by card so far £20" in text
    rows = list(csv.reader(io.StringIO(client.get("/payments/statement.csv").get_data(as_text=True))))
    assert rows[-1] == ["Total", "", "", "", "", "20.00", "0.00"]
    assert any(row[5:6] == ["20.00"] and "Charged to Visa credit card ending 4242" in row[1] for row in rows)
    assert ledger_check.check() == []


def test_a_saved_card_is_offered_next_time(client, login, market, localstripe, save_card):
    card = save_card(market.self_funder)
    login(client, market.self_funder)
    to_card = start_booking(client, market.service, "card:self_funder", day_ahead(9))
    choose = client.get(to_card.headers["Location"])
    assert h1(choose) == "Choose a card"
    options = {i["value"] for i in page(choose).select("input[name=card]")}
    assert options == {card.public_id, "new"}
    nothing = client.post(to_card.headers["Location"], data={"csrf_token": csrf_from(choose)})
    assert page(nothing).title.get_text().startswith("Error: ") and "Select a card, or add a new card" in visible_text(nothing)
    chosen = client.post(to_card.headers["Location"], data={"csrf_token": csrf_from(choose), "card": card.public_id})
    check = client.get(chosen.headers["Location"])
    assert "Charged to your card when delivered" in visible_text(check)  # 9 days ahead: too far to reserve
    booking_page = client.get(confirm_booking(client, check).headers["Location"])
    assert "Booked (charged to the card when delivered)" in visible_text(booking_page)
    assert db.session.query(CardPayment).count() == 0


def test_a_person_removes_a_saved_card_once_no_booking_needs_it(client, login, market, localstripe, save_card):
    card = save_card(market.self_funder)
    login(client, market.self_funder)
    to_card = start_booking(client, market.service, "card:self_funder", day_ahead(9))
    choose = client.get(to_card.headers["Location"])
    chosen = client.post(to_card.headers["Location"], data={"csrf_token": csrf_from(choose), "card": card.public_id})
    booking_page = client.get(confirm_booking(client, client.get(chosen.headers["Location"])).headers["Location"])
    reference = re.search(r"BK-[A-Z0-9]{6}", visible_text(booking_page)).group(0)

    payments = client.get("/payments")
    remove = page(payments).find("a", href=f"/cards/{card.public_id}/remove")
    assert remove is not None and remove.get_text(" ", strip=True) == f"Remove {card.description}"
    refused = client.get(remove["href"])
    assert f"it still pays for booking {reference}" in visible_text(refused) and "Remove card" not in visible_text(refused)
    post = client.post(remove["href"], data={"csrf_token": csrf_from(payments)})
    assert post.status_code == 200 and db.session.get(PaymentCard, card.id).removed_at is None  # still needed: kept

    booking = bookings.bookings_for_citizen(market.self_funder)[0]
    bookings.cancel(booking, by=market.self_funder, policy=current_policy())
    form = client.get(remove["href"])
    done = client.post(remove["href"], data={"csrf_token": csrf_from(form)}, follow_redirects=True)
    assert f"{card.description} removed" in visible_text(done)
    db.session.expire_all()
    assert db.session.get(PaymentCard, card.id).removed_at is not None
    assert card.public_id not in {c.public_id for c in card_payments.saved_cards(market.self_funder)}
    assert stripe_get(localstripe.url, f"/v1/payment_methods/{card.stripe_payment_method_id}").get("customer") is None  # detached
    assert client.get(remove["href"]).status_code == 404  # gone from the owner's cards


def test_a_card_declined_when_saved_says_so_and_saves_nothing(client, login, market, localstripe):
    login(client, market.self_funder)
    card_page = client.get("/cards/new?route=self_funder")
    refused = add_card(client, localstripe, card_page, DECLINED_CARD)
    assert refused.status_code == 200
    soup = page(refused)
    assert soup.title.get_text().startswith("Error: ")
    summary = soup.select_one(".govuk-error-summary").get_text(" ")
    assert "Your card could not be saved: your bank declined it" in summary
    assert soup.select_one(".govuk-error-summary a")["href"] == "#card-element"
    assert "Your card could not be saved" in soup.select_one("#card-error").get_text()
    # A new card set-up to try again with (the declined one cannot be used again).
    new_secret = soup.find("form", attrs={"data-card-setup": True})["data-client-secret"]
    assert new_secret != page(card_page).find("form", attrs={"data-card-setup": True})["data-client-secret"]
    assert card_payments.saved_cards(market.self_funder) == []
    assert add_card(client, localstripe, refused, GOOD_CARD).status_code == 302
    assert len(card_payments.saved_cards(market.self_funder)) == 1


def test_saving_a_card_needs_its_kind_and_its_details(client, login, market, localstripe):
    login(client, market.self_funder)
    card_page = client.get("/cards/new")
    no_kind = client.post("/cards/new", data={"csrf_token": csrf_from(card_page), "setup": "x", "next": "/payments"})
    assert "Select what kind of card it is" in page(no_kind).select_one(".govuk-error-summary").get_text()
    not_entered = client.post(
        "/cards/new",
        data={
            "csrf_token": csrf_from(card_page),
            "route": "self_funder",
            "next": "/payments",
            "setup": page(card_page).find("input", attrs={"name": "setup"})["value"],
        },
    )
    assert "Enter your card details and try again" in visible_text(not_entered)
    stolen = client.post("/cards/new", data={"csrf_token": csrf_from(card_page), "route": "self_funder", "setup": "someone-elses"})
    assert "Enter your card details" in visible_text(stolen)
    # Only a local page can be where the person goes next.
    away = add_card(client, localstripe, client.get("/cards/new?next=https://evil.example/&route=self_funder"))
    assert away.headers["Location"].startswith("/payments?card=")


def test_a_declined_card_at_booking_books_nothing_and_another_card_can_be_used(client, login, market, localstripe, save_card):
    bad = save_card(market.self_funder, DECLINED_ON_CHARGE_CARD)
    good = save_card(market.self_funder)
    login(client, market.self_funder)
    to_card = start_booking(client, market.service, "card:self_funder", day_ahead(1))
    choose = client.get(to_card.headers["Location"])
    check = client.get(
        client.post(to_card.headers["Location"], data={"csrf_token": csrf_from(choose), "card": bad.public_id}).headers["Location"]
    )
    refused = confirm_booking(client, check)
    assert refused.status_code == 200
    soup = page(refused)
    assert soup.title.get_text().startswith("Error: ")
    summary = soup.select_one(".govuk-error-summary")
    assert "Your booking has not been made" in summary.get_text() and "declined" in summary.get_text()
    assert "/book/card" in summary.find("a")["href"]  # the way to choose another card
    booking = only_booking(market.self_funder)
    assert booking.status is BookingStatus.CANCELLED and all(v.status is VisitStatus.CANCELLED for v in booking.visits)
    assert db.session.query(Notification).filter_by(user_id=market.staff.id).count() == 0  # the provider was not asked
    # Confirming again is a new request (the declined one is spent), here with the other card.
    new_key = soup.find("input", attrs={"name": "request_key"})["value"]
    assert new_key != booking.request_key and new_key in soup.select_one("form[action*='/book/check']")["action"]
    choose = client.get(summary.find("a")["href"])
    check = client.get(
        client.post(summary.find("a")["href"], data={"csrf_token": csrf_from(choose), "card": good.public_id}).headers["Location"]
    )
    assert confirm_booking(client, check).status_code == 302
    db.session.expire_all()
    statuses = sorted(b.status.value for b in db.session.query(Booking).filter_by(citizen_id=market.self_funder.id))
    assert statuses == ["cancelled", "requested"]
    assert ledger_check.check() == []


def test_without_stripe_keys_the_card_option_says_it_is_not_set_up(client, login, market, app):
    app.config.update(STRIPE_SECRET_KEY="", STRIPE_PUBLISHABLE_KEY="")
    login(client, market.self_funder)
    form = client.get(f"/services/{market.service.id}/book")
    assert "Card payments are not set up on this marketplace yet" in visible_text(form)
    refused = start_booking(client, market.service, "card:self_funder", day_ahead(2))
    assert refused.status_code == 200
    assert "Card payments are not set up on this marketplace yet" in page(refused).select_one(".govuk-error-summary").get_text()
    assert "not set up" in visible_text(client.get("/cards/new"))
    assert "script-src 'self' 'nonce-" in client.get("/payments").headers["Content-Security-Policy"]
    assert db.session.query(Booking).count() == 0


def test_a_representative_pays_for_the_citizen_with_a_prepaid_card(client, login, market, localstripe):
    login(client, market.representative)
    booking_page = book_by_card_through_pages(client, localstripe, market.service, route="prepaid_card", days=3)
    rows = summary_rows(booking_page)
    assert rows["For"] == "Margaret Citizen" and rows["Card holder"] == "Susan Representative"
    assert rows["Card"].endswith("(council prepaid card)")
    booking = only_booking(market.citizen)
    assert booking.booked_by_id == market.representative.id
    card = card_payments.booking_card(booking)
    assert card.owner_id == market.representative.id and card.route is FundingRoute.PREPAID_CARD

    deliver(market.staff, booking.id)
    citizen_client = client.application.test_client()
    login(citizen_client, market.citizen)
    assert "£20 paid by card" in visible_text(citizen_client.get(f"/bookings/{booking.public_id}"))
    # Margaret's own card statement shows what Susan's card paid for Margaret's care.
    statement = visible_text(citizen_client.get("/payments"))
    assert "Charged to Visa credit card ending 4242" in statement and "Susan Representative's card" in statement
    rows = list(csv.reader(io.StringIO(citizen_client.get("/payments/statement.csv").get_data(as_text=True))))
    assert rows[-1] == ["Total", "", "", "", "", "20.00", "0.00"]

    council = client.application.test_client()
    login(council, market.commissioner)
    spend = client_text = visible_text(council.get("/commissioner/card-spend"))
    assert "Paid with council prepaid cards £20" in spend and "Paid with own money £0" in client_text
    assert "Susan Representative" in spend and "Margaret Citizen" in spend
    assert "Direct payment recipients who paid by prepaid card 1" in spend
    rows = list(csv.reader(io.StringIO(council.get("/commissioner/card-spend.csv").get_data(as_text=True))))
    assert ["Council prepaid card (direct payment)", "Credit card", "1", "20.00", "0.00", "20.00"] in rows
    # The spend is the citizen's direct payment, whoever held the card.
    assert ["Margaret Citizen", market.citizen.email, "Susan Representative", market.representative.email, "20.00"] in rows
    assert ledger_check.check() == []


def test_a_bank_that_asks_the_card_holder_to_confirm_at_booking(client, login, market, localstripe, save_card):
    login(client, market.self_funder)
    to_card = start_booking(client, market.service, "card:self_funder", day_ahead(2))
    card_page = client.get(client.get(to_card.headers["Location"]).headers["Location"])
    saved = add_card(client, localstripe, card_page, THREE_D_SECURE_CARD)
    check = client.get(client.get(saved.headers["Location"]).headers["Location"])
    to_bank = confirm_booking(client, check)
    assert "/payments/" in to_bank.headers["Location"] and to_bank.headers["Location"].endswith("/confirm")
    confirm = client.get(to_bank.headers["Location"])
    assert h1(confirm) == "Confirm the payment with your bank"
    assert summary_rows(confirm)["What happens"] == "Reserved on your card now, taken when the visit is delivered"
    # Until the person has confirmed, the page says so.
    early = client.post(to_bank.headers["Location"], data={"csrf_token": csrf_from(confirm)})
    assert "Your bank has not confirmed the payment yet" in visible_text(early)
    stripe_js_authenticates(localstripe, confirm)
    done = client.post(to_bank.headers["Location"], data={"csrf_token": csrf_from(confirm)}, follow_redirects=True)
    assert "£20 is reserved on your card" in visible_text(done)
    booking = only_booking(market.self_funder)
    assert booking.visits[0].status is VisitStatus.HELD
    assert ledger_check.check() == []


# Paying what is owed --------------------------------------------------------------------------


@pytest.fixture
def unpaid(market, save_card, policy):
    """A delivered visit whose card charge failed: £40 owed by Margaret (who booked it)."""
    card = save_card(market.citizen, DECLINED_ON_CHARGE_CARD)
    request = request_for(market.service, None, day=day_ahead(9), units=2, payment_method=PaymentMethod.CARD, card_public_id=card.public_id)
    booking = bookings.create(request, citizen=market.citizen, booker=market.citizen, policy=policy)
    visit = deliver(market.staff, booking.id)
    assert visit.status is VisitStatus.UNPAID
    return SimpleNamespace(booking=db.session.get(Booking, booking.id), visit=visit, card=card)


def test_a_failed_charge_tells_the_person_how_to_pay_and_they_pay(client, login, market, unpaid, save_card):
    told = (
        db.session.query(Notification)
        .filter_by(user_id=market.citizen.id, subject=f"Card payment failed: booking {unpaid.booking.reference}")
        .one()
    )
    assert told.link == "/payments/owed"
    login(client, market.citizen)
    assert "1 visit still to pay for" in visible_text(client.get("/bookings"))
    owed = client.get("/payments/owed")
    text = visible_text(owed)
    assert "To pay £40" in text and "Your bank declined the card" in text
    booking_page = visible_text(client.get(f"/bookings/{unpaid.booking.public_id}"))
    assert "£40 is still to pay for 1 visit" in booking_page and "Card payment failed: payment due" in booking_page

    pay_url = f"/bookings/{unpaid.booking.public_id}/visits/{unpaid.visit.id}/pay"
    assert any(a.get("href") == pay_url for a in page(owed).find_all("a"))
    pay_page = client.get(pay_url)
    assert h1(pay_page) == "Pay £40 for a visit"
    # The same card again is declined again: a clear message, nothing taken, a fresh try.
    key = page(pay_page).find("input", attrs={"name": "request_key"})["value"]
    again = client.post(pay_url, data={"csrf_token": csrf_from(pay_page), "request_key": key, "card": unpaid.card.public_id})
    assert again.status_code == 200 and "Your bank declined the card" in page(again).select_one(".govuk-error-summary").get_text()
    assert page(again).find("input", attrs={"name": "request_key"})["value"] != key
    # Adding another card from the payment page comes back to it with that card chosen.
    to_new = client.post(pay_url, data={"csrf_token": csrf_from(pay_page), "request_key": key, "card": "new"})
    assert to_new.headers["Location"].startswith("/cards/new")
    good = save_card(market.citizen)
    chosen = client.get(pay_url + f"?card={good.public_id}")
    assert page(chosen).find("input", attrs={"name": "card", "value": good.public_id}).has_attr("checked")
    paid = client.post(
        pay_url,
        data={
            "csrf_token": csrf_from(chosen),
            "card": good.public_id,
            "request_key": page(chosen).find("input", attrs={"name": "request_key"})["value"],
        },
        follow_redirects=True,
    )
    assert "£40 paid with your Visa credit card ending 4242. Thank you." in visible_text(paid)
    assert db.session.get(BookingVisit, unpaid.visit.id).status is VisitStatus.DELIVERED
    assert "You do not owe anything" in visible_text(client.get("/payments/owed"))
    gone = client.get(pay_url, follow_redirects=True)
    assert "This visit has nothing left to pay" in visible_text(gone)
    assert ledger.balance(ledger.provider_payable_account(market.provider)) == 4_000
    assert ledger_check.check() == []


def test_someone_who_did_not_pay_sees_what_is_owed_but_the_card_holder_pays(client, login, market, unpaid):
    login(client, market.representative)
    text = visible_text(client.get("/payments/owed"))
    assert "To pay £40" in text and "Margaret Citizen paid for this booking by card and has been asked to pay it" in text
    assert client.get(f"/bookings/{unpaid.booking.public_id}/visits/{unpaid.visit.id}/pay").status_code == 404


def test_paying_what_is_owed_with_a_bank_check(client, login, market, unpaid, save_card, localstripe):
    """3-D Secure on "Pay now": the bank asks, the person fails once, then passes."""
    checked = save_card(market.citizen)
    login(client, market.citizen)
    pay_url = f"/bookings/{unpaid.booking.public_id}/visits/{unpaid.visit.id}/pay"
    # Saved through the page, as a card that always asks the bank.
    card_page = client.get(f"/cards/new?route=self_funder&next={pay_url}")
    back = add_card(client, localstripe, card_page, THREE_D_SECURE_CARD)
    assert back.headers["Location"].startswith(pay_url + "?card=")
    card_id = back.headers["Location"].split("card=")[1]
    assert card_id != checked.public_id

    def pay():
        form = client.get(back.headers["Location"])
        return client.post(
            pay_url,
            data={
                "csrf_token": csrf_from(form),
                "card": card_id,
                "request_key": page(form).find("input", attrs={"name": "request_key"})["value"],
            },
        )

    to_bank = pay()
    assert to_bank.headers["Location"].endswith("/confirm")
    confirm = client.get(to_bank.headers["Location"])
    assert summary_rows(confirm)["Amount"] == "£40" and summary_rows(confirm)["What happens"] == "Paid now"
    # While the bank waits, "Pay now" leads back to the bank's question, not to a second payment.
    assert client.get(pay_url).headers["Location"] == to_bank.headers["Location"]
    stripe_js_authenticates(localstripe, confirm, success=False)
    failed = client.post(to_bank.headers["Location"], data={"csrf_token": csrf_from(confirm)})
    assert failed.headers["Location"] == pay_url
    assert "Your bank did not confirm the payment, so nothing was taken" in visible_text(client.get(pay_url))
    assert db.session.get(BookingVisit, unpaid.visit.id).status is VisitStatus.UNPAID

    to_bank = pay()
    confirm = client.get(to_bank.headers["Location"])
    stripe_js_authenticates(localstripe, confirm, success=True)
    done = client.post(to_bank.headers["Location"], data={"csrf_token": csrf_from(confirm)}, follow_redirects=True)
    assert "£40 paid with your Visa credit card ending 3155" in visible_text(done)
    db.session.expire_all()
    assert db.session.get(BookingVisit, unpaid.visit.id).status is VisitStatus.DELIVERED
    assert ledger_check.check() == []


# Refunds --------------------------------------------------------------------------------------


@pytest.fixture
def paid(market, save_card, policy):
    """A visit paid by card: £40 (two hours) taken from Margaret's card."""
    card = save_card(market.citizen)
    request = request_for(market.service, None, day=day_ahead(2), units=2, payment_method=PaymentMethod.CARD, card_public_id=card.public_id)
    booking = bookings.create(request, citizen=market.citizen, booker=market.citizen, policy=policy)
    visit = deliver(market.staff, booking.id)
    assert visit.status is VisitStatus.DELIVERED
    return SimpleNamespace(booking=db.session.get(Booking, booking.id), visit=visit, card=card)


def refund(client, url, amount: str, reason: str):
    form = client.get(url)
    return client.post(
        url,
        data={
            "csrf_token": csrf_from(form),
            "amount": amount,
            "reason": reason,
            "request_key": page(form).find("input", attrs={"name": "request_key"})["value"],
        },
    )


def test_the_provider_refunds_part_of_a_visit_with_a_reason(client, login, market, paid):
    login(client, market.staff)
    booking_page = client.get(f"/provider/bookings/{paid.booking.public_id}")
    url = f"/provider/bookings/{paid.booking.public_id}/visits/{paid.visit.id}/refund"
    assert any(a.get("href") == url for a in page(booking_page).find_all("a"))
    form = client.get(url)
    assert summary_rows(form)["Can be refunded"] == "£40"

    for amount, reason, message in [
        ("", "Late", "Enter the amount to refund, like 12.50"),
        ("lots", "Late", "Enter an amount in pounds, like 420 or 420.50"),
        ("0", "Late", "Enter an amount to refund, like 12.50"),
        ("40.01", "Late", "You can refund at most £40 for this visit"),
        ("5", "   ", "Enter the reason for the refund: the person will see it"),
    ]:
        refused = refund(client, url, amount, reason)
        assert refused.status_code == 200 and page(refused).title.get_text().startswith("Error: ")
        assert message in page(refused).select_one(".govuk-error-summary").get_text(), (amount, reason)
    assert db.session.query(AuditEvent).filter(AuditEvent.action.like("payments.%")).count() == 0

    done = refund(client, url, "12.50", "Carer arrived 40 minutes late")
    assert done.status_code == 302
    text = visible_text(client.get(done.headers["Location"]))
    assert "£12.50 refunded to Visa credit card ending 4242. Margaret Citizen has been told." in text
    assert "Carer arrived 40 minutes late" in text and "£12.50 refunded" in text
    assert summary_rows(client.get(url))["Can be refunded"] == "£27.50"

    citizen = client.application.test_client()
    login(citizen, market.citizen)
    text = visible_text(citizen.get(f"/bookings/{paid.booking.public_id}"))
    assert "Refunds" in text and "Carer arrived 40 minutes late" in text and "Refunded £12.50" in text
    statement = visible_text(citizen.get("/payments"))
    assert "Refunded to Visa credit card ending 4242" in statement and "Carer arrived 40 minutes late" in statement
    assert (
        db.session.query(Notification)
        .filter_by(user_id=market.citizen.id, subject=f"Refund made: booking {paid.booking.reference}")
        .count()
        == 1
    )

    audit = {e.action: e for e in db.session.query(AuditEvent).filter(AuditEvent.action.like("payments.%"))}
    assert set(audit) == {"payments.refund_requested", "payments.refunded"}
    assert audit["payments.refund_requested"].actor_id == market.staff.id
    assert audit["payments.refund_requested"].target_id == paid.booking.reference
    assert audit["payments.refund_requested"].after["amount_pence"] == 1_250
    assert audit["payments.refund_requested"].note == "Carer arrived 40 minutes late"
    assert ledger.balance(ledger.provider_payable_account(market.provider)) == 2_750
    assert ledger_check.check() == []


def test_only_owners_and_managers_refund(client, login, market, paid, make_provider_staff):
    junior = make_provider_staff(market.provider, OrgRole.STAFF)
    login(client, junior)
    booking_page = client.get(f"/provider/bookings/{paid.booking.public_id}")
    assert "Refund" not in [a.get_text(" ", strip=True).split(" the visit")[0] for a in page(booking_page).find_all("a")]
    refused = client.get(f"/provider/bookings/{paid.booking.public_id}/visits/{paid.visit.id}/refund", follow_redirects=True)
    assert "Only an owner or manager of your organisation can do this" in visible_text(refused)


def test_the_commissioner_finds_a_booking_and_refunds_the_rest(client, login, market, paid, make_admin):
    card_payments.refund_visit(
        paid.visit, amount_pence=1_000, reason="Short visit", by=market.staff, request_key="first", for_provider=market.provider
    )
    login(client, market.commissioner)
    found = client.get(f"/commissioner/bookings?q={paid.booking.reference.lower()}")
    assert paid.booking.reference in visible_text(found) and "1 booking" in visible_text(found)
    assert "No bookings found" in visible_text(client.get("/commissioner/bookings?q=nobody-at-all"))
    booking_page = client.get(f"/commissioner/bookings/{paid.booking.public_id}")
    text = visible_text(booking_page)
    assert "Short visit" in text and "Priya Owner" in text
    url = f"/commissioner/bookings/{paid.booking.public_id}/visits/{paid.visit.id}/refund"
    done = refund(client, url, "30", "Complaint upheld by the council")
    assert done.status_code == 302
    assert "£30 refunded" in visible_text(client.get(done.headers["Location"]))
    assert "There is nothing left to refund for this visit" in visible_text(client.get(url))
    payment = db.session.query(CardPayment).filter_by(visit_id=paid.visit.id, status=CardPaymentStatus.CAPTURED).one()
    db.session.refresh(payment)
    assert payment.refunded_pence == 4_000
    # The commissioner's own refund is in the audit trail.
    trail = visible_text(client.get("/commissioner/audit?action=payments.refund_requested"))
    assert "Tom Commissioner" in trail and paid.booking.reference in trail
    admin = client.application.test_client()
    login(admin, make_admin())
    assert admin.get(f"/commissioner/bookings/{paid.booking.public_id}").status_code == 200
    assert admin.get(url).status_code == 404
    assert ledger_check.check() == []


def test_a_budget_booking_has_no_card_pages(client, login, market, make_budget, policy):
    budget = make_budget(citizen=market.citizen)
    booking = bookings.create(
        request_for(market.service, budget, day=day_ahead(2)), citizen=market.citizen, booker=market.citizen, policy=policy
    )
    login(client, market.staff)
    assert client.get(f"/provider/bookings/{booking.public_id}/visits/{booking.visits[0].id}/refund").status_code == 404
    assert "Card payment" not in visible_text(client.get(f"/provider/bookings/{booking.public_id}"))
    citizen = client.application.test_client()
    login(citizen, market.citizen)
    assert citizen.get(f"/bookings/{booking.public_id}/visits/{booking.visits[0].id}/pay").status_code == 404


def test_the_card_step_goes_back_to_the_form_and_follows_the_kind_of_card_added(client, login, market, localstripe):
    login(client, market.representative)
    to_card = start_booking(client, market.service, "card:self_funder", day_ahead(3))
    card_page = client.get(client.get(to_card.headers["Location"]).headers["Location"])
    back = page(card_page).select_one(".govuk-back-link")["href"]
    assert back.startswith(f"/services/{market.service.id}/book?key=")  # not the card step, which would come straight back
    # Susan says the card she adds is Margaret's council prepaid card: the booking is paid that way.
    saved = add_card(client, localstripe, card_page, route="prepaid_card")
    check = client.get(client.get(saved.headers["Location"]).headers["Location"])
    rows = summary_rows(check)
    assert rows["Paid from"].startswith("Council prepaid card (direct payment)") and rows["Card"].endswith("(council prepaid card)")
    # A problem on the card page keeps the way back.
    refused = client.post(page(card_page).select_one("form[data-card-setup]")["action"], data={"csrf_token": csrf_from(card_page)})
    assert page(refused).select_one(".govuk-back-link")["href"] == back


def test_the_provider_records_a_card_visit_charged_on_delivery_through_the_page(client, login, market, save_card, policy):
    """A visit booked further ahead than a card authorisation lasts is charged when the
    provider records it: the page offers the record form for it as for any other."""
    card = save_card(market.citizen)
    request = request_for(market.service, None, day=day_ahead(9), units=2, payment_method=PaymentMethod.CARD, card_public_id=card.public_id)
    booking = bookings.create(request, citizen=market.citizen, booker=market.citizen, policy=policy)
    bookings.accept(booking, by=market.staff)
    visit = db.session.get(Booking, booking.id).visits[0]
    assert visit.status is VisitStatus.SCHEDULED
    login(client, market.staff)
    assert "After the visit starts" in visible_text(client.get(f"/provider/bookings/{booking.public_id}"))
    # Time passes: the visit has happened.
    started = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    db.session.execute(
        BookingVisit.__table__.update()
        .where(BookingVisit.__table__.c.id == visit.id)
        .values(starts_at=started, ends_at=started + dt.timedelta(hours=2))
    )
    db.session.commit()
    detail = client.get(f"/provider/bookings/{booking.public_id}")
    form = page(detail).select_one(f"form[action$='/visits/{visit.id}/delivered']")
    assert form is not None, "no record form for a card visit that has happened"
    done = client.post(form["action"], data={"csrf_token": csrf_from(detail), "delivered_units": "2"}, follow_redirects=True)
    assert "Visit recorded as delivered" in visible_text(done)
    assert "£40 paid by card" in visible_text(done)
    db.session.expire_all()
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert ledger_check.check() == []


# Hardening through the pages ---------------------------------------------------------


def test_a_refund_already_in_progress_keeps_its_request_so_pressing_again_refunds_once(client, login, market, paid, monkeypatch):
    login(client, market.staff)
    url = f"/provider/bookings/{paid.booking.public_id}/visits/{paid.visit.id}/refund"
    form = client.get(url)
    key = page(form).find("input", attrs={"name": "request_key"})["value"]
    data = {"csrf_token": csrf_from(form), "amount": "10", "reason": "Carer left early", "request_key": key}
    real_claim = leases.claim
    monkeypatch.setattr(settings, "WAIT_FOR_OTHER", 0.0)
    monkeypatch.setattr(leases, "claim", lambda attempt_id: None)  # another worker is making it right now
    busy = client.post(url, data=data)
    assert busy.status_code == 200
    assert "This refund is already being made" in page(busy).select_one(".govuk-error-summary").get_text()
    assert page(busy).find("input", attrs={"name": "request_key"})["value"] == key  # the same request, not a new one
    monkeypatch.setattr(leases, "claim", real_claim)
    again = client.post(url, data=dict(data, csrf_token=csrf_from(busy)))
    assert again.status_code == 302
    assert db.session.query(CardRefund).count() == 1
    payment = db.session.query(CardPayment).filter_by(visit_id=paid.visit.id).one()
    db.session.refresh(payment)
    assert payment.refunded_pence == 1_000
    assert ledger_check.check() == []


def test_a_pending_refund_is_shown_as_in_progress_to_everyone(client, login, market, paid, monkeypatch):
    import stripe

    real_client = stripe_api.client

    def pending_client():
        c = real_client()
        create = c.v1.refunds.create

        def pending(*args, **kwargs):
            made = create(*args, **kwargs).to_dict()
            made["status"] = "pending"  # as Stripe answers while the bank has not confirmed it
            return stripe.Refund.construct_from(made, None)

        c.v1.refunds.create = pending
        return c

    monkeypatch.setattr(stripe_api, "client", pending_client)
    login(client, market.staff)
    done = refund(client, f"/provider/bookings/{paid.booking.public_id}/visits/{paid.visit.id}/refund", "15", "Carer arrived late")
    assert done.status_code == 302
    provider_page = visible_text(client.get(done.headers["Location"]))
    assert "Refund of £15 to Visa credit card ending 4242 asked for" in provider_page
    assert "£15 refund in progress" in provider_page and "Waiting for the bank to confirm it" in provider_page
    assert "Refund in progress £15: asked for, not yet confirmed by the bank" in provider_page
    assert "£15 refunded" not in provider_page
    council = client.application.test_client()
    login(council, market.commissioner)
    council_page = visible_text(council.get(f"/commissioner/bookings/{paid.booking.public_id}"))
    assert "Refund in progress £15" in council_page and "In progress" in council_page
    citizen = client.application.test_client()
    login(citizen, market.citizen)
    booking_page = visible_text(citizen.get(f"/bookings/{paid.booking.public_id}"))
    assert "Refund in progress £15" in booking_page and "Carer arrived late" in booking_page
    statement = visible_text(citizen.get("/payments"))
    assert "Refunds in progress" in statement and "£15 to Visa credit card ending 4242" in statement
    assert "Refund made" not in {n.subject.split(":")[0] for n in db.session.query(Notification).filter_by(user_id=market.citizen.id)}


def test_adding_a_card_when_the_stripe_customer_was_deleted_makes_a_new_one(client, login, market, localstripe, save_card):
    from app.models import CardCustomer
    from tests.payments_fixtures import SECRET_KEY

    old_card = save_card(market.self_funder)
    old_customer = db.session.query(CardCustomer).filter_by(user_id=market.self_funder.id).one().stripe_customer_id
    request = urllib.request.Request(
        f"{localstripe.url}/v1/customers/{old_customer}", method="DELETE", headers={"Authorization": f"Bearer {SECRET_KEY}"}
    )
    urllib.request.urlopen(request).close()  # deleted in the Stripe dashboard
    login(client, market.self_funder)
    card_page = client.get("/cards/new?route=self_funder")
    assert card_page.status_code == 200 and h1(card_page) == "Add a card"
    saved = add_card(client, localstripe, card_page)
    assert saved.status_code == 302, visible_text(saved)[:300]
    db.session.expire_all()
    customer = db.session.query(CardCustomer).filter_by(user_id=market.self_funder.id).one().stripe_customer_id
    assert customer != old_customer
    cards = card_payments.saved_cards(market.self_funder)
    assert len(cards) == 1 and cards[0].id != old_card.id  # the old card went with the old customer
    assert cards[0].stripe_payment_method_id in [
        pm["id"] for pm in _stripe_list(localstripe, f"/v1/payment_methods?customer={customer}&type=card")
    ]


def test_adding_a_card_when_stripe_refuses_the_set_up_says_so(client, login, market, localstripe, save_card, monkeypatch):
    """As Stripe itself answers (localstripe does not check the customer of a SetupIntent):
    a customer it no longer has is replaced; any other refusal is a clear page."""
    import stripe

    from app.models import CardCustomer

    save_card(market.self_funder)
    gone = db.session.query(CardCustomer).filter_by(user_id=market.self_funder.id).one().stripe_customer_id
    real_client = stripe_api.client
    refuse = {"all": False}

    def client_like_stripe():
        c = real_client()
        create = c.v1.setup_intents.create

        def checked(*args, params=None, **kwargs):
            if refuse["all"]:
                raise stripe.PermissionError("The provided key does not have access to this resource.", http_status=403)
            if params["customer"] == gone:
                raise stripe.InvalidRequestError(f"No such customer: '{gone}'", "customer", code="resource_missing", http_status=400)
            return create(*args, params=params, **kwargs)

        c.v1.setup_intents.create = checked
        return c

    monkeypatch.setattr(stripe_api, "client", client_like_stripe)
    login(client, market.self_funder)
    card_page = client.get("/cards/new")
    assert card_page.status_code == 200 and h1(card_page) == "Add a card"
    db.session.expire_all()
    assert db.session.query(CardCustomer).filter_by(user_id=market.self_funder.id).one().stripe_customer_id != gone
    refuse["all"] = True
    refused = client.get("/cards/new")
    assert refused.status_code == 200 and "The card processor refused this request" in visible_text(refused)


def test_a_provider_declines_through_the_page_even_when_stripe_refuses_to_release_the_card(
    client, login, market, save_card, monkeypatch, policy
):
    import stripe

    card = save_card(market.citizen)
    request = request_for(market.service, None, day=day_ahead(2), payment_method=PaymentMethod.CARD, card_public_id=card.public_id)
    booking = bookings.create(request, citizen=market.citizen, booker=market.citizen, policy=policy)
    real_client = stripe_api.client

    def client_without_access():
        c = real_client()

        def forbidden(*args, **kwargs):
            raise stripe.PermissionError("The provided key does not have access to this resource.", http_status=403)

        c.v1.payment_intents.retrieve = forbidden
        c.v1.payment_intents.cancel = forbidden
        return c

    monkeypatch.setattr(stripe_api, "client", client_without_access)
    login(client, market.staff)
    form = client.get(f"/provider/bookings/{booking.public_id}/decline")
    done = client.post(f"/provider/bookings/{booking.public_id}/decline", data={"csrf_token": csrf_from(form), "reason": "No carer free"})
    assert done.status_code == 302
    assert f"Booking {booking.reference} declined" in visible_text(client.get(done.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status is BookingStatus.DECLINED
    assert ledger_check.check() == []


def _stripe_list(localstripe, path):
    from tests.payments_fixtures import stripe_get

    return stripe_get(localstripe.url, path)["data"]
