"""When a service can be booked: its usual hours, the days it is closed, the dates of a
weekly series, and how long each unit of the price lasts."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import String, cast, func, select

from app.models import (
    BookingSchedule,
    PriceUnit,
    Service,
    ServiceHours,
)
from app.services import listings
from app.services.bookings.requests import BookingRequest
from app.uk_time import UK


def unit_span(unit: PriceUnit, units: int) -> dt.timedelta:
    if unit is PriceUnit.HOUR:
        return dt.timedelta(hours=units)
    if unit in (PriceUnit.DAY, PriceUnit.NIGHT):
        return dt.timedelta(days=units)
    if unit is PriceUnit.WEEK:
        return dt.timedelta(weeks=units)
    return dt.timedelta(hours=1)  # a visit, or an item delivered in an hour's slot


class OpenHours(NamedTuple):
    """One of a service's usual opening windows (as ``ServiceHours`` has them)."""

    weekday: int
    opens_at: dt.time
    closes_at: dt.time


def weekly_hours_text(service_id):
    """A service's usual hours as one column of text ("weekday opens closes;..."), read in
    the same row as the service (``service_id`` is its id column); ``weekly_hours`` reads it."""
    hours = ServiceHours.__table__
    window = cast(hours.c.weekday, String) + " " + cast(hours.c.opens_at, String) + " " + cast(hours.c.closes_at, String)
    return select(func.aggregate_strings(window, ";")).where(hours.c.service_id == service_id).scalar_subquery()


def weekly_hours(text: str | None) -> tuple[OpenHours, ...]:
    """The windows ``weekly_hours_text`` lists (none: the service has no usual hours)."""
    found = []
    for window in (text or "").split(";"):
        if window:
            weekday, opens, closes = window.split(" ")
            found.append(OpenHours(int(weekday), dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)))
    return tuple(found)


def _windows(hours, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """Opening windows that start on ``day`` (overnight ones end the next morning)."""
    out = []
    for slot in hours:
        if slot.weekday != day.weekday():
            continue
        opens = dt.datetime.combine(day, slot.opens_at, tzinfo=UK)
        close_day = day + dt.timedelta(days=1) if slot.closes_at < slot.opens_at else day
        closes = dt.datetime.combine(close_day, slot.closes_at, tzinfo=UK)
        out.append((opens, closes))
    return out


def within_hours(hours, starts_at: dt.datetime, ends_at: dt.datetime, unit: PriceUnit, units: int) -> bool:
    """Whether a visit from ``starts_at`` to ``ends_at`` falls in the service's usual
    ``hours`` (``ServiceHours`` or ``OpenHours``)."""
    day = starts_at.astimezone(UK).date()
    start_local = starts_at.astimezone(UK)
    candidates = _windows(hours, day) + _windows(hours, day - dt.timedelta(days=1))
    if unit is PriceUnit.HOUR:
        end_local = ends_at.astimezone(UK)
        return any(opens <= start_local and end_local <= closes for opens, closes in candidates)
    if not any(opens <= start_local < closes for opens, closes in candidates):
        return False
    if unit in (PriceUnit.DAY, PriceUnit.NIGHT):
        # Every day (or night) booked must be one the service runs.
        return all(_windows(hours, day + dt.timedelta(days=i)) for i in range(units))
    return True


def visit_dates(request: BookingRequest) -> list[dt.date]:
    if request.schedule is BookingSchedule.ONE_OFF:
        return [request.first_date]
    end = request.first_date + dt.timedelta(weeks=request.weeks)
    return [
        request.first_date + dt.timedelta(days=i)
        for i in range((end - request.first_date).days)
        if (request.first_date + dt.timedelta(days=i)).weekday() in request.weekdays
    ]


def days_asked_for(request: BookingRequest) -> tuple[dt.date, dt.date] | None:
    """The first and last day a request can cover whatever the service's unit (a day or
    night booking runs on for its units), or None while its numbers are not yet valid: a
    closure outside these days cannot stop it."""
    units, weeks = request.units, request.weeks if request.schedule is BookingSchedule.WEEKLY else 0
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (units, weeks)):
        return None
    try:
        return request.first_date, request.first_date + dt.timedelta(weeks=weeks, days=max(units, 1))
    except (OverflowError, TypeError):
        return None  # far beyond any date a booking may have (the plan says so)


def closed_days(service: Service, dates: list[dt.date], unit: PriceUnit, units) -> dict[dt.date, str]:
    """Days in the booking's span when the provider is closed, with the reason given."""

    if not dates:
        return {}
    span = units if unit in (PriceUnit.DAY, PriceUnit.NIGHT) and isinstance(units, int) else 1
    closed: dict[dt.date, str] = {}
    for closure in listings.closures_for_service(service, min(dates), max(dates) + dt.timedelta(days=max(span, 1))):
        day = closure.starts_on
        while day <= closure.ends_on:
            closed.setdefault(day, closure.reason or "")
            day += dt.timedelta(days=1)
    return closed
