"""Booking and paying from a personal budget, through the real pages, as each side sees it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from app.extensions import db
from app.models import BookingSchedule, BookingStatus, Notification, VisitStatus
from app.services import bookings, budgets
from tests.helpers import csrf_from, h1, page, summary_rows, visible_text
from tests.services.money_helpers import future_day, today


@pytest.fixture
def market(make_citizen, make_provider, make_provider_staff, make_service, make_budget):
    provider = make_provider(name="Nene Valley Home Care")
    staff = make_provider_staff(provider)
    service = make_service(
        provider=provider, title="Home care visits", price_pence=2_200, capacity=4, hours=[(d, "08:00", "20:00") for d in range(7)]
    )
    citizen = make_citizen(name="Alice Citizen")
    budget = make_budget(citizen=citizen, amount=42_000)
    return provider, staff, service, citizen, budget


def _date_fields(day: dt.date) -> dict:
    return {"first_date": [str(day.day), str(day.month), str(day.year)]}


def _book_form(client, service, **overrides):
    form_page = client.get(f"/services/{service.id}/book")
    assert form_page.status_code == 200, visible_text(form_page)[:300]
    soup = page(form_page)
    data = {
        "csrf_token": csrf_from(form_page),
        "request_key": soup.find("input", attrs={"name": "request_key"})["value"],
        "citizen": soup.find("input", attrs={"name": "citizen"})["value"]
        if soup.find("input", attrs={"name": "citizen", "type": "hidden"})
        else None,
        "schedule": "one_off",
        "start_time": "10:00",
        "units": "2",
        "payment": soup.find("input", attrs={"name": "payment"})["value"] if soup.find("input", attrs={"name": "payment"}) else "",
        "message": "Key safe code is with my daughter.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_citizen_books_and_pays_from_their_budget(client, login, market, policy):
    provider, staff, service, citizen, budget = market
    login(client, citizen)
    service_page = client.get(f"/services/{service.id}")
    assert "Book this service" in visible_text(service_page)

    day = future_day(policy)
    response = client.post(f"/services/{service.id}/book", data=_book_form(client, service, **_date_fields(day)))
    assert response.status_code == 302 and "/book/check" in response.headers["Location"]

    check = client.get(response.headers["Location"])
    assert h1(check) == "Check your booking"
    text = visible_text(check)
    assert "Total: £44" in text
    assert "£44 will be set aside from the budget now" in text and "The budget has £420 available" in text
    rows = summary_rows(check)
    assert rows["Paid from"].startswith("Council-managed account")
    assert rows["Each visit"].startswith("2 hours, £44")

    confirmed = client.post(
        check.request.url if hasattr(check, "request") else response.headers["Location"],
        data={
            "csrf_token": csrf_from(check),
            "request_key": page(check).find("input", attrs={"name": "request_key"})["value"],
            "expected_total": "4400",
        },
    )
    assert confirmed.status_code == 302
    booking_page = client.get(confirmed.headers["Location"])
    booking_text = visible_text(booking_page)
    reference = re.search(r"BK-[A-Z0-9]{6}", booking_text).group(0)
    assert f"Booking {reference} sent to Nene Valley Home Care" in booking_text
    assert "Waiting for provider" in booking_text
    assert "Booked, money set aside" in booking_text
    assert summary_rows(booking_page)["Message to provider"] == "Key safe code is with my daughter."

    budget_page = client.get(f"/budgets/{budget.public_id}")
    budget_text = visible_text(budget_page)
    assert "Available to spend £376" in budget_text
    assert "Set aside for booked visits £44" in budget_text
    assert "Spent £0" in budget_text

    # The provider is told, and sees it in their inbox.
    assert db.session.query(Notification).filter_by(user_id=staff.id).count() == 1
    provider_client = client.application.test_client()
    login(provider_client, staff)
    inbox = visible_text(provider_client.get("/provider/bookings"))
    assert reference in inbox and "Alice Citizen" in inbox


def test_the_provider_accepts_and_records_delivery(client, login, market, policy):
    provider, staff, service, citizen, budget = market
    booking = bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key="journey-1",
            schedule=BookingSchedule.ONE_OFF,
            first_date=future_day(policy),
            start_time=dt.time(9),
            units=2,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    login(client, staff)
    detail = client.get(f"/provider/bookings/{booking.public_id}")
    assert "Accept booking" in visible_text(detail)
    accepted = client.post(f"/provider/bookings/{booking.public_id}/accept", data={"csrf_token": csrf_from(detail)})
    assert accepted.status_code == 302
    detail = client.get(f"/provider/bookings/{booking.public_id}")
    assert f"Booking {booking.reference} accepted" in visible_text(detail)
    assert "After the visit starts" in visible_text(detail)  # cannot record a visit before it happens

    # Too early: the service refuses, and says why.
    visit = booking.visits[0]
    early = client.post(
        f"/provider/bookings/{booking.public_id}/visits/{visit.id}/delivered",
        data={"csrf_token": csrf_from(detail), "delivered_units": "2"},
        follow_redirects=True,
    )
    assert "You can only record a visit once it has started" in visible_text(early)

    # The visit happens (recorded by the service as of after its start), then it shows as paid.
    bookings.record_delivery(visit, by=staff, delivered_units=1, now=visit.starts_at + dt.timedelta(hours=2))
    detail = visible_text(client.get(f"/provider/bookings/{booking.public_id}"))
    assert "1 delivered, £22" in detail and "Completed" in detail
    citizen_client = client.application.test_client()
    login(citizen_client, citizen)
    figures = visible_text(citizen_client.get(f"/budgets/{budget.public_id}"))
    assert "Spent £22" in figures and "Available to spend £398" in figures


def test_the_provider_declines_with_a_reason(client, login, market, policy):
    provider, staff, service, citizen, budget = market
    booking = bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key="journey-2",
            schedule=BookingSchedule.ONE_OFF,
            first_date=future_day(policy),
            start_time=dt.time(9),
            units=1,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    login(client, staff)
    form = client.get(f"/provider/bookings/{booking.public_id}/decline")
    empty = client.post(f"/provider/bookings/{booking.public_id}/decline", data={"csrf_token": csrf_from(form), "reason": "  "})
    assert empty.status_code == 200
    assert "Enter a reason for declining" in visible_text(empty)
    assert page(empty).title.get_text().startswith("Error: ")
    done = client.post(f"/provider/bookings/{booking.public_id}/decline", data={"csrf_token": csrf_from(form), "reason": "No carers free"})
    assert done.status_code == 302
    db.session.expire_all()
    assert bookings.get_booking(booking.public_id).status is BookingStatus.DECLINED
    assert budgets.summary(budget).available_pence == 42_000


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"units": "0"}, "Enter a number of hours from 1 to 24"),
        ({"units": "lots"}, "Enter a number of hours from 1 to 24"),
        ({"units": "-2"}, "Enter a number of hours from 1 to 24"),
        ({"first_date": ["31", "2", "2027"]}, "Date must be a real date"),
        ({"first_date": ["", "", ""]}, "Enter the date"),
        ({"first_date": ["1", "1", "2020"]}, "The date must be today or in the future"),
        ({"start_time": "06:00"}, "Select a start time"),
        ({"start_time": "07:00", "units": "1"}, "Select a start time"),
        ({"schedule": "weekly"}, "Select the days of the week you want"),
        ({"schedule": "weekly", "weekdays": ["0"], "weeks": ""}, "Enter a number of weeks from 1 to 52"),
        ({"schedule": "weekly", "weekdays": ["0"], "weeks": "53"}, "Enter a number of weeks from 1 to 52"),
        ({"units": ""}, "Enter how many you want to book"),
        ({"first_date": ["", "2", "2027"]}, "Date must be a real date"),
        ({"payment": ""}, "Select how you will pay"),
        ({"payment": "budget:someone-elses"}, "Select how you will pay"),
    ],
)
def test_bad_booking_input_gets_a_clear_message_and_books_nothing(client, login, market, policy, overrides, message):
    provider, staff, service, citizen, budget = market
    login(client, citizen)
    overrides = dict(overrides)
    date = overrides.pop("first_date", None)
    data = _book_form(client, service, **(_date_fields(future_day(policy)) if date is None else {"first_date": date}))
    data.update(overrides)
    response = client.post(f"/services/{service.id}/book", data=data)
    assert response.status_code == 200
    soup = page(response)
    assert soup.title.get_text().startswith("Error: ")
    summary = soup.select_one(".govuk-error-summary")
    assert summary is not None and message in summary.get_text(), visible_text(response)[:500]
    assert bookings.bookings_for_citizen(citizen) == []
    assert budgets.summary(budget).held_pence == 0


def test_more_than_the_budget_can_pay_is_refused_on_the_form(client, login, market, policy, make_citizen, make_budget):
    provider, staff, service, _, _ = market
    citizen = make_citizen(name="Low Balance")
    budget = make_budget(citizen=citizen, amount=3_000)
    login(client, citizen)
    data = _book_form(client, service, **_date_fields(future_day(policy)))
    response = client.post(f"/services/{service.id}/book", data=data)
    assert (
        "This booking needs £44 from your budget now, but only £30 is available"
        in page(response).select_one(".govuk-error-summary").get_text()
    )
    assert budgets.summary(budget).held_pence == 0


def test_a_representative_books_for_the_person_they_act_for(client, login, market, make_representative, policy):
    provider, staff, service, citizen, budget = market
    rep = make_representative(citizen, name="Dan Daughter")
    login(client, rep)
    data = _book_form(client, service, **_date_fields(future_day(policy)))
    assert data["citizen"] == str(citizen.id)
    check = client.post(f"/services/{service.id}/book", data=data, follow_redirects=True)
    assert "Alice Citizen" in summary_rows(check)["For"]
    done = client.post(
        f"/services/{service.id}/book/check?key={data['request_key']}",
        data={"csrf_token": csrf_from(check), "request_key": data["request_key"], "expected_total": "4400"},
        follow_redirects=True,
    )
    assert summary_rows(done)["Booked by"].startswith("Dan Daughter")
    [booking] = bookings.bookings_for_citizen(citizen)
    assert booking.booked_by_id == rep.id and booking.citizen_id == citizen.id


def test_double_submitting_the_confirmation_books_once(client, login, market, policy):
    provider, staff, service, citizen, budget = market
    login(client, citizen)
    data = _book_form(client, service, **_date_fields(future_day(policy)))
    check = client.post(f"/services/{service.id}/book", data=data, follow_redirects=True)
    confirm = {"csrf_token": csrf_from(check), "request_key": data["request_key"], "expected_total": "4400"}
    first = client.post(f"/services/{service.id}/book/check?key={data['request_key']}", data=confirm)
    assert first.status_code == 302
    # The second press finds the draft gone: nothing more is booked.
    second = client.post(f"/services/{service.id}/book/check?key={data['request_key']}", data=confirm)
    assert second.status_code in (302, 404)
    assert len(bookings.bookings_for_citizen(citizen)) == 1
    assert budgets.summary(budget).held_pence == 4_400


def test_the_same_confirmation_sent_twice_books_once_and_the_second_press_shows_the_booking(client, login, market, policy, monkeypatch):
    """A second press with the draft still there (another tab, a browser that replays the
    post, a press before the first answer came back) carries the same request key: the page
    finds the booking it made and shows it, without asking the booking service again."""
    from app.models import LedgerHold

    provider, staff, service, citizen, budget = market
    login(client, citizen)
    data = _book_form(client, service, **_date_fields(future_day(policy)))
    check = client.post(f"/services/{service.id}/book", data=data, follow_redirects=True)
    with client.session_transaction() as session:
        draft_store = dict(session["booking_drafts"])  # what the browser's session held before the first press
    calls = []
    real_create = bookings.create
    monkeypatch.setattr(bookings, "create", lambda request, **kw: calls.append(request.request_key) or real_create(request, **kw))
    confirm = {"csrf_token": csrf_from(check), "request_key": data["request_key"], "expected_total": "4400"}
    url = f"/services/{service.id}/book/check?key={data['request_key']}"
    first = client.post(url, data=confirm)
    with client.session_transaction() as session:
        session["booking_drafts"] = draft_store  # the replayed post carries the draft again
    second = client.post(url, data=confirm)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]  # both land on the one booking
    assert calls == [data["request_key"]]
    [booking] = bookings.bookings_for_citizen(citizen)
    assert db.session.query(LedgerHold).count() == 1
    assert budgets.summary(budget).held_pence == 4_400
    assert db.session.query(Notification).filter_by(user_id=staff.id).count() == 1  # the provider told once


def test_the_provider_sees_where_and_whom_to_contact_once_it_has_accepted(client, login, market, make_representative, policy):
    provider, staff, service, citizen, budget = market
    daughter = make_representative(citizen, name="Dana Daughter")
    login(client, citizen)
    data = _book_form(
        client,
        service,
        **_date_fields(future_day(policy)),
        visit_address="Flat 2\r\n14 River Lane\r\nPeterborough PE1 1AB",
        contact_phone="07700 900123",
    )
    check = client.post(f"/services/{service.id}/book", data=data, follow_redirects=True)
    assert summary_rows(check)["Where"] == "Flat 2 14 River Lane Peterborough PE1 1AB"
    booked = client.post(
        f"/services/{service.id}/book/check?key={data['request_key']}",
        data={"csrf_token": csrf_from(check), "request_key": data["request_key"], "expected_total": "4400"},
    )
    booking = bookings.get_booking(booked.headers["Location"].rsplit("/", 1)[-1])
    assert booking.visit_address == "Flat 2\n14 River Lane\nPeterborough PE1 1AB" and booking.contact_phone == "07700 900123"

    provider_side = client.application.test_client()
    login(provider_side, staff)
    before = provider_side.get(f"/provider/bookings/{booking.public_id}")
    assert "River Lane" not in visible_text(before) and "07700 900123" not in visible_text(before)
    assert "Once you accept the booking you will see where the visits are" in visible_text(before)
    bookings.accept(booking, by=staff)
    rows = summary_rows(provider_side.get(f"/provider/bookings/{booking.public_id}"))
    assert rows["Where"] == "Flat 2 14 River Lane Peterborough PE1 1AB" and rows["Phone"] == "07700 900123"
    assert citizen.email in rows["Email"] and f"Dana Daughter (acts for {citizen.name}): {daughter.email}" in rows["Email"]

    bad = _book_form(client, service, **_date_fields(future_day(policy)), contact_phone="call me")
    refused = client.post(f"/services/{service.id}/book", data=bad)
    assert "Enter a telephone number, like 01733 123456" in visible_text(refused)


def test_a_confirmation_sent_again_after_the_budget_is_spent_shows_the_booking_not_an_error(
    client, login, make_citizen, make_budget, market, policy
):
    """The first press spent the last of the budget; the same confirmation again (a double
    click, a lost answer) shows the booking it made, not 'only £0 is available'."""
    provider, staff, service, _, _ = market
    citizen = make_citizen(name="Bea Exact")
    make_budget(citizen=citizen, amount=4_400)  # exactly two hours at £22
    login(client, citizen)
    data = _book_form(client, service, **_date_fields(future_day(policy)))
    check = client.post(f"/services/{service.id}/book", data=data, follow_redirects=True)
    with client.session_transaction() as session:
        draft_store = dict(session["booking_drafts"])
    confirm = {"csrf_token": csrf_from(check), "request_key": data["request_key"], "expected_total": "4400"}
    url = f"/services/{service.id}/book/check?key={data['request_key']}"
    first = client.post(url, data=confirm)
    with client.session_transaction() as session:
        session["booking_drafts"] = draft_store
    again = client.post(url, data=confirm, follow_redirects=True)
    [booking] = bookings.bookings_for_citizen(citizen)
    assert first.headers["Location"] == f"/bookings/{booking.public_id}"
    assert again.request.path == f"/bookings/{booking.public_id}" and booking.reference in visible_text(again)
    assert "is available" not in visible_text(again)
    assert client.get(url, follow_redirects=True).request.path == f"/bookings/{booking.public_id}"  # the link too


def test_booking_someone_twice_at_the_same_time_asks_first(client, login, market, make_provider, make_service, policy):
    """Two carers at the same time is usually a mistake: the check page names the visit it
    clashes with (any provider) and books only once the person says both are wanted."""
    provider, staff, service, citizen, budget = market
    other = make_service(
        provider=make_provider(name="Other Carers"),
        title="Sitting service",
        price_pence=1_500,
        capacity=3,
        hours=[(d, "08:00", "20:00") for d in range(7)],
    )
    day = future_day(policy)
    first = bookings.create(
        bookings.BookingRequest(
            service_id=other.id,
            request_key="first-visit",
            schedule=BookingSchedule.ONE_OFF,
            first_date=day,
            start_time=dt.time(11),
            units=1,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    login(client, citizen)
    data = _book_form(client, service, **_date_fields(day))  # 10:00 for 2 hours: overlaps 11:00 to 12:00
    check = client.post(f"/services/{service.id}/book", data=data, follow_redirects=True)
    text = visible_text(check)
    assert "Alice Citizen already has a visit booked at the same time" in text
    assert f"Sitting service by Other Carers ({first.reference})" in text
    url = f"/services/{service.id}/book/check?key={data['request_key']}"
    confirm = {"csrf_token": csrf_from(check), "request_key": data["request_key"], "expected_total": "4400"}
    refused = client.post(url, data=confirm)
    assert refused.status_code == 200 and "Select that Alice Citizen needs both visits at the same time" in visible_text(refused)
    assert len(bookings.bookings_for_citizen(citizen)) == 1
    booked = client.post(url, data=dict(confirm, both_at_once="y"))
    assert booked.status_code == 302 and len(bookings.bookings_for_citizen(citizen)) == 2
    # No clash, no question: a visit the next day books at once.
    data = _book_form(client, service, **_date_fields(day + dt.timedelta(days=1)))
    check = client.post(f"/services/{service.id}/book", data=data, follow_redirects=True)
    assert "at the same time" not in visible_text(check)


def _accepted_booking(service, citizen, budget, staff, policy, key):
    booking = bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key=key,
            schedule=BookingSchedule.ONE_OFF,
            first_date=future_day(policy),
            start_time=dt.time(10),
            units=1,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    bookings.accept(booking, by=staff)
    return booking


def test_cancelling_inside_the_notice_shows_the_charge_before_taking_it(app, client, login, market, policy):
    provider, staff, service, citizen, budget = market
    # A notice period longer than any test visit is away, so the visit is inside it.
    app.config["CANCELLATION_NOTICE_HOURS"] = 24 * 60
    booking = _accepted_booking(service, citizen, budget, staff, policy, "journey-late")
    visit = booking.visits[0]
    login(client, citizen)
    form = client.get(f"/bookings/{booking.public_id}/cancel")
    first = client.post(f"/bookings/{booking.public_id}/cancel", data={"csrf_token": csrf_from(form), "visits": [str(visit.id)]})
    assert first.status_code == 200
    assert "will be charged: £22" in visible_text(first)
    db.session.expire_all()
    assert bookings.get_booking(booking.public_id).status is BookingStatus.ACCEPTED  # nothing taken yet
    seen = page(first).find("input", attrs={"name": "charge_seen"})["value"]
    done = client.post(
        f"/bookings/{booking.public_id}/cancel", data={"csrf_token": csrf_from(first), "visits": [str(visit.id)], "charge_seen": seen}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert bookings.get_booking(booking.public_id).visits[0].status is VisitStatus.LATE_CANCELLED
    assert budgets.summary(budget).spent_pence == 2_200


def test_cancelling_in_good_time_is_free(app, client, login, market, policy):
    provider, staff, service, citizen, budget = market
    app.config["CANCELLATION_NOTICE_HOURS"] = 1
    booking = _accepted_booking(service, citizen, budget, staff, policy, "journey-free")
    login(client, citizen)
    form = client.get(f"/bookings/{booking.public_id}/cancel")
    assert "Cancelling is free until 1 hour before a visit" in visible_text(form)
    done = client.post(
        f"/bookings/{booking.public_id}/cancel",
        data={"csrf_token": csrf_from(form), "visits": [str(booking.visits[0].id)]},
        follow_redirects=True,
    )
    assert "1 visit cancelled." in visible_text(done) and "(s)" not in visible_text(done)
    assert budgets.summary(budget).available_pence == 42_000
    nothing = client.post(f"/bookings/{booking.public_id}/cancel", data={"csrf_token": csrf_from(done)}, follow_redirects=True)
    assert "This booking is cancelled: there is nothing to cancel." in visible_text(nothing), visible_text(nothing)[:900]


def test_after_cancelling_a_visit_the_booking_shows_what_was_booked_cancelled_and_costs_now(client, login, market, policy):
    provider, staff, service, citizen, budget = market
    day = future_day(policy)
    booking = bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key="journey-figures",
            schedule=BookingSchedule.WEEKLY,
            first_date=day,
            start_time=dt.time(10),
            units=1,
            weekdays=(day.weekday(),),
            weeks=3,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    login(client, citizen)
    assert summary_rows(client.get(f"/bookings/{booking.public_id}"))["Total"] == "£66 for 3 visits"
    bookings.cancel(booking, by=citizen, policy=policy, visit_ids=[booking.visits[1].id])
    rows = summary_rows(client.get(f"/bookings/{booking.public_id}"))
    assert "Total" not in rows
    assert (rows["Booked"], rows["Cancelled"], rows["Costs now"]) == ("£66 for 3 visits", "£22 for 1 visit, not charged", "£44")
    provider_side = client.application.test_client()
    login(provider_side, staff)
    rows = summary_rows(provider_side.get(f"/provider/bookings/{booking.public_id}"))
    assert rows["Costs now"] == "£44"


def test_a_booking_accepted_while_the_person_cancels_shows_the_new_charge_first(app, client, login, market, policy, monkeypatch):
    """The page showed a free cancellation (the booking was only requested); the provider
    accepts before the press reaches the booking service, so cancelling would now be
    charged: nothing is cancelled, the page shows the charge, and the next press takes it."""
    provider, staff, service, citizen, budget = market
    app.config["CANCELLATION_NOTICE_HOURS"] = 24 * 60  # the visit is inside the notice
    booking = bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key="journey-raced",
            schedule=BookingSchedule.ONE_OFF,
            first_date=future_day(policy),
            start_time=dt.time(10),
            units=1,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    visit_id = booking.visits[0].id
    login(client, citizen)
    form = client.get(f"/bookings/{booking.public_id}/cancel")
    assert "will be charged" not in visible_text(form)
    cancel = bookings.cancel

    def accepted_meanwhile(*args, **kwargs):
        monkeypatch.setattr(bookings, "cancel", cancel)
        bookings.accept(bookings.get_booking(booking.public_id), by=staff)
        return cancel(*args, **kwargs)

    monkeypatch.setattr(bookings, "cancel", accepted_meanwhile)
    raced = client.post(f"/bookings/{booking.public_id}/cancel", data={"csrf_token": csrf_from(form), "visits": [str(visit_id)]})
    assert raced.status_code == 200
    text = visible_text(raced)
    assert "The booking changed while you were cancelling: cancelling now is charged £22" in text
    assert "will be charged: £22" in text
    db.session.expire_all()
    assert bookings.get_booking(booking.public_id).visits[0].status is VisitStatus.HELD  # nothing cancelled
    seen = page(raced).find("input", attrs={"name": "charge_seen"})["value"]
    assert seen == str(visit_id)
    done = client.post(
        f"/bookings/{booking.public_id}/cancel", data={"csrf_token": csrf_from(raced), "visits": [str(visit_id)], "charge_seen": seen}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert bookings.get_booking(booking.public_id).visits[0].status is VisitStatus.LATE_CANCELLED
    assert budgets.summary(budget).spent_pence == 2_200


def test_budget_statement_page_and_csv(client, login, market, policy):
    provider, staff, service, citizen, budget = market
    booking = bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key="journey-4",
            schedule=BookingSchedule.ONE_OFF,
            first_date=future_day(policy),
            start_time=dt.time(9),
            units=1,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    login(client, citizen)
    response = client.get(f"/budgets/{budget.public_id}")
    text = visible_text(response)
    assert "Statement" in text
    rows = summary_rows(response)
    assert rows["Money in"] == "£420"
    assert rows["Set aside for bookings"] == "£22"
    assert rows["Available at the end"] == "£398"
    assert rows["Support plan outcomes"] == "Get out to the shops each week Stay safe and well at home"
    csv_response = client.get(f"/budgets/{budget.public_id}/statement.csv")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True))))
    assert lines[3][:2] == ["Date", "Description"]
    closing = lines[-1]
    assert closing[1] == "Closing balance" and closing[-1] == "398.00"
    assert any(booking.reference in " ".join(line) for line in lines)
    # A period that is not one of the budget's shows the latest one rather than failing.
    assert client.get(f"/budgets/{budget.public_id}?period=not-a-date").status_code == 200
    assert client.get(f"/budgets/{budget.public_id}/statement.csv?period=1999-01-01").status_code == 200


def test_commissioner_sets_up_a_budget(client, login, make_commissioner, make_citizen, policy):
    commissioner = make_commissioner()
    citizen = make_citizen(name="Bea Budget", email="bea@example.test")
    login(client, commissioner)
    form = client.get("/commissioner/budgets/new")
    start, _ = policy.period_containing(today())
    base = {
        "csrf_token": csrf_from(form),
        "citizen_email": "bea@example.test",
        "budget_type": "managed_account",
        "amount": "£1,050.50",
        "starts_on": [str(start.day), str(start.month), str(start.year)],
        "outcomes": "Get out to the shops each week\r\nSee my friends at the day centre",
    }
    bad = client.post("/commissioner/budgets/new", data=dict(base, amount="ten pounds", citizen_email="nobody@example.test"))
    text = visible_text(bad)
    assert "Enter an amount in pounds, like 420 or 420.50" in text
    assert "There is no citizen account with that email address" in text
    isf_without_provider = client.post("/commissioner/budgets/new", data=dict(base, budget_type="isf"))
    assert "Select the provider that will hold the Individual Service Fund" in visible_text(isf_without_provider)
    done = client.post("/commissioner/budgets/new", data=base)
    assert done.status_code == 302
    detail = visible_text(client.get(done.headers["Location"]))
    assert "Budget set up for Bea Budget" in detail
    assert "Amount every 4 weeks £1,050.50" in detail
    assert "See my friends at the day centre" in detail
    [budget] = budgets.budgets_for_citizen(citizen)
    assert budgets.summary(budget).funded_pence == 105_050
    listing = visible_text(client.get("/commissioner/budgets?q=bea"))
    assert "Bea Budget" in listing
    from app.models import AuditEvent

    event = db.session.query(AuditEvent).filter_by(action="budget.created").one()
    assert event.actor_id == commissioner.id and event.after["amount_per_period_pence"] == 105_050


def test_commissioner_reads_a_statement_as_the_ledger_stood_on_a_date(client, login, market, make_commissioner, policy):
    provider, staff, service, citizen, budget = market
    bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key="journey-known",
            schedule=BookingSchedule.ONE_OFF,
            first_date=future_day(policy),
            start_time=dt.time(9),
            units=1,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    login(client, make_commissioner())
    now = visible_text(client.get(f"/commissioner/budgets/{budget.public_id}"))
    assert "Set aside for bookings £22" in now
    long_ago = client.get(f"/commissioner/budgets/{budget.public_id}?known-day=1&known-month=1&known-year=2020")
    text = visible_text(long_ago)
    assert "As the ledger stood at the end of 1 January 2020" in text
    assert "Money in £0" in text and "Nothing happened in this period." in text
    bad = client.get(f"/commissioner/budgets/{budget.public_id}?known-day=31&known-month=2&known-year=2026")
    assert bad.status_code == 200 and "Enter a real date, for example 1 11 2026" in visible_text(bad)
    csv_text = client.get(f"/commissioner/budgets/{budget.public_id}/statement.csv?known-day=1&known-month=1&known-year=2020").get_data(
        as_text=True
    )
    assert "As the ledger stood at the end of,2020-01-01" in csv_text


def test_provider_records_a_visit_that_has_happened_through_the_page(client, login, market, policy):
    from app.services.ledger import Actor

    provider, staff, service, citizen, budget = market
    yesterday = today() - dt.timedelta(days=1)
    start, _ = policy.period_containing(yesterday)
    budgets.fund_budget(budget, start, policy=policy, actor=Actor.system("test"))  # (already funded if this period)
    booked_at = dt.datetime.combine(yesterday - dt.timedelta(days=2), dt.time(9), tzinfo=dt.UTC)
    booking = bookings.create(
        bookings.BookingRequest(
            service_id=service.id,
            request_key="journey-past",
            schedule=BookingSchedule.ONE_OFF,
            first_date=yesterday,
            start_time=dt.time(10),
            units=3,
            budget_public_id=budget.public_id,
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
        now=booked_at,
    )
    bookings.accept(booking, by=staff, now=booked_at + dt.timedelta(hours=1))
    visit = booking.visits[0]
    login(client, staff)
    detail = client.get(f"/provider/bookings/{booking.public_id}")
    assert "Record as delivered" in visible_text(detail)
    bad = client.post(
        f"/provider/bookings/{booking.public_id}/visits/{visit.id}/delivered",
        data={"csrf_token": csrf_from(detail), "delivered_units": "lots"},
        follow_redirects=True,
    )
    assert "Enter the number delivered as a whole number" in visible_text(bad)
    too_many = client.post(
        f"/provider/bookings/{booking.public_id}/visits/{visit.id}/delivered",
        data={"csrf_token": csrf_from(detail), "delivered_units": "4"},
        follow_redirects=True,
    )
    assert "Enter the hours delivered, from 1 to 3" in visible_text(too_many)
    done = client.post(
        f"/provider/bookings/{booking.public_id}/visits/{visit.id}/delivered",
        data={"csrf_token": csrf_from(detail), "delivered_units": "2"},
        follow_redirects=True,
    )
    assert "Visit recorded as delivered" in visible_text(done)
    assert "2 delivered, £44" in visible_text(done)
    db.session.expire_all()
    assert budgets.summary(budget).spent_pence == 4_400


# Dates nobody could mean: a message, never an error page --------------------------------------


@pytest.mark.parametrize(
    "year, message",
    [
        ("99999999999", "Year must be a real year, like"),
        ("1", "Year must be a real year, like"),
        ("10000", "Year must be a real year, like"),
    ],
)
def test_impossible_years_on_the_booking_form(client, login, market, policy, year, message):
    provider, staff, service, citizen, budget = market
    login(client, citizen)
    data = _book_form(client, service, first_date=["1", "1", year])
    response = client.post(f"/services/{service.id}/book", data=data)
    assert response.status_code == 200
    summary = page(response).select_one(".govuk-error-summary")
    assert summary is not None and message in summary.get_text()
    assert bookings.bookings_for_citizen(citizen) == []


def test_impossible_dates_on_the_commissioners_budget_pages(client, login, market, make_commissioner, make_citizen):
    provider, staff, service, citizen, budget = market
    login(client, make_commissioner())
    form = client.get("/commissioner/budgets/new")
    make_citizen(email="dee@example.test")
    base = {
        "csrf_token": csrf_from(form),
        "citizen_email": "dee@example.test",
        "budget_type": "managed_account",
        "amount": "100",
        "outcomes": "Stay well",
    }
    for parts in (["1", "1", "99999999999"], ["99999999999", "1", "2027"], ["1", "99999999999", "2027"]):
        response = client.post("/commissioner/budgets/new", data=dict(base, starts_on=parts))
        assert response.status_code == 200, parts
        assert "Year must be a real year" in visible_text(response) or "Start date must be a real date" in visible_text(response)
    assert budgets.budgets_for_citizen(accounts_user("dee@example.test")) == []
    for query in (
        "known-day=1&known-month=1&known-year=99999999999",
        "known-day=31&known-month=12&known-year=9999",
        "known-day=99999999999&known-month=1&known-year=2026",
    ):
        statement = client.get(f"/commissioner/budgets/{budget.public_id}?{query}")
        assert statement.status_code == 200, query
        assert "Year must be a real year" in visible_text(statement) or "Enter a real date" in visible_text(statement)
        assert client.get(f"/commissioner/budgets/{budget.public_id}/statement.csv?{query}").status_code == 200
    assert "Year must be a real year, like" in visible_text(
        client.get(f"/commissioner/budgets/{budget.public_id}?known-day=31&known-month=12&known-year=9999")
    )


def accounts_user(email):
    from app.services import accounts

    return accounts.user_by_email(email)


# Individual Service Funds through the pages ------------------------------------------------------


def test_moving_an_isf_twice_with_the_same_form_moves_it_once(client, login, make_citizen, make_provider, make_budget, policy):
    from app.models import BudgetType
    from app.models.budgets import IsfMove

    holder, new, other = make_provider(name="Holder Care"), make_provider(name="New Home Care"), make_provider(name="Other Care")
    citizen = make_citizen(name="Isla Fund")
    budget = make_budget(citizen=citizen, amount=30_000, budget_type=BudgetType.ISF, isf_provider=holder)
    login(client, citizen)
    form = client.get(f"/budgets/{budget.public_id}/move")
    key = page(form).find("input", attrs={"name": "request_key"})["value"]
    data = {
        "csrf_token": csrf_from(form),
        "request_key": key,
        "provider": str(new.id),
        "held_with": page(form).find("input", attrs={"name": "held_with"})["value"],
    }
    first = client.post(f"/budgets/{budget.public_id}/move", data=data)
    second = client.post(f"/budgets/{budget.public_id}/move", data=data)  # pressed again, or replayed
    assert first.status_code == second.status_code == 302
    assert db.session.query(IsfMove).count() == 1
    text = visible_text(client.get(f"/budgets/{budget.public_id}"))
    assert "Individual Service Fund held with New Home Care" in text
    assert "Individual Service Fund moved from Holder Care to New Home Care" in text
    assert "£300 moved with it: the money available did not change" in text
    lines = list(csv.reader(io.StringIO(client.get(f"/budgets/{budget.public_id}/statement.csv").get_data(as_text=True))))
    assert lines[3][6] == "Moved with the fund"
    [moved] = [line for line in lines if len(line) > 1 and "moved from Holder Care" in line[1]]
    assert moved[6] == "300.00" and moved[2:6] == ["", "", "", ""]
    assert lines[-1][6] == "300.00"
    # A form shown while the fund was with Holder Care, sent as a new move after it moved
    # (another tab): refused, saying where the fund is now.
    stale = dict(data, request_key="another-press", provider=str(other.id))
    refused = client.post(f"/budgets/{budget.public_id}/move", data=stale)
    assert refused.status_code == 200 and "was moved to New Home Care while you were choosing" in visible_text(refused)
    assert db.session.query(IsfMove).count() == 1


# Reversing a payment in, through the commissioner's pages ------------------------------------------


def test_a_commissioner_reverses_a_payment_from_the_statement(client, login, market, make_commissioner, policy):
    from app.models import BudgetPeriod

    provider, staff, service, citizen, budget = market
    login(client, make_commissioner())
    statement = client.get(f"/commissioner/budgets/{budget.public_id}")
    [reverse] = page(statement).select('a[href$="/reverse"]')
    assert reverse.get_text(" ", strip=True).startswith("Reverse Personal budget for")
    payment = db.session.query(BudgetPeriod).filter_by(budget_id=budget.id).one().transaction_id
    assert reverse["href"] == f"/commissioner/budgets/{budget.public_id}/payments/{payment}/reverse"
    form = client.get(reverse["href"])
    assert "Reverse a payment into the budget" in visible_text(form) and "£420" in visible_text(form)
    empty = client.post(reverse["href"], data={"csrf_token": csrf_from(form), "reason": " "})
    assert empty.status_code == 200 and "Enter why the payment is being reversed" in visible_text(empty)
    done = client.post(
        reverse["href"], data={"csrf_token": csrf_from(form), "reason": "Set up for the wrong person"}, follow_redirects=True
    )
    text = visible_text(done)
    assert "Payment of £420 reversed" in text and "Available to spend £0" in text
    assert "Reversed: Personal budget for" in text and "Reason: Set up for the wrong person" in text
    assert "was reversed on" in visible_text(client.get(reverse["href"]))  # asking again changes nothing
    assert budgets.summary(budget).funded_pence == 0
    assert client.get(f"/commissioner/budgets/{budget.public_id}/payments/999999/reverse").status_code == 404


def test_reversing_a_payment_the_budget_has_set_aside_is_refused_on_the_page(client, login, market, make_commissioner, policy):
    from app.models import BudgetPeriod

    provider, staff, service, citizen, budget = market
    _accepted_booking(service, citizen, budget, staff, policy, "journey-set-aside")  # £22 of the £420 set aside
    payment = db.session.query(BudgetPeriod).filter_by(budget_id=budget.id).one().transaction_id
    href = f"/commissioner/budgets/{budget.public_id}/payments/{payment}/reverse"
    login(client, make_commissioner())
    form = client.get(href)
    refused = client.post(href, data={"csrf_token": csrf_from(form), "reason": "Set up for the wrong person"})
    assert refused.status_code == 200
    assert "The budget does not have £420 available to give back: some of it is set aside or spent" in visible_text(refused)
    assert refused.data.count(b"govuk-error-summary") >= 1
    db.session.expire_all()
    figures = budgets.summary(budget)
    assert figures.funded_pence == 42_000 and figures.held_pence == 2_200  # nothing reversed


def test_statement_csv_dates_are_uk_dates(client, login, make_citizen, make_commissioner, policy):
    """Money paid in at midnight on a summer day is written at 23:00 UTC the day before:
    the CSV gives the UK date, as the page does."""
    from app.models import BudgetType
    from app.services.ledger import Actor

    citizen = make_citizen(name="Summer Start")
    june = policy.period_containing(dt.date(2026, 6, 15))[0]
    budget = budgets.create_budget(
        citizen=citizen,
        budget_type=BudgetType.MANAGED_ACCOUNT,
        amount_per_period_pence=28_000,
        starts_on=june,
        outcomes=["Stay well"],
        created_by=None,
        policy=policy,
        today=june,
    )
    budgets.fund_budget(budget, june, policy=policy, actor=Actor.system("test"))
    login(client, make_commissioner())
    lines = list(
        csv.reader(
            io.StringIO(
                client.get(f"/commissioner/budgets/{budget.public_id}/statement.csv?period={june.isoformat()}").get_data(as_text=True)
            )
        )
    )
    [paid_in] = [line for line in lines if len(line) > 1 and line[1].startswith("Personal budget for")]
    assert paid_in[0] == june.isoformat()
