"""The bookings of the demo's history, made through the real booking services "as of" the
moment each thing happened: a person asks, the provider answers after its own usual delay
(hours for some, days for others; now and then far longer) and sometimes declines, then
each visit is delivered (sometimes in part), cancelled in good time or too late (charged),
or cancelled by the provider. Weekly care comes in series of a few weeks with gaps
between; other care is booked now and then."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Booking,
    BookingSchedule,
    BookingStatus,
    BookingVisit,
    Category,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
    PaymentMethod,
    PriceUnit,
    Provider,
    ProviderArea,
    ProviderStatus,
    Service,
    ServiceStatus,
    User,
)
from app.services import bookings
from app.services.demo.history_clock import Timeline
from app.services.demo.history_people import Person
from app.services.demo.history_supply import CEILINGS, owner_of
from app.services.errors import DomainError

HISTORY_KEY_PREFIX = "demo-history-"  # the request keys of the history's bookings

DECLINE_REASONS = (
    "We have no carers free at that time in your area. We could do later in the afternoon",
    "We are fully booked until next month, sorry",
    "Our staff do not cover that part of Peterborough at weekends",
    "We cannot meet the moving and handling needs safely with one carer; please call us to talk it through",
    "We are not taking new clients while we recruit",
)
PREFERRED_HOUR = {"home-care": 8, "dementia-support": 10, "personal-assistants": 10, "befriending": 14, "cleaning": 11, "advocacy": 10}


@dataclass
class World:
    """What the history's steps share: the clock, the dice, and what happened so far."""

    rng: random.Random
    policy: object
    timeline: Timeline
    real_now: dt.datetime
    keep: set[int]  # providers the demo accounts use: history leaves them alone
    answer_hours: dict[int, float] = field(default_factory=dict)  # each provider's usual time to answer
    favour: dict[int, int] = field(default_factory=dict)  # providers people are drawn to (new, or busy)
    booking_ids: list[int] = field(default_factory=list)
    people_of: dict[int, Person] = field(default_factory=dict)  # by booking id
    counts: dict[str, int] = field(default_factory=dict)

    owners: dict[int, int | None] = field(default_factory=dict)
    regulars: dict[str, list[int]] = field(default_factory=dict)  # services budgets are placed with, by category

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def owner(self, provider: Provider) -> User | None:
        """The provider's owner (looked up once a load: every history step asks)."""
        if provider.id not in self.owners:
            found = owner_of(provider)
            self.owners[provider.id] = found.id if found else None
        owner_id = self.owners[provider.id]
        return db.session.get(User, owner_id) if owner_id is not None else None


def pick_service(world: World, person: Person, category: str, units: tuple, now: dt.datetime, *, regular: bool = False) -> Service | None:
    """A service listed now in the category that serves the person's district and takes
    their way of paying (their ISF provider's only), favouring some providers. ``regular``:
    a budget's regular care, placed mostly with the services the council already uses for
    it, so the mix of providers (and the average price paid) holds steady through the year."""
    query = (
        select(Service)
        .join(Category, Category.id == Service.category_id)
        .join(Provider, Provider.id == Service.provider_id)
        .where(
            Category.slug == category,
            Service.price_unit.in_(units),
            Service.status == ServiceStatus.PUBLISHED,
            Provider.status == ProviderStatus.VERIFIED,
            Service.provider_id.notin_(world.keep | person.avoid),
            getattr(Service, person.funding_route.column).is_(True),
        )
        .order_by(Service.id)
    )
    if person.route == "isf" and person.budget is not None:
        query = query.where(Service.provider_id == person.budget.isf_provider_id)
    near = query.where(Provider.id.in_(select(ProviderArea.provider_id).where(ProviderArea.outward_code == person.district)))
    found = db.session.execute(near).scalars().all() or db.session.execute(query).scalars().all()
    if not found:
        return None
    if regular:
        # Placed with the council's framework providers where it can, within its rates and
        # with room for a rise (see CEILINGS).
        found = [s for s in found if s.price_pence * 106 // 100 <= CEILINGS.get((category, s.price_unit), s.price_pence * 2)] or found
        found = [s for s in found if s.provider_id in _on_framework(category)] or found
        by_price = sorted(found, key=lambda s: (s.price_pence, s.id))
        found = by_price[len(found) // 4 : len(found) - len(found) // 4] or found  # neither the cheapest nor the dearest
        used = world.regulars.setdefault(category, [])
        known = [s for s in found if s.id in used]
        chosen = world.rng.choice(known) if known and world.rng.random() < 0.6 else None
        chosen = chosen or world.rng.choices(found, weights=[world.favour.get(s.provider_id, 1) for s in found])[0]
        used.append(chosen.id)
        return chosen
    return world.rng.choices(found, weights=[world.favour.get(s.provider_id, 1) for s in found])[0]


def _on_framework(category: str) -> set[int]:
    """Providers approved on the council's framework lot for the category."""
    lots = select(FrameworkLot.id).join(Category, Category.id == FrameworkLot.category_id).where(Category.slug == category)
    found = select(FrameworkMembership.provider_id).where(
        FrameworkMembership.lot_id.in_(lots), FrameworkMembership.status == MembershipStatus.APPROVED
    )
    return set(db.session.execute(found).scalars())


def _on_the_hour(moment: dt.time) -> dt.time:
    return moment if not moment.minute else dt.time(min(moment.hour + 1, 23))


def _slot(world: World, service: Service, category: str, units: int, around: dt.date) -> tuple[dt.date, dt.time] | None:
    """A day on or after ``around`` and a start time the service runs at for ``units``."""
    if not service.hours:
        return None
    hours = world.rng.choice(sorted(service.hours, key=lambda h: (h.weekday, h.opens_at)))
    opens = _on_the_hour(hours.opens_at)
    start = max(opens, dt.time(PREFERRED_HOUR.get(category, opens.hour)))
    if service.price_unit is PriceUnit.HOUR and hours.closes_at > hours.opens_at and start.hour + units > hours.closes_at.hour:
        start = opens
    return around + dt.timedelta(days=(hours.weekday - around.weekday()) % 7), start


def request(now: dt.datetime, world: World, person: Person, need: tuple, first: dt.date, weeks: int, service_id: int | None = None) -> None:
    """The person asks for care starting around ``first`` (weekly for ``weeks`` weeks, or
    once), from ``service_id`` when they have chosen it, else as they usually would."""
    category, units_allowed, units = need[0], need[1], need[2]
    chosen = service_id or (person.service_id if weeks > 1 else None)
    keep_to = db.session.get(Service, chosen) if chosen else None
    keeps = keep_to is not None and _still_listed(keep_to, person)
    service = keep_to if keeps else pick_service(world, person, category, units_allowed, now, regular=person.budget is not None)
    slot = _slot(world, service, category, units, first) if service is not None else None
    if slot is None:
        return
    day, start = slot
    card = person.route in ("prepaid", "self")
    req = bookings.BookingRequest(
        service_id=service.id,
        request_key=f"{HISTORY_KEY_PREFIX}{person.n:02d}-{now:%Y%m%d%H%M}",
        schedule=BookingSchedule.WEEKLY if weeks > 1 else BookingSchedule.ONE_OFF,
        first_date=day,
        start_time=start,
        units=max(units, service.min_units),
        weekdays=_weekdays(day, need) if weeks > 1 else (),
        weeks=weeks,
        payment_method=PaymentMethod.CARD if card else PaymentMethod.BUDGET,
        budget_public_id=None if card else person.budget.public_id,
        card_public_id=person.card_public_id if card else None,
        outcome_id=person.budget.outcomes[0].id if person.budget is not None and person.budget.outcomes else None,
        visit_address=person.address if category not in ("day-opportunities", "short-breaks") else "",
    )
    try:
        booking = bookings.create(req, citizen=person.user, booker=person.user, policy=world.policy, now=now)
    except DomainError:
        db.session.rollback()
        world.count("requests that could not be made")
        return
    if weeks > 1:
        person.service_id = service.id
    world.booking_ids.append(booking.id)
    world.people_of[booking.id] = person
    world.count("bookings")
    _schedule_answer(world, now, booking, person, weeks, declines=not keeps and world.rng.random() < 0.09)


def _weekdays(day: dt.date, need: tuple) -> tuple[int, ...]:
    """The day chosen, and for care twice a week a second day three days later."""
    days = need[3] if len(need) > 3 else 1
    return tuple(sorted({day.weekday(), (day.weekday() + 3) % 7})) if days > 1 else (day.weekday(),)


def _still_listed(service: Service, person: Person) -> bool:
    return (
        service.status is ServiceStatus.PUBLISHED
        and service.provider.status is ProviderStatus.VERIFIED
        and service.provider_id not in person.avoid
    )


def _schedule_answer(world: World, now: dt.datetime, booking, person: Person, weeks: int, *, declines: bool) -> None:
    """The provider answers after its usual delay; now and then it sits on a request for days.
    Some new requests are declined; more weeks of care a provider already gives are not."""
    rng = world.rng
    usual = world.answer_hours.setdefault(booking.provider_id, rng.choice((1.5, 3, 5, 8, 20, 30, 52)))
    first_visit = min(v.starts_at for v in booking.visits)
    hours = usual * rng.uniform(0.4, 1.8)
    if rng.random() < 0.05:
        hours = rng.uniform(96, 200)  # left waiting a long time
    answer_at = min(now + dt.timedelta(hours=hours), first_visit - dt.timedelta(hours=2))
    if answer_at <= now:
        answer_at = now + dt.timedelta(minutes=20)
    world.timeline.add(answer_at, answer, world, booking.id, declines and person.route != "isf", weeks)


def answer(now: dt.datetime, world: World, booking_id: int, declines: bool, weeks: int) -> None:
    """Accept (then plan what becomes of each visit) or decline with a reason; a person
    turned down asks someone else a day later."""
    booking = db.session.get(Booking, booking_id)
    person = world.people_of[booking_id]
    owner = world.owner(booking.provider)
    if booking.status is not BookingStatus.REQUESTED or owner is None:
        return
    try:
        if declines:
            bookings.decline(booking, by=owner, reason=world.rng.choice(DECLINE_REASONS), now=now)
            world.count("declined")
            person.avoid.add(booking.provider_id)
            person.service_id = None
            first = min(v.starts_at for v in booking.visits).date() + dt.timedelta(days=7)
            need = _need_of(booking, person)
            world.timeline.add(now + dt.timedelta(days=1), request, world, person, need, first, weeks)
            return
        bookings.accept(booking, by=owner, now=now)
    except DomainError:
        db.session.rollback()
        return
    _plan_visits(world, now, db.session.get(Booking, booking_id), person)


def _need_of(booking, person: Person) -> tuple:
    category = booking.service.category.slug
    units = booking.visits[0].units if booking.visits else 1
    days = len({v.starts_at.weekday() for v in booking.visits}) if booking.schedule is BookingSchedule.WEEKLY else 1
    return (category, (booking.price_unit,), units, days)


def _plan_visits(world: World, accepted_at: dt.datetime, booking, person: Person) -> None:
    """What becomes of each visit, each at its own moment (only what is over by now)."""
    rng = world.rng
    notice = dt.timedelta(hours=world.policy.cancellation_notice_hours)
    # A short series may be called off part-way; a budget's long one loses single visits instead.
    stops_early = booking.schedule is BookingSchedule.WEEKLY and 3 < len(booking.visits) <= 9 and rng.random() < 0.06
    for index, visit in enumerate(sorted(booking.visits, key=lambda v: v.starts_at)):
        if stops_early and index == len(booking.visits) // 2:
            # The rest of the series called off in good time (a stay in hospital, a move).
            world.timeline.add(visit.starts_at - dt.timedelta(days=3), _cancel, world, booking.id, None, person.user)
            return
        done_at = visit.ends_at + dt.timedelta(hours=rng.choice((0.5, 1, 2, 5, 20)))
        if done_at >= world.real_now:
            continue  # still to come, or not recorded yet
        roll = rng.random()
        early = visit.starts_at - dt.timedelta(days=rng.uniform(2, 5))
        if roll < 0.04 and early > accepted_at:
            world.timeline.add(early, _cancel, world, booking.id, visit.id, person.user)
        elif roll < 0.065 and visit.starts_at - notice > accepted_at:
            late = visit.starts_at - dt.timedelta(hours=rng.uniform(2, 12))
            world.timeline.add(late, _cancel, world, booking.id, visit.id, person.user)
        elif roll < 0.08 and early > accepted_at:
            world.timeline.add(early, _cancel, world, booking.id, visit.id, world.owner(booking.provider))
        else:
            short = visit.units - 1 if roll < 0.13 and visit.units > 1 else None
            world.timeline.add(done_at, _deliver, world, visit.id, short)


def _cancel(now: dt.datetime, world: World, booking_id: int, visit_id: int | None, by: User) -> None:
    booking = db.session.get(Booking, booking_id)
    try:
        bookings.cancel(booking, by=by, policy=world.policy, visit_ids=None if visit_id is None else [visit_id], now=now)
        world.count("cancellations")
    except DomainError:
        db.session.rollback()


def _deliver(now: dt.datetime, world: World, visit_id: int, units: int | None) -> None:
    visit = db.session.get(BookingVisit, visit_id)
    if visit is None or not visit.status.is_upcoming:
        return
    owner = world.owner(visit.booking.provider)
    try:
        bookings.record_delivery(visit, by=owner, delivered_units=units, now=now)
        world.count("visits delivered")
    except DomainError:
        db.session.rollback()  # not paid for (a budget short of money): left as it is
        world.count("visits not delivered")
