"""The header, the service navigation and each section's navigation, as each kind of person
sees them: the links for where they work, exactly one marked as the current place, and no
"Budget" for someone with no personal budget to look at."""

from __future__ import annotations

import pytest

from app.models import CitizenFunding, OrgRole
from tests.helpers import page


def _navigation(soup, selector: str) -> tuple[list[str], list[str]]:
    """(every item's text, the texts of the items marked current) in one navigation."""
    nav = soup.select_one(selector)
    assert nav is not None, f"no {selector} on the page"
    links = nav.select("a")
    return [a.get_text(" ", strip=True) for a in links], [a.get_text(" ", strip=True) for a in links if a.get("aria-current")]


def _service_nav(response):
    return _navigation(page(response), ".govuk-service-navigation nav")


def _section_nav(response):
    return _navigation(page(response), "nav.app-section-nav")


def _header(response):
    return _navigation(page(response), "nav.app-header__account")


def test_a_visitor_finds_care_and_signs_in(client):
    response = client.get("/")
    assert _service_nav(response) == (["Find care"], ["Find care"])
    assert _header(response) == (["Sign in"], [])
    assert _header(client.get("/sign-in"))[1] == ["Sign in"]
    assert _service_nav(client.get("/sign-in"))[1] == []


def test_a_budget_holder_sees_their_budget_and_one_current_place(client, login, make_citizen, make_budget):
    citizen = make_citizen()
    make_budget(citizen)
    login(client, citizen)
    for path, current in [("/my-care", "Your care"), ("/bookings", "Bookings"), ("/payments", "Payments"), ("/enquiries", "Enquiries")]:
        items, marked = _service_nav(client.get(path))
        assert items == ["Find care", "Your care", "Bookings", "Budget", "Payments", "Enquiries"]
        assert marked == [current], path
    response = client.get("/my-care")
    assert _header(response) == (["Notifications", "Your account"], [])
    assert page(response).select_one(".app-header__account button").get_text(strip=True) == "Sign out"
    assert _header(client.get("/account"))[1] == ["Your account"]
    assert _service_nav(client.get("/account"))[1] == []
    # The search and a service page are "Find care".
    assert _service_nav(client.get("/search?q=care"))[1] == ["Find care"]


def test_someone_with_no_budget_is_not_offered_one(client, login, make_citizen):
    login(client, make_citizen(citizen_funding=CitizenFunding.SELF_FUNDER))
    items, marked = _service_nav(client.get("/bookings"))
    assert items == ["Find care", "Your care", "Bookings", "Payments", "Enquiries"]
    assert marked == ["Bookings"]


def test_a_representative_sees_the_budgets_of_the_people_they_act_for(client, login, make_citizen, make_budget, make_representative):
    citizen = make_citizen()
    representative = make_representative(citizen)
    login(client, representative)
    assert "Budgets" not in _service_nav(client.get("/my-care"))[0]
    make_budget(citizen)
    items, marked = _service_nav(client.get("/my-care"))
    assert items == ["Find care", "Care you arrange", "Bookings", "Budgets", "Payments", "Enquiries"]
    assert marked == ["Care you arrange"]


@pytest.mark.parametrize(
    "path, service_current, section_current",
    [
        ("/provider", "Your organisation", "Overview"),
        ("/provider/team", "Your organisation", "Team"),
        ("/provider/services", "Your organisation", "Listings"),
        ("/provider/bookings", "Bookings", "Bookings"),
    ],
)
def test_a_provider_works_in_their_organisation(client, login, make_provider_staff, path, service_current, section_current):
    login(client, make_provider_staff(org_role=OrgRole.OWNER))
    response = client.get(path)
    items, marked = _service_nav(response)
    assert items == ["Find care", "Your organisation", "Bookings"]
    assert marked == [service_current]
    assert _section_nav(response)[1] == [section_current]


@pytest.mark.parametrize(
    "path, section_current",
    [
        ("/commissioner", "Overview"),
        ("/commissioner/providers", "Providers"),
        ("/commissioner/budgets", "Personal budgets"),
        ("/commissioner/bookings", "Bookings"),
        ("/commissioner/audit", "Audit trail"),
        ("/commissioner/market/prices", "Market reports"),
        ("/commissioner/market/position", "Market reports"),
    ],
)
def test_a_commissioner_has_one_place_and_a_section_for_it(client, login, make_commissioner, path, section_current):
    login(client, make_commissioner())
    response = client.get(path)
    assert _service_nav(response) == (["Find care", "Commissioner tools"], ["Commissioner tools"])
    items, marked = _section_nav(response)
    assert items[0] == "Overview" and len(items) == 11
    assert marked == [section_current]


def test_an_admin_has_admin_and_the_commissioner_tools(client, login, make_admin):
    login(client, make_admin())
    response = client.get("/admin/users")
    assert _service_nav(response) == (["Find care", "Admin", "Commissioner tools"], ["Admin"])
    assert _section_nav(response) == (["Overview", "Accounts", "Email outbox", "Scheduled jobs"], ["Accounts"])
    assert _service_nav(client.get("/commissioner"))[1] == ["Commissioner tools"]
