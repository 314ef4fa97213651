"""UK time: the marketplace counts UK calendar days (Europe/London), whatever the server's
own time zone. Budgets, statements, bookings and every date people read use these."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.database import utcnow

UK = ZoneInfo("Europe/London")


def local_midnight(day: dt.date) -> dt.datetime:
    """The moment a UK calendar day starts, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=UK)


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(UK).date()


def uk_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in the UK: the calendar day budgets, statements and bookings are counted in."""
    return local_date(now or utcnow())
