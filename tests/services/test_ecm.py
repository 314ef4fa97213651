"""Recording delivered visits (``app.services.delivery``): one visit at a time, paid or queued
for the council or its money given back, and electronic call monitoring (ECM) files taken
whole or not at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.formatting import format_datetime
from app.models import (
    BookingSchedule,
    BookingVisit,
    EcmUpload,
    ExceptionState,
    RecordSource,
    User,
    VisitOutcome,
    VisitRecord,
    VisitStatus,
)
from app.services import bookings, delivery, ledger, ledger_check
from app.services.delivery.ecm import MAX_BYTES, MAX_ROWS
from app.services.errors import Conflict, NotFound, ValidationError
from app.uk_time import UK
from tests.services.money_helpers import future_day, request_for

HOUR = dt.timedelta(hours=1)
HEADER = "booking_reference,visit_id,carer_reference,actual_start,actual_end,missed_reason,planned_start"


@dataclass
class Market:
    service: object
    staff: User
    policy: object
    make_budget: object

    def book(self, *, days_ahead: int = 2, at: str = "10:00", budget=None, **extra) -> list[BookingVisit]:
        """A booking from a new budget, accepted: its visits (money held for each)."""
        budget = budget or self.make_budget(amount=50_000, periods=2)
        day = future_day(self.policy, days_ahead)
        if extra.get("schedule") is BookingSchedule.WEEKLY:
            extra["weekdays"] = (day.weekday(),)
        request = request_for(self.service, budget, day=day, at=at, **extra)
        booking = bookings.create(request, citizen=budget.citizen, booker=budget.citizen, policy=self.policy)
        bookings.accept(bookings.get_booking(booking.public_id), by=self.staff)
        return [db.session.get(BookingVisit, v.id) for v in bookings.get_booking(booking.public_id).visits]


@pytest.fixture
def market(make_service, make_provider_staff, make_budget, policy) -> Market:
    service = make_service(price_pence=2_400, capacity=5)
    return Market(service, make_provider_staff(service.provider), policy, make_budget)


def _payable(market: Market) -> int:
    return ledger.balance(ledger.provider_payable_account(market.service.provider))


def _uk(moment: dt.datetime) -> str:
    return moment.astimezone(UK).strftime("%Y-%m-%d %H:%M")


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# One visit at a time -------------------------------------------------------------------------


def test_a_visit_recorded_inside_the_tolerance_is_paid_to_the_provider(app, market):
    (visit,) = market.book()
    actuals = delivery.Actuals(visit.id, visit.starts_at + dt.timedelta(minutes=4), visit.ends_at + dt.timedelta(minutes=3), "C104")
    written = delivery.record(actuals, provider=market.service.provider, by=market.staff, now=visit.ends_at + HOUR)

    assert (written.outcome, written.exception_state, written.source, written.carer_ref) == (
        VisitOutcome.DELIVERED,
        ExceptionState.NONE,
        RecordSource.FORM,
        "C104",
    )
    visit = db.session.get(BookingVisit, visit.id)
    assert (visit.status, visit.charged_pence) == (VisitStatus.DELIVERED, 2_400)
    assert _payable(market) == 2_400
    assert ledger.live_hold_for_visit(visit.id) is None
    assert ledger_check.check() == []


def test_a_visit_outside_the_tolerance_waits_for_the_council_with_its_money_still_held(app, market):
    (visit,) = market.book()
    late = visit.starts_at + dt.timedelta(minutes=40)
    written = delivery.record(
        delivery.Actuals(visit.id, late, late + HOUR), provider=market.service.provider, by=market.staff, now=late + 2 * HOUR
    )

    assert written.exception_state is ExceptionState.OPEN
    assert "Started 40 minutes late" in written.exception_reason
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.HELD
    assert ledger.live_hold_for_visit(visit.id) is not None
    assert _payable(market) == 0
    assert ledger_check.check() == []


def test_a_missed_visit_gives_its_money_back(app, market):
    budget = market.make_budget(amount=50_000, periods=2)
    before = ledger.balance(ledger.budget_account(budget))
    (visit,) = market.book(budget=budget)
    assert ledger.balance(ledger.budget_account(budget)) == before - 2_400

    written = delivery.record(
        delivery.Actuals(visit.id, missed_reason="Nobody answered the door"),
        provider=market.service.provider,
        by=market.staff,
        now=visit.ends_at + HOUR,
    )
    assert (written.outcome, written.missed_reason) == (VisitOutcome.MISSED, "Nobody answered the door")
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.MISSED
    assert ledger.balance(ledger.budget_account(budget)) == before
    assert _payable(market) == 0
    assert ledger_check.check() == []


def test_a_future_visit_another_providers_visit_and_a_second_record_are_refused(app, market, make_service, make_provider_staff):
    (visit,) = market.book()
    times = delivery.Actuals(visit.id, visit.starts_at, visit.ends_at)
    with pytest.raises(ValidationError, match="once it has started"):
        delivery.record(times, provider=market.service.provider, by=market.staff, now=visit.starts_at - HOUR)
    other = make_service().provider
    with pytest.raises(NotFound):
        delivery.record(times, provider=other, by=make_provider_staff(other), now=visit.ends_at + HOUR)
    assert _count(VisitRecord) == 0

    delivery.record(times, provider=market.service.provider, by=market.staff, now=visit.ends_at + HOUR)
    with pytest.raises(Conflict):
        delivery.record(times, provider=market.service.provider, by=market.staff, now=visit.ends_at + 2 * HOUR)
    assert _count(VisitRecord) == 1 and _payable(market) == 2_400


# ECM files -----------------------------------------------------------------------------------


def test_a_good_file_is_taken_whole(app, market):
    """Rows by booking reference (each matched to that day's visit of a weekly booking), by
    visit id, and a missed visit; a cell that looks like a formula is only text."""
    first, second = market.book(days_ahead=1, at="09:00", schedule=BookingSchedule.WEEKLY, weeks=2)
    (third,) = market.book(days_ahead=2, at="14:00")
    (fourth,) = market.book(days_ahead=3, at="16:00")
    reference = first.booking.reference
    now = second.ends_at + 2 * HOUR
    content = _csv(
        f"{reference},,C1,{_uk(second.starts_at)},{_uk(second.ends_at)},,",
        f"{reference.lower()},,=1+2,{_uk(first.starts_at + dt.timedelta(minutes=2))},{_uk(first.ends_at)},,",
        f",{third.id},C3,{third.starts_at.isoformat()},{third.ends_at.isoformat()},,",
        f"{fourth.booking.reference},,C4,,,Nobody answered the door,{_uk(fourth.starts_at)}",
    )
    upload = delivery.import_ecm(content, "export.csv", provider=market.service.provider, by=market.staff, now=now)

    assert (upload.row_count, upload.recorded_count, upload.filename) == (4, 4, "export.csv")
    records = {r.visit_id: r for r in db.session.execute(select(VisitRecord)).scalars()}
    assert {r.source for r in records.values()} == {RecordSource.UPLOAD} and {r.upload_id for r in records.values()} == {upload.id}
    assert records[second.id].carer_ref == "C1" and records[first.id].carer_ref == "=1+2"
    assert records[first.id].actual_start == first.starts_at + dt.timedelta(minutes=2)
    assert records[fourth.id].outcome is VisitOutcome.MISSED
    statuses = [db.session.get(BookingVisit, v.id).status for v in (first, second, third, fourth)]
    assert statuses == [VisitStatus.DELIVERED] * 3 + [VisitStatus.MISSED]
    assert _payable(market) == 3 * 2_400
    assert ledger_check.check() == []


def test_a_file_with_bad_rows_is_refused_naming_each_and_nothing_is_written(app, market):
    (visit,) = market.book()
    (future,) = market.book(at="18:00")
    now = visit.ends_at + HOUR
    good = f"{visit.booking.reference},,C1,{_uk(visit.starts_at)},{_uk(visit.ends_at)},,"
    content = _csv(
        good,
        f"BK-NOSUCH,,C1,{_uk(visit.starts_at)},{_uk(visit.ends_at)},,",
        f",{visit.id},C1,{_uk(visit.ends_at)},{_uk(visit.starts_at)},,",
        f",{future.id},C1,{_uk(future.starts_at)},{_uk(future.ends_at)},,",
        f",{visit.id},C1,1/12/2026 09:00,{_uk(visit.ends_at)},,",
        f",{visit.id},C1,,,,",
    )
    with pytest.raises(delivery.EcmFileRefused) as refused:
        delivery.import_ecm(content, "bad.csv", provider=market.service.provider, by=market.staff, now=now)

    start, end = visit.starts_at.astimezone(UK), visit.ends_at.astimezone(UK)
    assert refused.value.problems == [
        "Row 3: no booking with reference BK-NOSUCH for your organisation",
        f"Row 4: end {start:%H:%M} is before start {end:%H:%M}",
        f"Row 5: the visit on {format_datetime(future.starts_at)} has not started yet",
        "Row 6: actual_start “1/12/2026 09:00” is not a date and time like 2026-12-01 09:30",
        "Row 7: give the actual_start and actual_end, or a missed_reason if the visit did not happen",
    ]
    assert refused.value.errors == {"file": "The file has 5 problems. Nothing was recorded"}
    assert (_count(VisitRecord), _count(EcmUpload), _payable(market)) == (0, 0, 0)
    assert db.session.get(BookingVisit, visit.id).status is VisitStatus.HELD


def test_the_same_file_again_changes_nothing_and_an_overlapping_file_skips_what_is_recorded(app, market):
    (visit,) = market.book(at="09:00")
    (later,) = market.book(at="13:00")
    now = later.ends_at + HOUR
    row = f",{visit.id},C1,{_uk(visit.starts_at)},{_uk(visit.ends_at)},,"
    provider, staff = market.service.provider, market.staff

    first = delivery.import_ecm(_csv(row), "monday.csv", provider=provider, by=staff, now=now)
    again = delivery.import_ecm(_csv(row), "monday again.csv", provider=provider, by=staff, now=now + HOUR)
    assert again.id == first.id and again.uploaded_at == now
    assert (_count(VisitRecord), _count(EcmUpload), _payable(market)) == (1, 1, 2_400)

    overlapping = _csv(row, f",{later.id},C2,{_uk(later.starts_at)},{_uk(later.ends_at)},,")
    upload = delivery.import_ecm(overlapping, "week.csv", provider=provider, by=staff, now=now)
    assert (upload.row_count, upload.recorded_count) == (2, 1)
    assert (_count(VisitRecord), _payable(market)) == (2, 4_800)

    moved = f",{visit.id},C1,{_uk(visit.starts_at + dt.timedelta(minutes=5))},{_uk(visit.ends_at)},,"
    with pytest.raises(delivery.EcmFileRefused, match="already recorded differently"):
        delivery.import_ecm(_csv(moved), "fixed.csv", provider=provider, by=staff, now=now)
    assert ledger_check.check() == []


HOSTILE = [
    (b"", "The file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "The file is not a CSV file"),
    (b"visit_id,carer_reference,actual_start,actual_end\r\n1,Jos\xe9,,\r\n", "The file is not in UTF-8 (line 2"),
    (b"x" * (MAX_BYTES + 1), "The file is larger than 2 MB"),
    (b"12,C1,2026-12-01 09:00,2026-12-01 10:00\r\n", "The first row must name the columns"),
    (b"visit_id;carer_reference;actual_start;actual_end\r\n", "Separate the columns with commas"),
    (b"visit_id,actual_start\r\n1,2026-12-01 09:00\r\n", "It does not name carer_reference, actual_end"),
    (b"\xef\xbb\xbfVisit ID,Carer Reference,Actual Start,Actual End\r\n", "The file has a header row but no visits"),
    (b"visit_id,visit_id,carer_reference,actual_start,actual_end\r\n", "Row 1: the column visit_id appears twice"),
    (("visit_id,carer_reference,actual_start,actual_end\n" + "1,C,,\n" * (MAX_ROWS + 1)).encode(), "more than 1,000 visits"),
]


@pytest.mark.parametrize("content, message", HOSTILE, ids=[message[:30] for _, message in HOSTILE])
def test_a_file_that_cannot_be_read_is_refused_saying_why(content, message):
    with pytest.raises(delivery.EcmFileRefused) as refused:
        delivery.parse_ecm(content, provider=None, now=dt.datetime.now(dt.UTC))
    assert len(refused.value.problems) == 1 and message in refused.value.problems[0]


def test_times_are_uk_local_time_or_carry_their_offset():
    read = delivery.read_moment
    assert read("2026-07-01 09:30") == dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.UTC)  # summer time
    assert read("2026-12-01 09:30") == dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    assert read("2026-07-01T09:30:15+01:00") == dt.datetime(2026, 7, 1, 8, 30, 15, tzinfo=dt.UTC)
    assert read("2026-07-01T08:30Z") == dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.UTC)
    assert read("2026-10-25T01:30+00:00") == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    for text, message in [
        ("2026-03-29 01:30", "did not happen in the UK (the clocks went forward)"),
        ("2026-10-25 01:30", "happened twice in the UK (the clocks went back)"),
        ("2026-02-30 09:00", "is not a real date and time"),
        ('=HYPERLINK("x")', "is not a date and time like 2026-12-01 09:30"),
        ("2026-12-01T09:00+25:00", "not a real one"),
    ]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            read(text)
