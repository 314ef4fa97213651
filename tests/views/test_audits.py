"""The audit page and command: a commissioner draws the year's sample on the page (or a
scheduler with `flask audits sample`) and reads which budgets to audit and why."""

from __future__ import annotations

import datetime as dt

from app.uk_time import uk_today
from tests.helpers import h1, post_form, summary_rows, table_rows, visible_text

STARTED = uk_today() - dt.timedelta(days=40)


def test_a_commissioner_draws_the_years_sample_and_reads_why_each_budget_is_in_it(app, client, login, make_budget, make_commissioner):
    budgets = [make_budget(amount=28_000, starts_on=STARTED) for _ in range(4)]
    hoarder = make_budget(amount=28_000, starts_on=STARTED, periods=3)
    login(client, make_commissioner())
    year = STARTED.year
    response = client.get(f"/commissioner/audits?year={year}")
    assert response.status_code == 200 and h1(response) == "Audit of personal budgets"
    assert f"The {year} sample has not been drawn yet" in visible_text(response)
    response = post_form(client, "/commissioner/audits/sample", {"year": str(year)}, form_page=f"/commissioner/audits?year={year}")
    assert response.status_code == 302
    response = client.get(response.headers["Location"])
    text = visible_text(response)
    assert f"The {year} sample is drawn" in text and "5 budgets checked for" in text and "every one adds up" in text
    rows = {row[0]: row[2] for row in table_rows(response) if len(row) == 4}
    assert "unspent: more than 8 weeks' worth" in rows[hoarder.public_id]
    assert f"How the {year} audit went" in text and "Every budget, every quarter 20 20 hours" in text
    assert any("Drawn at random" in why for why in rows.values()) and set(rows) <= {b.public_id for b in [*budgets, hoarder]}
    # Another year: nothing drawn; a year to come is not offered.
    assert "has not been drawn yet" in visible_text(client.get(f"/commissioner/audits?year={year - 1}"))
    assert f"{uk_today().year + 1}" not in visible_text(client.get("/commissioner/audits"))


def test_the_command_draws_the_sample_once_and_prints_why(app, runner, make_budget):
    make_budget(amount=28_000, starts_on=STARTED, periods=3)
    year = STARTED.year
    first = runner.invoke(args=["audits", "sample", "--year", str(year), "--seed", "7"])
    assert first.exit_code == 0, first.output
    assert (
        f"Audit sample for {year}: 1 of 1 budgets (1 at random, 10% with seed 7; 1 with a risk flag; 0 finance checks asked for)"
        in first.output
    )
    assert "drawn at random; " in first.output and "unspent" in first.output
    again = runner.invoke(args=["audits", "sample", "--year", str(year)])
    assert again.output.splitlines()[0] == first.output.splitlines()[0]  # drawn once: the same sample
    bad = runner.invoke(args=["audits", "sample", "--year", str(uk_today().year + 1)])
    assert bad.exit_code != 0 and "Choose a year" in bad.output


def test_an_audit_is_worked_through_the_pages_and_the_person_answers_on_their_budget(
    app, client, login, make_budget, make_commissioner, make_admin
):
    from app.extensions import db
    from app.models import BudgetAudit
    from app.services import audits

    hoarder = make_budget(amount=28_000, starts_on=STARTED, periods=3)
    commissioner = make_commissioner()
    sample = audits.draw(STARTED.year, by=commissioner, seed=3)
    found = sample.audits[0]
    page = f"/commissioner/audits/{found.id}"
    login(client, commissioner)
    assert "Not started" in visible_text(client.get(f"/commissioner/audits?year={STARTED.year}"))
    response = post_form(client, f"{page}/ask", {"question": ""}, form_page=page)
    assert response.status_code == 200 and "Enter the question for the person" in visible_text(response)
    assert post_form(client, f"{page}/ask", {"question": "What is the money left over for?"}, form_page=page).status_code == 302

    person = app.test_client()
    login(person, hoarder.citizen)
    budget_page = f"/budgets/{hoarder.public_id}"
    assert "What is the money left over for?" in visible_text(person.get(budget_page))
    [asked] = audits.open_questions(hoarder)
    answer_path = f"{budget_page}/audit-questions/{asked.id}/answer"
    response = post_form(person, answer_path, {"answer": " "}, form_page=budget_page)
    assert response.status_code == 200 and "Enter your answer" in visible_text(response)
    assert post_form(person, answer_path, {"answer": "A short break in the spring"}, form_page=budget_page).status_code == 302
    assert "The council’s questions" not in visible_text(person.get(budget_page))

    text = visible_text(client.get(page))
    assert "A short break in the spring" in text and "Open" in text
    assert post_form(client, f"{page}/record", {"findings": "Saving for a break", "minutes": "30"}, form_page=page).status_code == 302
    response = post_form(client, f"{page}/close", {"outcome": "recovered", "recover": "lots", "findings": "x"}, form_page=page)
    assert response.status_code == 200 and "amount" in visible_text(response).lower()
    response = post_form(
        client, f"{page}/close", {"outcome": "recovered", "recover": "280.00", "findings": "4 weeks' worth back"}, form_page=page
    )
    assert response.status_code == 302
    db.session.expire_all()
    closed = db.session.get(BudgetAudit, found.id)
    assert (closed.recovered_pence, closed.minutes_spent) == (28_000, 30)
    assert "Unspent money recovered" in visible_text(person.get(budget_page))  # on the person's statement
    response = post_form(client, f"{page}/give-back", {"reason": "Committed to a respite week after all"}, form_page=page)
    assert response.status_code == 302
    assert "The recovered money has been given back to the budget" in visible_text(client.get(page))

    # Admins read audits but do not act on them.
    admin = app.test_client()
    login(admin, make_admin())
    assert admin.get(page).status_code == 200
    assert post_form(admin, f"{page}/record", {"findings": "x", "minutes": "1"}, form_page=page).status_code == 404


def test_a_finance_check_is_asked_for_from_the_persons_the_providers_and_the_councils_pages(
    app, client, login, make_provider, make_provider_staff, make_service, make_citizen, make_budget, make_commissioner, policy
):
    from app.extensions import db
    from app.models import BudgetAudit
    from app.services import bookings
    from tests.services.money_helpers import future_day, request_for

    provider = make_provider(name="Nene Valley Home Care")
    owner = make_provider_staff(provider)
    service = make_service(provider=provider, title="Home care visits", price_pence=2_000)
    citizen = make_citizen(name="Alice Citizen")
    budget = make_budget(citizen=citizen, amount=50_000)
    booking = bookings.create(request_for(service, budget, day=future_day(policy)), citizen=citizen, booker=citizen, policy=policy)

    login(client, citizen)
    path = f"/budgets/{budget.public_id}/finance-check"
    assert "Ask the council to check this budget’s money" in visible_text(client.get(f"/budgets/{budget.public_id}"))
    response = post_form(client, path, {"reason": ""})
    assert response.status_code == 200 and "Say why the budget should be checked" in visible_text(response)
    assert post_form(client, path, {"reason": "A visit shows twice on my statement"}).status_code == 302

    staff = app.test_client()
    login(staff, owner)
    provider_path = f"/provider/bookings/{booking.public_id}/finance-check"
    assert "Ask the council to check Alice Citizen’s personal budget" in visible_text(staff.get(f"/provider/bookings/{booking.public_id}"))
    assert "A check of this budget is already open" not in visible_text(staff.get(provider_path))  # the provider is not told
    assert post_form(staff, provider_path, {"reason": "Two visits were cancelled but still held"}).status_code == 302

    council = app.test_client()
    login(council, make_commissioner())
    council_path = f"/commissioner/budgets/{budget.public_id}/finance-check"
    assert "A check of this budget is already open" in visible_text(council.get(council_path))
    response = post_form(council, council_path, {"reason": "Following up both requests"})
    [found] = db.session.execute(db.select(BudgetAudit)).scalars().all()
    assert response.headers["Location"].endswith(f"/commissioner/audits/{found.id}")
    text = visible_text(council.get(f"/commissioner/audits?year={found.year}"))
    assert "A visit shows twice on my statement" in text and "Two visits were cancelled but still held" in text


def test_a_finance_check_asked_for_is_counted_apart_from_the_risk_flags(app, client, login, make_budget, make_commissioner):
    """Three budgets: Bea's holds too much unspent money (a risk flag) and the council asked
    for a finance check of it as well; Cal asked for a check of his own (no risk flag); Dee
    has neither. The page counts one risk flag and two finance checks, and the year's report
    sets the audits drawn at random apart from the rest."""
    from app.services import audits

    year = STARTED.year
    bea = make_budget(amount=28_000, starts_on=STARTED, periods=3)
    cal = make_budget(amount=28_000, starts_on=STARTED)
    make_budget(amount=28_000, starts_on=STARTED)
    commissioner = make_commissioner()
    asked = audits.ask_for_check(cal, reason="A payment I do not recognise", by=cal.citizen)
    audits.ask_for_check(bea, reason="Following up a complaint", by=commissioner)
    login(client, commissioner)

    page_before = client.get(f"/commissioner/audits/{asked.id}")  # asked for before the sample is drawn
    assert page_before.status_code == 200 and f"Back to the {asked.year} audits" in visible_text(page_before)

    audits.draw(year, by=commissioner, seed=4)
    report = audits.year_report(year)
    response = client.get(f"/commissioner/audits?year={year}")
    rows = summary_rows(response)
    assert rows["With a risk flag"] == "1" and rows["Finance checks asked for"] == "2"
    assert (report.risk_flagged, report.asked_for) == (1, 2)
    assert rows["Budgets to audit"] == f"{report.audits} of 3" and rows["Drawn at random"].startswith(f"{report.at_random} (10%, seed 4)")
    assert rows["Audits"] == (
        f"{report.audits} ({report.at_random} drawn at random, {report.not_at_random} only for a risk flag or a finance check asked for)"
    )
    why = {row[0]: row[2] for row in table_rows(response) if len(row) == 4}
    assert "unspent" in why[bea.public_id] and "Asked for by the council" in why[bea.public_id]
    assert "Asked for by the person" in why[cal.public_id] and "unspent" not in why[cal.public_id]
