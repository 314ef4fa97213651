"""When a service runs: each session of its usual weekly hours as an RFC 5545 weekly rule
(the profile's schedule: freq WEEKLY, byday MO..SU, opens_at and closes_at).

Times are UK local time, as providers enter them and the service's page shows them. A
session that closes earlier than it opens runs overnight into the next morning. The free
text note on availability goes with each session (or stands alone when there are none).
"""

from __future__ import annotations

from app.models import WEEKDAYS, Service, ServiceHours
from app.services.openreferral import ids
from app.services.openreferral.links import Links

BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545 days, Monday first as ServiceHours.weekday counts


def _session(service: Service, hours: ServiceHours, url: str) -> dict:
    opens, closes = hours.opens_at.strftime("%H:%M"), hours.closes_at.strftime("%H:%M")
    overnight = " (into the next morning)" if hours.overnight else ""
    body = {
        # Stable while the session is: set_hours replaces rows, so the row id is not.
        "id": ids.of("schedule", service.id, hours.weekday, opens),
        "service_id": ids.service(service.id),
        "freq": "WEEKLY",
        "interval": 1,
        "byday": BYDAY[hours.weekday],
        "opens_at": opens,
        "closes_at": closes,
        "description": f"{WEEKDAYS[hours.weekday]}, {opens} to {closes}{overnight}, UK time",
        "url": url,
    }
    if service.availability_note:
        body["notes"] = service.availability_note
    return body


def schedules(service: Service, links: Links) -> list[dict]:
    """schedule.json: ``id`` is required (and, in the profile's own schedule.json, ``url``)."""
    url = links.service(service.id)
    found = [_session(service, hours, url) for hours in service.hours]
    if not found and service.availability_note:
        found.append(
            {
                "id": ids.of("schedule", service.id, "note"),
                "service_id": ids.service(service.id),
                "description": service.availability_note,
                "url": url,
            }
        )
    return found
