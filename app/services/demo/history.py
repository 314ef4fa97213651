"""A year of market history for the demo, so the commissioner's market reports have
something to read on a fresh run.

About 44 people who use care (``history_people``) start at different months and pay in
each of the four ways; their budgets are funded every 4 weeks; they book care across the
market's categories, providers and districts (``history_bookings``), card bookings paid
as ``history_cards`` records them; supply changes during the year (``history_supply``);
and the anonymous search log fills with a year of searches (``history_searches``).

Everything is played forward in time order on one ``Timeline``, each step through the
real services "as of" its moment, so that a provider can only be booked once it has
joined, prices rise for bookings made after a rise, and so on; then the rows the services
date with the wall clock are dated with their moment (``history_clock``). Seeded, so every
machine makes the same history (but for the random public ids the services give).
Loaded once: if the first history person exists, nothing happens.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import BudgetStatus, BudgetType, PersonalBudget, Provider, ProviderStaff, User
from app.services import budgets
from app.services.demo import history_searches
from app.services.demo.history_bookings import World, pick_service, request
from app.services.demo.history_cards import card_payments_recorded, save_card
from app.services.demo.history_clock import Stamps, Timeline, at, date_bookings, history_start
from app.services.demo.history_people import HOME_CARE, MARKER_EMAIL, OUTCOMES, Person, add_user, people
from app.services.demo.history_supply import add_joiner, choose_leaver, join, leave, raise_prices, withdraw_some
from app.services.demo.report import LoadReport
from app.services.ledger import Actor
from app.services.policy import current_policy
from app.uk_time import uk_today

SEED = 20261206
PEOPLE = 42
EXTRAS_PENCE = 500  # a budget's allowance a period for extras (transport, meals, advocacy)


def _user(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def load_history(report: LoadReport) -> None:
    """A year of market history: people, bookings, card payments, supply changes and searches"""
    commissioner, owner = _user("commissioner@demo.test"), _user("provider@demo.test")
    if commissioner is None or owner is None or _user(MARKER_EMAIL) is not None:
        return
    keep = set(db.session.execute(select(ProviderStaff.provider_id).where(ProviderStaff.user_id == owner.id)).scalars())
    policy = current_policy()
    current, _ = policy.period_containing(uk_today())
    first = history_start(current)
    world = World(rng=random.Random(SEED), policy=policy, timeline=Timeline(), real_now=utcnow(), keep=keep)
    stamps = Stamps()
    everyone = people(world.rng, PEOPLE)
    with card_payments_recorded():
        _set_the_scene(world, everyone, first, commissioner, owner.password_hash)
        world.timeline.run(world.real_now, stamps)
    stamps.apply()
    date_bookings(world.booking_ids)
    searches = history_searches.load_searches(random.Random(SEED + 1), first, world.real_now)
    turned_away = history_searches.load_turned_away(random.Random(SEED + 2), first, world.real_now)
    report.add("people with a year of care history", len(everyone))
    report.add("demo accounts")  # the owner of the provider that joined during the year
    for what, n in sorted(world.counts.items()):
        report.add(f"history: {what}", n)
    report.add("history: searches", searches)
    report.add("history: requests turned away when full", turned_away)


# Each service call above is its own unit of work, so the loader must not wrap this step.
load_history.manages_transactions = True


def _set_the_scene(world: World, everyone: list[Person], first: dt.date, commissioner: User, password_hash: str | None) -> None:
    """Put everything that will happen on the timeline: supply changes, each person's start,
    their funding and their requests."""
    timeline, rng = world.timeline, world.rng
    leaver = choose_leaver(world.keep)
    joiner = add_joiner(at(first + dt.timedelta(days=28 * 3 + 2), 9), password_hash)
    world.favour[joiner.id] = 0  # not bookable until it joins; its prices and listings stay as it set them
    if leaver is not None:
        world.favour[leaver.id] = 2  # busy, but not so much that its leaving upsets the mix of providers
        for person in everyone:
            if person.route in ("managed", "isf"):
                person.avoid.add(leaver.id)  # the council places budgets with providers it expects to stay
        timeline.add(at(first + dt.timedelta(days=28 * 8 + 10), 11), _leave, world, leaver.id, commissioner)
    timeline.add(at(first + dt.timedelta(days=28 * 4 + 1), 14), _join, world, joiner.id, commissioner, everyone)
    # Spring's rise follows the National Living Wage: most home care goes up then, and only then.
    for period, share, home_care in ((4, 0.15, 0.8), (9, 0.25, 0.0)):
        timeline.add(at(first + dt.timedelta(days=28 * period + 3), 9), _raise, world, share, home_care)
    for period in (5, 11):
        timeline.add(at(first + dt.timedelta(days=28 * period + 6), 16), _withdraw, world)
    for n in range(1, 14):
        timeline.add(at(first + dt.timedelta(days=28 * n), 0, 5), _fund, world, everyone, first + dt.timedelta(days=28 * n))
    for person in everyone:
        day = first + dt.timedelta(days=28 * person.start_period + rng.randint(0, 20))
        timeline.add(at(day, 10, rng.choice((0, 15, 30, 45))), _start, world, person, commissioner)


def _start(now: dt.datetime, world: World, person: Person, commissioner: User) -> None:
    """The person joins: their account, their budget or card, and the requests they will make."""
    add_user(person, now)
    db.session.commit()
    day = now.date()
    if person.route in ("prepaid", "self"):
        person.card_public_id = save_card(person.user, person.n, person.funding_route, now).public_id
        db.session.commit()
    else:
        # The council sizes the budget from the care it pays for: the regular service first.
        category, units_allowed, units, days = person.weekly
        service = pick_service(world, person, category, units_allowed, now, regular=True)
        if service is None:
            return
        person.service_id = service.id
        weekly = service.price_pence * max(units, service.min_units) * days
        person.amount_pence = _budget_amount(world, weekly)
        person.budget = budgets.create_budget(
            citizen=person.user,
            budget_type=BudgetType.ISF if person.route == "isf" else BudgetType.MANAGED_ACCOUNT,
            amount_per_period_pence=person.amount_pence,
            starts_on=day,
            outcomes=list(world.rng.sample(OUTCOMES, 2)),
            created_by=commissioner,
            policy=world.policy,
            isf_provider=service.provider if person.route == "isf" else None,
            today=day,
            now=now,
        )
    _plan_requests(world, person, day)


def _budget_amount(world: World, weekly_pence: int) -> int:
    """Four weeks of the regular care, a few per cent over (prices rise during the year) and
    a little for extras now and then, in whole pounds."""
    amount = weekly_pence * 4 * world.rng.choice((102, 103, 104)) // 100 + EXTRAS_PENCE
    return -(-amount // 500) * 500


def _plan_requests(world: World, person: Person, joined: dt.date) -> None:
    """Regular care booked in series of weeks, and other care now and then."""
    rng, timeline = world.rng, world.timeline
    until = world.real_now.date() + dt.timedelta(days=10)
    end = _end_day(person) or until
    if person.weekly is not None:
        first = joined + dt.timedelta(days=rng.randint(5, 9))
        need = person.weekly
        while first < min(until, end - dt.timedelta(days=14)):
            weeks, gap = _series(rng, person)
            weeks = min(weeks, max(1, (end - first).days // 7))
            asked = at(first - dt.timedelta(days=rng.randint(4, 9)), rng.randint(9, 16), rng.choice((0, 15, 30, 45)))
            timeline.add(asked, request, world, person, need, first, weeks)
            first += dt.timedelta(days=7 * (weeks + gap))
    holder = person.budget is not None
    day = joined + dt.timedelta(days=rng.randint(40, 90) if holder else rng.randint(10, 40))
    while day < min(until, end):
        need = rng.choice(person.occasional)
        timeline.add(at(day - dt.timedelta(days=rng.randint(5, 12)), rng.randint(9, 18)), request, world, person, need, day, 1)
        day += dt.timedelta(days=rng.randint(100, 160) if holder else rng.randint(140, 220))
    if person.end_period is not None and holder:
        timeline.add(at(end, 12), _end_budget, person)


def _series(rng: random.Random, person: Person) -> tuple[int, int]:
    """Weeks of one series of regular care, and the weeks before the next. A budget's care
    runs on, booked a few months at a time with now and then a week off (a stay in hospital,
    family visiting); an under-spender's stops and starts; people paying by card book a
    couple of months at a time, now and then with a week or two between."""
    if person.underspends:
        return rng.randint(4, 6), rng.randint(6, 10)
    if person.budget is not None:
        return rng.randint(12, 20), rng.choice((0, 0, 0, 1))
    return rng.randint(6, 9), rng.choice((0, 1, 2))


def _end_day(person: Person) -> dt.date | None:
    if person.end_period is None or person.budget is None:
        return None
    return person.budget.starts_on + dt.timedelta(days=28 * (person.end_period - person.start_period))


def _fund(now: dt.datetime, world: World, everyone: list[Person], period_start: dt.date) -> None:
    """The council's 4-weekly funding run for the budgets of the history."""
    system = Actor.system("funding run")
    for person in everyone:
        if person.budget is not None and person.budget.starts_on < period_start:
            budgets.fund_budget(person.budget, period_start, policy=world.policy, actor=system)


def _end_budget(now: dt.datetime, person: Person) -> None:
    """The person moved into a care home: the council ends their budget."""
    budget = db.session.get(PersonalBudget, person.budget.id)
    budget.ends_on, budget.status, budget.updated_at = now.date(), BudgetStatus.ENDED, now
    db.session.commit()


def _join(now: dt.datetime, world: World, provider_id: int, commissioner: User, everyone: list[Person]) -> None:
    provider = db.session.get(Provider, provider_id)
    join(provider, commissioner, now)
    world.favour[provider_id] = 3  # new, with carers free: people are drawn to it
    # Its first customer, whatever else the year's chances bring it: someone nearby paying
    # by card for occasional care, who hears of it that week and tries its home care.
    areas = {a.outward_code for a in provider.areas}
    paying = [p for p in everyone if p.card_public_id and p.weekly is None and p.service_id is None]
    person = min(paying, key=lambda p: (p.district not in areas, p.n), default=None)
    home_care = next((s for s in provider.services if s.category.slug == HOME_CARE[0]), None)
    if person is not None and home_care is not None:
        first = now.date() + dt.timedelta(days=8)
        world.timeline.add(now + dt.timedelta(days=2, hours=1), request, world, person, HOME_CARE, first, 6, home_care.id)


def _leave(now: dt.datetime, world: World, provider_id: int, commissioner: User) -> None:
    """The provider leaves: its people are told and find someone else within days."""

    for booking in leave(db.session.get(Provider, provider_id), commissioner, world.policy, now):
        person = world.people_of.get(booking.id)
        if person is None or person.weekly is None:
            continue
        person.service_id = None
        need = person.weekly
        world.timeline.add(now + dt.timedelta(days=1, hours=2), request, world, person, need, now.date() + dt.timedelta(days=8), 8)


def _raise(now: dt.datetime, world: World, share: float, home_care: float) -> None:
    world.count("prices raised", raise_prices(world.rng, world.keep | set(world.favour), share, now, home_care=home_care))


def _withdraw(now: dt.datetime, world: World) -> None:
    world.count("listings withdrawn", withdraw_some(world.rng, world.keep | set(world.favour), 2, now))
