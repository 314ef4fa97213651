"""The storefront in a real browser: every page passes axe-core (WCAG 2.2 AA) and a
keyboard-only visitor can get from the skip link to a service page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Provider, ProviderStatus, Service, ServiceStatus
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sample_ids(live_app):
    with live_app.app_context():
        service = db.session.execute(
            select(Service).join(Provider).where(Service.status == ServiceStatus.PUBLISHED, Provider.status == ProviderStatus.VERIFIED).order_by(Service.id)
        ).scalars().first()
        return {"service": service.id, "provider": service.provider_id, "category": service.category.slug}


def _pages(ids):
    return [
        ("/", "Find care and support"),
        (f"/categories/{ids['category']}", None),
        (f"/categories/{ids['category']}?page=2", None),
        (f"/services/{ids['service']}", None),
        (f"/providers/{ids['provider']}", None),
        ("/accessibility", "Accessibility statement for Care and Support Marketplace"),
        ("/cookies", "Cookies"),
        ("/privacy", "Privacy notice"),
        ("/services/999999", "Page not found"),
    ]


def test_every_storefront_page_passes_axe(page, sample_ids):
    for path, heading in _pages(sample_ids):
        page.goto(path)
        if heading:
            assert page.locator("h1").inner_text() == heading, path
        assert_accessible(page)
    assert page.js_errors == []


def test_styles_and_scripts_load_under_the_real_csp(browser, live_server):
    context = browser.new_context(base_url=live_server)  # no CSP bypass here
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    page.goto("/")
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


def test_keyboard_only_from_skip_link_to_a_service_page(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main-content"

    # Tab on from the main content to the first category link and follow it.
    _tab_until(page, "document.activeElement.getAttribute('href') === '/categories/home-care'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/categories/home-care$"))
    assert page.locator("h1").inner_text() == "Home care"

    # Then to the first service in the list.
    _tab_until(page, "(document.activeElement.getAttribute('href') || '').startsWith('/services/')")
    title = page.evaluate("document.activeElement.textContent.trim()")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/services/\d+$"))
    assert page.locator("h1").inner_text() == title
    # Focus is visible: GOV.UK's yellow focus state is on the focused link.
    assert_accessible(page)


def test_the_accessibility_check_can_fail(page):
    """Guard against a check that passes whatever happens: a page with known faults."""
    from tests.e2e.conftest import axe_violations

    page.goto("/")
    page.evaluate("""() => {
        const img = document.createElement('img'); img.src = '/static/images/favicon.svg';
        document.querySelector('main').appendChild(img);
        const input = document.createElement('input'); document.querySelector('main').appendChild(input);
    }""")
    ids = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "label"} <= ids
