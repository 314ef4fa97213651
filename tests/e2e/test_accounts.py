"""Accounts and self-service in a real browser: every new page passes axe-core (WCAG 2.2
AA), including with its error summary showing, and a keyboard-only person can sign in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enquiry, FrameworkLot, Provider, ProviderStatus, Service, ServiceStatus
from app.services.demo.accounts import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible, check_pages, sign_in_as

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ids(live_app):
    with live_app.app_context():
        owner_service = db.session.execute(
            select(Service).join(Provider).join(Provider.memberships).where(Service.status == ServiceStatus.PUBLISHED).order_by(Provider.slug, Service.id)
        ).scalars().first()
        from app.services.demo.accounts import demo_provider

        provider = demo_provider()
        service = db.session.execute(select(Service).where(Service.provider_id == provider.id).order_by(Service.id)).scalars().first()
        pending = db.session.execute(select(Provider).where(Provider.status == ProviderStatus.PENDING).order_by(Provider.id)).scalars().first()
        return {
            "service": service.id,
            "enquiry": db.session.execute(select(Enquiry.id)).scalars().first(),
            "pending": pending.id,
            "lot": db.session.execute(select(FrameworkLot.id).order_by(FrameworkLot.id)).scalars().first(),
            "other": owner_service.id,
        }


def test_anonymous_account_pages_pass_axe(page):
    check_pages(page, ["/sign-in", "/register", "/register/provider", "/password/forgot"])
    # With errors showing: the error summary and inline messages must be accessible too.
    page.goto("/register")
    page.click("button:has-text('Create account')")
    page.locator(".govuk-error-summary").wait_for()
    assert page.title().startswith("Error: ")
    assert_accessible(page)


def test_citizen_pages_pass_axe(page, ids):
    sign_in_as(page, "citizen@demo.test")
    check_pages(page, ["/my-care", "/account", "/account/details", "/account/password", "/account/two-step", "/account/sessions", "/notifications",
                  "/account/representatives", "/account/representatives/invite", "/enquiries", f"/enquiries/{ids['enquiry']}",
                  f"/services/{ids['service']}/ask"])


def test_representative_pages_pass_axe(page, ids):
    sign_in_as(page, "representative@demo.test")
    check_pages(page, ["/account/people", "/enquiries", f"/enquiries/{ids['enquiry']}"])


def test_provider_pages_pass_axe(page, ids):
    sign_in_as(page, "provider@demo.test")
    s = ids["service"]
    check_pages(page, ["/provider", "/provider/profile", "/provider/team", "/provider/team/invite", "/provider/services", "/provider/services/new",
                  f"/provider/services/{s}", f"/provider/services/{s}/edit", f"/provider/services/{s}/preview", f"/provider/services/{s}/hours",
                  "/provider/closures", "/provider/enquiries", f"/provider/enquiries/{ids['enquiry']}"])
    page.goto("/provider/services/new")
    page.click("button:has-text('Save listing')")
    page.locator(".govuk-error-summary").wait_for()
    assert page.title().startswith("Error: ")
    assert_accessible(page)


def test_commissioner_and_admin_pages_pass_axe(page, ids):
    sign_in_as(page, "admin@demo.test")
    p, lot = ids["pending"], ids["lot"]
    check_pages(page, ["/commissioner", "/commissioner/providers", f"/commissioner/providers/{p}", f"/commissioner/providers/{p}/verify",
                  f"/commissioner/providers/{p}/reject", "/commissioner/framework", "/commissioner/framework/new",
                  f"/commissioner/framework/lots/{lot}", f"/commissioner/framework/lots/{lot}/edit", f"/commissioner/framework/lots/{lot}/approve",
                  "/commissioner/settings", "/commissioner/audit", "/admin", "/admin/users", "/admin/users/new", "/admin/emails"])


def test_keyboard_only_sign_in_and_out(page):
    page.goto("/sign-in")
    # Tab from the top of the page to the email field, typing only with the keyboard.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    else:
        raise AssertionError("never reached the email field by keyboard")
    page.keyboard.type("citizen@demo.test")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(DEMO_PASSWORD)
    # Past the "Show" password button to "Sign in", then Enter.
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Sign in":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/my-care$"))
    assert page.locator("h1").inner_text() == "Your care"
    # Sign out is a button in the navigation, reachable by keyboard too.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Sign out":
            break
    else:
        raise AssertionError("never reached Sign out by keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sign-in$"))
    assert "You have signed out." in page.locator("main").inner_text()
    assert_accessible(page)
