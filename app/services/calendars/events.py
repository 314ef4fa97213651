"""One visit as a calendar event (an RFC 5545 VEVENT), as one side sees it.

* UID ``visit-<id>@<our host>``: the same for a visit wherever it appears, so a calendar
  updates the event it has instead of adding another.
* Start and end in Europe/London (``TZID=Europe/London``; the file defines the zone).
* STATUS: TENTATIVE while the provider has not accepted, CONFIRMED once it has, CANCELLED
  when the visit or its booking is cancelled or declined. SEQUENCE follows the status
  (0, 1, 2): statuses only move forward, so the number only goes up, as RFC 5545 asks;
  LAST-MODIFIED (and DTSTAMP, which equals it in a file without METHOD) is the last time
  the booking or the visit changed, so calendars that compare either take the update.
* Nothing about money: calendars are read on lock screens and shared with family.
* A provider's event names the person and, once the booking is accepted, the address:
  what the provider's booking page shows, no more.
"""

from __future__ import annotations

import datetime as dt
import re

from icalendar import Event

from app.models import Booking, BookingStatus, BookingVisit, VisitStatus
from app.services import bookings, mail
from app.services.calendars.whose import Side
from app.uk_time import UK

TENTATIVE, CONFIRMED, CANCELLED = "TENTATIVE", "CONFIRMED", "CANCELLED"
SEQUENCE = {TENTATIVE: 0, CONFIRMED: 1, CANCELLED: 2}
CANCELLED_VISITS = (VisitStatus.CANCELLED, VisitStatus.LATE_CANCELLED, VisitStatus.DECLINED)
ENDED_BOOKINGS = (BookingStatus.CANCELLED, BookingStatus.DECLINED, BookingStatus.EXPIRED)

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def status_of(visit: BookingVisit) -> str:
    """TENTATIVE, CONFIRMED or CANCELLED, from the visit's own status first."""
    booking = visit.booking
    if visit.status in CANCELLED_VISITS:
        return CANCELLED
    # An unpaid visit was delivered, or cancelled too late: it is unpaid either way.
    if visit.status is VisitStatus.UNPAID and visit.delivered_units is None:
        return CANCELLED
    if visit.status.is_upcoming and booking.status in ENDED_BOOKINGS:
        return CANCELLED
    return TENTATIVE if booking.status is BookingStatus.REQUESTED else CONFIRMED


def status_words(visit: BookingVisit) -> str:
    """The visit's state in a few words, for the event's description."""
    status = status_of(visit)
    if status == CANCELLED:
        if visit.booking.status is BookingStatus.EXPIRED:
            return "the provider did not answer the request in time"
        declined = visit.status is VisitStatus.DECLINED or visit.booking.status is BookingStatus.DECLINED
        return "declined by the provider" if declined else "cancelled"
    if status == TENTATIVE:
        return "requested, not yet accepted by the provider"
    if visit.status is VisitStatus.MISSED:
        return "the provider recorded that this visit did not happen"
    if visit.delivered_units is not None:
        return "delivered"
    return "booked"


def changed_at(visit: BookingVisit) -> dt.datetime:
    """When the event last changed: the booking's last change or the visit's settling."""
    times = [visit.booking.updated_at, visit.booking.created_at, visit.settled_at]
    return max(t for t in times if t is not None).astimezone(dt.UTC).replace(microsecond=0)


def event_for(visit: BookingVisit, side: Side, *, domain: str) -> Event:
    """The VEVENT of one visit, as ``side`` sees it."""
    booking = visit.booking
    status = status_of(visit)
    summary = summary_of(booking, side)
    changed = changed_at(visit)
    link = booking_link(booking, side)
    return Event.new(
        uid=f"visit-{visit.id}@{domain}",
        summary=plain(f"Cancelled: {summary}" if status == CANCELLED else summary),
        description=plain("\n".join(description_lines(visit, side, link))),
        location=plain(location_of(booking, side)) or None,
        start=visit.starts_at.astimezone(UK),
        end=visit.ends_at.astimezone(UK),
        status=status,
        sequence=SEQUENCE[status],
        stamp=changed,
        last_modified=changed,
        url=link,
    )


def summary_of(booking: Booking, side: Side) -> str:
    """The event's title: what a glance at a phone's calendar needs."""
    if side is Side.PERSON:
        return f"{booking.service.title} with {booking.provider.name}"
    return f"{booking.service.title} for {booking.citizen.name}"


def description_lines(visit: BookingVisit, side: Side, link: str) -> list[str]:
    booking = visit.booking
    if side is Side.PROVIDER:
        lines = [f"{booking.service.title} for {booking.citizen.name}."]
    elif side is Side.REPRESENTATIVE:
        lines = [f"{booking.service.title} from {booking.provider.name}, for {booking.citizen.name}."]
    else:
        lines = [f"{booking.service.title} from {booking.provider.name}."]
    lines.append(f"Booking {booking.reference}: {status_words(visit)}.")
    if side is not Side.PROVIDER and booking.provider.phone:
        lines.append(f"{booking.provider.name}: {booking.provider.phone}")
    lines.append(f"See the booking: {link}")
    return lines


def location_of(booking: Booking, side: Side) -> str:
    """Where the visit takes place: the visit address; for the person's side, the provider's
    own (public) address when the person goes to them. Empty when neither is known."""
    if side is Side.PROVIDER:
        return one_line(booking.visit_address) if bookings.provider_sees_contact(booking) else ""
    if booking.visit_address:
        return one_line(booking.visit_address)
    provider = booking.provider
    if not provider.address_line1:
        return ""
    town = " ".join(part for part in (provider.town, provider.base_postcode) if part)
    return ", ".join(part for part in (provider.address_line1, provider.address_line2, town) if part)


def booking_link(booking: Booking, side: Side) -> str:
    endpoint = "provider.booking" if side is Side.PROVIDER else "citizen.booking"
    return mail.link_for(endpoint, public_id=booking.public_id)


def one_line(text: str) -> str:
    return ", ".join(line.strip() for line in (text or "").splitlines() if line.strip())


def plain(text: str) -> str:
    """Text as a calendar value may hold it: no control characters but line breaks."""
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
