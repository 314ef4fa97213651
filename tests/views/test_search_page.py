"""The search page as a person sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CQCRating, SearchLog
from app.services import search
from tests.helpers import h1, links, page, squash, title, visible_text


@pytest.fixture
def index(app, make_district):
    make_district("PE1", 52.5880, -0.2290, "Peterborough")
    make_district("PE2", 52.5560, -0.2590, "Peterborough")
    search.rebuild()


def cards(response) -> list[str]:
    return [a.get_text(strip=True) for a in page(response).select(".app-result h3 a")]


def error_summary(response) -> dict[str, str]:
    summary = page(response).select_one(".govuk-error-summary")
    if summary is None:
        return {}
    return {a.get_text(strip=True): a["href"] for a in summary.select("a")}


def test_the_home_page_search_box_leads_to_results(client, index, make_provider, make_service, make_lot, make_membership):
    provider = make_provider(base_district="PE2", areas=["PE2", "PE1"], rating=CQCRating.GOOD)
    make_membership(make_lot("home-care", name="Home care"), provider)
    make_service(provider=provider, title="Home care visits", price_pence=2200)
    make_service(title="Hot meals delivered", category="meals", price_pence=550, price_unit="item")

    home = page(client.get("/"))
    form = home.find("form", attrs={"role": "search"})
    assert form["action"] == "/search" and form["method"] == "get"

    response = client.get("/search?q=home+care&postcode=pe1+1xx")
    assert response.status_code == 200
    assert title(response) == "Search results for ‘home care’ – Care and Support Marketplace"
    assert h1(response) == "Find care and support"
    text = visible_text(response)
    assert "1 service found for ‘home care’ within 10 miles of PE1 1XX" in text
    assert cards(response) == ["Home care visits"]
    card = squash(page(response).select_one(".app-result").get_text(" "))
    assert "£22 an hour" in card
    assert "CQC rating: Good" in card and "2.5 miles away" in card
    assert "Ranked 1st of 1 on the Home care framework: quality 80/100, price 100/100" in card
    assert links(response)["Home care visits"].startswith("/services/")
    # The form keeps what was typed.
    soup = page(response)
    assert soup.find("input", attrs={"name": "q"})["value"] == "home care"
    assert soup.find("input", attrs={"name": "postcode"})["value"] == "pe1 1xx"


def test_filters_show_counts_and_stay_chosen(client, index, make_service):
    make_service(title="Home visits", accepts_self_funder=False)
    make_service(title="Meals on wheels", category="meals", price_unit="item", price_pence=500)
    response = client.get("/search?funding=self_funder&day=monday")
    assert cards(response) == ["Meals on wheels"]
    soup = page(response)
    labels = {label.get_text(strip=True) for label in soup.select(".govuk-radios__label, .govuk-checkboxes__label")}
    assert {"Home care (0)", "Meals (1)", "Personal budget (2)", "Paying for yourself (1)", "Monday (1)"} <= labels
    assert soup.find("input", attrs={"name": "funding", "value": "self_funder"}).has_attr("checked")
    assert soup.find("input", attrs={"name": "day", "value": "monday"}).has_attr("checked")


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("postcode=PE1", "postcode", "Enter a full UK postcode, like PE1 1XX"),
        ("postcode=hello", "postcode", "Enter a full UK postcode, like PE1 1XX"),
        ("postcode=ZZ9+9ZZ", "postcode", "We could not find that postcode"),
        ("max_price=lots", "max_price", "Enter a maximum price in pounds, like 25 or 22.50"),
        ("max_price=999999", "max_price", "Maximum price must be between 1p and £5,000"),
        ("max_price=0", "max_price", "Maximum price must be between 1p and £5,000"),
        ("postcode=PE1+1XX&radius_miles=500", "radius_miles", "Distance must be a whole number of miles between 1 and 100"),
        ("sort=distance", "sort", "Enter a postcode to sort by distance"),
        ("min_cqc_rating=brilliant", "min_cqc_rating", "Choose a CQC rating from the list"),
        ("category=nothing-like-it", "category", "Choose a type of support from the list"),
        ("day=someday", "day", "Choose days of the week from the list"),
        ("q=" + "care+" * 2000, "q", "Search words must be 200 characters or fewer"),
    ],
)
def test_bad_input_gets_a_gov_uk_error_summary_and_field_error(client, index, query, field, message):
    response = client.get(f"/search?{query}")
    assert response.status_code == 200
    assert title(response).startswith("Error: ")
    summary = error_summary(response)
    assert summary.get(message) == f"#{field}", summary
    field_error = page(response).select_one(".govuk-error-message")
    assert message in field_error.get_text()
    assert "Correct the errors above to see results" in visible_text(response)


@pytest.mark.parametrize(
    "q",
    ['home AND (care OR "day centre") NOT meals', "car* demntia~ care^2 a:b", "(((((((((((", "NOT NOT NOT NOT NOT NOT NOT NOT x", '"', "é café 日本語 😀", "%00".replace("%00", "") + "\\'\"<script>", "~ ^ : * ( ) \""],
)
def test_whoosh_syntax_and_unicode_never_break_the_page(client, index, make_service, q):
    make_service(title="Home care visits")
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True).split("<main")[1]  # shown escaped


def test_a_ten_thousand_character_query_is_refused_politely(client, index):
    response = client.get("/search", query_string={"q": "x" * 10_000})
    assert response.status_code == 200
    assert "Search words must be 200 characters or fewer" in visible_text(response)


def test_did_you_mean_links_to_the_corrected_search(client, index, make_service):
    make_service(title="Dementia day club")
    response = client.get("/search?q=demenita&funding=prepaid_card")
    text = visible_text(response)
    assert "No services found for ‘demenita’" in text and "Did you mean dementia" in text
    href = links(response)["dementia"]
    assert "q=dementia" in href and "funding=prepaid_card" in href
    assert cards(client.get(href)) == ["Dementia day club"]


def test_no_results_gives_help(client, index, make_service):
    make_service(title="Home care visits")
    text = visible_text(client.get("/search?q=helicopter+lessons"))
    assert "No services found for ‘helicopter lessons’" in text
    assert "checking your spelling" in text and "removing some filters" in text


def test_pages_of_twenty_keep_the_search(client, index, make_provider, make_service):
    provider = make_provider()
    for n in range(25):
        make_service(provider=provider, title=f"Visit {n:02d}", price_pence=1000 + n)
    response = client.get("/search?q=visit&sort=price")
    assert len(cards(response)) == 20
    assert title(response).endswith("(page 1 of 2) – Care and Support Marketplace")
    next_link = page(response).select_one(".govuk-pagination__next a")["href"]
    assert "q=visit" in next_link and "sort=price" in next_link and "page=2" in next_link
    assert cards(client.get(next_link)) == [f"Visit {n:02d}" for n in range(20, 25)]
    beyond = client.get("/search?q=visit&page=9")
    assert "There are no results on this page" in visible_text(beyond)


def test_without_an_index_the_page_says_so_and_offers_categories(client):
    response = client.get("/search?q=care")
    assert response.status_code == 503
    assert h1(response) == "Search is not available right now"
    assert links(response)["Home care"] == "/categories/home-care"


def test_each_search_is_logged_without_personal_data(client, index, make_service):
    make_service(title="Home care visits")
    client.get("/search?q=home+care+for+PE1+1XX+call+07700+900123&postcode=PE2+6AB&radius_miles=5&day=saturday&funding=prepaid_card")
    client.get("/search?q=home+care&page=2")  # later pages are not new searches
    client.get("/search?postcode=nonsense")  # errors are not searches
    logs = db.session.execute(select(SearchLog)).scalars().all()
    assert len(logs) == 1
    log = logs[0]
    assert log.words == "home care for PE1 call"
    assert log.postcode_district == "PE2" and log.radius_miles == 5
    assert log.days == "saturday" and log.funding.value == "prepaid_card"
    assert log.result_count == 0 and log.channel.value == "web"
    row = " ".join(str(v) for v in db.session.execute(select(SearchLog.__table__)).one())
    assert "6AB" not in row and "07700" not in row


def test_service_page_shows_rank_and_reasons(client, make_provider, make_service, make_lot, make_membership):
    lot = make_lot("home-care", name="Home care")
    p1, p2 = make_provider(rating=CQCRating.OUTSTANDING), make_provider(rating=CQCRating.GOOD)
    make_membership(lot, p1)
    make_membership(lot, p2)
    make_service(provider=p1, price_pence=2500)
    second = make_service(provider=p2, price_pence=2000)
    text = visible_text(client.get(f"/services/{second.id}"))
    assert "Ranked 2nd of 2 on the Home care framework: quality 80/100, price 100/100" in text
    assert "How this ranking is worked out" in text
    assert "Price 100/100: £20 an hour is the lowest price an hour on this framework lot." in text
    assert "the council counts quality as 60% and price as 40% on the Home care lot" in text
