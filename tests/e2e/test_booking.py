"""Booking and personal budgets in a real browser, with the demo data: every page passes
axe-core (WCAG 2.2 AA), error states included, and a keyboard-only person can confirm a
booking."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Booking, BookingStatus, BudgetPeriod, PersonalBudget, User
from app.uk_time import UK
from tests.e2e.conftest import assert_accessible, check_pages, sign_in_as

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(live_app):
    with live_app.app_context():
        margaret = db.session.execute(select(User).where(User.email == "citizen@demo.test")).scalar_one()
        budget = db.session.execute(select(PersonalBudget).where(PersonalBudget.citizen_id == margaret.id)).scalar_one()
        booking = (
            db.session.execute(select(Booking).where(Booking.citizen_id == margaret.id, Booking.status == BookingStatus.REQUESTED))
            .scalars()
            .first()
        )
        isf = db.session.execute(
            select(PersonalBudget).join(User, PersonalBudget.citizen_id == User.id).where(User.email == "isf@demo.test")
        ).scalar_one()
        payment = (
            db.session.execute(
                select(BudgetPeriod.transaction_id).where(BudgetPeriod.budget_id == budget.id).order_by(BudgetPeriod.starts_on.desc())
            )
            .scalars()
            .first()
        )
        return {
            "budget": budget.public_id,
            "booking": booking.public_id,
            "service": booking.service_id,
            "isf": isf.public_id,
            "payment": payment,
        }


def test_citizen_pages_pass_axe(page, demo):
    sign_in_as(page, "citizen@demo.test")
    check_pages(
        page,
        [
            "/my-care",
            "/bookings",
            f"/bookings/{demo['booking']}",
            f"/bookings/{demo['booking']}/cancel",
            "/budgets",
            f"/budgets/{demo['budget']}",
            f"/services/{demo['service']}/book",
        ],
    )


def test_representative_pages_pass_axe(page, demo):
    sign_in_as(page, "representative@demo.test")
    check_pages(page, ["/my-care", "/bookings", f"/budgets/{demo['budget']}", f"/services/{demo['service']}/book"])


def test_provider_and_commissioner_pages_pass_axe(page, demo):
    sign_in_as(page, "provider@demo.test")
    check_pages(
        page,
        [
            "/provider/bookings",
            "/provider/bookings?show=accepted",
            "/provider/bookings?show=closed",
            f"/provider/bookings/{demo['booking']}",
            f"/provider/bookings/{demo['booking']}/decline",
        ],
    )
    page.click("button:has-text('Sign out')")
    sign_in_as(page, "commissioner@demo.test")
    check_pages(
        page,
        [
            "/commissioner/budgets",
            "/commissioner/budgets/new",
            f"/commissioner/budgets/{demo['budget']}",
            f"/commissioner/budgets/{demo['budget']}?known-day=1&known-month=1&known-year=2020",
            f"/commissioner/budgets/{demo['budget']}?known-day=31&known-month=12&known-year=9999",
            f"/commissioner/budgets/{demo['budget']}/payments/{demo['payment']}/reverse",
        ],
    )
    page.click("button:has-text('Reverse this payment')")  # without a reason: the error state
    page.wait_for_selector(".govuk-error-summary")
    assert_accessible(page)


def test_isf_move_page_passes_axe(page, demo):
    sign_in_as(page, "isf@demo.test")
    check_pages(page, [f"/budgets/{demo['isf']}", f"/budgets/{demo['isf']}/move"])
    page.click("button:has-text('Move my Individual Service Fund')")  # no provider chosen: the error state
    page.wait_for_selector(".govuk-error-summary")
    assert_accessible(page)


def test_booking_form_errors_pass_axe(page, demo):
    sign_in_as(page, "citizen@demo.test")
    page.goto(f"/services/{demo['service']}/book")
    page.click("button:has-text('Continue')")
    page.wait_for_selector(".govuk-error-summary")
    assert page.title().startswith("Error: ")
    assert page.locator(".govuk-error-summary").is_visible()
    assert_accessible(page)


def test_a_keyboard_only_citizen_books_and_confirms(page, demo):
    sign_in_as(page, "citizen@demo.test")
    page.goto(f"/services/{demo['service']}/book")
    day = dt.datetime.now(UK).date() + dt.timedelta(days=2)
    page.check("input[name=schedule][value=one_off]")
    page.fill("#first_date-day", str(day.day))
    page.fill("#first_date-month", str(day.month))
    page.fill("#first_date-year", str(day.year))
    page.select_option("#start_time", "16:00")
    page.fill("#units", "1")
    page.locator("input[name=payment]").first.check()
    page.click("button:has-text('Continue')")
    page.wait_for_url(re.compile(r"/book/check"))
    assert page.locator("h1").inner_text() == "Check your booking"
    assert_accessible(page)
    # From the top of the page, by keyboard alone, to the confirm button.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Confirm and send booking":
            break
    else:
        raise AssertionError("never reached the confirm button by keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/bookings/[A-Za-z0-9_-]+$"))
    assert re.search(r"Booking BK-[A-Z0-9]{6} sent to", page.locator("main").inner_text())
    assert_accessible(page)
