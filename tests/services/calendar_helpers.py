"""Helpers for the calendar tests: bookings with visits at chosen moments (past ones too,
which booking through the service cannot make), and reading a calendar file back."""

from __future__ import annotations

import datetime as dt
import uuid

from icalendar import Calendar

from app.extensions import db
from app.models import Booking, BookingSchedule, BookingStatus, BookingVisit, PaymentMethod, PriceUnit, VisitStatus
from app.uk_time import UK


def booking_with_visits(
    service,
    citizen,
    starts: list[dt.datetime],
    *,
    status: BookingStatus = BookingStatus.ACCEPTED,
    visit_status: VisitStatus = VisitStatus.HELD,
    visit_address: str = "",
) -> Booking:
    """A booking of ``service`` for ``citizen`` with an hour's visit at each of ``starts``
    (rows made directly: no money moves, so any moment will do)."""
    booking = Booking(
        public_id=uuid.uuid4().hex[:16],
        reference=f"C{uuid.uuid4().hex[:8].upper()}",
        request_key=uuid.uuid4().hex,
        service_id=service.id,
        provider_id=service.provider_id,
        citizen_id=citizen.id,
        booked_by_id=citizen.id,
        payment_method=PaymentMethod.CARD,
        schedule=BookingSchedule.WEEKLY if len(starts) > 1 else BookingSchedule.ONE_OFF,
        unit_price_pence=2400,
        price_unit=PriceUnit.HOUR,
        total_pence=2400 * len(starts),
        status=status,
        visit_address=visit_address,
    )
    db.session.add(booking)
    db.session.flush()
    for start in starts:
        start = start.astimezone(dt.UTC)
        db.session.add(
            BookingVisit(
                booking_id=booking.id,
                starts_at=start,
                ends_at=start + dt.timedelta(hours=1),
                units=1,
                amount_pence=2400,
                status=visit_status,
            )
        )
    db.session.commit()
    return booking


def uk(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    """A moment on the UK's clocks."""
    return dt.datetime(year, month, day, hour, 0, tzinfo=UK)


def parsed(body: bytes) -> Calendar:
    """The calendar file read back by the same library, checked for what RFC 5545 requires."""
    calendar = Calendar.from_ical(body)
    calendar.validate()  # PRODID, VERSION and at least one component
    return calendar


def events_by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def visit_uid(visit: BookingVisit) -> str:
    return f"visit-{visit.id}@localhost"


def offset_by_the_files_own_rules(calendar: Calendar, local: dt.datetime) -> dt.timedelta:
    """The UTC offset the file's own Europe/London VTIMEZONE gives a wall-clock time: the
    TZOFFSETTO of the latest onset (DTSTART or RDATE) at or before it."""
    (zone,) = [tz for tz in calendar.timezones if str(tz["TZID"]) == "Europe/London"]
    onsets = []
    for rule in zone.subcomponents:
        offset = rule["TZOFFSETTO"].td
        onsets.append((rule.DTSTART, offset))
        onsets.extend((start, offset) for start, _ in rule.rdates)
    naive = local.replace(tzinfo=None)
    return max((onset for onset in onsets if onset[0] <= naive), key=lambda onset: onset[0])[1]
