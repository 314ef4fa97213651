"""The storefront in a real browser: every page answers and passes axe-core (WCAG 2.2 AA),
so do the error pages, and a keyboard-only visitor can get from the skip link to a
service page. These need no card payments, so they run without localstripe."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Provider, ProviderStatus, Service, ServiceStatus
from tests.e2e.conftest import TEST_ONLY_ERRORS, assert_accessible, sign_in_as

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sample_ids(storefront_app):
    with storefront_app.app_context():
        service = (
            db.session.execute(
                select(Service)
                .join(Provider)
                .where(Service.status == ServiceStatus.PUBLISHED, Provider.status == ProviderStatus.VERIFIED)
                .order_by(Service.id)
            )
            .scalars()
            .first()
        )
        return {
            "service": service.id,
            "provider": service.provider_id,
            "category": service.category.slug,
            "service_title": service.title,
            "provider_name": service.provider.name,
        }


def _pages(ids):
    return [
        ("/", "Find care and support"),
        (f"/categories/{ids['category']}", None),
        (f"/categories/{ids['category']}?page=2", None),
        (f"/services/{ids['service']}", ids["service_title"]),
        (f"/providers/{ids['provider']}", ids["provider_name"]),
        ("/accessibility", "Accessibility statement for Care and Support Marketplace"),
        ("/cookies", "Cookies"),
        ("/privacy", "Privacy notice"),
    ]


def test_every_storefront_page_answers_and_passes_axe(storefront_page, sample_ids):
    page = storefront_page
    for path, heading in _pages(sample_ids):
        response = page.goto(path)
        assert response.status == 200, path
        if heading:
            assert page.locator("h1").inner_text() == heading, path
        assert_accessible(page)
    assert page.js_errors == []


def test_the_error_pages_are_styled_and_pass_axe(storefront_page):
    page = storefront_page
    for path, status, heading in [
        ("/services/999999", 404, "Page not found"),
        ("/no-such-page", 404, "Page not found"),
        ("/sign-out", 405, "You cannot do that here"),
        (TEST_ONLY_ERRORS["400"], 400, "There is a problem with your request"),
        (TEST_ONLY_ERRORS["409"], 409, "This cannot be done"),
        (TEST_ONLY_ERRORS["429"], 429, "Too many attempts"),
        (TEST_ONLY_ERRORS["500"], 500, "Sorry, there is a problem with the service"),
        (TEST_ONLY_ERRORS["503"], 503, "There is a problem"),
    ]:
        response = page.goto(path)
        assert response.status == status, path
        assert page.locator("h1").inner_text() == heading, path
        assert page.locator(".govuk-service-navigation__service-name").inner_text() == "Care and Support Marketplace"
        assert_accessible(page)

    # A form whose CSRF token is no longer valid (as after signing out in another tab).
    page.goto("/sign-in")
    page.fill("#email", "citizen@demo.test")
    page.fill("#password", "not the password")
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'expired'")
    with page.expect_navigation() as navigation:
        page.click("button:has-text('Sign in')")
    assert navigation.value.status == 400
    assert page.locator("h1").inner_text() == "This form has expired"
    assert_accessible(page)

    # A form sent with more than the server takes (a pasted file, say): a page, not a reset.
    page.goto("/sign-in")
    page.evaluate(
        """() => {
            const form = document.querySelector('#email').form;
            const big = document.createElement('textarea');
            big.name = 'padding';
            big.value = 'x'.repeat(3 * 1024 * 1024);
            form.appendChild(big);
        }"""
    )
    with page.expect_navigation() as navigation:
        page.click("button:has-text('Sign in')")
    assert navigation.value.status == 413
    assert page.locator("h1").inner_text() == "What you sent is too large"
    assert_accessible(page)
    assert page.js_errors == []


def test_every_cookie_the_browser_holds_is_on_the_cookies_page(storefront_page, sample_ids):
    page = storefront_page
    for path, _ in _pages(sample_ids):
        page.goto(path)
    sign_in_as(page, "citizen@demo.test")
    page.goto("/my-care")
    page.goto(f"/services/{sample_ids['service']}")
    held = {cookie["name"] for cookie in page.context.cookies()}
    assert held, "signing in sets a cookie"
    page.goto("/cookies")
    listed = set(page.locator("tbody th.govuk-table__header").all_inner_texts())
    assert held <= listed, f"cookies not on the cookies page: {held - listed}"


def test_styles_and_scripts_load_under_the_real_csp(browser, storefront_server):
    context = browser.new_context(base_url=storefront_server)  # no CSP bypass here
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    response = page.goto("/")
    assert response.status == 200
    assert failed == []
    # GOV.UK Frontend's JavaScript ran (it marks the body) and the stylesheet applied.
    assert "govuk-frontend-supported" in page.evaluate("document.body.className")
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontWeight") == "700"
    context.close()


def _tab_until(page, predicate, limit=200):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate):
            return
    raise AssertionError(f"never reached an element matching {predicate}")


def test_keyboard_only_from_skip_link_to_a_service_page(storefront_page):
    page = storefront_page
    assert page.goto("/").status == 200
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main-content"

    # Tab on from the main content to the first category link and follow it.
    _tab_until(page, "document.activeElement.getAttribute('href') === '/categories/home-care'")
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 200
    page.wait_for_url(re.compile(r"/categories/home-care$"))
    assert page.locator("h1").inner_text() == "Home care"

    # Then to the first service in the list.
    _tab_until(page, "(document.activeElement.getAttribute('href') || '').startsWith('/services/')")
    title = page.evaluate("document.activeElement.textContent.trim()")
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 200
    page.wait_for_url(re.compile(r"/services/\d+$"))
    assert page.locator("h1").inner_text() == title
    # Focus is visible: GOV.UK's yellow focus state is on the focused link.
    assert_accessible(page)


def test_the_accessibility_check_can_fail(storefront_page):
    """Guard against a check that passes whatever happens: a page with known faults."""
    from tests.e2e.conftest import axe_violations

    page = storefront_page
    assert page.goto("/").status == 200
    page.evaluate("""() => {
        const img = document.createElement('img'); img.src = '/static/images/favicon.svg';
        document.querySelector('main').appendChild(img);
        const input = document.createElement('input'); document.querySelector('main').appendChild(input);
    }""")
    ids = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "label"} <= ids
