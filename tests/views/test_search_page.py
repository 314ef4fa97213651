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


def summary_items(response) -> list[tuple[str, str | None]]:
    """(text, link) of each error in the summary, in order; None for an error with no field."""
    summary = page(response).select_one(".govuk-error-summary")
    items = []
    for li in summary.select(".govuk-error-summary__list li") if summary else ():
        a = li.find("a")
        items.append((li.get_text(strip=True), a["href"] if a else None))
    return items


def error_summary(response) -> dict[str, str]:
    """{text: link} of each error in the summary that links to a field."""
    return {text: href for text, href in summary_items(response) if href}


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
    [
        'home AND (care OR "day centre") NOT meals',
        "car* demntia~ care^2 a:b",
        "(((((((((((",
        "NOT NOT NOT NOT NOT NOT NOT NOT x",
        '"',
        "é café 日本語 😀",
        "%00".replace("%00", "") + "\\'\"<script>",
        '~ ^ : * ( ) "',
    ],
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
    # Nothing for the words as typed: the page shows the results for the corrected spelling, saying so.
    response = client.get("/search?q=demenita&funding=prepaid_card")
    text = visible_text(response)
    assert "1 service found for ‘dementia’" in text
    assert "No services found for ‘demenita’. Showing results for ‘dementia’ instead." in text
    assert cards(response) == ["Dementia day club"]
    # When the words as typed find something (here "club", under "some of your words"), a
    # better spelling is offered as a link that keeps the filters.
    response = client.get("/search?q=demenita+club&funding=prepaid_card")
    assert "Did you mean dementia club" in visible_text(response)
    href = links(response)["dementia club"]
    assert "q=dementia+club" in href and "funding=prepaid_card" in href
    assert cards(client.get(href)) == ["Dementia day club"]


def test_no_results_gives_help(client, index, make_service):
    make_service(title="Home care visits")
    text = visible_text(client.get("/search?q=helicopter+lessons"))
    assert "No services found for ‘helicopter lessons’" in text
    assert "check your spelling" in text and "describe what you need in other words" in text
    assert "Talk to Peterborough City Council" in text


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
    beyond = client.get("/search?q=visit&sort=price&page=9")
    assert beyond.status_code == 404  # past the last page: not found, as GOV.UK pagination implies
    assert title(beyond) == "Page not found: search results for ‘visit’ – Care and Support Marketplace"
    text = visible_text(beyond)
    assert "There is no page 9 of these results: there are 2 pages." in text and "Showing" not in text
    first = links(beyond)["Go to the first page of results"]
    assert "page=" not in first and cards(client.get(first))[0] == "Visit 00"
    assert client.get("/search?q=nothing-like-it&page=2").status_code == 404
    assert client.get("/search?q=nothing-like-it").status_code == 200


def test_page_links_keep_every_day_chosen(client, index, make_provider, make_service):
    provider = make_provider()
    weekend = [(5, "09:00", "17:00"), (6, "09:00", "17:00")]
    for n in range(25):
        make_service(provider=provider, title=f"Weekend {n:02d}", price_pence=1000 + n, hours=weekend)
    make_service(provider=provider, title="Saturday only", price_pence=900, hours=[(5, "09:00", "17:00")])
    response = client.get("/search?day=saturday&day=sunday&sort=price")
    assert "25 services found" in visible_text(response)
    links_ = [a["href"] for a in page(response).select(".govuk-pagination a")]
    assert links_ and all("day=saturday" in href and "day=sunday" in href for href in links_), links_
    next_link = page(response).select_one(".govuk-pagination__next a")["href"]
    second = client.get(next_link)
    assert cards(second) == [f"Weekend {n:02d}" for n in range(20, 25)]
    assert "25 services found" in visible_text(second)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("page=0", [("Page must be a whole number between 1 and 10,000", None)]),
        ("page=abc", [("Page must be a whole number between 1 and 10,000", None)]),
        ("framework_only=maybe", [("framework_only must be true or false", "#framework_only")]),
        ("max_price_pence=12.5", [("max_price_pence must be a whole number of pence between 1 and 500000", "#max_price")]),
        ("q=care%00", [("Search words contain a hidden character we cannot search for: type them again", "#q")]),
    ],
)
def test_the_page_refuses_what_the_api_refuses_with_gov_uk_errors(client, index, query, expected):
    response = client.get(f"/search?{query}")
    assert response.status_code == 200
    assert title(response).startswith("Error: ")
    assert summary_items(response) == expected
    api = client.get(f"/api/v1/services?{query}")
    assert api.status_code == 400
    assert list(api.json["error"]["fields"].values()) == [message for message, _ in expected]


def test_every_bad_field_is_named_at_once(client, index):
    response = client.get("/search?postcode=ZZ9+9ZZ&category=no-such&sort=distance&radius_miles=0")
    assert summary_items(response) == [
        ("We could not find that postcode", "#postcode"),
        ("Distance must be a whole number of miles between 1 and 100", "#radius_miles"),
        ("Choose a type of support from the list", "#category"),
    ]
    both = client.get("/search?sort=distance&max_price=lots&min_cqc_rating=great")
    assert [text for text, _ in summary_items(both)] == [
        "Enter a maximum price in pounds, like 25 or 22.50",
        "Choose a CQC rating from the list",
        "Enter a postcode to sort by distance",
    ]


def test_the_page_takes_the_api_price_in_pence_too(client, index, make_service):
    make_service(title="Cheap visits", price_pence=1500)
    make_service(title="Dear visits", price_pence=2600)
    response = client.get("/search?max_price_pence=1500")
    assert cards(response) == ["Cheap visits"]
    assert page(response).find("input", attrs={"name": "max_price"})["value"] == "15"
    in_pence = client.get("/search?max_price_pence=2250")
    assert cards(in_pence) == ["Cheap visits"]
    assert page(in_pence).find("input", attrs={"name": "max_price"})["value"] == "22.50"
    # The box in pounds is what a person typed: it wins over the pence.
    assert sorted(cards(client.get("/search?max_price=30&max_price_pence=1500"))) == ["Cheap visits", "Dear visits"]


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
    client.get("/search")  # arriving at the search page asks for nothing
    client.get("/search?sort=price")
    logs = db.session.execute(select(SearchLog)).scalars().all()
    assert len(logs) == 1
    log = logs[0]
    assert log.words == "home care for PE1 call"
    assert log.postcode_district == "PE2" and log.radius_miles == 5
    assert log.days == "saturday" and log.funding.value == "prepaid_card"
    assert log.result_count == 1 and log.channel.value == "web"  # home care matched, under "some of your words"
    row = " ".join(str(v) for v in db.session.execute(select(SearchLog.__table__)).one())
    assert "6AB" not in row and "07700" not in row


def test_a_search_is_logged_once_its_page_has_been_sent(app, index, make_service, monkeypatch, caplog):
    """The person does not wait for the statistics: the row is written when the server
    closes the response after sending it, and a failure to write is logged, not shown."""
    make_service(title="Home care visits")
    sending = app.test_client().get("/search?q=home+care", buffered=False)  # sent, not yet closed
    assert sending.status_code == 200 and "Home care visits" in visible_text(sending)
    assert db.session.execute(select(SearchLog)).scalars().all() == []
    sending.close()
    assert [log.words for log in db.session.execute(select(SearchLog)).scalars()] == ["home care"]

    from app.services.search import log as search_log

    def broken(entry):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(search_log, "_write", broken)
    response = app.test_client().get("/search?q=care")
    assert response.status_code == 200
    assert "Could not record a search in the search log" in caplog.text


def second_of_two_on_home_care(make_provider, make_service, make_lot, make_membership):
    """Two services on the Home care lot; the one ranked 2nd (Good, and the cheapest)."""
    lot = make_lot("home-care", name="Home care")
    p1, p2 = make_provider(rating=CQCRating.OUTSTANDING), make_provider(rating=CQCRating.GOOD)
    make_membership(lot, p1)
    make_membership(lot, p2)
    make_service(provider=p1, price_pence=2500)
    return make_service(provider=p2, price_pence=2000)


def test_service_page_shows_rank_and_reasons(client, make_provider, make_service, make_lot, make_membership):
    second = second_of_two_on_home_care(make_provider, make_service, make_lot, make_membership)
    text = visible_text(client.get(f"/services/{second.id}"))
    assert "Ranked 2nd of 2 on the Home care framework: quality 80/100, price 100/100" in text
    assert "How this ranking is worked out" in text
    assert "Price 100/100: £20 an hour is the lowest price an hour on this framework lot." in text
    assert "the council counts quality as 60% and price as 40% on the Home care lot" in text


def test_the_service_page_ranks_from_the_index_without_loading_the_lot(
    client, index, make_provider, make_service, make_lot, make_membership, monkeypatch
):
    """At a region's size a lot has thousands of members: the public service page takes
    the rank from the search index's scores, not from loading the lot on every view."""
    from app.services import ranking

    second = second_of_two_on_home_care(make_provider, make_service, make_lot, make_membership)
    expected = ranking.service_rank(second.id)

    def loads_the_lot(*args, **kwargs):
        raise AssertionError("the service page loaded every member of the lot")

    from app.services.ranking import reading

    monkeypatch.setattr(reading, "rank_lots", loads_the_lot)
    text = visible_text(client.get(f"/services/{second.id}"))
    assert "Ranked 2nd of 2 on the Home care framework: quality 80/100, price 100/100" in text
    for reason in expected.reasons:
        assert reason in text


def test_a_listing_published_and_withdrawn_through_the_provider_pages_shows_in_search(
    client, index, make_provider, make_provider_staff, make_service
):
    from app.models import ServiceStatus
    from tests.helpers import post_form, sign_in

    provider = make_provider(base_district="PE2", areas=["PE2", "PE1"])
    owner = make_provider_staff(provider)
    draft = make_service(provider=provider, title="Riverside lunch club", status=ServiceStatus.DRAFT)
    visitor = client.application.test_client()
    assert cards(visitor.get("/search?q=riverside")) == []

    sign_in(client, owner)
    post_form(client, f"/provider/services/{draft.id}/publish", form_page=f"/provider/services/{draft.id}")
    assert cards(visitor.get("/search?q=riverside&postcode=PE1+1XX")) == ["Riverside lunch club"]
    post_form(client, f"/provider/services/{draft.id}/withdraw", form_page=f"/provider/services/{draft.id}")
    assert cards(visitor.get("/search?q=riverside")) == []
    assert "No services found for ‘riverside’" in visible_text(visitor.get("/search?q=riverside"))
