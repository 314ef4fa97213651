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


def test_home_search_form_is_labelled_and_the_theme_colour_is_ours(client):
    response = client.get("/")
    soup = page(response)
    form = soup.find("form", attrs={"role": "search"})
    assert form["action"] == "/search"
    words = form.find("input", attrs={"name": "q"})
    assert words["type"] == "search" and words["id"] == "q"
    assert " ".join(form.find("label", attrs={"for": "q"}).get_text().split()) == "What are you looking for?"
    assert words["aria-describedby"] == "q-hint" and "day centre" in form.find(id="q-hint").get_text()
    postcode = form.find("input", attrs={"name": "postcode"})
    assert postcode["autocomplete"] == "postal-code" and postcode["aria-describedby"] == "postcode-hint"
    assert " ".join(form.find("label", attrs={"for": "postcode"}).get_text().split()) == "Postcode (optional)"
    assert " ".join(form.find("button").get_text().split()) == "Search"
    # The browser's toolbar takes the colour of our own header, not GOV.UK blue.
    assert soup.find("meta", attrs={"name": "theme-color"})["content"] == "#0b0c0c"


def test_service_name_and_no_crown(client):
    response = client.get("/")
    soup = page(response)
    assert "Care and Support Marketplace" in soup.select_one(".govuk-service-navigation__service-name").get_text()
    assert "Peterborough City Council" in soup.select_one(".app-header__homepage-link").get_text()
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
    # A page that does not exist is not found (GOV.UK pagination links only to real pages),
    # never "Showing 1981 to 23 of 23".
    for nonsense in ("3", "100", "abc", "-4", "0", "99999999999999999999"):
        response = client.get(f"/categories/transport?page={nonsense}")
        assert response.status_code == 404, nonsense
        assert "Showing" not in visible_text(response)


def test_an_empty_category_has_a_first_page_and_no_second(client):
    assert client.get("/categories/transport?page=1").status_code == 200
    assert client.get("/categories/transport?page=2").status_code == 404


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
        updated_at=dt.datetime(2026, 10, 2, 9, 30, tzinfo=dt.UTC),
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
    provider = make_provider(
        name="Cathedral City Care",
        description="We care.\n\nSince 1999.",
        rating=CQCRating.GOOD,
        cqc_well_led=CQCRating.OUTSTANDING,
        cqc_responsive=CQCRating.REQUIRES_IMPROVEMENT,
        cqc_inspection_date=dt.date(2026, 2, 9),
        cqc_location_id="1-2233445566",
        phone="01733 555 123",
        email="hello@cathedralcare.example",
        website="https://cathedralcare.example",
        address_line1="12 Priestgate",
        town="Peterborough",
        base_postcode="PE1 1JA",
    )
    make_membership(make_lot("home-care"), provider)
    make_service(provider=provider, title="Home care visits")
    make_service(provider=provider, title="Respite nights", category="short-breaks", price_unit=PriceUnit.NIGHT, price_pence=14000)
    make_service(provider=provider, title="Old service", status=ServiceStatus.WITHDRAWN)

    response = client.get(f"/providers/{provider.id}")
    assert response.status_code == 200
    assert h1(response) == "Cathedral City Care"
    text = visible_text(response)
    assert [p.get_text() for p in page(response).select("main p.govuk-body")][:2] == ["We care.", "Since 1999."]
    # Its CQC ratings, with the inspection date.
    rows = summary_rows(response)
    assert {key: rows[key] for key in ("Overall", "Safe", "Effective", "Caring", "Responsive", "Well-led")} == {
        "Overall": "Good",
        "Safe": "Good",
        "Effective": "Good",
        "Caring": "Good",
        "Responsive": "Requires improvement",
        "Well-led": "Outstanding",
    }
    assert "Inspected on 9 February 2026. CQC location ID 1-2233445566." in text
    # How to contact it.
    assert "Telephone: 01733 555 123" in text
    assert links(response)["hello@cathedralcare.example"] == "mailto:hello@cathedralcare.example"
    assert links(response)["Cathedral City Care website"] == "https://cathedralcare.example"
    assert "12 Priestgate, Peterborough PE1 1JA" in text
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


# -- When the database is down ------------------------------------------------------------


def _unreachable_database(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}"  # a directory, not a database file: it cannot be opened
    return "postgresql+psycopg://postgres@127.0.0.1:1/marketplace"  # nothing listens on port 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_with_the_database_down_pages_are_the_styled_500_and_health_is_503(backend, tmp_path):
    from app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _unreachable_database(backend, tmp_path),
            "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
            "COUNCIL_NAME": "Fenland District Council",
        }
    )
    client = app.test_client()
    for url in ("/", "/services/1", "/providers/1", "/categories/home-care"):
        response = client.get(url)
        assert response.status_code == 500, url
        soup = page(response)
        assert h1(response) == "Sorry, there is a problem with the service", url
        # The service's own header and styles, with the council's name from config.
        assert "Fenland District Council" in soup.select_one(".app-header").get_text()
        assert "Care and Support Marketplace" in soup.select_one(".govuk-service-navigation__service-name").get_text()
        assert soup.find("link", rel="stylesheet")["href"].endswith("/build/app.css")
        text = visible_text(response)
        assert "Try again later." in text
        assert "If you need help now, contact the adult social care team at Fenland District Council." in text
        assert "01733" not in text  # nobody else's phone number

    response = client.get("/health")
    assert response.status_code == 503
    assert response.is_json
    assert response.json["database"]["ok"] is False
    assert response.json["status"] == "degraded"


def test_a_database_that_accepts_connections_and_never_answers_fails_fast(tmp_path):
    """A PostgreSQL that takes the connection and then says nothing: each page is the styled
    500 page within seconds (not a worker held for good), and /health answers 503 within 5."""
    import socket
    import threading
    import time

    from app import create_app

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held = []

    def accept_and_say_nothing():
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    port = silent.getsockname()[1]
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{port}/marketplace",
                "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
                "DATABASE_CONNECT_TIMEOUT_SECONDS": 1,
            }
        )
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["connect_timeout"] == 1
        client = app.test_client()
        for url in ("/", "/services/1"):
            started = time.monotonic()
            response = client.get(url)
            assert response.status_code == 500 and h1(response) == "Sorry, there is a problem with the service", url
            assert time.monotonic() - started < 3, url  # one connect timeout, not one for the page and one for its header
        started = time.monotonic()
        response = client.get("/health")
        assert response.status_code == 503 and response.json["database"]["ok"] is False
        assert time.monotonic() - started < 5
        assert held  # it really was answering the connection, and nothing more
    finally:
        silent.close()
        for connection in held:
            connection.close()


def test_postgresql_statements_and_connections_have_time_limits():
    from app.config import engine_options

    options = engine_options(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/x",
            "DATABASE_CONNECT_TIMEOUT_SECONDS": 3,
            "DATABASE_STATEMENT_TIMEOUT_SECONDS": 30,
        }
    )
    assert options["connect_args"] == {"connect_timeout": 3, "options": "-c statement_timeout=30000"} and options["pool_timeout"] == 3
    assert "connect_args" not in engine_options({"SQLALCHEMY_DATABASE_URI": "sqlite:///x"})


def test_a_statement_that_runs_too_long_is_cancelled_by_postgresql():
    """The statement time limit is really applied to each connection: a query longer than
    it is cancelled by the server, so a stuck query cannot hold a worker for good."""
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from app.config import engine_options
    from tests.conftest import _postgres_url, skip_or_fail_without_postgres

    url = _postgres_url()
    if url is None:
        skip_or_fail_without_postgres()
    options = engine_options(
        {"SQLALCHEMY_DATABASE_URI": url, "DATABASE_CONNECT_TIMEOUT_SECONDS": 3, "DATABASE_STATEMENT_TIMEOUT_SECONDS": 1}
    )
    engine = create_engine(url, **options)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1s"
            started = time.monotonic()
            with pytest.raises(OperationalError, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(5)"))
            assert time.monotonic() - started < 3
    finally:
        engine.dispose()


def _explode_route(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/explode-for-test")
    def explode():
        raise RuntimeError("boom")


def test_the_500_page_gives_the_councils_own_contact_details(app, db_session):
    from app.models import CouncilSettings

    _explode_route(app)
    client = app.test_client()
    text = visible_text(client.get("/explode-for-test"))
    assert "contact the adult social care team at Peterborough City Council." in text
    assert "01733 747474" not in text  # no number the council has not given

    db_session.add(
        CouncilSettings(
            id=1,
            name="Fenland District Council",
            contact_phone="01354 654321",
            contact_email="care@fenland.example",
            website="https://www.fenland.example",
        )
    )
    db_session.commit()
    response = client.get("/explode-for-test")
    assert response.status_code == 500
    text = visible_text(response)
    assert "If you need help now, contact the adult social care team at Fenland District Council:" in text
    assert "telephone: 01354 654321" in text
    assert links(response)["care@fenland.example"] == "mailto:care@fenland.example"
    assert links(response)["Fenland District Council website"] == "https://www.fenland.example"
    assert "Peterborough" not in text


@pytest.mark.parametrize("url", ["/accessibility", "/privacy"])
def test_information_pages_give_the_councils_own_contact_details(client, db_session, url):
    from app.models import CouncilSettings

    text = visible_text(client.get(url))
    assert "01733 747474" not in text and "peterborough.gov.uk" not in text
    db_session.add(
        CouncilSettings(id=1, name="Fenland District Council", contact_phone="01354 654321", contact_email="care@fenland.example")
    )
    db_session.commit()
    response = client.get(url)
    assert "telephone: 01354 654321" in visible_text(response)
    assert links(response)["care@fenland.example"] == "mailto:care@fenland.example"


# -- What providers type, as the public sees it ---------------------------------------------


def _paragraphs(response) -> list[str]:
    """The text of each paragraph before the first heading of the page's content."""
    out = []
    for tag in page(response).select_one("main .govuk-grid-column-two-thirds").find_all(["p", "h2"]):
        if tag.name == "h2":
            break
        if "govuk-body" in (tag.get("class") or []):
            out.append(" ".join(tag.get_text().split()))
    return out


def test_paragraphs_typed_in_a_browser_show_as_paragraphs(client, make_service, make_provider_staff, category):
    from app.extensions import db
    from app.services import provider_accounts
    from tests.helpers import post_form, sign_in

    service = make_service(title="Morning calls", description="Old text.")
    provider = service.provider
    sign_in(client, make_provider_staff(provider))
    typed = "Help getting up.  \r\n\r\nWashing & dressing <at home>.\r\n\r\n\r\n  \r\nA regular team.\r\n"
    response = post_form(
        client,
        f"/provider/services/{service.id}/edit",
        {
            "title": "Morning calls",
            "category_id": str(category("home-care").id),
            "description": typed,
            "price": "24.50",
            "price_unit": "hour",
            "min_units": "1",
            "funding_routes": ["personal_budget", "self_funder"],
        },
    )
    assert response.status_code == 302, visible_text(response)[:400]
    db.session.refresh(service)
    assert service.description == "Help getting up.\n\nWashing & dressing <at home>.\n\nA regular team."
    public = client.application.test_client()
    shown = _paragraphs(public.get(f"/services/{service.id}"))
    assert shown == ["Help getting up.", "Washing & dressing <at home>.", "A regular team."]
    assert "<at home>" not in public.get(f"/services/{service.id}").get_data(as_text=True)  # escaped, not markup

    profile = provider_accounts.profile_input(provider)
    form = {
        name: getattr(profile, name) or ""
        for name in ("name", "legal_name", "email", "phone", "website", "address_line1", "town", "base_postcode")
    }
    form |= {
        "areas": profile.areas,
        "cqc_provider_id": provider.cqc_provider_id,
        "cqc_location_id": provider.cqc_location_id,
        "description": "We are local.\r\n\r\nFounded in 1999.\r\nFamily run.",
    }
    response = post_form(client, "/provider/profile", form)
    assert response.status_code == 302, visible_text(response)[:400]
    db.session.refresh(provider)
    assert provider.description == "We are local.\n\nFounded in 1999.\nFamily run."
    assert _paragraphs(public.get(f"/providers/{provider.id}")) == ["We are local.", "Founded in 1999. Family run."]


def test_text_saved_with_windows_line_breaks_still_shows_as_paragraphs(client, make_provider, make_service):
    provider = make_provider(description="First.\r\n\r\nSecond.")
    service = make_service(provider=provider, description="One.\r\n \r\nTwo.\r\rThree.")
    assert _paragraphs(client.get(f"/providers/{provider.id}")) == ["First.", "Second."]
    assert _paragraphs(client.get(f"/services/{service.id}")) == ["One.", "Two.", "Three."]


def test_changing_the_hours_moves_last_updated(client, make_service, make_provider_staff):
    from app.database import utcnow
    from app.formatting import format_date
    from tests.helpers import post_form, sign_in

    service = make_service(updated_at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    assert summary_rows(client.get(f"/services/{service.id}"))["Last updated"] == "5 January 2026"
    sign_in(client, make_provider_staff(service.provider))
    response = post_form(client, f"/provider/services/{service.id}/hours", {"day2_0_opens": "10:00", "day2_0_closes": "14:00"})
    assert response.status_code == 302, visible_text(response)[:400]
    rows = summary_rows(client.application.test_client().get(f"/services/{service.id}"))
    assert rows["Usual days and times"] == "Wednesday: 10am to 2pm"
    assert rows["Last updated"] == format_date(utcnow())


# -- Cookies --------------------------------------------------------------------------------

STRIPE_JS_COOKIES = {"__stripe_mid", "__stripe_sid"}  # set by Stripe.js on card pages only


def test_the_cookies_page_lists_every_cookie_the_app_sets(client, make_service, make_citizen):
    from tests.helpers import csrf_token, sign_in

    service = make_service()
    citizen = make_citizen()
    set_by_app: set[str] = set()

    def visit(response):
        for header in response.headers.getlist("Set-Cookie"):
            set_by_app.add(header.split("=", 1)[0].strip())
        return response

    for url in ("/", "/categories/home-care", f"/services/{service.id}", "/search?q=care", "/cookies", "/sign-in"):
        visit(client.get(url))
    visit(sign_in(client, citizen))
    for url in ("/my-care", "/account", f"/services/{service.id}/ask", f"/services/{service.id}/book", "/notifications"):
        visit(client.get(url))
    visit(client.post("/sign-out", data={"csrf_token": csrf_token(client, "/account")}))
    assert "session" in set_by_app

    response = client.get("/cookies")
    listed = {cell.get_text(strip=True) for cell in page(response).select("tbody th.govuk-table__header")}
    assert set_by_app <= listed, f"cookies the app sets but the cookies page does not list: {set_by_app - listed}"
    assert listed == set_by_app | STRIPE_JS_COOKIES, (
        f"the cookies page lists cookies nobody sets: {listed - set_by_app - STRIPE_JS_COOKIES}"
    )
    text = visible_text(response)
    assert "Signing in also ends after 120 minutes without use, and after 24 hours in any case" in text


def test_a_description_at_the_limit_with_browser_line_breaks_is_accepted(client, make_service, make_provider_staff, category):
    """5,000 characters as the person sees them: each CRLF a browser sends counts as one."""
    from app.extensions import db
    from tests.helpers import post_form, sign_in

    service = make_service(title="Morning calls", description="Old text.")
    sign_in(client, make_provider_staff(service.provider))
    paragraph = "x" * 98
    typed = "\r\n\r\n".join([paragraph] * 50)  # 50 × 98 + 49 × 2 = 4,998 characters on screen
    form = {
        "title": "Morning calls",
        "category_id": str(category("home-care").id),
        "price": "24.50",
        "price_unit": "hour",
        "min_units": "1",
        "funding_routes": ["personal_budget"],
    }
    response = post_form(client, f"/provider/services/{service.id}/edit", form | {"description": typed})
    assert response.status_code == 302, visible_text(response)[:400]
    db.session.refresh(service)
    assert len(service.description) == 4998

    too_long = typed + "\r\n" + "x" * 3  # 5,002 on screen
    response = post_form(client, f"/provider/services/{service.id}/edit", form | {"description": too_long})
    assert response.status_code == 200
    assert "Description must be 5,000 characters or fewer" in visible_text(response)
