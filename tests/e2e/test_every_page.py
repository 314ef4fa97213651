"""Every page, as each kind of person finds it: starting from the home page, follow every
link on the site (same origin, GET, HTML), and send every search-style (GET) form as it
stands, as a visitor, a budget holder, a self-funder, an Individual Service Fund holder, a
representative, a provider, a commissioner and an admin. Each page (up to two per route and
person) answers 200, passes axe-core (WCAG 2.2 A and AA), reflows at 320 pixels without
sideways scrolling, and throws no JavaScript error.

The templates rendered along the way are counted: a page template no link reaches is opened
by a browser test named in REACHED_ELSEWHERE, or it is a page nobody can find."""

from __future__ import annotations

import ast
import os
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from flask import template_rendered
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.extensions import db
from tests.e2e.conftest import ROOT, assert_accessible, assert_reflows, axe_violations, demo_app_with_cards, served, sign_in_as

pytestmark = pytest.mark.e2e

PEOPLE = {
    "visitor": None,
    "citizen": "citizen@demo.test",
    "selffunder": "selffunder@demo.test",
    "isf": "isf@demo.test",
    "representative": "representative@demo.test",
    "provider": "provider@demo.test",
    "commissioner": "commissioner@demo.test",
    "admin": "admin@demo.test",
}
VISITS_PER_ROUTE = 2

# Page templates no link reaches (shown after a form is sent, or in a state the demo does
# not have), and the browser test that opens each one and checks it with axe-core.
REACHED_ELSEWHERE = {
    "auth/forgot_password_sent.html": "test_every_page.py::test_pages_only_a_form_or_an_odd_account_reaches",
    "auth/reset_password.html": "test_accounts.py::test_password_reset_page_passes_axe_with_its_errors_and_its_dead_link_page",
    "auth/link_not_valid.html": "test_accounts.py::test_password_reset_page_passes_axe_with_its_errors_and_its_dead_link_page",
    "auth/invitation.html": "test_accounts.py::test_invitation_pages_pass_axe_with_their_errors_and_their_dead_link_page",
    "auth/invitation_not_valid.html": "test_accounts.py::test_invitation_pages_pass_axe_with_their_errors_and_their_dead_link_page",
    "account/check_your_email.html": "test_accounts.py::test_changing_an_email_address_pages_pass_axe",
    "auth/confirm_email.html": "test_accounts.py::test_changing_an_email_address_pages_pass_axe",
    "auth/email_not_changed.html": "test_accounts.py::test_changing_an_email_address_pages_pass_axe",
    "auth/email_link_not_valid.html": "test_accounts.py::test_changing_an_email_address_pages_pass_axe",
    "auth/two_step.html": "test_accounts.py::test_two_step_sign_in_and_turn_off_pages_pass_axe_with_their_errors",
    "account/two_step_status.html": "test_accounts.py::test_two_step_sign_in_and_turn_off_pages_pass_axe_with_their_errors",
    "account/recovery_codes.html": "test_accounts.py::test_two_step_sign_in_and_turn_off_pages_pass_axe_with_their_errors",
    "account/two_step_off.html": "test_accounts.py::test_two_step_sign_in_and_turn_off_pages_pass_axe_with_their_errors",
    "citizen/check_booking.html": "test_booking.py::test_a_keyboard_only_citizen_books_and_confirms",
    "citizen/choose_card.html": "test_card_payments.py::test_the_self_funder_books_and_pays_by_card_end_to_end",
    "citizen/remove_card.html": "test_card_payments.py::test_the_self_funder_books_and_pays_by_card_end_to_end",
    "citizen/owed.html": "test_card_payments.py::test_paying_what_a_failed_charge_left_owing_with_the_banks_check",
    "citizen/pay_visit.html": "test_card_payments.py::test_paying_what_a_failed_charge_left_owing_with_the_banks_check",
    "citizen/confirm_payment.html": "test_card_payments.py::test_paying_what_a_failed_charge_left_owing_with_the_banks_check",
    "commissioner/refund.html": "test_card_payments.py::test_the_representative_pays_for_margaret_with_a_prepaid_card_and_it_is_refunded",
    "provider/refund.html": "test_card_payments.py::test_the_representative_pays_for_margaret_with_a_prepaid_card_and_it_is_refunded",
    "citizen/nobody_to_book_for.html": "test_every_page.py::test_pages_only_a_form_or_an_odd_account_reaches",
    "enquiries/nobody_to_ask_for.html": "test_every_page.py::test_pages_only_a_form_or_an_odd_account_reaches",
    "provider/no_organisation.html": "test_every_page.py::test_pages_only_a_form_or_an_odd_account_reaches",
    "citizen/budgets.html": "test_every_page.py::test_pages_for_what_the_demo_has_no_example_of",
    "provider/member_role.html": "test_every_page.py::test_pages_for_what_the_demo_has_no_example_of",
    "admin/role.html": "test_every_page.py::test_pages_for_what_the_demo_has_no_example_of",
    "citizen/visit_dispute.html": "test_every_page.py::test_pages_for_what_the_demo_has_no_example_of",
    "citizen/audit_answer.html": "test_every_page.py::test_pages_for_what_the_demo_has_no_example_of",
    "public/search_unavailable.html": "test_every_page.py::test_pages_only_a_form_or_an_odd_account_reaches",
    "commissioner/card_clearing_item.html": "test_every_page.py::test_pages_for_what_the_demo_has_no_example_of",
    "errors/400.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/404.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/405.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/413.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/429.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/500.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/conflict.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/csrf.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
    "errors/generic.html": "test_storefront.py::test_the_error_pages_are_styled_and_pass_axe",
}


@dataclass
class Crawl:
    visited: dict[str, list[str]] = field(default_factory=dict)  # person -> pages opened
    problems: dict[str, list[str]] = field(default_factory=dict)  # person -> what was wrong
    templates: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def crawl_app(tmp_path_factory, localstripe):
    """A demo app of the crawl's own, so what other browser tests do cannot change what it
    finds; card payments set up (against localstripe), as `make run` has them."""
    return demo_app_with_cards(tmp_path_factory.mktemp("e2e-crawl"), localstripe)


@pytest.fixture(scope="module")
def crawl_server(crawl_app):
    with served(crawl_app) as url:
        yield url


@pytest.fixture(scope="module")
def rendered(crawl_app):
    """Names of the templates the crawl app renders, as it renders them."""
    names: set[str] = set()

    def record(sender, template, context, **extra):
        if template.name:
            names.add(template.name)

    template_rendered.connect(record, crawl_app)
    yield names
    template_rendered.disconnect(record, crawl_app)


def _endpoint(adapter, path: str) -> str | None:
    try:
        endpoint, _args = adapter.match(path, method="GET")
    except RequestRedirect as redirect:
        return _endpoint(adapter, urlsplit(redirect.new_url).path)
    except HTTPException:
        return None
    return endpoint


def _same_origin(url: str, origin: str) -> str | None:
    """The path and query of ``url`` when it is on ``origin``, else None."""
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


# Each link, and each GET form as it stands (its fields' current values), as a URL.
_TARGETS_JS = """() => {
    const out = [...document.querySelectorAll('a[href]:not([download])')].map(a => a.href);
    for (const form of document.querySelectorAll('form')) {
        if ((form.getAttribute('method') || 'get').toLowerCase() !== 'get') continue;
        const action = new URL(form.getAttribute('action') || '', location.href);
        action.search = new URLSearchParams(new FormData(form)).toString();
        out.push(action.href);
    }
    return out;
}"""


def _targets(page, origin: str) -> list[str]:
    return [path for url in page.evaluate(_TARGETS_JS) if (path := _same_origin(url, origin))]


def _crawl_as(browser, server: str, app, person: str, email: str | None, crawl: Crawl) -> None:
    context = browser.new_context(base_url=server, bypass_csp=True)
    page = context.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    adapter = app.url_map.bind("127.0.0.1")
    problems = crawl.problems.setdefault(person, [])
    visited = crawl.visited.setdefault(person, [])
    if email:
        sign_in_as(page, email)
    queue = deque([("/", "the start")] + [(path, "the first page") for path in _targets(page, server)])
    visits: dict[str, int] = {}
    seen: set[str] = set()
    while queue:
        path, came_from = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        endpoint = _endpoint(adapter, urlsplit(path).path)
        if endpoint is None or endpoint == "static" or visits.get(endpoint, 0) >= VISITS_PER_ROUTE:
            continue
        # Look before opening: follow a redirect to where it leads, and skip downloads.
        look = page.request.get(path, max_redirects=0)
        if look.status in (301, 302, 303, 307, 308):
            target = _same_origin(urljoin(server + path, look.headers.get("location", "")), server)
            if target:
                queue.append((target, f"{path} (redirected)"))
            continue
        if "text/html" not in look.headers.get("content-type", ""):
            continue
        visits[endpoint] = visits.get(endpoint, 0) + 1
        response = page.goto(path)
        visited.append(path)
        where = f"{path} (from {came_from})"
        if response is None or response.status != 200:
            problems.append(f"{where}: answered {response.status if response else 'nothing'}")
            continue
        violations = axe_violations(page)
        if violations:
            problems.append(f"{where}: axe-core {violations}")
        try:
            assert_reflows(page)
        except AssertionError as error:
            problems.append(f"{where}: {error}")
        if js_errors:
            problems.append(f"{where}: JavaScript errors {js_errors}")
            js_errors.clear()
        queue.extend((target, path) for target in _targets(page, server))
    context.close()


@pytest.fixture(scope="module")
def crawl(browser, crawl_server, crawl_app, rendered) -> Crawl:
    result = Crawl()
    for person, email in PEOPLE.items():
        _crawl_as(browser, crawl_server, crawl_app, person, email, result)
    result.templates = set(rendered)
    return result


@pytest.mark.parametrize("person", PEOPLE)
def test_every_page_a_person_can_reach_is_accessible_and_reflows(crawl, person):
    assert len(crawl.visited[person]) >= 8, crawl.visited[person]
    assert crawl.problems[person] == [], "\n".join(crawl.problems[person])


def _page_templates() -> set[str]:
    folder = ROOT / "templates"
    names = {str(path.relative_to(folder)) for path in folder.rglob("*.html")}
    return {name for name in names if not any(part.startswith("_") for part in name.split("/")) and name != "base.html"}


def _browser_tests() -> set[str]:
    """Every test function in this folder, as "file.py::test_name"."""
    found = set()
    for path in (ROOT / "tests" / "e2e").glob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.add(f"{path.name}::{node.name}")
    return found


def test_every_page_template_is_reached_by_a_link_or_by_a_named_browser_test(crawl):
    templates = _page_templates()
    assert {"public/home.html", "commissioner/dashboard.html", "errors/404.html"} <= templates
    unreached = templates - crawl.templates - set(REACHED_ELSEWHERE)
    assert unreached == set(), f"Page templates no link reaches and no browser test opens: {sorted(unreached)}"
    stale = set(REACHED_ELSEWHERE) & crawl.templates
    assert stale == set(), f"Reached by a link after all (take them off REACHED_ELSEWHERE): {sorted(stale)}"
    assert set(REACHED_ELSEWHERE) <= templates, "REACHED_ELSEWHERE names templates that do not exist"
    no_such_test = set(REACHED_ELSEWHERE.values()) - _browser_tests()
    assert no_such_test == set(), f"REACHED_ELSEWHERE names browser tests that do not exist: {sorted(no_such_test)}"


def _account(app, email: str, role, *, acts_for: tuple[str, ...] = (), joins_demo_team: bool = False) -> None:
    """An account with the demo password; acting for demo citizens, or on provider@demo.test's team."""
    from app.models import OrgRole, ProviderStaff, Representation, User
    from app.services import accounts
    from app.services.demo.accounts import DEMO_PASSWORD, demo_provider
    from app.services.passwords import hash_password

    with app.app_context():
        if accounts.user_by_email(email) is None:
            user = User(email=email, name="Odd Account", role=role, password_hash=hash_password(DEMO_PASSWORD))
            db.session.add(user)
            db.session.flush()
            for email_of_citizen in acts_for:
                citizen = accounts.user_by_email(email_of_citizen)
                db.session.add(Representation(citizen_id=citizen.id, representative_id=user.id, relationship_to_citizen="friend"))
            if joins_demo_team:
                db.session.add(ProviderStaff(provider_id=demo_provider().id, user_id=user.id, org_role=OrgRole.STAFF))
            db.session.commit()
        db.session.remove()


def _opened(page, rendered: set[str], path: str, template: str, status: int = 200) -> None:
    rendered.discard(template)
    response = page.goto(path)
    assert response.status == status, path
    assert template in rendered, f"{path} did not show {template}"
    assert_accessible(page)


def _clicked(page, rendered: set[str], link: str, template: str) -> None:
    rendered.discard(template)
    with page.expect_navigation():
        page.click(link)
    assert template in rendered, f"{link} did not lead to {template}"
    assert_accessible(page)


def test_pages_only_a_form_or_an_odd_account_reaches(crawl, browser, crawl_server, crawl_app, rendered):
    """After the crawl (so it never sees these accounts): the page after asking for a
    password reset; a representative nobody has asked to act for them trying to book and to
    ask; a provider account not yet linked to an organisation; search with its index gone."""
    from app.models import Role

    _account(crawl_app, "nobody-to-act-for@example.test", Role.REPRESENTATIVE)
    _account(crawl_app, "no-organisation@example.test", Role.PROVIDER)
    service_path = next(path for path in crawl.visited["visitor"] if path.startswith("/services/"))

    context = browser.new_context(base_url=crawl_server, bypass_csp=True)
    page = context.new_page()
    page.goto("/password/forgot")
    rendered.discard("auth/forgot_password_sent.html")
    page.fill("#email", "selffunder@demo.test")
    page.click("button:has-text('Send')")
    page.locator("h1").wait_for()
    assert "auth/forgot_password_sent.html" in rendered
    assert_accessible(page)

    sign_in_as(page, "nobody-to-act-for@example.test")
    _opened(page, rendered, f"{service_path}/book", "citizen/nobody_to_book_for.html")
    _opened(page, rendered, f"{service_path}/ask", "enquiries/nobody_to_ask_for.html")
    page.click("button:has-text('Sign out')")

    sign_in_as(page, "no-organisation@example.test")
    _opened(page, rendered, "/provider", "provider/no_organisation.html")

    index = crawl_app.config["SEARCH_INDEX_DIR"]
    os.rename(index, f"{index}.away")
    try:
        _opened(page, rendered, "/search?q=care", "public/search_unavailable.html", status=503)
    finally:
        os.rename(f"{index}.away", index)
    assert page.goto("/search?q=care").status == 200
    context.close()


def test_pages_for_what_the_demo_has_no_example_of(crawl, browser, crawl_server, crawl_app, rendered):
    """After the crawl: a representative acting for two budget holders sees a list of
    budgets; a provider's owner changes a team member's role; an admin changes a council
    account's role (the crawl opens two people's pages, neither of them council staff);
    Margaret opens the form to say a visit did not happen as recorded (the crawl opens only
    two of her many bookings, maybe not the one with a visit she can still answer for), and,
    asked a question by the council's audit, sends an empty answer and sees what is missing;
    a commissioner opens a card refund the bank refused, waiting in card clearing, and sends
    the settle form empty."""
    from sqlalchemy import select

    from app.models import AuditSample, Booking, BudgetAudit, PersonalBudget, Role
    from app.services import accounts, audits, delivery

    _account(crawl_app, "acts-for-two@example.test", Role.REPRESENTATIVE, acts_for=("citizen@demo.test", "isf@demo.test"))
    _account(crawl_app, "carer@example.test", Role.PROVIDER, joins_demo_team=True)
    with crawl_app.app_context():
        commissioner = accounts.user_by_email("commissioner@demo.test").id
        margaret = accounts.user_by_email("citizen@demo.test")
        hers = db.session.scalars(select(Booking).where(Booking.citizen_id == margaret.id).order_by(Booking.id.desc()))
        booking, visit = next(
            (booking, visit)
            for booking in hers
            for visit in booking.visits
            if visit.record is not None and delivery.may_answer(visit.record)
        )
        dispute_path = f"/bookings/{booking.public_id}/visits/{visit.id}/dispute"
        # Margaret's budget in an audit sample of a year the demo has none for, and a question.
        budget = db.session.scalars(select(PersonalBudget).where(PersonalBudget.citizen_id == margaret.id)).first()
        sample = AuditSample(year=2001, seed=1, share_percent=10, budgets_considered=1)
        db.session.add(sample)
        db.session.flush()
        picked = BudgetAudit(sample_id=sample.id, year=2001, budget_id=budget.id, at_random=True)
        db.session.add(picked)
        db.session.commit()
        audits.ask(picked.id, question="What is the money left over for?", by=accounts.user_by_email("commissioner@demo.test"))
        budget_path = f"/budgets/{budget.public_id}"
        refused = _refused_refund()
        db.session.remove()

    context = browser.new_context(base_url=crawl_server, bypass_csp=True)
    page = context.new_page()
    sign_in_as(page, "acts-for-two@example.test")
    _opened(page, rendered, "/budgets", "citizen/budgets.html")
    assert page.locator("main a[href^='/budgets/']").count() == 2
    page.click("button:has-text('Sign out')")

    sign_in_as(page, "citizen@demo.test")
    _opened(page, rendered, dispute_path, "citizen/visit_dispute.html")
    page.goto(budget_path)
    _clicked(page, rendered, "button:has-text('Send your answer')", "citizen/audit_answer.html")
    assert "Enter your answer" in page.locator(".govuk-error-summary").inner_text()
    page.click("button:has-text('Sign out')")

    sign_in_as(page, "provider@demo.test")
    page.goto("/provider/team")
    _clicked(page, rendered, "a:has-text('Change role')", "provider/member_role.html")
    page.click("button:has-text('Sign out')")

    sign_in_as(page, "admin@demo.test")
    page.goto(f"/admin/users/{commissioner}")
    _clicked(page, rendered, "main a:has-text('Change')", "admin/role.html")
    page.click("button:has-text('Sign out')")

    sign_in_as(page, "commissioner@demo.test")
    _opened(page, rendered, f"/commissioner/card-clearing/{refused}", "commissioner/card_clearing_item.html")
    page.click("button:has-text('Settle this money')")
    assert "Select how the money was settled" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    context.close()


def _refused_refund() -> str:
    """An automatic refund of a demo card payment that the bank refused two days ago."""
    import datetime as dt

    from sqlalchemy import select

    from app.database import utcnow
    from app.models import CardPayment, CardPaymentStatus, CardRefund, RefundStatus

    paid = db.session.scalars(select(CardPayment).where(CardPayment.status == CardPaymentStatus.CAPTURED)).first()
    refund = CardRefund(
        public_id="refused-refund-crawl",
        card_payment_id=paid.id,
        request_key="crawl-refused-refund",
        amount_pence=min(500, paid.captured_pence or paid.amount_pence),
        reason="More than owed: given back automatically.",
        status=RefundStatus.FAILED,
        automatic=True,
        failure_message="The card has expired or been cancelled, so the bank could not take the refund.",
        created_at=utcnow() - dt.timedelta(days=2),
    )
    db.session.add(refund)
    db.session.commit()
    return refund.public_id


_TOPS_JS = "items => items.map(i => Math.round(i.getBoundingClientRect().top))"


@pytest.mark.parametrize("person", [person for person, email in PEOPLE.items() if email])
def test_the_service_navigation_fits_one_row_on_a_laptop(browser, crawl_server, person):
    """At 1280 pixels wide, each kind of person's service navigation is one row (the
    account's links live in the header, so they never push it onto two)."""
    context = browser.new_context(base_url=crawl_server, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in_as(page, PEOPLE[person])
    page.goto("/")
    tops = page.eval_on_selector_all(".govuk-service-navigation__item", _TOPS_JS)
    assert len(tops) >= 2 and len(set(tops)) == 1, f"{person}: navigation items at heights {tops}"
    header_tops = page.eval_on_selector_all(".app-header__account-item", _TOPS_JS)
    assert len(set(header_tops)) == 1, f"{person}: account links at heights {header_tops}"
    context.close()
