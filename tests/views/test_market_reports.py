"""The market reports as a commissioner uses them: every report page, its filters and its
downloads; the Market Position Statement from draft to the public page; reference rates."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, BudgetType, Role
from app.services.reports import catalogue
from app.services.reports.filters import default_filter
from tests.helpers import csrf_from, h1, page, visible_text
from tests.services.reports.market_helpers import deliver_booking

SLUGS = [entry.slug for entry in catalogue.REPORTS]


@pytest.fixture
def commissioner_client(client, make_commissioner, login):
    login(client, make_commissioner())
    return client


@pytest.fixture
def small_market(make_service, make_budget, make_provider, make_user, policy):
    provider = make_provider(name="Alpha Care")
    service = make_service(provider=provider, price_pence=2_000, capacity=5, hours=[(d, "08:00", "20:00") for d in range(7)])
    staff = make_user(Role.PROVIDER)
    deliver_booking(service, make_budget(amount=50_000), staff=staff, policy=policy, units=2)
    deliver_booking(service, make_budget(amount=50_000, budget_type=BudgetType.ISF, isf_provider=provider), staff=staff, policy=policy)
    return provider


def test_the_overview_links_to_the_market_reports(commissioner_client):
    overview = commissioner_client.get("/commissioner")
    assert "/commissioner/market" in overview.get_data(as_text=True)
    index = commissioner_client.get("/commissioner/market")
    assert index.status_code == 200
    for slug in SLUGS:
        assert f'href="/commissioner/market/{slug}"' in index.get_data(as_text=True)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_report_shows_its_tables_with_a_download_each(commissioner_client, small_market, slug):
    response = commissioner_client.get(f"/commissioner/market/{slug}")
    assert response.status_code == 200
    soup = page(response)
    report = catalogue.run(slug, default_filter())
    assert h1(response) == report.title
    for table in report.tables:
        section = soup.find(id=f"table-{table.slug}")
        assert section is not None, table.slug
        if table.rows:
            download = commissioner_client.get(f"/commissioner/market/{slug}/{table.slug}.csv")
            assert download.status_code == 200
            assert download.mimetype == "text/csv"
            lines = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
            assert lines[1][0] == table.columns[0].heading
            assert len(lines) == 2 + len(table.rows) + (1 if table.total is not None else 0)


def test_the_spend_download_is_exactly_the_table(commissioner_client, small_market):
    download = commissioner_client.get("/commissioner/market/spend/by-provider.csv")
    lines = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert lines[0][0].startswith("Spend by provider:")
    assert lines[1] == ["Provider", "Spend (£)", "Share of spend (%)"]
    assert lines[2] == ["Alpha Care", "60.00", "100.0"]
    assert lines[3] == ["Total", "60.00", "100.0"]
    table_text = visible_text(commissioner_client.get("/commissioner/market/spend"))
    assert "Alpha Care £60 100.0%" in table_text


def test_people_counts_under_five_say_fewer_than_5_on_the_page_and_in_the_download(commissioner_client, small_market):
    assert "fewer than 5" in visible_text(commissioner_client.get("/commissioner/market/spend"))
    download = commissioner_client.get("/commissioner/market/spend/by-way.csv").get_data(as_text=True)
    assert "fewer than 5" in download


def test_filters_that_cannot_be_used_are_explained_not_a_500(commissioner_client, small_market):
    response = commissioner_client.get("/commissioner/market/spend?from=2026-99&to=nonsense&category=zzz&district=%3Cscript%3E&way=gold")
    assert response.status_code == 200
    text = visible_text(response)
    assert "There is a problem" in text
    assert "Choose a type of support from the list" in text


def test_unknown_reports_and_tables_are_not_found(commissioner_client):
    assert commissioner_client.get("/commissioner/market/nonsense").status_code == 404
    assert commissioner_client.get("/commissioner/market/spend/nonsense.csv").status_code == 404


def test_a_filtered_report_keeps_its_filters_in_every_download_link(commissioner_client, small_market, category):
    response = commissioner_client.get(f"/commissioner/market/spend?from=2026-01&to=2026-12&category={category().slug}&way=isf")
    assert response.status_code == 200
    link = page(response).find("a", href=lambda h: h and h.startswith("/commissioner/market/spend/by-month.csv"))
    assert "way=isf" in link["href"] and "from=2026-01" in link["href"]


def test_the_market_position_statement_goes_from_draft_to_the_public_page(client, make_commissioner, login, category):
    public = client.get("/market-position")
    assert public.status_code == 200
    assert "has not published its statement yet" in visible_text(public)
    commissioner = make_commissioner()
    login(client, commissioner)
    editor = client.get("/commissioner/market/position")
    home_care = category()
    form = {
        "csrf_token": csrf_from(editor),
        "title": "Care market position 2027",
        "introduction": "For providers thinking of working here.",
        "intentions": "We will commission more support at home.",
        f"intention_{home_care.id}": "more",
        f"text_{home_care.id}": "We need more home care in rural districts.",
        "save": "Save draft",
    }
    saved = client.post("/commissioner/market/position", data=form, follow_redirects=True)
    assert "Draft saved" in visible_text(saved)
    assert "Care market position 2027" not in visible_text(client.get("/market-position"))
    form.pop("save")
    form["publish"] = "Save and publish"
    form["csrf_token"] = csrf_from(client.get("/commissioner/market/position"))
    published = client.post("/commissioner/market/position", data=form, follow_redirects=True)
    text = visible_text(published)
    assert "Care market position 2027" in text
    assert "We need more home care in rural districts." in text
    assert "We want more" in text
    assert "calculated" in text
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"market_position.saved", "market_position.published"} <= actions


def test_a_statement_needs_a_title(commissioner_client):
    editor = commissioner_client.get("/commissioner/market/position")
    response = commissioner_client.post("/commissioner/market/position", data={"csrf_token": csrf_from(editor), "title": " ", "save": "1"})
    assert response.status_code == 200
    assert "Enter a title" in visible_text(response)


def test_reference_rates_are_set_and_shown_in_the_prices_report(commissioner_client, small_market, category):
    form_page = commissioner_client.get("/commissioner/market/reference-rates")
    response = commissioner_client.post(
        "/commissioner/market/reference-rates",
        data={
            "csrf_token": csrf_from(form_page),
            "category": category().slug,
            "price_unit": "hour",
            "rate": "28.53",
            "source": "Homecare Association minimum price 2024-25",
        },
        follow_redirects=True,
    )
    text = visible_text(response)
    assert "Reference rate saved" in text
    assert "£28.53" in text
    assert "Homecare Association minimum price 2024-25" in visible_text(commissioner_client.get("/commissioner/market/prices"))
    bad = commissioner_client.post(
        "/commissioner/market/reference-rates",
        data={"csrf_token": csrf_from(form_page), "category": category().slug, "price_unit": "hour", "rate": "lots", "source": "x"},
    )
    assert bad.status_code == 200
    assert "Enter an amount in pounds" in visible_text(bad)
