"""The storefront pages, as a visitor sees them."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import CQCRating, FundingRoute, MembershipStatus, PriceUnit, ProviderStatus, ServiceStatus
from tests.helpers import h1, links, page, summary_rows, title, visible_text


def test_home_has_a_search_box_and_categories_with_counts(client, make_service):
    make_service(category="home-care")
    make_service(category="home-care")
    make_service(category="meals", price_unit=PriceUnit.ITEM, price_pence=550)
    make_service(category="meals", status=ServiceStatus.WITHDRAWN)

    response = client.get("/")
    assert response.status_code == 200
    assert h1(response) == "Find care and support"
    assert title(response) == "Find care and support – Care and Support Marketplace"
    soup = page(response)
    search = soup.find("form", attrs={"role": "search"})
    assert search["method"] == "get" and search.find("input", attrs={"name": "q"})
    text = visible_text(response)
    assert "Home care (2 services)" in text
    assert "Meals (1 service)" in text  # the withdrawn one is not counted
    assert "Transport (0 services)" in text
    assert links(response)["Home care"] == "/categories/home-care"


def test_service_name_and_no_crown(client):
    response = client.get("/")
    soup = page(response)
    assert "Care and Support Marketplace" in soup.select_one(".govuk-service-navigation__service-name").get_text()
    assert soup.select_one(".govuk-generic-header") is not None
    assert "govuk-logo" not in response.get_data(as_text=True)
    assert "Crown copyright" not in response.get_data(as_text=True)


def test_every_page_has_skip_link_and_footer_links(client):
    for url in ("/", "/accessibility", "/cookies", "/privacy"):
        response = client.get(url)
        assert response.status_code == 200, url
        soup = page(response)
        skip = soup.select_one("a.govuk-skip-link")
        assert skip["href"] == "#main-content" and soup.find(id="main-content")
        footer = links(response)
        assert footer["Accessibility statement"] == "/accessibility"
        assert footer["Cookies"] == "/cookies"
        assert footer["Privacy notice"] == "/privacy"


@pytest.mark.parametrize(
    "url, heading",
    [
        ("/accessibility", "Accessibility statement for Care and Support Marketplace"),
        ("/cookies", "Cookies"),
        ("/privacy", "Privacy notice"),
    ],
)
def test_information_pages(client, url, heading):
    response = client.get(url)
    assert h1(response) == heading


def test_category_page_lists_only_listed_services(client, make_service, make_provider):
    shown = make_service(category="day-opportunities", title="Riverside day centre", price_unit=PriceUnit.DAY, price_pence=5500)
    make_service(category="day-opportunities", title="Draft centre", status=ServiceStatus.DRAFT)
    make_service(category="day-opportunities", title="Closed centre", status=ServiceStatus.WITHDRAWN)
    pending = make_provider(status=ProviderStatus.PENDING)
    make_service(category="day-opportunities", title="Unverified centre", provider=pending)
    make_service(category="meals", title="Not this category")

    response = client.get("/categories/day-opportunities")
    assert response.status_code == 200
    assert h1(response) == "Day opportunities"
    text = visible_text(response)
    assert "Riverside day centre" in text
    assert f"by {shown.provider.name}" in text
    assert "£55 a day" in text
    for hidden in ("Draft centre", "Closed centre", "Unverified centre", "Not this category"):
        assert hidden not in text
    assert "Showing 1 to 1 of 1 service" in text


def test_category_page_paginates_twenty_a_page(client, make_service, make_provider):
    provider = make_provider()
    for i in range(23):
        make_service(provider=provider, category="transport", title=f"Trip {i:02d}", price_unit=PriceUnit.VISIT)
    first = client.get("/categories/transport")
    assert len(page(first).select(".app-result")) == 20
    assert "Showing 1 to 20 of 23 services" in visible_text(first)
    second = client.get("/categories/transport?page=2")
    assert len(page(second).select(".app-result")) == 3
    assert "Showing 21 to 23 of 23 services" in visible_text(second)
    assert "page 2 of 2" in title(second)
    # Nonsense page numbers fall back to something sensible rather than failing.
    assert client.get("/categories/transport?page=abc").status_code == 200
    assert client.get("/categories/transport?page=-4").status_code == 200
    assert client.get("/categories/transport?page=99999999999999999999").status_code == 200


def test_category_with_nothing_listed_says_so(client):
    response = client.get("/categories/transport")
    assert "There are no services listed in this category yet." in visible_text(response)


def test_service_page_shows_what_a_person_needs_to_choose(client, make_provider, make_service, make_lot, make_membership):
    provider = make_provider(
        name="Nene Valley Home Care",
        base_district="PE1",
        areas=["PE1", "PE2", "PE3"],
        service_radius_miles=None,
        rating=CQCRating.GOOD,
        cqc_safe=CQCRating.REQUIRES_IMPROVEMENT,
        cqc_caring=CQCRating.OUTSTANDING,
        cqc_inspection_date=dt.date(2026, 3, 14),
        cqc_location_id="1-123456789",
    )
    lot = make_lot("home-care")
    make_membership(lot, provider)
    service = make_service(
        provider=provider,
        title="Home care visits",
        description="Help at home with washing and dressing.",
        price_pence=2350,
        price_unit=PriceUnit.HOUR,
        min_units=2,
        accepts_self_funder=False,
        hours=[(0, "07:00", "22:00"), (5, "09:00", "17:30")],
        updated_at=dt.datetime(2026, 10, 2, 9, 30, tzinfo=dt.timezone.utc),
    )

    response = client.get(f"/services/{service.id}")
    assert response.status_code == 200
    assert h1(response) == "Home care visits"
    text = visible_text(response)
    assert "by Nene Valley Home Care" in text
    assert "Help at home with washing and dressing." in text
    rows = summary_rows(response)
    assert rows["Price"] == "£23.50 an hour, minimum 2 hours"
    assert rows["Ways to pay"] == "Personal budget Prepaid card (direct payment)"
    assert rows["Areas served"] == "Postcode districts PE1, PE2, PE3"
    assert rows["Usual days and times"] == "Monday: 7am to 10pm Saturday: 9am to 5:30pm"
    assert rows["Council framework"] == "Approved on the Home care framework"
    assert rows["Last updated"] == "2 October 2026"
    assert rows["Overall"] == "Good"
    assert rows["Safe"] == "Requires improvement"
    assert rows["Caring"] == "Outstanding"
    assert "Inspected on 14 March 2026" in text
    assert links(response)["Nene Valley Home Care"] == f"/providers/{provider.id}"


def test_service_page_for_unrated_and_unregulated_providers(client, make_provider, make_service):
    new = make_provider(rating=None, cqc_location_id="1-000000999")
    service = make_service(provider=new)
    text = visible_text(client.get(f"/services/{service.id}"))
    assert "not yet inspected, so it has no rating yet" in text

    meals = make_provider(rating=None, cqc_location_id=None, cqc_provider_id=None)
    service = make_service(provider=meals, category="meals", price_unit=PriceUnit.ITEM)
    text = visible_text(client.get(f"/services/{service.id}"))
    assert "does not carry out activities that CQC regulates" in text


def test_service_page_shows_suspension_and_no_framework(client, make_provider, make_service, make_lot, make_membership):
    provider = make_provider()
    lot = make_lot("home-care")
    make_membership(lot, provider, MembershipStatus.SUSPENDED, "Inadequate rating")
    service = make_service(provider=provider)
    assert summary_rows(client.get(f"/services/{service.id}"))["Council framework"] == "Suspended from the Home care framework"

    other = make_service(category="meals", price_unit=PriceUnit.ITEM)
    assert summary_rows(client.get(f"/services/{other.id}"))["Council framework"] == "The council has no framework for meals"


def test_radius_areas_are_described(client, make_provider, make_service):
    provider = make_provider(base_district="PE3", areas=[], service_radius_miles=10)
    service = make_service(provider=provider)
    assert summary_rows(client.get(f"/services/{service.id}"))["Areas served"] == "Anywhere within 10 miles of PE3"


def test_provider_page(client, make_provider, make_service, make_lot, make_membership):
    provider = make_provider(name="Cathedral City Care", description="We care.\n\nSince 1999.")
    make_membership(make_lot("home-care"), provider)
    make_service(provider=provider, title="Home care visits")
    make_service(provider=provider, title="Respite nights", category="short-breaks", price_unit=PriceUnit.NIGHT, price_pence=14000)
    make_service(provider=provider, title="Old service", status=ServiceStatus.WITHDRAWN)

    response = client.get(f"/providers/{provider.id}")
    assert response.status_code == 200
    assert h1(response) == "Cathedral City Care"
    text = visible_text(response)
    assert "We care." in text and "Since 1999." in text
    assert "Framework: Home care" in text
    assert "Services (2)" in text
    assert "Home care visits" in text and "Respite nights" in text and "£140 a night" in text
    assert "Old service" not in text


@pytest.mark.parametrize(
    "url",
    [
        "/services/999999",
        "/services/0",
        "/services/abc",
        "/services/-1",
        "/services/99999999999999999999",
        "/services/1.5",
        "/providers/999999",
        "/providers/nonsense",
        "/providers/99999999999",
        "/categories/no-such-category",
        "/categories/%00",
        "/no-such-page",
    ],
)
def test_unknown_or_malformed_ids_are_a_styled_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert h1(response) == "Page not found"
    assert "govuk-template" in response.get_data(as_text=True)


@pytest.mark.parametrize("status", [ServiceStatus.WITHDRAWN, ServiceStatus.DRAFT])
def test_withdrawn_and_draft_services_are_404(client, make_service, status):
    service = make_service(status=status)
    assert client.get(f"/services/{service.id}").status_code == 404


@pytest.mark.parametrize("status", [ProviderStatus.PENDING, ProviderStatus.REJECTED, ProviderStatus.SUSPENDED])
def test_unverified_providers_and_their_services_are_404(client, make_provider, make_service, status):
    provider = make_provider(status=status)
    service = make_service(provider=provider)
    assert client.get(f"/providers/{provider.id}").status_code == 404
    assert client.get(f"/services/{service.id}").status_code == 404


def test_health_reports_database_and_missing_index(client, backend):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json
    assert body["database"] == {"ok": True, "backend": backend}
    assert body["search_index"]["ok"] is False
    assert body["search_index"]["state"] == "missing"
    assert body["status"] == "degraded"


def test_funding_route_labels():
    assert [r.label for r in FundingRoute] == ["Personal budget", "Prepaid card (direct payment)", "Paying for yourself"]
