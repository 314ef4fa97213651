"""A provider's own listings: create, edit, publish, withdraw; usual weekly hours; and
closures on dates. Every function checks the person is on the provider's team with a
role that allows it; someone else's listing is NotFound.

The search index follows model changes by itself, so these functions only
change models and commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, select

from app.database import MAX_ID, utcnow
from app.extensions import db
from app.models import (
    MAX_PRICE_PENCE,
    Category,
    FundingRoute,
    PeopleGroup,
    PriceUnit,
    Provider,
    ProviderStaff,
    ProviderStatus,
    Service,
    ServiceClosure,
    ServiceHours,
    ServiceStatus,
    User,
)
from app.services import accounts, audit, bank_holidays, people_supported, team
from app.services.errors import InvalidTransition, NotFound, ValidationError
from app.services.text import clean_multiline

MAX_TITLE = 160
MAX_DESCRIPTION = 5000
MAX_NOTE = 300
PRICE_RE = re.compile(r"^£?\s*(\d{1,6})(?:\.(\d{1,2}))?$")
PEOPLE_SUPPORTED_INVALID = "Select who the service supports from the list"


def parse_price(text: str | None) -> int:
    """'£24.50' or '24.5' -> 2450 pence, with GOV.UK messages."""
    cleaned = (text or "").replace(",", "").strip()
    if not cleaned:
        raise ValidationError({"price": "Enter a price"})
    match = PRICE_RE.match(cleaned)
    if not match:
        raise ValidationError({"price": "Enter a price in pounds and pence, like 24.50"})
    pounds, pence = match.group(1), (match.group(2) or "0").ljust(2, "0")
    amount = int(pounds) * 100 + int(pence)
    if amount <= 0:
        raise ValidationError({"price": "Enter a price above £0"})
    if amount > MAX_PRICE_PENCE:
        raise ValidationError({"price": f"Enter a price of £{MAX_PRICE_PENCE // 100:,} or less"})
    return amount


def price_text(pence: int) -> str:
    return f"{pence // 100}.{pence % 100:02d}"


@dataclass
class ListingInput:
    title: str = ""
    category_id: int | None = None
    description: str = ""
    price: str = ""
    price_unit: str = ""
    min_units: int | None = 1
    funding_routes: list[str] = field(default_factory=list)
    availability_note: str = ""
    people_supported: list[str] = field(default_factory=list)  # PeopleGroup values; none is fine


def _validated(data: ListingInput) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}
    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = "Enter a name for the service"
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Name must be {MAX_TITLE} characters or fewer"
    values["title"] = title
    known_id = isinstance(data.category_id, int) and 0 < data.category_id <= MAX_ID
    category = db.session.get(Category, data.category_id) if known_id else None
    if category is None:
        errors["category_id"] = "Select the kind of care or support"
    else:
        values["category_id"] = category.id
    description = clean_multiline(data.description)
    if not description:
        errors["description"] = "Describe the service"
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"Description must be {MAX_DESCRIPTION:,} characters or fewer"
    values["description"] = description
    try:
        values["price_pence"] = parse_price(data.price)
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        values["price_unit"] = PriceUnit(data.price_unit)
    except ValueError:
        errors["price_unit"] = "Select what the price is for, like an hour or a visit"
    if data.min_units is None or not 1 <= data.min_units <= 100:
        errors["min_units"] = "Enter a minimum between 1 and 100"
    else:
        values["min_units"] = data.min_units
    routes = set()
    for value in data.funding_routes:
        with contextlib.suppress(ValueError):
            routes.add(FundingRoute(value))
    if not routes:
        errors["funding_routes"] = "Select at least one way people can pay"
    for route in FundingRoute:
        values[route.column] = route in routes
    note = " ".join((data.availability_note or "").split())
    if len(note) > MAX_NOTE:
        errors["availability_note"] = f"Notes must be {MAX_NOTE} characters or fewer"
    values["availability_note"] = note
    try:
        values["people_supported"] = _groups(data.people_supported)
    except ValueError as exc:
        errors["people_supported"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return values


def _groups(values: list[str]) -> list[PeopleGroup]:
    """The groups of people chosen, in the order people see them (none is an answer)."""
    chosen = set()
    for value in values:
        try:
            chosen.add(PeopleGroup(value))
        except ValueError:
            raise ValueError(PEOPLE_SUPPORTED_INVALID) from None
    return [group for group in PeopleGroup if group in chosen]


def listing_input(service: Service) -> ListingInput:
    return ListingInput(
        title=service.title,
        category_id=service.category_id,
        description=service.description,
        price=price_text(service.price_pence),
        price_unit=service.price_unit.value,
        min_units=service.min_units,
        funding_routes=[r.value for r in service.funding_routes],
        availability_note=service.availability_note,
        people_supported=[group.value for group in service.people_supported],
    )


def _membership(user: User, provider: Provider, action: str) -> ProviderStaff:
    membership = team.require_member(user, provider)
    team.require(membership, action)
    return membership


def services_of(provider: Provider) -> list[Service]:
    return list(db.session.execute(select(Service).where(Service.provider_id == provider.id).order_by(Service.title, Service.id)).scalars())


def get_own_service(user: User, service_id: int) -> Service:
    """A listing of the user's own organisation, or NotFound."""
    provider = accounts.provider_for_staff(user)
    service = db.session.get(Service, service_id)
    if service is None or provider is None or service.provider_id != provider.id:
        raise NotFound("No such listing")
    return service


def create(user: User, provider: Provider, data: ListingInput) -> Service:
    _membership(user, provider, "edit_listings")
    values = _validated(data)
    groups = values.pop("people_supported")
    service = Service(provider_id=provider.id, status=ServiceStatus.DRAFT, **values)
    people_supported.declare(service, groups)
    db.session.add(service)
    db.session.flush()
    audit.record(user, "service.created", "service", service.id, after=_snapshot(service))
    db.session.commit()
    return service


AUDITED_FIELDS = (
    "title",
    "category_id",
    "description",
    "price_pence",
    "price_unit",
    "min_units",
    "accepts_personal_budget",
    "accepts_prepaid_card",
    "accepts_self_funder",
    "availability_note",
)


def _snapshot(service: Service) -> dict:
    return {name: getattr(service, name) for name in AUDITED_FIELDS} | {
        "status": service.status,
        "people_supported": service.people_supported,
    }


def update(user: User, service: Service, data: ListingInput, *, now: dt.datetime | None = None) -> Service:
    """Change a listing; ``now``: when, if not now (history made as of a past moment)."""
    _membership(user, service.provider, "edit_listings")
    values = _validated(data)
    before = _snapshot(service)
    people_supported.declare(service, values.pop("people_supported"))
    for name, value in values.items():
        setattr(service, name, value)
    if now is not None:
        service.updated_at = now
    db.session.flush()
    old, new = audit.changes(before, _snapshot(service))
    if "price_pence" in new or "price_unit" in new:
        audit.record(
            user,
            "service.price_changed",
            "service",
            service.id,
            before={"price_pence": before["price_pence"], "price_unit": before["price_unit"]},
            after={"price_pence": service.price_pence, "price_unit": service.price_unit},
            note=service.title,
            at=now,
        )
    other_old = {k: v for k, v in old.items() if k not in ("price_pence", "price_unit")}
    other_new = {k: v for k, v in new.items() if k not in ("price_pence", "price_unit")}
    if other_new:
        audit.record(user, "service.updated", "service", service.id, before=other_old, after=other_new, at=now)
    db.session.commit()
    return service


def publish_problems(service: Service) -> list[str]:
    """What stops a listing from being published, in words the provider can act on."""
    problems = []
    provider = service.provider
    if provider.status in (ProviderStatus.REJECTED, ProviderStatus.SUSPENDED):
        problems.append(f"Your organisation is {provider.status.label.lower()}, so its listings cannot be published.")
    if not provider.areas and not (provider.service_radius_miles and provider.base_district):
        problems.append("Add at least one area you work in to your organisation's profile.")
    if not service.funding_routes:
        problems.append("Choose at least one way people can pay.")
    if not 0 < service.price_pence <= MAX_PRICE_PENCE:
        problems.append("Set a price above £0.")
    if not service.description.strip():
        problems.append("Describe the service.")
    return problems


def publish(user: User, service: Service, *, now: dt.datetime | None = None) -> Service:
    """Publish a listing; ``now``: when, if not now (history made as of a past moment)."""
    _membership(user, service.provider, "edit_listings")
    if service.status is ServiceStatus.PUBLISHED:
        raise InvalidTransition("This listing is already published.")
    problems = publish_problems(service)
    if problems:
        raise ValidationError({"publish": " ".join(problems)})
    before = service.status
    service.status = ServiceStatus.PUBLISHED
    service.published_at = now or utcnow()
    if now is not None:
        service.updated_at = now
    audit.record(
        user,
        "service.published",
        "service",
        service.id,
        before={"status": before},
        after={"status": service.status},
        note=service.title,
        at=now,
    )
    db.session.commit()
    return service


def withdraw(user: User, service: Service, *, now: dt.datetime | None = None) -> Service:
    """Withdraw a listing; ``now``: when, if not now (history made as of a past moment)."""
    _membership(user, service.provider, "edit_listings")
    if service.status is not ServiceStatus.PUBLISHED:
        raise InvalidTransition("Only a published listing can be withdrawn.")
    service.status = ServiceStatus.WITHDRAWN
    if now is not None:
        service.updated_at = now
    audit.record(
        user,
        "service.withdrawn",
        "service",
        service.id,
        before={"status": ServiceStatus.PUBLISHED},
        after={"status": service.status},
        note=service.title,
        at=now,
    )
    db.session.commit()
    return service


# -- Weekly hours ------------------------------------------------------------------------

TIME_RE = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def parse_time(text: str, field_name: str) -> dt.time:
    """'9', '09:00', '9am', '5:30pm', '17:30' -> a time, or ValidationError."""
    match = TIME_RE.match((text or "").strip().lower().replace(" ", ""))
    if not match:
        raise ValidationError({field_name: "Enter a time, like 09:00 or 17:30"})
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise ValidationError({field_name: "Enter a time, like 9am or 5:30pm"})
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour == 24 and minute == 0:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValidationError({field_name: "Enter a real time, like 09:00 or 17:30"})
    return dt.time(hour, minute)


@dataclass
class Session:
    weekday: int
    slot: int  # 0 or 1: the first or second session of the day
    opens: str
    closes: str


def set_hours(user: User, service: Service, sessions: list[Session]) -> Service:
    """Replace the usual weekly hours. A session with neither time is no session."""
    _membership(user, service.provider, "edit_listings")
    errors: dict[str, str] = {}
    parsed: list[tuple[int, dt.time, dt.time]] = []
    for s in sessions:
        prefix = f"day{s.weekday}_{s.slot}"
        if not (s.opens or "").strip() and not (s.closes or "").strip():
            continue
        try:
            opens = parse_time(s.opens, f"{prefix}_opens")
            closes = parse_time(s.closes, f"{prefix}_closes")
        except ValidationError as exc:
            errors.update(exc.errors)
            continue
        if opens == closes:
            errors[f"{prefix}_closes"] = "The closing time must be different from the opening time"
            continue
        parsed.append((s.weekday, opens, closes))
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens, closes in parsed:
        by_day.setdefault(weekday, []).append((opens, closes))
    for weekday, day_sessions in by_day.items():
        if len(day_sessions) > 1:
            (a_open, a_close), (b_open, b_close) = sorted(day_sessions)
            overnight = a_close < a_open or b_close < b_open
            if a_open == b_open or overnight or a_close > b_open:
                errors[f"day{weekday}_1_opens"] = "The second time on a day must start after the first one ends"
    if errors:
        raise ValidationError(errors)
    # The old rows go first: a day saved unchanged would otherwise be inserted beside itself.
    service.hours.clear()
    db.session.flush()
    service.hours = [ServiceHours(weekday=w, opens_at=o, closes_at=c) for w, o, c in sorted(parsed)]
    # The hours are rows of their own, so the listing's onupdate does not fire: the
    # service page's "Last updated" must still move when its days and times change.
    service.updated_at = utcnow()
    db.session.commit()
    return service


# -- Closures --------------------------------------------------------------------------------


def closures_of(provider: Provider, *, from_date: dt.date | None = None) -> list[ServiceClosure]:
    query = select(ServiceClosure).where(ServiceClosure.provider_id == provider.id)
    if from_date is not None:
        query = query.where(ServiceClosure.ends_on >= from_date)
    return list(db.session.execute(query.order_by(ServiceClosure.starts_on, ServiceClosure.id)).scalars())


def closures_for_service(service: Service, from_date: dt.date, to_date: dt.date) -> list[ServiceClosure]:
    """Closures that touch [from_date, to_date] for this service (its own, and its
    provider's closures of every service). Bookings use this."""
    return list(
        db.session.execute(
            select(ServiceClosure)
            .where(closures_touching(service.id, service.provider_id, from_date, to_date))
            .order_by(ServiceClosure.starts_on)
        ).scalars()
    )


def closures_touching(service_id, provider_id, from_date: dt.date, to_date: dt.date):
    """Which closures ``closures_for_service`` finds, as a condition (the ids may be
    columns, so another query can ask whether there are any)."""
    return and_(
        ServiceClosure.provider_id == provider_id,
        (ServiceClosure.service_id.is_(None)) | (ServiceClosure.service_id == service_id),
        ServiceClosure.starts_on <= to_date,
        ServiceClosure.ends_on >= from_date,
    )


def is_closed_on(service: Service, day: dt.date) -> bool:
    return bool(closures_for_service(service, day, day))


def add_closure(
    user: User, provider: Provider, *, service_id: int | None, starts_on: dt.date | None, ends_on: dt.date | None, reason: str
) -> ServiceClosure:
    _membership(user, provider, "edit_listings")
    errors = {}
    if starts_on is None:
        errors["starts_on"] = "Enter the first day you are closed"
    if ends_on is None:
        ends_on = starts_on
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = "The last day must be the same as or after the first day"
    if starts_on and ends_on and (ends_on - starts_on).days > 366:
        errors["ends_on"] = "A closure can be at most a year long. To stop a service, withdraw its listing"
    reason = " ".join((reason or "").split())
    if len(reason) > 120:
        errors["reason"] = "Reason must be 120 characters or fewer"
    if service_id is not None:
        service = db.session.get(Service, service_id)
        if service is None or service.provider_id != provider.id:
            errors["service_id"] = "Select one of your services"
    if errors:
        raise ValidationError(errors)
    closure = ServiceClosure(provider_id=provider.id, service_id=service_id, starts_on=starts_on, ends_on=ends_on, reason=reason)
    db.session.add(closure)
    db.session.commit()
    return closure


def remove_closure(user: User, provider: Provider, closure_id: int) -> None:
    _membership(user, provider, "edit_listings")
    closure = db.session.get(ServiceClosure, closure_id)
    if closure is None or closure.provider_id != provider.id:
        raise NotFound("No such closure")
    db.session.delete(closure)
    db.session.commit()


def add_bank_holidays(user: User, provider: Provider, year: int) -> int:
    """Close every service on England and Wales bank holidays in ``year`` (skipping days
    already closed for all services). Returns how many closures were added."""
    _membership(user, provider, "edit_listings")
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": "Enter a year between 2000 and 2100"})
    existing = {(c.starts_on, c.ends_on) for c in closures_of(provider) if c.service_id is None}
    added = 0
    for day, name in bank_holidays.england_and_wales(year):
        if (day, day) in existing:
            continue
        db.session.add(ServiceClosure(provider_id=provider.id, service_id=None, starts_on=day, ends_on=day, reason=name))
        added += 1
    db.session.commit()
    return added
