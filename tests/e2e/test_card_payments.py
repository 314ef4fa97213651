"""Paying by card in a real browser, offline against localstripe (its Stripe.js look-alike
in the page, Stripe's test cards): the demo's self-funder books and pays by card, the
representative pays for the person they act for with a prepaid card, a bank that asks
the card holder (3-D Secure) is answered, and the provider and the commissioner refund.
Every page passes axe-core (WCAG 2.2 AA), with its errors showing where it has them.

The journeys run under the app's real Content-Security-Policy (no bypass): Stripe.js and
its calls to the card processor are allowed by the policy, not by the test."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Booking,
    BookingSchedule,
    BookingStatus,
    BookingVisit,
    FundingRoute,
    PaymentMethod,
    Service,
    ServiceStatus,
    User,
    VisitStatus,
)
from app.services import bookings, card_payments
from app.services.demo.accounts import DEMO_PASSWORD, demo_provider
from app.services.errors import ValidationError
from app.services.policy import current_policy
from tests.e2e.conftest import AXE_PATH, WCAG_TAGS
from tests.payments_fixtures import DECLINED_CARD, DECLINED_ON_CHARGE_CARD, GOOD_CARD, stripe_js_confirm_setup

pytestmark = pytest.mark.e2e

THREE_D_SECURE_CARD = "4000002500003155"


@pytest.fixture
def page(browser, live_server):
    """A page under the app's real CSP, collecting script errors and anything the CSP refused."""
    context = browser.new_context(base_url=live_server)
    # A failure inside an async handler (Stripe.js calls are awaited) is a rejected promise, not a page error.
    context.add_init_script("window.addEventListener('unhandledrejection', e => console.error('Unhandled rejection: ' + e.reason))")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # Refused by the CSP, or a rejected promise (a declined card's 402 from the card processor is not a problem).
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and ("Content Security Policy" in m.text or "Unhandled rejection" in m.text)
            else None
        ),
    )
    page.problems = problems
    yield page
    context.close()


def accessible(page) -> None:
    """axe-core on the page as it is (loaded through the DevTools protocol, which the page's
    CSP does not govern)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_PATH.read_text())
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations
            .map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))""",
        WCAG_TAGS,
    )
    assert violations == [], f"axe-core found WCAG 2.2 AA violations on {page.url}: {violations}"


def sign_in(page, email: str) -> None:
    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()


@pytest.fixture(scope="module")
def slot(live_app):
    """The demo provider's hourly service that takes both kinds of card, and the first
    day in the next few (at 10am) that it can be booked: in Stripe's authorisation window."""
    with live_app.app_context():
        provider = demo_provider()
        services = (
            db.session.execute(
                select(Service)
                .where(
                    Service.provider_id == provider.id,
                    Service.status == ServiceStatus.PUBLISHED,
                    Service.accepts_prepaid_card.is_(True),
                    Service.accepts_self_funder.is_(True),
                )
                .order_by(Service.id)
            )
            .scalars()
            .all()
        )
        citizen = db.session.execute(select(User).where(User.email == "selffunder@demo.test")).scalar_one()
        for service in services:
            if service.price_unit.value != "hour":
                continue
            for days in (1, 2, 3, 4):
                day = dt.date.today() + dt.timedelta(days=days)
                request = bookings.BookingRequest(
                    service_id=service.id,
                    request_key="probe",
                    schedule=BookingSchedule.ONE_OFF,
                    first_date=day,
                    start_time=dt.time(10),
                    units=1,
                    payment_method=PaymentMethod.CARD,
                )
                try:
                    bookings.plan(request, citizen=citizen, policy=current_policy())
                except ValidationError:
                    continue
                return {"service": service.id, "title": service.title, "price": service.price_pence, "day": day}
    raise AssertionError("no demo service can be booked by card in the next few days")


def fill_booking_form(page, slot, payment: str, start: str = "10:00") -> None:
    page.goto(f"/services/{slot['service']}/book")
    day = slot["day"]
    page.check("input[name=schedule][value=one_off]")
    page.fill("#first_date-day", str(day.day))
    page.fill("#first_date-month", str(day.month))
    page.fill("#first_date-year", str(day.year))
    page.select_option("#start_time", start)
    page.fill("#units", "1")
    page.check(f"input[name=payment][value='{payment}']")


def enter_card(page, number: str) -> None:
    """Type a card into the Stripe.js card fields (localstripe's look-alike in the demo)."""
    page.locator("#card-element input[placeholder=number]").wait_for()
    page.fill("#card-element input[placeholder=number]", number)
    page.fill("#card-element input[placeholder=exp_month]", "12")
    page.fill("#card-element input[placeholder=exp_year]", "34")
    page.fill("#card-element input[placeholder=cvc]", "123")
    page.fill("#card-element input[placeholder=postal_code]", "PE1 1AA")


def bank_says_yes(page) -> None:
    """The bank's own check (3-D Secure), as localstripe's Stripe.js shows it."""
    page.locator("button:has-text('Complete authentication')").click()


def test_the_self_funder_books_and_pays_by_card_end_to_end(page, slot, live_app):
    sign_in(page, "selffunder@demo.test")
    fill_booking_form(page, slot, "card:self_funder")
    accessible(page)
    page.click("button:has-text('Continue')")

    # No saved card yet: straight to adding one, with Stripe.js's card fields in the page.
    page.wait_for_url(re.compile(r"/cards/new"))
    assert page.locator("h1").inner_text() == "Add a card"
    assert page.is_checked("input[name=route][value=self_funder]")
    page.locator("#card-element input").first.wait_for()
    accessible(page)

    # Nothing typed: Stripe.js refuses, and the page says what to do, as GOV.UK pages do.
    page.click("button:has-text('Save card')")
    page.locator(".govuk-error-summary").wait_for()
    assert "Enter your card details" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    accessible(page)

    # A card the bank declines: a clear message from the server, and a fresh card form.
    enter_card(page, DECLINED_CARD)
    with page.expect_navigation():
        page.click("button:has-text('Save card')")
    page.locator(".govuk-error-summary").wait_for()
    assert "Your card could not be saved: your bank declined it" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    accessible(page)

    enter_card(page, GOOD_CARD)
    page.click("button:has-text('Save card')")
    page.wait_for_url(re.compile(r"/book/check"))
    main = page.locator("main").inner_text()
    assert "Visa credit card ending 4242 (own card)" in main
    assert "Reserved on your card now, taken when delivered" in main
    accessible(page)

    page.click("button:has-text('Confirm and send booking')")
    page.wait_for_url(re.compile(r"/bookings/[^/]+$"))
    main = page.locator("main").inner_text()
    assert re.search(r"Booking BK-[A-Z0-9]{6} sent to", main)
    assert "reserved on card" in main and "Booked, money reserved on the card" in main
    accessible(page)

    page.goto("/payments")
    assert "Authorised on Visa credit card ending 4242" in page.locator("main").inner_text()
    accessible(page)
    # Removing the card is a page of its own, asked before anything is removed (not here:
    # the next booking uses the card).
    page.click("a:has-text('Remove')")
    page.wait_for_url(re.compile(r"/cards/[^/]+/remove$"))
    accessible(page)

    # Next time, the saved card is offered.
    fill_booking_form(page, slot, "card:self_funder", start="13:00")
    page.click("button:has-text('Continue')")
    page.wait_for_url(re.compile(r"/book/card"))
    assert page.locator("h1").inner_text() == "Choose a card"
    accessible(page)
    page.click("button:has-text('Continue')")
    page.locator(".govuk-error-summary").wait_for()
    assert "Select a card, or add a new card" in page.locator(".govuk-error-summary").inner_text()
    accessible(page)
    page.locator("input[name=card]").first.check()
    page.click("button:has-text('Continue')")
    page.wait_for_url(re.compile(r"/book/check"))
    assert page.problems == []

    with live_app.app_context():
        booking = (
            db.session.execute(
                select(Booking)
                .join(User, Booking.citizen_id == User.id)
                .where(User.email == "selffunder@demo.test", Booking.status == BookingStatus.REQUESTED)
                .order_by(Booking.id.desc())
            )
            .scalars()
            .first()
        )
        payments = card_payments.payments_for_booking(booking)
        assert [p.status.value for p in payments] == ["authorised"]


def test_the_representative_pays_for_margaret_with_a_prepaid_card_and_it_is_refunded(page, slot, live_app, browser, live_server):
    sign_in(page, "representative@demo.test")
    fill_booking_form(page, slot, "card:prepaid_card", start="11:00")
    page.click("button:has-text('Continue')")
    page.wait_for_url(re.compile(r"/cards/new"))
    assert page.is_checked("input[name=route][value=prepaid_card]")
    enter_card(page, GOOD_CARD)
    page.click("button:has-text('Save card')")
    page.wait_for_url(re.compile(r"/book/check"))
    main = page.locator("main").inner_text()
    assert "Margaret Holloway" in main and "Council prepaid card (direct payment)" in main
    page.click("button:has-text('Confirm and send booking')")
    page.wait_for_url(re.compile(r"/bookings/[^/]+$"))
    main = page.locator("main").inner_text()
    assert "Margaret Holloway" in main and "Susan Holloway" in main and "(council prepaid card)" in main
    public_id = page.url.rsplit("/", 1)[1]
    accessible(page)

    # The visit happens (recorded as of after it started): the prepaid card is charged.
    with live_app.app_context():
        booking = bookings.get_booking(public_id)
        assert booking.booked_by.email == "representative@demo.test"
        staff = db.session.execute(select(User).where(User.email == "provider@demo.test")).scalar_one()
        bookings.accept(booking, by=staff)
        visit = bookings.get_booking(public_id).visits[0]
        bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
        assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
        visit_id = visit.id
        db.session.remove()
    price = f"£{slot['price'] // 100}.{slot['price'] % 100:02d}"

    # The commissioner sees what prepaid card holders spend, finds the booking, refunds part of it.
    council = browser.new_context(base_url=live_server).new_page()
    sign_in(council, "commissioner@demo.test")
    council.goto("/commissioner/card-spend")
    spend = council.locator("main").inner_text()
    assert "Susan Holloway" in spend and "Council prepaid card (direct payment)" in spend
    accessible(council)
    council.goto("/commissioner/bookings")
    accessible(council)
    council.fill("#q", "Margaret")
    council.click("button:has-text('Search')")
    council.click(f"a[href='/commissioner/bookings/{public_id}']")
    assert f"{price} paid by card" in council.locator("main").inner_text()
    accessible(council)
    council.click("a:has-text('Refund')")
    council.wait_for_url(re.compile(r"/refund$"))
    accessible(council)
    council.click("button:has-text('Refund to the card')")
    council.locator(".govuk-error-summary").wait_for()
    assert council.title().startswith("Error: ")
    accessible(council)
    council.fill("#amount", "1")
    council.fill("#reason", "Carer left 10 minutes early")
    council.click("button:has-text('Refund to the card')")
    council.wait_for_url(re.compile(rf"/commissioner/bookings/{public_id}$"))
    assert "£1 refunded to Visa credit card ending 4242" in council.locator("main").inner_text()
    accessible(council)

    # The provider refunds a little more from their own booking page.
    provider = browser.new_context(base_url=live_server).new_page()
    sign_in(provider, "provider@demo.test")
    provider.goto(f"/provider/bookings/{public_id}")
    accessible(provider)
    provider.click("a:has-text('Refund')")
    provider.fill("#amount", "0.50")
    provider.fill("#reason", "Goodwill: late arrival")
    accessible(provider)
    provider.click("button:has-text('Refund to the card')")
    provider.wait_for_url(re.compile(rf"/provider/bookings/{public_id}$"))
    assert "Goodwill: late arrival" in provider.locator("main").inner_text()

    # Margaret sees both refunds on her booking; Susan sees them on her card statement.
    margaret = browser.new_context(base_url=live_server).new_page()
    sign_in(margaret, "citizen@demo.test")
    margaret.goto(f"/bookings/{public_id}")
    main = margaret.locator("main").inner_text()
    assert "Carer left 10 minutes early" in main and "Goodwill: late arrival" in main and "£1.50 refunded" in main
    accessible(margaret)
    page.goto("/payments")
    assert "Refunded to Visa credit card ending 4242" in page.locator("main").inner_text()
    accessible(page)
    with live_app.app_context():
        assert card_payments.refundable_pence(card_payments.payments_for_booking(bookings.get_booking(public_id))[0]) == slot["price"] - 150
        assert visit_id
        db.session.remove()
    for other in (council, provider, margaret):
        other.context.close()
    assert page.problems == []


@pytest.fixture
def owed(live_app, localstripe, slot):
    """A delivered visit of the self-funder's whose card charge failed (booked 9 days ahead
    with a card every charge of which is declined)."""
    with live_app.app_context():
        david = db.session.execute(select(User).where(User.email == "selffunder@demo.test")).scalar_one()
        setup = card_payments.start_card_setup(david)
        stripe_js_confirm_setup(localstripe.url, setup, DECLINED_ON_CHARGE_CARD)
        card = card_payments.finish_card_setup(setup.public_id, payer=david, route=FundingRoute.SELF_FUNDER)
        day = slot["day"] + dt.timedelta(days=8)
        request = bookings.BookingRequest(
            service_id=slot["service"],
            request_key=uuid.uuid4().hex,
            schedule=BookingSchedule.ONE_OFF,
            first_date=day,
            start_time=dt.time(15),
            units=1,
            payment_method=PaymentMethod.CARD,
            card_public_id=card.public_id,
        )
        booking = bookings.create(request, citizen=david, booker=david, policy=current_policy())
        staff = db.session.execute(select(User).where(User.email == "provider@demo.test")).scalar_one()
        bookings.accept(booking, by=staff)
        visit = bookings.get_booking(booking.public_id).visits[0]
        bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
        assert db.session.get(BookingVisit, visit.id).status is VisitStatus.UNPAID
        result = {"booking": booking.public_id, "visit": visit.id}
        db.session.remove()
    return result


def test_paying_what_a_failed_charge_left_owing_with_the_banks_check(page, owed, live_app):
    sign_in(page, "selffunder@demo.test")
    page.goto("/bookings")
    assert "still to pay for" in page.locator("main").inner_text()
    accessible(page)
    page.click("a:has-text('How to pay what you owe')")
    page.wait_for_url(re.compile(r"/payments/owed$"))
    accessible(page)
    pay = f"/bookings/{owed['booking']}/visits/{owed['visit']}/pay"
    page.click(f"a[href='{pay}']")
    page.wait_for_url(re.compile(re.escape(pay) + "$"))
    accessible(page)

    # A new card whose bank checks it is the card holder, when saved and when paying.
    page.check("input[name=card][value=new]")
    page.click("button:has-text('now')")
    page.wait_for_url(re.compile(r"/cards/new"))
    page.check("input[name=route][value=self_funder]")
    enter_card(page, THREE_D_SECURE_CARD)
    page.click("button:has-text('Save card')")
    bank_says_yes(page)
    page.wait_for_url(re.compile(re.escape(pay) + r"\?card="))
    assert page.is_checked("input[name=card]:checked")
    page.click("button:has-text('now')")
    page.wait_for_url(re.compile(r"/payments/[^/]+/confirm$"))
    assert page.locator("h1").inner_text() == "Confirm the payment with your bank"
    accessible(page)
    page.click("button:has-text('Confirm with your bank')")
    bank_says_yes(page)
    page.wait_for_url(re.compile(rf"/bookings/{owed['booking']}$"))
    assert "paid with your Visa credit card ending 3155. Thank you." in page.locator("main").inner_text()
    accessible(page)
    page.goto("/payments/owed")
    assert "You do not owe anything" in page.locator("main").inner_text()
    with live_app.app_context():
        assert db.session.get(BookingVisit, owed["visit"]).status is VisitStatus.DELIVERED
        db.session.remove()
    assert page.problems == []
