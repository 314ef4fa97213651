"""The audit page and command: a commissioner draws the year's sample on the page (or a
scheduler with `flask audits sample`) and reads which budgets to audit and why."""

from __future__ import annotations

import datetime as dt

from app.uk_time import uk_today
from tests.helpers import h1, post_form, table_rows, visible_text

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
    rows = {row[0]: row[2] for row in table_rows(response)}
    assert "unspent: more than 8 weeks' worth" in rows[hoarder.public_id]
    assert any("Drawn at random" in why for why in rows.values()) and set(rows) <= {b.public_id for b in [*budgets, hoarder]}
    # Another year: nothing drawn; a year to come is not offered.
    assert "has not been drawn yet" in visible_text(client.get(f"/commissioner/audits?year={year - 1}"))
    assert f"{uk_today().year + 1}" not in visible_text(client.get("/commissioner/audits"))


def test_the_command_draws_the_sample_once_and_prints_why(app, runner, make_budget):
    make_budget(amount=28_000, starts_on=STARTED, periods=3)
    year = STARTED.year
    first = runner.invoke(args=["audits", "sample", "--year", str(year), "--seed", "7"])
    assert first.exit_code == 0, first.output
    assert f"Audit sample for {year}: 1 of 1 budgets (1 at random, 10% with seed 7; 1 flagged)" in first.output
    assert "drawn at random; " in first.output and "unspent" in first.output
    again = runner.invoke(args=["audits", "sample", "--year", str(year)])
    assert again.output.splitlines()[0] == first.output.splitlines()[0]  # drawn once: the same sample
    bad = runner.invoke(args=["audits", "sample", "--year", str(uk_today().year + 1)])
    assert bad.exit_code != 0 and "Choose a year" in bad.output
