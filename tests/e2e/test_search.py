"""Search in a real browser: every state of the page passes axe-core (WCAG 2.2 AA), and a
keyboard-only visitor can search, filter and open a result."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "path, expect",
    [
        ("/search?q=home+care&postcode=PE1+1AA", "services found for ‘home care’"),
        ("/search?q=home+care&postcode=PE1+1AA&page=2&day=saturday&min_cqc_rating=good", "services found"),
        ("/search?q=demenita", "Showing results for"),
        ("/search?q=demenita+club", "Did you mean"),
        ("/search?q=help+with+a+bath", "Matches: help with washing and bathing"),
        ("/search?q=lonely+zebra", "Services that match some of your words"),
        ("/search?q=garden&category=meals", "The nearest broader search"),
        ("/search?q=helicopter", "No services found"),
        ("/search?postcode=PE1&max_price=lots&sort=distance", "There is a problem"),
        ("/search?postcode=ZZ9+9ZZ", "We could not find that postcode"),
        ("/search", "services found"),
    ],
)
def test_search_pages_pass_axe(page, path, expect):
    page.goto(path)
    assert expect in page.locator("main").inner_text()
    assert_accessible(page)
    assert page.js_errors == []


def _tab_to(page, predicate: str, limit: int = 300) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate):
            return
    raise AssertionError(f"never reached an element matching {predicate}")


def test_keyboard_only_search_filter_and_open_a_result(page):
    page.goto("/")
    _tab_to(page, "document.activeElement.id === 'q'")
    page.keyboard.type("home care")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "postcode"
    page.keyboard.type("PE1 1AA")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=home\+care&postcode=PE1\+1AA"))
    assert "services found for ‘home care’" in page.locator("[role=status]").inner_text()

    # Tick "Only council framework providers" with the space bar, then apply.
    _tab_to(page, "document.activeElement.name === 'framework_only'")
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.checked") is True
    _tab_to(page, "document.activeElement.textContent.trim() === 'Apply filters'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"framework_only="))
    first_card = page.locator(".app-result").first.inner_text()
    assert "Council framework" in first_card and "Ranked" in first_card

    # On to the first result, and open it.
    _tab_to(page, "(document.activeElement.getAttribute('href') || '').startsWith('/services/')")
    title = page.evaluate("document.activeElement.textContent.trim()")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/services/\d+$"))
    assert page.locator("h1").inner_text() == title
    assert "Ranked" in page.locator(".app-rank").inner_text()
    assert_accessible(page)


def test_keyboard_users_can_skip_the_filters_to_the_results(page):
    page.goto("/search?q=home+care&postcode=PE1+1AA")
    _tab_to(page, "document.activeElement.textContent.trim() === 'Skip to results'")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results-heading"
    # From the results heading, the first result is a few tab stops away, not the filters'.
    for _ in range(7):
        page.keyboard.press("Tab")
        if (page.evaluate("document.activeElement.getAttribute('href')") or "").startswith("/services/"):
            break
    else:
        raise AssertionError("the first result was not within 7 tab stops of the results heading")
    assert_accessible(page)
