"""Planning a booking: check what a person asks for and work out its visits and cost.
Writes nothing; ``creation`` plans again inside its unit of work."""

from __future__ import annotations

import datetime as dt
from functools import cache

from sqlalchemy import bindparam, exists, select, true
from sqlalchemy.orm import joinedload, lazyload

from app.database import utcnow
from app.extensions import db
from app.models import (
    BookingSchedule,
    PriceUnit,
    Provider,
    ProviderStatus,
    Service,
    ServiceStatus,
    User,
)
from app.services import listings, provider_contact
from app.services.bookings.payment import payment_strategy
from app.services.bookings.requests import BookingRequest, Funding, PlannedVisit, Quote
from app.services.bookings.timing import (
    OpenHours,
    closed_days,
    days_asked_for,
    unit_span,
    visit_dates,
    weekly_hours,
    weekly_hours_text,
    within_hours,
)
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.policy import Policy
from app.services.text import is_phone_number
from app.uk_time import UK

MAX_DAYS_AHEAD = 366
MAX_WEEKS = 52
MAX_MESSAGE = 1000
MAX_ADDRESS = 300
MAX_UNITS = {
    PriceUnit.HOUR: 24,
    PriceUnit.VISIT: 10,
    PriceUnit.DAY: 14,
    PriceUnit.NIGHT: 28,
    PriceUnit.WEEK: 12,
    PriceUnit.ITEM: 20,
}


def _because(reason: str) -> str:
    return f" ({reason})" if reason else ""


def listed_service(service_id: int) -> Service:
    """A service that can be booked: published, by a verified provider that someone can
    answer requests for (Conflict, saying how to contact it, if nobody can)."""
    return _bookable(service_id, None)[0]


def _bookable(service_id: int, days: tuple[dt.date, dt.date] | None) -> tuple[Service, tuple[OpenHours, ...], bool]:
    """``listed_service``, its usual hours, and whether any closure touches ``days`` (True
    if not asked), in one query of one row: the service, its hours (the plan checks every
    visit against them), whether its provider can be reached, and whether the provider is
    closed on any of those days."""
    params = {"service_id": service_id}
    if days:
        params |= {"from_date": days[0], "to_date": days[1]}
    row = db.session.execute(_bookable_query(bool(days)), params).first()
    service = row[0] if row is not None else None
    if service is None or service.status is not ServiceStatus.PUBLISHED or service.provider.status is not ProviderStatus.VERIFIED:
        raise NotFound("No such service")
    if not provider_contact.can_be_reached(service.provider, team_known=(row[1], row[2])):
        raise Conflict(provider_contact.unreachable_message(service.provider))
    return service, weekly_hours(row[4]), bool(row[3])


@cache
def _bookable_query(with_days: bool):
    """``_bookable``'s query, built once per process (its cache key too): the service as it
    is now (loaded again even if this session holds it) with its provider, and its hours as
    one column of text; not what a booking never reads (its type of support, the provider's
    base district's place on the map: the search's), loaded only if something asks."""
    team = provider_contact.team_columns(Service.provider_id)
    closed = true()
    if with_days:
        touching = listings.closures_touching(Service.id, Service.provider_id, bindparam("from_date"), bindparam("to_date"))
        closed = exists().where(touching)
    return (
        select(Service, *team, closed, weekly_hours_text(Service.id))
        .where(Service.id == bindparam("service_id"))
        .options(joinedload(Service.provider).lazyload(Provider.district), lazyload(Service.category))
        .execution_options(populate_existing=True)
    )


def plan(request: BookingRequest, *, citizen: User, policy: Policy, now: dt.datetime | None = None, booker: User | None = None) -> Quote:
    """Check a booking request and work out its visits and cost. Writes nothing.

    ``booker`` is who is booking (the citizen, or their representative); it defaults to the citizen.

    Raises ValidationError naming each problem in words a person can act on.
    """
    now = now or utcnow()
    booker = booker or citizen
    service, hours, maybe_closed = _bookable(request.service_id, days_asked_for(request))
    strategy = payment_strategy(request.payment_method)
    errors = _request_errors(request, service, now)
    funding = strategy.check_request(request, service=service, citizen=citizen, booker=booker, errors=errors) or Funding()
    if errors:
        raise ValidationError(errors)
    visits, skipped = _planned_visits(request, service, hours, funding, now, maybe_closed=maybe_closed)
    quote = Quote(service, request, service.price_pence, visits, funding.budget, funding.available_pence, funding.outcome, skipped)
    strategy.check_quote(quote, funding)
    return quote


def _request_errors(request: BookingRequest, service: Service, now: dt.datetime) -> dict[str, str]:
    """What is wrong with the request's own fields, each in words a person can act on."""
    errors: dict[str, str] = {}
    unit, units = service.price_unit, request.units
    top, low = MAX_UNITS[unit], max(1, service.min_units)
    if isinstance(units, bool) or not isinstance(units, int) or not (low <= units <= top):
        errors["units"] = f"Enter a number of {unit.value}s from {low} to {top}"
    if request.start_time.minute % 15 or request.start_time.second:
        errors["start_time"] = "Choose a start time on the hour, or at quarter past, half past or quarter to"
    today = now.astimezone(UK).date()
    if request.first_date < today:
        errors["first_date"] = "The date must be today or in the future"
    elif request.first_date > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        errors["first_date"] = "The date must be within the next year"
    if request.schedule is BookingSchedule.WEEKLY:
        if not request.weekdays or any(d not in range(7) for d in request.weekdays):
            errors["weekdays"] = "Select the days of the week you want"
        if isinstance(request.weeks, bool) or not isinstance(request.weeks, int) or not (1 <= request.weeks <= MAX_WEEKS):
            errors["weeks"] = f"Enter a number of weeks from 1 to {MAX_WEEKS}"
    if len(request.message or "") > MAX_MESSAGE:
        errors["message"] = f"Your message must be {MAX_MESSAGE} characters or fewer"
    if len(request.visit_address or "") > MAX_ADDRESS:
        errors["visit_address"] = f"The address must be {MAX_ADDRESS} characters or fewer"
    phone = (request.contact_phone or "").strip()
    if phone and not is_phone_number(phone):
        errors["contact_phone"] = "Enter a telephone number, like 01733 123456 or 07700 900123"
    return errors


def _planned_visits(
    request: BookingRequest, service: Service, hours, funding: Funding, now: dt.datetime, *, maybe_closed: bool = True
) -> tuple[list[PlannedVisit], list[tuple[dt.date, str]]]:
    """The visits on the days asked for, and the days of a weekly series skipped because the
    provider is closed. Raises ValidationError for a time the service cannot be booked at."""
    unit, units = service.price_unit, request.units
    visits: list[PlannedVisit] = []
    skipped: list[tuple[dt.date, str]] = []
    dates = visit_dates(request)
    closed = closed_days(service, dates, unit, units) if maybe_closed else {}
    for day in dates:
        covered = [day + dt.timedelta(days=i) for i in range(units if unit in (PriceUnit.DAY, PriceUnit.NIGHT) else 1)]
        shut = next((d for d in covered if d in closed), None)
        if shut is not None:
            if request.schedule is BookingSchedule.ONE_OFF:
                raise ValidationError(
                    {"first_date": f"{service.provider.name} is closed on {shut:%A %-d %B}{_because(closed[shut])}. Choose another date"}
                )
            skipped.append((shut, closed[shut]))  # a weekly series skips the provider's closed days
            continue
        starts_at = dt.datetime.combine(day, request.start_time, tzinfo=UK).astimezone(dt.UTC)
        ends_at = starts_at + unit_span(unit, units)
        if starts_at <= now:
            raise ValidationError({"start_time": "The start time must be in the future"})
        if not within_hours(hours, starts_at, ends_at, unit, units):
            raise ValidationError(
                {
                    "start_time": f"{service.provider.name} does not run this service at that time on {day:%A %-d %B}. "
                    "Check the usual days and times"
                }
            )
        visits.append(PlannedVisit(starts_at, ends_at, units, units * service.price_pence, funding.holds_now(day)))
    if not visits:
        if skipped:
            raise ValidationError({"first_date": f"{service.provider.name} is closed on every day you chose. Choose other dates"})
        raise ValidationError({"weekdays": "None of the days you chose fall within those weeks"})
    return visits, skipped
