"""The market reports in a real browser on the demo market (with its year of history): each
report page and the public Market Position Statement pass axe (WCAG 2.2 AA), reflow at
320 pixels, and the charts are drawn with their data tables beside them."""

from __future__ import annotations

import pytest

from app.services.reports.catalogue import REPORTS
from tests.e2e.conftest import assert_accessible, check_pages, sign_in_as

pytestmark = pytest.mark.e2e


def test_every_market_report_is_accessible_and_has_figures(page):
    sign_in_as(page, "commissioner@demo.test")
    check_pages(page, ["/commissioner/market", *[f"/commissioner/market/{entry.slug}" for entry in REPORTS]])
    for entry in REPORTS:
        page.goto(f"/commissioner/market/{entry.slug}")
        charts = page.locator("figure.app-chart svg[role=img]")
        tables = page.locator("table.govuk-table")
        assert tables.count() >= 1, entry.slug
        assert charts.count() >= 1, f"{entry.slug} draws no chart on the demo market"
        # Every chart is named for assistive technology by its own title and description.
        for i in range(charts.count()):
            labelled_by = charts.nth(i).get_attribute("aria-labelledby").split()
            assert all(page.locator(f"[id='{ref}']").count() == 1 for ref in labelled_by)


def test_filtering_a_report_by_keyboard(page):
    sign_in_as(page, "commissioner@demo.test")
    page.goto("/commissioner/market/spend")
    page.select_option("#way", "isf")
    page.focus("button:has-text('Show the report')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "way=isf" in page.url
    assert "Individual Service Fund" in page.inner_text("main")
    assert_accessible(page)


def test_the_market_position_statement_is_public_and_prints_cleanly(page):
    check_pages(page, ["/market-position"])
    page.emulate_media(media="print")
    assert not page.locator(".govuk-header").is_visible()
    assert not page.locator(".govuk-footer").is_visible()
    assert page.locator("table.govuk-table").first.is_visible()
    page.emulate_media(media="screen")
