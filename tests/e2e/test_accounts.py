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
        owner_service = (
            db.session.execute(
                select(Service)
                .join(Provider)
                .join(Provider.memberships)
                .where(Service.status == ServiceStatus.PUBLISHED)
                .order_by(Provider.slug, Service.id)
            )
            .scalars()
            .first()
        )
        from app.services.demo.accounts import demo_provider

        provider = demo_provider()
        service = db.session.execute(select(Service).where(Service.provider_id == provider.id).order_by(Service.id)).scalars().first()
        pending = (
            db.session.execute(select(Provider).where(Provider.status == ProviderStatus.PENDING).order_by(Provider.id)).scalars().first()
        )
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
    check_pages(
        page,
        [
            "/my-care",
            "/account",
            "/account/details",
            "/account/password",
            "/account/two-step",
            "/account/sessions",
            "/notifications",
            "/account/representatives",
            "/account/representatives/invite",
            "/enquiries",
            f"/enquiries/{ids['enquiry']}",
            f"/services/{ids['service']}/ask",
        ],
    )


def test_representative_pages_pass_axe(page, ids):
    sign_in_as(page, "representative@demo.test")
    check_pages(page, ["/account/people", "/enquiries", f"/enquiries/{ids['enquiry']}"])


def test_provider_pages_pass_axe(page, ids):
    sign_in_as(page, "provider@demo.test")
    s = ids["service"]
    check_pages(
        page,
        [
            "/provider",
            "/provider/profile",
            "/provider/team",
            "/provider/team/invite",
            "/provider/services",
            "/provider/services/new",
            f"/provider/services/{s}",
            f"/provider/services/{s}/edit",
            f"/provider/services/{s}/preview",
            f"/provider/services/{s}/hours",
            "/provider/closures",
            "/provider/enquiries",
            f"/provider/enquiries/{ids['enquiry']}",
        ],
    )
    page.goto("/provider/services/new")
    page.click("button:has-text('Save listing')")
    page.locator(".govuk-error-summary").wait_for()
    assert page.title().startswith("Error: ")
    assert_accessible(page)


def test_commissioner_and_admin_pages_pass_axe(page, ids):
    sign_in_as(page, "admin@demo.test")
    p, lot = ids["pending"], ids["lot"]
    check_pages(
        page,
        [
            "/commissioner",
            "/commissioner/providers",
            f"/commissioner/providers/{p}",
            f"/commissioner/providers/{p}/verify",
            f"/commissioner/providers/{p}/reject",
            "/commissioner/framework",
            "/commissioner/framework/new",
            f"/commissioner/framework/lots/{lot}",
            f"/commissioner/framework/lots/{lot}/edit",
            f"/commissioner/framework/lots/{lot}/approve",
            "/commissioner/settings",
            "/commissioner/audit",
            "/admin",
            "/admin/users",
            "/admin/users/new",
            "/admin/emails",
        ],
    )


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


# -- Pages reached by an emailed link or a second step ------------------------------

TWO_STEP_EMAIL = "twostep@demo.test"


@pytest.fixture(scope="module")
def links(live_app):
    """A password reset link, representative and team invitations, a citizen with two-step
    verification on, and an email in the outbox, made in the live app's database."""
    import datetime as dt

    from app.models import Invitation, InvitationKind, OrgRole, OutboundEmail, Role, User
    from app.services import accounts, two_step
    from app.services.demo.accounts import demo_provider
    from app.services.passwords import hash_password
    from app.services.tokens import new_token, token_hash

    with live_app.app_context():
        citizen = accounts.user_by_email("selffunder@demo.test")
        reset = accounts.issue_password_token(citizen, 1)
        rep_token, staff_token = new_token(), new_token()
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=5)
        owner = accounts.user_by_email("provider@demo.test")
        db.session.add_all(
            [
                Invitation(
                    kind=InvitationKind.REPRESENTATIVE,
                    email="new-friend@example.test",
                    token_hash=token_hash(rep_token),
                    invited_by_id=citizen.id,
                    citizen_id=citizen.id,
                    relationship_to_citizen="friend",
                    expires_at=later,
                ),
                Invitation(
                    kind=InvitationKind.PROVIDER_STAFF,
                    email="new-carer@example.test",
                    token_hash=token_hash(staff_token),
                    invited_by_id=owner.id,
                    provider_id=demo_provider().id,
                    org_role=OrgRole.STAFF,
                    expires_at=later,
                ),
            ]
        )
        user = accounts.user_by_email(TWO_STEP_EMAIL)
        assert user is None, "the module's accounts are made once, with the live app"
        user = User(email=TWO_STEP_EMAIL, name="Tess Step", role=Role.CITIZEN, password_hash=hash_password(DEMO_PASSWORD))
        db.session.add(user)
        db.session.flush()
        secret = two_step.new_secret()
        recovery_codes = two_step.enable(user, secret, two_step.current_code(secret))
        db.session.commit()
        email_id = db.session.execute(select(OutboundEmail.id).order_by(OutboundEmail.id.desc())).scalars().first()
        db.session.remove()
    return {
        "reset": f"/password/reset/{reset}",
        "representative": f"/invitations/{rep_token}",
        "staff": f"/invitations/{staff_token}",
        "email": f"/admin/emails/{email_id}",
        "recovery_code": recovery_codes[0],
    }


def _submit_and_check_errors(page, button: str) -> None:
    page.click(f"button:has-text('{button}')")
    page.locator(".govuk-error-summary").wait_for()
    assert page.title().startswith("Error: ")
    assert_accessible(page)


def _code_for(live_app, email: str) -> str:
    from app.services import accounts
    from tests.helpers import next_code

    with live_app.app_context():
        code = next_code(accounts.user_by_email(email))
        db.session.remove()
    return code


def test_password_reset_page_passes_axe_with_its_errors_and_its_dead_link_page(page, links):
    check_pages(page, [links["reset"]])
    _submit_and_check_errors(page, "Save password")
    response = page.goto("/password/reset/not-a-real-token")
    assert response.status == 404 and "This link has expired or has already been used" in page.locator("main").inner_text()
    assert_accessible(page)


def test_invitation_pages_pass_axe_with_their_errors_and_their_dead_link_page(page, links):
    for path in (links["representative"], links["staff"]):
        check_pages(page, [path])
        _submit_and_check_errors(page, "Create account and accept")
    response = page.goto("/invitations/not-a-real-token")
    assert response.status == 404
    assert_accessible(page)
    # Signed in as someone else, the page says why they cannot accept.
    sign_in_as(page, "citizen@demo.test")
    check_pages(page, [links["representative"]])


def test_two_step_sign_in_and_turn_off_pages_pass_axe_with_their_errors(page, live_app, links):
    page.goto("/sign-in")
    page.fill("#email", TWO_STEP_EMAIL)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/sign-in/two-step$"))
    assert_accessible(page)
    page.fill("#code", "000000")
    page.click("button:has-text('Continue')")
    page.locator(".govuk-error-summary").wait_for()
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.fill("#code", _code_for(live_app, TWO_STEP_EMAIL))
    page.click("button:has-text('Continue')")
    page.wait_for_url(re.compile(r"/my-care$"))

    check_pages(page, ["/account/two-step"])
    # (With a recovery code: the next sign-in code may not have come round yet.)
    page.fill("#code", links["recovery_code"])
    page.click("button:has-text('Get new recovery codes')")
    page.wait_for_url(re.compile(r"/account/two-step/recovery-codes$"))
    assert page.locator("h1").inner_text() == "Save your recovery codes"
    assert_accessible(page)

    check_pages(page, ["/account/two-step/turn-off"])
    page.fill("#password", "not my password")
    page.fill("#code", "000000")
    _submit_and_check_errors(page, "Turn off two-step verification")


def test_an_admin_reads_an_email_in_the_outbox_accessibly(page, links):
    sign_in_as(page, "admin@demo.test")
    check_pages(page, ["/admin/emails", links["email"]])


def test_changing_an_email_address_pages_pass_axe(page, live_app):
    """Asking for a new address (the panel, the pending change on the account page), the
    link's confirm page, the page when another account took the address, the dead link."""
    from app.models import OutboundEmail, Role, User
    from app.services.passwords import hash_password

    old, new = "change-me@example.test", "changed-address@example.test"
    with live_app.app_context():
        db.session.add(User(email=old, name="Cam Change", role=Role.CITIZEN, password_hash=hash_password(DEMO_PASSWORD)))
        db.session.commit()
        db.session.remove()
    sign_in_as(page, old)
    page.goto("/account/details")
    page.fill("#email", new)
    page.fill("#current_password", DEMO_PASSWORD)
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/account/email/check-your-email$"))
    assert "Check your email" in page.locator(".govuk-panel").inner_text()
    assert_accessible(page)
    check_pages(page, ["/account"])
    assert "New email address waiting to be confirmed" in page.locator("main").inner_text()

    with live_app.app_context():
        body = db.session.execute(select(OutboundEmail.body_text).where(OutboundEmail.to_address == new)).scalars().all()[-1]
        link = re.search(r"https?://[^/\s]+(/email/confirm/\S+)", body).group(1)
        db.session.add(User(email=new, name="Quick Taker", role=Role.CITIZEN, password_hash=hash_password(DEMO_PASSWORD)))
        db.session.commit()
        db.session.remove()
    check_pages(page, [link])
    page.click("button:has-text('Confirm email address')")
    page.locator("h1:has-text('Your email address has not changed')").wait_for()
    assert_accessible(page)
    response = page.goto(link)
    assert response.status == 404 and "This link has expired or has already been used" in page.locator("main").inner_text()
    assert_accessible(page)
