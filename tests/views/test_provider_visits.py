"""The provider's visits pages as staff use them: the day list, recording one visit (or that
it did not happen), the visits not recorded after 48 hours, and uploading an ECM file."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.formatting import format_time
from app.models import BookingVisit, EcmUpload, VisitRecord, VisitStatus
from app.services import bookings, ledger, ledger_check
from app.uk_time import UK
from tests.helpers import csrf_from, links, page, squash, visible_text
from tests.services.money_helpers import future_day, request_for

VISITS = "/provider/visits"
UPLOAD = "/provider/visits/upload"
HEADER = "visit_id,carer_reference,actual_start,actual_end,missed_reason"


@pytest.fixture
def provider_side(make_service, make_provider_staff):
    service = make_service(price_pence=2_400, capacity=5)
    return service, make_provider_staff(service.provider)


@pytest.fixture
def happened(provider_side, make_budget, make_citizen, policy):
    """happened(hours_ago=2, name="Margaret Jones") -> an accepted booking's visit that started
    ``hours_ago`` hours ago and lasted an hour (its money held)."""
    service, staff = provider_side

    def make(hours_ago: float = 2, name: str = "Margaret Jones") -> BookingVisit:
        budget = make_budget(citizen=make_citizen(name=name))
        request = request_for(service, budget, day=future_day(policy, 2))
        booking = bookings.create(request, citizen=budget.citizen, booker=budget.citizen, policy=policy)
        bookings.accept(bookings.get_booking(booking.public_id), by=staff)
        visit_id = bookings.get_booking(booking.public_id).visits[0].id
        started = (utcnow() - dt.timedelta(hours=hours_ago)).replace(second=0, microsecond=0)
        table = BookingVisit.__table__
        db.session.execute(table.update().where(table.c.id == visit_id).values(starts_at=started, ends_at=started + dt.timedelta(hours=1)))
        db.session.commit()
        return db.session.get(BookingVisit, visit_id)

    return make


@pytest.fixture
def staff_client(client, login, provider_side):
    login(client, provider_side[1])
    return client


def _time_range(visit) -> str:
    return f"{format_time(visit.starts_at)} to {format_time(visit.ends_at)}"


def _clock(moment: dt.datetime) -> str:
    return moment.astimezone(UK).strftime("%H:%M")


def _payable(service) -> int:
    return ledger.balance(ledger.provider_payable_account(service.provider))


def _records() -> int:
    return db.session.execute(select(func.count()).select_from(VisitRecord)).scalar_one()


def _upload(client, content: bytes, name: str = "export.csv", **kwargs):
    token = csrf_from(client.get(UPLOAD))
    data = {"csrf_token": token, "file": (io.BytesIO(content), name)}
    return client.post(UPLOAD, data=data, content_type="multipart/form-data", **kwargs)


def _error_summary(response) -> str:
    summary = page(response).select_one(".govuk-error-summary")
    return squash(summary.get_text(" ")) if summary else ""


def test_the_day_list_shows_each_visit_with_a_way_to_record_those_that_started(staff_client, happened):
    visit = happened()
    response = staff_client.get(VISITS)
    assert response.status_code == 200
    text = visible_text(response)
    assert "Margaret" in text and "Jones" not in text  # first names only
    assert visit.booking.reference in text and visit.booking.service.title in text and "Not recorded" in text
    assert links(response)[f"Record the visit at {_time_range(visit)} for Margaret"] == f"{VISITS}/{visit.id}"
    assert "Not recorded after 48 hours" not in text
    assert "Today, " in text and len(page(response).select("h2.govuk-heading-m")) >= 8
    assert not page(response).select("table")  # a summary list: nothing scrolls sideways on a phone
    nav = page(response).select_one("nav.app-section-nav [aria-current=page]")
    assert nav.get_text(strip=True) == "Visits"
    # The booking's page links here too.
    booking_page = staff_client.get(f"/provider/bookings/{visit.booking.public_id}")
    assert f'href="{VISITS}/{visit.id}"' in booking_page.get_data(as_text=True)


def test_a_provider_records_a_visit_through_the_page_and_it_is_paid(staff_client, happened, provider_side):
    visit = happened()
    form_page = staff_client.get(f"{VISITS}/{visit.id}")
    assert "Did the visit happen?" in visible_text(form_page)
    day = visit.starts_at.astimezone(UK)
    assert int(page(form_page).select_one("input[name=started_on]")["value"]) == day.day
    response = staff_client.post(
        f"{VISITS}/{visit.id}",
        data={
            "csrf_token": csrf_from(form_page),
            "outcome": "delivered",
            "started_on": [str(day.day), str(day.month), str(day.year)],
            "start_time": _clock(visit.starts_at),
            "end_time": _clock(visit.ends_at),
            "carer_ref": "C104",
        },
        follow_redirects=True,
    )
    assert "is recorded as delivered: £24 paid" in visible_text(response)
    db.session.expire_all()
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.DELIVERED
    assert _payable(provider_side[0]) == 2_400 and ledger_check.check() == []
    shown = visible_text(staff_client.get(f"{VISITS}/{visit.id}"))
    assert "What was recorded" in shown and "C104" in shown and "Did the visit happen?" not in shown


def test_the_form_names_each_problem_then_records_a_missed_visit(staff_client, happened, provider_side):
    visit = happened()
    path = f"{VISITS}/{visit.id}"
    token = csrf_from(staff_client.get(path))
    for data, message in [
        ({}, "Select whether the visit happened"),
        ({"outcome": "delivered", "start_time": "25:99", "end_time": ""}, "Enter a real time, like 09:00 or 17:30"),
        ({"outcome": "delivered", "start_time": "09:00", "end_time": ""}, "Enter the time the visit ended, like 09:30"),
        ({"outcome": "missed", "missed_reason": "  "}, "Say why the visit did not happen"),
    ]:
        refused = staff_client.post(path, data={"csrf_token": token, **data})
        assert refused.status_code == 200 and message in _error_summary(refused), data
        assert page(refused).title.get_text().startswith("Error: ")
    assert _records() == 0

    done = staff_client.post(
        path, data={"csrf_token": token, "outcome": "missed", "missed_reason": "Nobody answered the door"}, follow_redirects=True
    )
    assert "recorded as missed. The money set aside for it has been given back" in visible_text(done)
    db.session.expire_all()
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.MISSED and _payable(provider_side[0]) == 0


def test_another_providers_visit_is_not_found_and_a_future_visit_cannot_be_recorded(
    app, staff_client, happened, login, make_provider_staff
):
    future = happened(hours_ago=-3)
    shown = staff_client.get(f"{VISITS}/{future.id}")
    assert "You can record this visit once it has started" in visible_text(shown) and not page(shown).select("input[name=outcome]")
    posted = staff_client.post(
        f"{VISITS}/{future.id}",
        data={"csrf_token": csrf_from(shown), "outcome": "missed", "missed_reason": "Early"},
    )
    assert posted.status_code == 200 and _records() == 0

    other = app.test_client()
    login(other, make_provider_staff())
    assert other.get(f"{VISITS}/{future.id}").status_code == 404
    assert other.post(f"{VISITS}/{future.id}", data={"csrf_token": csrf_from(other.get(VISITS))}).status_code == 404
    assert "Margaret" not in visible_text(other.get(VISITS))


def test_visits_not_recorded_after_48_hours_are_listed_first(staff_client, happened):
    old = happened(hours_ago=50, name="Albert Smith")
    happened(hours_ago=2)
    response = staff_client.get(VISITS)
    section = page(response).select_one("#not-recorded")
    text = squash(section.get_text(" ")) if section else ""
    assert "Not recorded after 48 hours" in text and "Albert" in text and "Margaret" not in text
    assert section.select_one(f'a[href="{VISITS}/{old.id}"]') is not None


def test_another_day_can_be_chosen_and_a_bad_day_is_explained(staff_client, happened):
    happened()
    response = staff_client.get(f"{VISITS}?day=2026-01-05")
    assert response.status_code == 200
    text = visible_text(response)
    assert "5 January 2026" in text and "No visits." in text and "Margaret" not in text
    assert page(response).select_one('.govuk-pagination a[href$="day=2026-01-04"]') is not None
    assert staff_client.get(f"{VISITS}?day=5/1/2026").status_code == 200
    assert staff_client.get(f"{VISITS}?day=").status_code == 200
    for bad in ("2026-02-30", "nonsense", "9" * 5000, "2026-01-05\x00", "99999-01-01"):
        refused = staff_client.get(VISITS, query_string={"day": bad})
        assert refused.status_code == 400, bad
        assert "Enter a real date, like 2026-12-01" in _error_summary(refused)


def test_an_ecm_file_records_its_visits_and_the_same_file_again_changes_nothing(staff_client, happened, provider_side):
    first, second = happened(hours_ago=3), happened(hours_ago=2, name="Albert Smith")
    guide = visible_text(staff_client.get(UPLOAD))
    assert all(column in guide for column in ("booking_reference", "visit_id", "carer_reference", "actual_start", "actual_end"))
    rows = [
        f"{first.id},C1,{first.starts_at.astimezone(UK):%Y-%m-%d %H:%M},{first.ends_at.astimezone(UK):%Y-%m-%d %H:%M},",
        f"{second.id},C2,,,Cancelled by the family at the door",
    ]
    content = "\r\n".join([HEADER, *rows]).encode()
    done = _upload(staff_client, content, follow_redirects=True)
    assert "2 visits recorded." in visible_text(done)
    db.session.expire_all()
    statuses = [db.session.get(BookingVisit, v.id).status for v in (first, second)]
    assert statuses == [VisitStatus.DELIVERED, VisitStatus.MISSED] and _payable(provider_side[0]) == 2_400

    again = _upload(staff_client, content, "export (1).csv", follow_redirects=True)
    assert "You uploaded this file on" in visible_text(again) and "Nothing has changed" in visible_text(again)
    overlapping = _upload(staff_client, content + b"\r\n", follow_redirects=True)
    assert "0 visits recorded, 2 already recorded." in visible_text(overlapping)
    assert _records() == 2 and _payable(provider_side[0]) == 2_400 and ledger_check.check() == []


def test_a_file_with_a_bad_row_shows_each_problem_and_records_nothing(staff_client, happened):
    visit = happened()
    start, end = visit.starts_at.astimezone(UK), visit.ends_at.astimezone(UK)
    content = "\r\n".join([HEADER, f"{visit.id},C1,{start:%Y-%m-%d %H:%M},{end:%Y-%m-%d %H:%M},", "999999,C1,,,Ill"]).encode()
    refused = _upload(staff_client, content)
    assert refused.status_code == 200
    summary = _error_summary(refused)
    assert "The file was not imported: nothing was recorded" in summary
    assert "Row 3: no visit with visit_id 999999 for your organisation" in summary
    assert page(refused).title.get_text().startswith("Error: ")
    db.session.expire_all()
    assert _records() == 0 and db.session.execute(select(func.count()).select_from(EcmUpload)).scalar_one() == 0
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.HELD


def test_hostile_uploads_get_clear_errors_never_an_error_page(staff_client):
    token = csrf_from(staff_client.get(UPLOAD))
    nothing = staff_client.post(UPLOAD, data={"csrf_token": token}, content_type="multipart/form-data")
    assert "Select a CSV file to upload" in _error_summary(nothing)
    for content, message in [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "The file is not a CSV file"),
        (b"x" * 2_050_000, "The file is larger than 2 MB"),
        (b"1,C1,2026-12-01 09:00,2026-12-01 10:00", "The first row must name the columns"),
        (b"=cmd|' /C calc'!A0,b\r\n", "The first row must name the columns"),
    ]:
        response = _upload(staff_client, content, "../../etc/passwd.csv")
        assert response.status_code == 200 and message in _error_summary(response), message
    too_big = _upload(staff_client, b"x" * 2_200_000)
    assert too_big.status_code == 413
    assert db.session.execute(select(func.count()).select_from(EcmUpload)).scalar_one() == 0
