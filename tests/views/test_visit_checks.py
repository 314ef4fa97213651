"""Checking delivered visits through the real pages: the person confirms or disputes a visit
on their booking, and a commissioner works through the visits to check."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, BookingVisit, DisputeState, ExceptionState, VisitRecord
from app.services import delivery
from tests.helpers import csrf_from, h1, page, post_form, squash, title, visible_text
from tests.services.test_delivery_disputes import BUDGET, PRICE, book_care, money, record_visit

VISITS = "/commissioner/visits"


@pytest.fixture
def care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy):
    """Alice's accepted one-hour visit with Nene Valley Home Care, paid from her budget."""
    return book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)


def _booking_page(care) -> str:
    return f"/bookings/{care.booking.public_id}"


def _visit_path(care, action: str, visit_id: int | None = None) -> str:
    return f"/bookings/{care.booking.public_id}/visits/{visit_id or care.visit.id}/{action}"


def _card(response, visit) -> str:
    """The text of one visit's card in "Check the visits delivered"."""
    card = page(response).find(id=f"visit-{visit.id}")
    return squash(card.get_text(" ")) if card else ""


def _error_summary(response) -> str:
    summary = page(response).select_one(".govuk-error-summary")
    return squash(summary.get_text(" ")) if summary else ""


def _record(record_id: int) -> VisitRecord:
    db.session.expire_all()
    return db.session.get(VisitRecord, record_id)


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


# -- The person's side --------------------------------------------------------------------------


def test_the_person_sees_the_recorded_times_and_confirms_the_visit(client, login, care):
    record = record_visit(care, late=5, minutes=55)
    login(client, care.citizen)
    booking_page = client.get(_booking_page(care))
    card = _card(booking_page, care.visit)
    assert "Recorded times" in card and "10:05am to 11am" in card and "Paid £20" in card
    assert "Not confirmed yet" in card and "It did not happen as recorded" in card
    [form] = page(booking_page).select(f'form[action="{_visit_path(care, "confirm")}"]')
    assert "Confirm" in form.get_text()

    response = client.post(_visit_path(care, "confirm"), data={"csrf_token": csrf_from(booking_page)})
    assert response.status_code == 302
    after = client.get(response.headers["Location"])
    assert "You confirmed the visit" in visible_text(after)
    assert "Confirmed on" in _card(after, care.visit) and "It did not happen as recorded" not in _card(after, care.visit)
    assert _record(record.id).dispute_state is DisputeState.CONFIRMED


def test_the_person_says_the_visit_did_not_happen_as_recorded(client, login, care):
    record = record_visit(care)
    login(client, care.citizen)
    dispute_page = client.get(_visit_path(care, "dispute"))
    assert h1(dispute_page) == "The visit did not happen as recorded"

    refused = post_form(client, _visit_path(care, "dispute"), {"reason": "  "})
    assert refused.status_code == 200 and title(refused).startswith("Error: ")
    assert "Say what did not happen as recorded" in _error_summary(refused)
    too_long = post_form(client, _visit_path(care, "dispute"), {"reason": "x" * 501})
    assert "500 characters or fewer" in _error_summary(too_long)

    response = post_form(client, _visit_path(care, "dispute"), {"reason": "The carer left after 20 minutes"})
    assert response.status_code == 302
    after = client.get(response.headers["Location"])
    assert "held out of payment until the council settles it" in visible_text(after)
    assert "Disputed: held out of payment" in _card(after, care.visit)
    assert "The carer left after 20 minutes" in _card(after, care.visit)
    disputed = _record(record.id)
    assert disputed.dispute_state is DisputeState.OPEN and disputed.disputed_by_id == care.citizen.id


def test_a_representative_confirms_for_the_person(client, login, care, make_representative):
    record = record_visit(care)
    login(client, make_representative(care.citizen))
    response = post_form(client, _visit_path(care, "confirm"), form_page=_booking_page(care))
    assert response.status_code == 302
    assert _record(record.id).dispute_state is DisputeState.CONFIRMED


def test_once_the_window_has_closed_the_visit_cannot_be_answered(client, login, care):
    record = record_visit(care)
    db.session.get(VisitRecord, record.id).recorded_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    db.session.commit()
    login(client, care.citizen)
    booking_page = client.get(_booking_page(care))
    card = _card(booking_page, care.visit)
    assert "Recorded times" in card and "Not confirmed." in card
    assert "It did not happen as recorded" not in card and not page(booking_page).select('form[action$="/confirm"]')

    refused = post_form(client, _visit_path(care, "confirm"), form_page=_booking_page(care))
    assert refused.status_code == 302
    assert "can no longer be confirmed or disputed: it was recorded more than 7 days ago" in visible_text(client.get(_booking_page(care)))
    assert client.get(_visit_path(care, "dispute")).status_code == 302
    assert post_form(client, _visit_path(care, "dispute"), {"reason": "Nobody came"}).status_code == 302
    assert _record(record.id).dispute_state is DisputeState.NONE


def test_someone_elses_booking_or_a_visit_of_another_booking_is_not_found(client, login, care, make_citizen, policy):
    from app.services import bookings
    from tests.services.money_helpers import future_day, request_for

    record = record_visit(care)
    login(client, make_citizen(name="Bob Other"))
    assert client.get(_visit_path(care, "dispute")).status_code == 404
    assert post_form(client, _visit_path(care, "confirm"), form_page="/bookings").status_code == 404
    assert post_form(client, _visit_path(care, "dispute"), {"reason": "Not mine"}, form_page="/bookings").status_code == 404

    # Alice's own booking, with the visit of another of hers: not in that booking.
    request = request_for(care.service, care.budget, day=future_day(policy, 4), at="14:00")
    other = bookings.create(request, citizen=care.citizen, booker=care.citizen, policy=policy)
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/account"))})
    login(client, care.citizen)
    wrong = f"/bookings/{other.public_id}/visits/{care.visit.id}"
    assert client.get(f"{wrong}/dispute").status_code == 404
    assert post_form(client, f"{wrong}/confirm", form_page=_booking_page(care)).status_code == 404
    assert _record(record.id).dispute_state is DisputeState.NONE


# -- The commissioner's side ----------------------------------------------------------------


@pytest.fixture
def commissioner_client(client, login, make_commissioner):
    login(client, make_commissioner(name="Chris Commissioner"))
    return client


def test_the_commissioner_decides_a_visit_outside_the_tolerance(commissioner_client, care):
    client = commissioner_client
    record = record_visit(care, minutes=30)
    listing = client.get(VISITS)
    text = visible_text(listing)
    assert "Outside the tolerance (1)" in text and "Disputed (0)" in text and "Not recorded after 48 hours (0)" in text
    [row] = page(listing).select("#exceptions ~ div table tbody tr")[:1]
    cells = squash(row.get_text(" "))
    assert care.booking.reference in cells and "Nene Valley Home Care" in cells
    assert "10am to 11am" in cells and "10am to 10:30am" in cells and "Lasted 30 minutes (planned 60)" in cells
    assert "£10" in cells and "£20" in cells
    assert "Visits to check" in [squash(a.get_text()) for a in page(listing).select(".app-section-nav a, nav a")]

    detail = f"{VISITS}/{record.id}"
    form = client.get(detail)
    assert "Pay as recorded: £10" in visible_text(form) and "Pay as planned: £20" in visible_text(form)
    refused = post_form(client, detail, {"decision": "bogus", "reason": ""})
    assert refused.status_code == 200 and title(refused).startswith("Error: ")
    assert "Give a reason for the decision" in _error_summary(refused) and "Not a valid choice" in _error_summary(refused)

    response = post_form(client, detail, {"decision": "paid_as_recorded", "reason": "Carer confirmed by phone"})
    assert response.status_code == 302 and response.headers["Location"].endswith(VISITS)
    after = client.get(VISITS)
    assert "paid as recorded: £10" in visible_text(after) and "Outside the tolerance (0)" in visible_text(after)
    assert _record(record.id).exception_state is ExceptionState.PAID_AS_RECORDED
    assert money(care) == (BUDGET - PRICE // 2, 0, PRICE // 2)
    [audit] = _audits("visit.exception_decided")
    assert audit.after["paid_pence"] == PRICE // 2 and audit.note == "Carer confirmed by phone"
    assert "Paid as recorded by Chris Commissioner" in visible_text(client.get(detail))


def test_the_commissioner_upholds_a_dispute_for_part_of_the_money(commissioner_client, care):
    client = commissioner_client
    record = record_visit(care)
    delivery.dispute(record.id, reason="The carer left after 20 minutes", by=care.citizen)
    listing = client.get(VISITS)
    assert "Disputed (1)" in visible_text(listing)
    [row] = page(listing).select("#disputes ~ div table tbody tr")[:1]
    cells = squash(row.get_text(" "))
    assert "Alice Citizen" in cells and "The carer left after 20 minutes" in cells and "£20" in cells

    detail = f"{VISITS}/{record.id}"
    bad = post_form(client, detail, {"outcome": "uphold", "take_back": "lots", "reason": ""})
    assert "Enter an amount in pounds" in _error_summary(bad) and "Give a reason for the decision" in _error_summary(bad)
    too_much = post_form(client, detail, {"outcome": "uphold", "take_back": "25", "reason": "Short visit"})
    assert "Enter an amount from £0.01 to £20" in _error_summary(too_much)

    response = post_form(client, detail, {"outcome": "uphold", "take_back": "13.33", "reason": "Visit log shows 20 minutes"})
    assert response.status_code == 302
    assert "upheld: £13.33 taken back from Nene Valley Home Care" in visible_text(client.get(VISITS))
    settled = _record(record.id)
    assert settled.dispute_state is DisputeState.UPHELD and settled.taken_back_pence == 1_333
    assert money(care) == (BUDGET - PRICE + 1_333, 0, PRICE - 1_333)
    assert [a.after["taken_back_pence"] for a in _audits("visit.dispute_settled")] == [1_333]


def test_a_dispute_not_upheld_is_shown_to_the_person(client, login, care, make_commissioner):
    record = record_visit(care)
    delivery.dispute(record.id, reason="Nobody came", by=care.citizen)
    login(client, make_commissioner())
    response = post_form(client, f"{VISITS}/{record.id}", {"outcome": "reject", "reason": "The key safe log shows the visit"})
    assert response.status_code == 302
    assert _record(record.id).dispute_state is DisputeState.REJECTED
    assert money(care) == (BUDGET - PRICE, 0, PRICE)
    # Deciding it again finds it settled.
    again = post_form(client, f"{VISITS}/{record.id}", {"outcome": "uphold", "reason": "Changed my mind"}, form_page=VISITS)
    assert again.status_code == 302 and "nothing waiting for a decision" in visible_text(client.get(again.headers["Location"]))

    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/account"))})
    login(client, care.citizen)
    card = _card(client.get(_booking_page(care)), care.visit)
    assert "the council found the visit happened as recorded" in card and "The key safe log shows the visit" in card


def test_visits_not_recorded_after_48_hours_are_listed(commissioner_client, care):
    visit = db.session.get(BookingVisit, care.visit.id)
    visit.starts_at, visit.ends_at = visit.starts_at - dt.timedelta(days=10), visit.ends_at - dt.timedelta(days=10)
    db.session.commit()
    listing = commissioner_client.get(VISITS)
    assert "Not recorded after 48 hours (1)" in visible_text(listing)
    [row] = page(listing).select("#unrecorded ~ div table tbody tr")[-1:]
    cells = squash(row.get_text(" "))
    assert "Nene Valley Home Care" in cells and care.booking.reference in cells and "10am to 11am" in cells


def test_an_admin_sees_the_visits_but_cannot_decide(client, login, care, make_admin):
    record = record_visit(care, minutes=30)
    login(client, make_admin())
    assert client.get(VISITS).status_code == 200
    detail = client.get(f"{VISITS}/{record.id}")
    assert detail.status_code == 200 and "Only a commissioner can decide this visit." in visible_text(detail)
    refused = post_form(client, f"{VISITS}/{record.id}", {"decision": "not_paid", "reason": "No"}, form_page=VISITS)
    assert refused.status_code == 404
    assert _record(record.id).exception_state is ExceptionState.OPEN
    assert client.get(f"{VISITS}/999999").status_code == 404
