"""The calendar files: a person's feed (the visits of the last three months and every one
to come) and one booking's visits. Written by the icalendar library (RFC 5545).

Each file defines the Europe/London time zone (a VTIMEZONE made by the library from the
zone's rules, over whole years around the visits) and gives every start and end in it, so
a calendar anywhere shows 10:00 for a 10:00 visit on both sides of the clocks changing. A
file always holds that time zone, so even a feed with no visits is a valid calendar.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Timezone, vDuration

from app.database import utcnow
from app.models import Booking, BookingVisit, CalendarFeed, Role, User
from app.services import accounts
from app.services.calendars.events import event_for
from app.services.calendars.whose import Side, may_see, side_of, visits_for
from app.services.errors import NotFound
from app.uk_time import UK, local_date

HISTORY = dt.timedelta(days=92)  # about three months of past visits
REFRESH = dt.timedelta(hours=1)  # how often we ask subscribed calendars to fetch again
TZID = "Europe/London"


def feed_file(feed: CalendarFeed, *, now: dt.datetime | None = None) -> bytes:
    """The person's feed: their visits from three months ago onwards."""
    now = now or utcnow()
    user = feed.user
    visits = visits_for(user, since=now - HISTORY)
    return calendar_file(visits, side_of(user), name=feed_name(user), uid=f"calendar-{feed.id}", today=local_date(now), refresh=True)


def booking_file(booking: Booking, viewer: User, *, now: dt.datetime | None = None) -> bytes:
    """One booking's visits, for someone who may see the booking; NotFound for anyone else."""
    if not may_see(viewer, booking):
        raise NotFound("No such booking")
    return calendar_file(
        list(booking.visits),
        side_of(viewer),
        name=f"Booking {booking.reference}",
        uid=f"booking-{booking.public_id}",
        today=local_date(now or utcnow()),
    )


def file_name(booking: Booking) -> str:
    return f"booking-{booking.reference}.ics"


def feed_name(user: User) -> str:
    """What the subscribed calendar is called on the person's phone."""
    if user.role is Role.PROVIDER:
        provider = accounts.provider_for_staff(user)
        return f"{provider.name} visits" if provider else "Care visits"
    return "Care visits you arrange" if user.role is Role.REPRESENTATIVE else "Your care visits"


def calendar_file(visits: list[BookingVisit], side: Side, *, name: str, uid: str, today: dt.date, refresh: bool = False) -> bytes:
    """A VCALENDAR of ``visits`` as ``side`` sees them, as bytes (UTF-8, CRLF lines)."""
    config = current_app.config
    domain = urlsplit(config["PUBLIC_BASE_URL"]).hostname or "localhost"
    calendar = Calendar.new(
        prodid=f"-//{config['COUNCIL_NAME']}//{config['SERVICE_NAME']}//EN",
        name=name,
        uid=f"{uid}@{domain}",
        refresh_interval=REFRESH if refresh else None,
    )
    calendar.add("X-WR-TIMEZONE", TZID)
    if refresh:
        calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH))  # Outlook's name for REFRESH-INTERVAL
    calendar.add_component(london_timezone(visits, today))
    for visit in visits:
        calendar.add_component(event_for(visit, side, domain=domain))
    return calendar.to_ical()


def london_timezone(visits: list[BookingVisit], today: dt.date) -> Timezone:
    """Europe/London's VTIMEZONE, from the start of the first visit's year (or this year)
    to the end of the last one's: both GMT and BST rules, whatever the visits' dates."""
    years = [today.year] + [local_date(v.starts_at).year for v in visits] + [local_date(v.ends_at).year for v in visits]
    return Timezone.from_tzinfo(UK, tzid=TZID, first_date=dt.date(min(years), 1, 1), last_date=dt.date(max(years) + 1, 1, 1))
