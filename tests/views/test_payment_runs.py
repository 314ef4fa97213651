"""Paying providers through the pages: one commissioner prepares a run, another approves it,
the council downloads the Bacs file (whose totals are the run's and the ledger's), and each
provider's owners and managers read, download and print their remittance advice."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from app.extensions import db
from app.models import BookingVisit, CouncilSettings, LineStatus, OrgRole, PaymentRun, RunStatus
from app.services import bookings, payment_runs
from app.uk_time import uk_today
from tests.helpers import csrf_token, h1, links, page, post_form, summary_rows, table_rows, title, visible_text
from tests.services.payment_runs.run_helpers import book_visit, confirmed_bank_account, council_bank_details

WEEK = [(day, "07:00", "21:00") for day in range(7)]
RUNS = "/commissioner/payment-runs"


def _weekly_runs() -> None:
    row = db.session.get(CouncilSettings, 1) or CouncilSettings(id=1, name="Test Council")
    row.payment_run_weeks = 1
    db.session.add(row)
    db.session.commit()


def _delivered_three_weeks_ago(service, budget, staff, policy, *, at: str) -> BookingVisit:
    """A visit booked, accepted and delivered through the services, moved three weeks back
    first (bookings are for the days to come; runs pay periods that have ended)."""
    visit = book_visit(service, budget, staff=staff, policy=policy, days_ahead=1, at=at)
    visit.starts_at -= dt.timedelta(days=21)
    visit.ends_at -= dt.timedelta(days=21)
    db.session.commit()
    bookings.record_delivery(visit, by=staff)
    return db.session.get(BookingVisit, visit.id)


def _latest_last_day() -> dt.date:
    _, ends_on = payment_runs.latest_complete_period(uk_today())
    return ends_on - dt.timedelta(days=1)


@pytest.fixture
def scene(app, make_provider, make_provider_staff, make_service, make_budget, make_commissioner, make_admin, policy):
    """Provider X (confirmed bank account) delivered two visits, provider Y (no bank account)
    one, all in periods that have ended; runs are weekly; the council's bank is set."""
    _weekly_runs()
    council_bank_details()
    x, y = make_provider(name="Xylo Home Care"), make_provider(name="Yew Tree Support")
    owner_x, owner_y = make_provider_staff(x), make_provider_staff(y)
    manager_x = make_provider_staff(x, OrgRole.MANAGER)
    staff_x = make_provider_staff(x, OrgRole.STAFF)
    confirmed_bank_account(x, owner_x, sort_code="401234", account_number="87655678")
    service_x = make_service(provider=x, price_pence=2_000, capacity=9, hours=WEEK, title="Morning visits")
    service_y = make_service(provider=y, price_pence=3_000, capacity=9, hours=WEEK)
    budget = make_budget(amount=200_000)
    visits = [
        _delivered_three_weeks_ago(service_x, budget, owner_x, policy, at="09:00"),
        _delivered_three_weeks_ago(service_x, budget, owner_x, policy, at="15:00"),
    ]
    _delivered_three_weeks_ago(service_y, budget, owner_y, policy, at="11:00")
    return {
        "x": x,
        "y": y,
        "owner_x": owner_x,
        "owner_y": owner_y,
        "manager_x": manager_x,
        "staff_x": staff_x,
        "visits_x": visits,
        "preparer": make_commissioner(name="Pat Preparer"),
        "approver": make_commissioner(name="Alex Approver"),
        "admin": make_admin(),
    }


def _prepare(client, last_day: dt.date | None = None):
    return post_form(client, f"{RUNS}/prepare", {"period_end": (last_day or _latest_last_day()).isoformat()}, form_page=RUNS)


def _prepared_run(client, login, scene) -> PaymentRun:
    login(client, scene["preparer"])
    response = _prepare(client)
    assert response.status_code == 302, visible_text(response)[:500]
    run_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    return db.session.get(PaymentRun, run_id)


def _approved_run(app, login, scene) -> PaymentRun:
    run = _prepared_run(app.test_client(), login, scene)
    client = app.test_client()
    login(client, scene["approver"])
    assert post_form(client, f"{RUNS}/{run.id}/approve", form_page=f"{RUNS}/{run.id}").status_code == 302
    db.session.expire_all()
    return db.session.get(PaymentRun, run.id)


def _x_line(run: PaymentRun, scene):
    return next(line for line in payment_runs.lines_of(run) if line.provider_id == scene["x"].id)


# -- Commissioners: preparing and approving ---------------------------------------------------


def test_the_runs_page_offers_the_latest_complete_period_and_says_what_is_held_out(client, login, scene):
    login(client, scene["preparer"])
    response = client.get(RUNS)
    assert response.status_code == 200 and h1(response) == "Payment runs"
    checked = page(response).select_one("input[name=period_end][checked]")
    assert checked["value"] == _latest_last_day().isoformat()
    assert len(page(response).select("input[name=period_end]")) == 6
    text = visible_text(response)
    assert "No visits are held out of payment" in text and "No payment runs yet" in text
    assert links(response)["Visits to check"] == "/commissioner/visits"
    assert "Payment runs" in [a.get_text(strip=True) for a in page(response).select(".app-section-nav a[aria-current=page]")]


def test_the_commissioners_dashboard_says_what_waits_before_providers_are_paid(app, client, login, scene):
    run = _prepared_run(app.test_client(), login, scene)
    login(client, scene["approver"])
    response = client.get("/commissioner")
    waiting = summary_rows(response)
    assert waiting["Payment runs to approve"] == "1"
    assert waiting["Visit times outside the tolerance"] == "0" and waiting["Disputed visits"] == "0"
    assert waiting["Bank details to confirm"] == "0" and waiting["Visits not recorded after 48 hours"] == "0"
    assert links(response)["View payment runs to approve"] == RUNS
    assert links(response)["View disputed visits"] == "/commissioner/visits#disputes"
    assert post_form(client, f"{RUNS}/{run.id}/approve", form_page=f"{RUNS}/{run.id}").status_code == 302
    assert summary_rows(client.get("/commissioner"))["Payment runs to approve"] == "0"


def test_the_preparer_cannot_approve_their_own_run_and_is_told_why(client, login, scene):
    login(client, scene["preparer"])
    response = _prepare(client)
    assert response.status_code == 302
    response = client.get(response.headers["Location"])
    text = visible_text(response)
    assert "Run prepared: £40 for 2 visits" in text
    assert "A different commissioner or admin must approve this run" in text
    assert not page(response).select("form[action$='/approve']")
    run = db.session.execute(db.select(PaymentRun)).scalar_one()
    assert run.status is RunStatus.PREPARED and run.net_pence == 4_000  # Y has no bank account

    response = post_form(client, f"{RUNS}/{run.id}/approve", form_page=f"{RUNS}/{run.id}")
    assert response.status_code == 403
    assert title(response).startswith("Error: ")
    assert "cannot approve it" in page(response).select_one(".govuk-error-summary").get_text()
    db.session.expire_all()
    assert db.session.get(PaymentRun, run.id).status is RunStatus.PREPARED


def test_the_run_page_lists_each_provider_with_its_bank_account_masked_and_why_a_line_is_not_paid(app, client, login, scene):
    run = _prepared_run(app.test_client(), login, scene)
    login(client, scene["approver"])
    response = client.get(f"{RUNS}/{run.id}")
    rows = {row[0].split(" Reference")[0]: row for row in table_rows(response)}
    x, y = rows["Xylo Home Care"], rows["Yew Tree Support"]
    assert x[1:6] == ["2", "£40", "£0", "£40", "To pay"]
    assert x[6] == "40-12-34, account ending 5678" and "87655678" not in response.get_data(as_text=True)
    assert y[5].startswith("Not paid this run") and "No confirmed bank account" in y[5] and y[6] == "None confirmed"
    footer = [cell.get_text(strip=True) for cell in page(response).select("tfoot td, tfoot th")]
    assert footer[:5] == ["Total to pay (lines not paid this run left out)", "2", "£40", "£0", "£40"]
    assert page(response).select_one(f"form[action$='/{run.id}/approve'] button").get_text(strip=True) == "Approve and pay £40"
    assert "Milton Keynes Council takes 34 days" in visible_text(response)


def test_a_second_commissioner_approves_and_downloads_a_bacs_file_equal_to_the_run_and_the_ledger(app, login, scene):
    run = _prepared_run(app.test_client(), login, scene)
    client = app.test_client()
    login(client, scene["approver"])
    response = post_form(client, f"{RUNS}/{run.id}/approve", form_page=f"{RUNS}/{run.id}")
    assert response.status_code == 302
    response = client.get(response.headers["Location"])
    text = visible_text(response)
    db.session.expire_all()
    run = db.session.get(PaymentRun, run.id)
    assert run.status is RunStatus.APPROVED and run.approved_by_id == scene["approver"].id
    assert f"reaches providers’ banks on {run.pay_date.day} " in text
    line = _x_line(run, scene)
    assert line.status is LineStatus.PAID and 13 <= line.mean_days_to_pay <= 30
    assert f"{line.mean_days_to_pay} days on average: faster than Milton Keynes Council’s 34 days" in text

    bacs = client.get(links(response)["Download the Bacs Standard 18 file"])
    assert bacs.status_code == 200 and bacs.mimetype == "text/plain"
    assert bacs.headers["Content-Disposition"] == f"attachment; filename=payment-run-{run.id}.bacs.txt"
    records = bacs.get_data(as_text=True).split("\r\n")
    assert records[-1] == ""  # every record ends CR LF
    records = records[:-1]
    labels = [r for r in records if r[:4] in ("VOL1", "HDR1", "HDR2", "UHL1", "EOF1", "EOF2", "UTL1")]
    data = [r for r in records if r not in labels]
    assert all(len(r) == 80 for r in labels) and [len(r) for r in data] == [100, 100]
    credit, contra = data
    assert credit[:6] == "401234" and credit[6:14] == "87655678" and credit[15:17] == "99"
    assert int(credit[35:46]) == line.net_pence and credit[64:82].strip() == line.reference
    assert contra[15:17] == "17" and int(contra[35:46]) == run.net_pence
    utl1 = records[-1]
    assert utl1.startswith("UTL1")
    assert int(utl1[17:30]) == run.net_pence == 4_000  # the credit total
    assert int(utl1[17:30]) == payment_runs.paid_account().balance_pence == payment_runs.standing().paid
    assert payment_runs.check_payment_runs() == []

    sheet = client.get(f"{RUNS}/{run.id}/csv")
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert sheet.headers["Content-Disposition"] == f"attachment; filename=payment-run-{run.id}.csv"
    rows = list(csv.reader(io.StringIO(sheet.get_data(as_text=True))))
    assert rows[0][:4] == ["Sort code", "Account number", "Amount (GBP)", "Reference"]
    assert [row[2] for row in rows[1:]] == ["40.00"]


def test_an_admin_may_approve_and_approving_twice_pays_once(app, login, scene):
    run = _prepared_run(app.test_client(), login, scene)
    client = app.test_client()
    login(client, scene["admin"])
    for _ in range(2):
        assert post_form(client, f"{RUNS}/{run.id}/approve", form_page=f"{RUNS}/{run.id}").status_code == 302
    assert payment_runs.paid_account().balance_pence == 4_000
    response = client.get(RUNS)
    row = next(r for r in table_rows(response) if f"Run {run.id}" in r[0])
    assert row[1] == "Approved" and row[2] == "2" and row[3] == "£40" and row[5].isdigit()


def test_approving_without_the_councils_bank_details_says_where_to_set_them(app, client, login, scene):
    run = _prepared_run(app.test_client(), login, scene)
    row = db.session.get(CouncilSettings, 1)
    row.bank_sort_code = row.bank_account_number = row.bacs_user_number = ""
    db.session.commit()
    login(client, scene["approver"])
    response = post_form(client, f"{RUNS}/{run.id}/approve", form_page=f"{RUNS}/{run.id}")
    assert response.status_code == 200 and title(response).startswith("Error: ")
    assert "Set the council's bank account and Bacs service user number" in page(response).select_one(".govuk-error-summary").get_text()
    db.session.expire_all()
    assert db.session.get(PaymentRun, run.id).status is RunStatus.PREPARED
    assert client.get(f"{RUNS}/{run.id}/bacs").status_code == 302  # no file before approval


@pytest.mark.parametrize(
    "period_end, message",
    [
        ("", "Select the period to pay"),
        ("2025-02-30", "Select one of the periods listed"),
        ("next tuesday", "Select one of the periods listed"),
        ("wrong-day", "is not the last day of a payment period"),
        ("future", "has not ended yet: runs pay in arrears"),
    ],
)
def test_preparing_for_a_period_that_is_not_one_that_has_ended_explains_itself(client, login, scene, period_end, message):
    latest = _latest_last_day()
    period_end = {"wrong-day": (latest - dt.timedelta(days=2)).isoformat(), "future": (latest + dt.timedelta(days=7)).isoformat()}.get(
        period_end, period_end
    )
    login(client, scene["preparer"])
    response = post_form(client, f"{RUNS}/prepare", {"period_end": period_end}, form_page=RUNS)
    assert response.status_code == 200 and title(response).startswith("Error: ")
    assert message in page(response).select_one(".govuk-error-summary").get_text()
    assert db.session.execute(db.select(PaymentRun)).first() is None


def test_a_prepared_run_can_be_cancelled_with_a_reason_and_its_visits_go_in_the_next_run(app, client, login, scene):
    run = _prepared_run(app.test_client(), login, scene)
    login(client, scene["approver"])
    response = post_form(client, f"{RUNS}/{run.id}/cancel", {"reason": ""}, form_page=f"{RUNS}/{run.id}")
    assert response.status_code == 200 and "Enter why you are cancelling the run" in visible_text(response)
    response = post_form(client, f"{RUNS}/{run.id}/cancel", {"reason": "Wrong period"}, form_page=f"{RUNS}/{run.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(RUNS)
    db.session.expire_all()
    assert db.session.get(PaymentRun, run.id).status is RunStatus.CANCELLED
    # Cancelling it again is refused with a message, not an error page.
    response = post_form(client, f"{RUNS}/{run.id}/cancel", {"reason": "Again"}, form_page=f"{RUNS}/{run.id}")
    assert response.status_code == 302
    assert "Only a run ready to approve can be cancelled" in visible_text(client.get(response.headers["Location"]))
    response = _prepare(client)
    again = db.session.get(PaymentRun, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert again.id != run.id and again.net_pence == 4_000


def test_a_large_run_shows_its_providers_a_page_at_a_time(app, client, login, scene, monkeypatch):
    import app.commissioner.payment_runs as views

    monkeypatch.setattr(views, "LINES_PER_PAGE", 1)
    run = _prepared_run(app.test_client(), login, scene)
    login(client, scene["approver"])
    first, second = client.get(f"{RUNS}/{run.id}"), client.get(f"{RUNS}/{run.id}?page=2")
    assert [r[0].split(" Reference")[0] for r in table_rows(first)] == ["Xylo Home Care"]
    assert [r[0].split(" Reference")[0] for r in table_rows(second)] == ["Yew Tree Support"]
    assert "2 providers: 2 to 2 shown" in visible_text(second)
    assert page(first).select_one(".govuk-pagination")
    assert client.get(f"{RUNS}/{run.id}?page=9").status_code == 302


# -- Providers: remittance advice ---------------------------------------------------------------


def test_the_provider_sees_its_payment_and_the_remittance_advice_visit_by_visit(app, client, login, scene):
    run = _approved_run(app, login, scene)
    line = _x_line(run, scene)
    login(client, scene["owner_x"])
    response = client.get("/provider/payments")
    assert response.status_code == 200
    [row] = table_rows(response)
    assert row[2:5] == ["2", "£40", line.reference]
    remittance_link = links(response)[f"Remittance advice for the payment of £40 on {row[1]}"]
    assert remittance_link == f"/provider/payments/{line.id}"

    response = client.get(remittance_link)
    text = visible_text(response)
    references = {v.booking.reference for v in scene["visits_x"]}
    visit_rows = table_rows(response)
    assert {r[1] for r in visit_rows} == references
    assert all(r[2] == "Morning visits" and r[3] == "1 hour" and r[4] == "1 hour" and r[5] == "£20 an hour" for r in visit_rows)
    assert [r[6] for r in visit_rows] == ["£20", "£20"]
    assert "Total paid £40" in text and "40-12-34, account ending 5678" in text
    assert f"Reaches your bank on {run.pay_date.day} " in text

    sheet = client.get(links(response)["Download CSV of this remittance advice"])
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(sheet.get_data(as_text=True))))
    assert {r[1] for r in rows[2:4]} == references and rows[-1][0] == "Total" and rows[-1][7] == "40.00"

    printable = client.get(links(response)["Print this remittance advice"])
    assert printable.status_code == 200
    assert not page(printable).select(".app-section-nav, .govuk-service-navigation, .govuk-header, .govuk-footer")
    assert "Total paid £40" in visible_text(printable) and len(table_rows(printable)) == 2


def test_a_manager_may_see_payments_but_staff_and_other_providers_may_not(app, login, scene):
    run = _approved_run(app, login, scene)
    line = _x_line(run, scene)
    paths = [f"/provider/payments/{line.id}", f"/provider/payments/{line.id}.csv", f"/provider/payments/{line.id}/print"]

    manager = app.test_client()
    login(manager, scene["manager_x"])
    assert [manager.get(p).status_code for p in ["/provider/payments", *paths]] == [200, 200, 200, 200]

    other = app.test_client()
    login(other, scene["owner_y"])
    assert [other.get(p).status_code for p in paths] == [404, 404, 404]
    assert "has not paid your organisation yet" in visible_text(other.get("/provider/payments"))  # Y's line was withheld

    staff = app.test_client()
    login(staff, scene["staff_x"])
    for path in ["/provider/payments", *paths]:
        response = staff.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/provider"), path
    assert "Only an owner or manager of your organisation can see its payments" in visible_text(staff.get("/provider"))


def test_a_line_not_paid_yet_has_no_remittance_advice(app, client, login, scene):
    run = _prepared_run(app.test_client(), login, scene)
    login(client, scene["owner_x"])
    assert client.get(f"/provider/payments/{_x_line(run, scene).id}").status_code == 404
    assert "has not paid your organisation yet" in visible_text(client.get("/provider/payments"))
