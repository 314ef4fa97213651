"""Bookings and their visits: planned for each person over the year (weekly series and
one-off visits within what a budget can pay each period), the provider's answer, what
became of each visit, when money was set aside for it (``hold_time``), and the rows for
bookings, visits and their timeline of events.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from app.uk_time import UK
from bench.reports_market_calendar import DAY, HOUR, Calendar, local
from bench.reports_market_catalogue import CATEGORY_WEIGHTS, weighted
from bench.reports_market_copy import Tables
from bench.reports_market_people import Person

VISITS_A_YEAR = 23  # per person, on average
DURATION = {"hour": HOUR, "visit": HOUR, "day": 6 * HOUR, "night": 12 * HOUR, "week": 7 * DAY, "item": HOUR / 2}
DECLINE_REASONS = (
    "No carers available at those times", "We cannot cover that area", "Fully booked that week",
    "The needs described are beyond what we offer", "No staff with the right training", "Fully booked",
)  # fmt: skip


@dataclass(slots=True)
class Visit:
    id: int
    starts: dt.datetime
    ends: dt.datetime
    units: int
    amount: int
    status: str = "scheduled"
    delivered_units: int | None = None
    charged: int = 0
    settled_at: dt.datetime | None = None
    settled_by: int | None = None


@dataclass(slots=True)
class Booking:
    id: int
    person: Person
    service: tuple  # (id, provider_id, category_id, price, unit, title)
    created: dt.datetime
    visits: list
    status: str = "accepted"
    decided: dt.datetime | None = None
    reason: str | None = None
    cancelled: dt.datetime | None = None


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def reference(booking_id: int) -> str:
    """A booking reference like the service's (BK- and 6 letters), unique by construction."""
    n, letters = booking_id * 7_368_787 % 32**6, []
    for _ in range(6):
        n, r = divmod(n, 32)
        letters.append(_ALPHABET[r])
    return "BK-" + "".join(letters)


ROUTES = {"managed": "budget", "isf": "budget", "direct_payment": "prepaid", "self_funded": "self"}
PERIOD_CAP = 1_600_000  # the most a person's visits in one period may cost (budgets are capped at £20,000 a period)


def plan_bookings(t: Tables, rng: random.Random, person: Person, catalogue: dict, cal: Calendar, months: int) -> None:
    """A person's bookings over the year: weekly series and one-off visits, until they have
    about their share of the visits."""
    target = max(1, round(rng.gauss(1, 0.5) * VISITS_A_YEAR * months / 12))
    slugs, weights = zip(*CATEGORY_WEIGHTS.items(), strict=True)
    demand: dict[int, int] = {}
    planned, tries = 0, 0
    while planned < target and tries < 40:
        tries += 1
        if person.isf_provider is not None:
            services = catalogue["by_provider"][person.isf_provider]
        else:
            services = catalogue["by_route"].get((ROUTES[person.way], rng.choices(slugs, weights=weights)[0]))
        if not services:
            continue
        booking = _new_booking(t, rng, person, weighted(rng, services, catalogue["weights"]), cal)
        if booking is None:
            continue
        if person.budget_id is not None:
            cost: dict[int, int] = {}
            for visit in booking.visits:
                cost[cal.period_of(visit.starts)] = cost.get(cal.period_of(visit.starts), 0) + visit.amount
            if any(demand.get(p, 0) + c > PERIOD_CAP for p, c in cost.items()):
                continue
            for p, c in cost.items():
                demand[p] = demand.get(p, 0) + c
        _decide(rng, booking, cal)
        _outcomes(rng, booking, cal)
        booking.id = t.next_id("bookings")
        for visit in booking.visits:
            visit.id = t.next_id("booking_visits")
        person.bookings.append(booking)
        planned += len(booking.visits)


def _new_booking(t: Tables, rng: random.Random, person: Person, service: tuple, cal: Calendar) -> Booking | None:
    earliest = person.starts + 2 * DAY
    latest = cal.now + 21 * DAY
    if earliest >= latest:
        return None
    day = (earliest + (latest - earliest) * rng.random()).astimezone(UK).date()
    unit = service[4]
    hour = {"day": 9.5, "night": 20, "week": 10}.get(unit, rng.choice((7, 8, 9, 10, 11, 12, 14, 16, 18, 19)) + rng.choice((0, 0.5)))
    weeks = rng.randint(4, 16) if rng.random() < 0.55 else 1
    visits = []
    for week in range(weeks):
        starts = local(day + dt.timedelta(weeks=week), hour)
        if starts <= earliest or starts > cal.now + 56 * DAY:
            continue
        units = rng.choice((1, 1, 2, 2, 3, 4)) if unit == "hour" else 1
        visits.append(Visit(0, starts, starts + DURATION[unit] * units, units, units * service[3]))
    if not visits:
        return None
    created = max(visits[0].starts - rng.uniform(1, 21) * DAY, person.starts + HOUR)
    created = min(created, cal.now - rng.uniform(0.5, 48) * HOUR, visits[0].starts - HOUR)
    if created <= person.starts:
        return None
    return Booking(0, person, service, created, visits)


def _decide(rng: random.Random, booking: Booking, cal: Calendar) -> None:
    """The provider's answer: most accept within hours, some take days, a few decline; a few
    recent requests are still waiting. Some accepted bookings are later cancelled whole."""
    first = booking.visits[0].starts
    if booking.created > cal.now - 2 * DAY and first > cal.now and rng.random() < 0.35:
        booking.status = "requested"
        return
    delay = min(rng.lognormvariate(1.8, 1.2) * HOUR, (first - booking.created) / 2, (cal.now - booking.created) / 2)
    booking.decided = booking.created + delay
    if rng.random() < 0.07:
        booking.status, booking.reason = "declined", rng.choice(DECLINE_REASONS)
        return
    if len(booking.visits) >= 2 and rng.random() < 0.05:
        low, high = booking.decided + HOUR, min(booking.visits[-1].starts, cal.now) - HOUR
        if high > low:
            booking.cancelled = low + (high - low) * rng.random()


def hold_time(booking: Booking, visit: Visit, cal: Calendar) -> dt.datetime | None:
    """When money was set aside for a budget-paid visit: when booked, if its period was paid
    in by then, else when its period was paid in; None if that has not happened yet."""
    if booking.person.budget_id is None:
        return None
    period = cal.period_of(visit.starts)
    if period >= len(cal.period_starts):
        return None
    return max(booking.created, cal.funded_at(period))


def _outcomes(rng: random.Random, booking: Booking, cal: Calendar) -> None:
    """What became of each visit: delivered (now and then in part), cancelled in good time or
    too late (charged), cancelled by the provider, declined, or still to come."""
    budget = booking.person.budget_id is not None
    late_one = True
    for visit in booking.visits:
        held_at = hold_time(booking, visit, cal)
        if booking.status == "declined":
            _settle(visit, "declined", booking.decided, "staff")
        elif booking.cancelled is not None and visit.starts > booking.cancelled:
            covered = not budget or (held_at is not None and held_at < booking.cancelled)
            late = late_one and visit.starts - booking.cancelled < 24 * HOUR and covered
            _settle(visit, "late_cancelled" if late else "cancelled", booking.cancelled, "person", charged=visit.amount if late else 0)
            late_one = False
        elif visit.starts > cal.now - DAY or booking.status == "requested":
            visit.status = "held" if held_at is not None and held_at <= cal.now else "scheduled"
        else:
            _past_visit(rng, booking, visit, held_at, cal.now)


def _past_visit(rng: random.Random, booking: Booking, visit: Visit, held_at: dt.datetime | None, now: dt.datetime) -> None:
    roll = rng.random()
    earliest = max(booking.decided, held_at or booking.decided) + HOUR
    if roll < 0.04 and visit.starts - 2 * DAY > earliest:
        _settle(visit, "cancelled", visit.starts - rng.uniform(2, min(8, (visit.starts - earliest) / DAY)) * DAY, "person")
    elif roll < 0.06 and visit.starts - 20 * HOUR > earliest:
        _settle(visit, "late_cancelled", visit.starts - rng.uniform(1, 20) * HOUR, "person", charged=visit.amount)
    elif roll < 0.08 and visit.starts - 1 * DAY > earliest:
        _settle(visit, "cancelled", visit.starts - rng.uniform(1, min(4, (visit.starts - earliest) / DAY)) * DAY, "staff")
    else:
        units = visit.units - 1 if visit.units > 1 and rng.random() < 0.08 else visit.units
        recorded = min(visit.ends + rng.uniform(0.2, 30) * HOUR, now - rng.uniform(1, 600) * dt.timedelta(minutes=1))
        _settle(visit, "delivered", recorded, "staff", charged=units * visit.amount // visit.units)
        visit.delivered_units = units


def _settle(visit: Visit, status: str, at: dt.datetime, by: str, charged: int = 0) -> None:
    visit.status, visit.settled_at, visit.settled_by, visit.charged = status, at, by, charged


BOOKING_COLUMNS = (
    "id public_id reference request_key service_id provider_id citizen_id booked_by_id budget_id payment_method schedule "
    "unit_price_pence price_unit total_pence status message visit_address contact_phone area_district decline_reason decided_at "
    "requested_notified_at created_at updated_at"
)
VISIT_COLUMNS = "id booking_id starts_at ends_at units amount_pence status delivered_units charged_pence settled_at settled_by_id"
EVENT_COLUMNS = "id booking_id at actor_user_id kind message"


def write_booking(t: Tables, booking: Booking, staff: int) -> None:
    person, service = booking.person, booking.service
    updated = max([booking.created] + [v.settled_at for v in booking.visits if v.settled_at])
    t.add(
        "bookings",
        BOOKING_COLUMNS,
        (booking.id, f"bk{booking.id:014d}", reference(booking.id), f"bench-{booking.id}", service[0], service[1], person.id, person.id,
         person.budget_id, "budget" if person.budget_id else "card", "weekly" if len(booking.visits) > 1 else "one_off", service[3],
         service[4], sum(v.amount for v in booking.visits), booking.status, "", "", "", person.district, booking.reason,
         booking.decided, booking.created, booking.created, updated),
    )  # fmt: skip
    if person.card_id:
        t.add("booking_cards", "booking_id card_id created_at", (booking.id, person.card_id, booking.created))
    _event(t, booking, booking.created, person.id, "requested", f"Booking requested by Person {person.id}")
    if booking.decided and booking.status == "declined":
        _event(t, booking, booking.decided, staff, "declined", f"Declined by provider {service[1]}: {booking.reason}")
    elif booking.decided:
        _event(t, booking, booking.decided, staff, "accepted", f"Accepted by provider {service[1]}")
    if booking.cancelled:
        _event(t, booking, booking.cancelled, person.id, "cancelled", "Booking cancelled")
    for visit in booking.visits:
        visit.settled_by = {"staff": staff, "person": person.id}.get(visit.settled_by)
        t.add(
            "booking_visits",
            VISIT_COLUMNS,
            (visit.id, booking.id, visit.starts, visit.ends, visit.units, visit.amount, visit.status, visit.delivered_units,
             visit.charged, visit.settled_at, visit.settled_by),
        )  # fmt: skip
        if visit.status == "delivered":
            _event(t, booking, visit.settled_at, staff, "delivered", f"Visit delivered ({visit.delivered_units} of {visit.units})")
        elif visit.status in ("cancelled", "late_cancelled") and not booking.cancelled:
            _event(t, booking, visit.settled_at, visit.settled_by, "cancelled", "Visit cancelled")


def _event(t: Tables, booking: Booking, at: dt.datetime, actor: int | None, kind: str, message: str) -> None:
    t.add("booking_events", EVENT_COLUMNS, (t.next_id("booking_events"), booking.id, at, actor, kind, message))
