"""Visits for provider@demo.test to record, and visits waiting for the council, so the
visits pages have something to show whatever day the demo starts.

Every load, unless it was done for the day already: three one-hour visits earlier today
(8am, 9:15am and midday), of bookings the provider accepted a couple of days ago, not
recorded yet: the provider's visits page lists them to record. Before 1pm they are not all
over yet, so they are yesterday's then (the page lists the last week's visits too).

Once (while none of their bookings exists), a few days of what happens:

* a visit three days ago that nobody recorded: the "not recorded after 48 hours" list;
* an electronic call monitoring (ECM) file with the visits of the day before yesterday,
  uploaded that evening: two inside the council's tolerance (recorded and paid) and one that
  started well outside it, waiting in the commissioner's exceptions queue;
* a visit the provider recorded as delivered that Margaret says did not happen as
  recorded: held out of payment, waiting in the commissioner's disputes queue.

The people are Margaret (citizen@demo.test, a council-managed budget) and Joan
(isf@demo.test, an Individual Service Fund held with the provider); everything is done
through the real services "as of" its moment, as the history is. Their notices are dated
when they happened and were read a few hours later, but for the provider's news of the
dispute, which is waiting for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import (
    Booking,
    BookingSchedule,
    BookingStatus,
    BookingVisit,
    BudgetStatus,
    Notification,
    PersonalBudget,
    Provider,
    ProviderStaff,
    Service,
    User,
    VisitStatus,
)
from app.services import bookings, council, delivery
from app.services.demo.history_clock import Stamps, at, date_bookings
from app.services.demo.money import bookable_service
from app.services.demo.report import LoadReport
from app.services.errors import DomainError
from app.services.policy import current_policy
from app.uk_time import UK, uk_today

ONCE_PREFIX = "demo-visits-"  # the request keys of the once-only bookings...
DAY_KEY = "demo-visits-day-"  # ...but these: the day's (then the day, YYYYMMDD, and the slot)
SLOTS = (dt.time(8), dt.time(9, 15), dt.time(12))  # the day's visits to record, an hour each
TODAY_FROM = dt.time(13)  # before 1pm, the visits to record are yesterday's (today's are not over)
LATER = dt.time(14)  # until then, a load that finds yesterday's makes no more
HOUR = dt.timedelta(hours=1)
MESSAGES = (
    "Help getting up and dressed, and breakfast, please.",
    "A hand with a shower and changing the bed.",
    "Lunch and a short walk if the weather is fine.",
)
DISPUTE = "The carer came at twenty past four and was gone before five. Mum did not get her tea and her tablets were left on the side"


@dataclass
class Cast:
    """Who the visits are for and who records them, and what the demo has done so far."""

    owner: User
    provider: Provider
    service: Service
    people: list[tuple[User, PersonalBudget]]  # Margaret's and Joan's, those there are
    now: dt.datetime
    stamps: Stamps
    made: list[int]  # bookings made (to date them afterwards)
    news: list[tuple[int, int]]  # (after, up to) ids of notices nobody has read yet

    def person(self, n: int) -> tuple[User, PersonalBudget]:
        """Margaret (0) or Joan (1), or whoever there is."""
        return self.people[n % len(self.people)]


def load_today_visits(report: LoadReport) -> None:
    """Visits for provider@demo.test to record, and visits waiting for the council"""
    cast = _cast()
    if cast is None:
        return
    made = _visits_to_record(cast)
    if made:
        report.add("visits to record", made)
    if not _few_days_made():
        _a_few_days(cast, report)
    cast.stamps.apply()
    _news_unread(cast)
    date_bookings(cast.made)


# Each service call above is its own unit of work, so the loader must not wrap this step.
load_today_visits.manages_transactions = True


def _cast() -> Cast | None:
    owner = db.session.execute(select(User).where(User.email == "provider@demo.test")).scalar_one_or_none()
    staff = db.session.execute(select(ProviderStaff).where(ProviderStaff.user_id == owner.id)).scalars().first() if owner else None
    service = bookable_service(staff.provider) if staff else None
    if service is None:
        return None
    people = []
    for email in ("citizen@demo.test", "isf@demo.test"):
        citizen = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        budget = _budget_of(citizen) if citizen else None
        if budget is not None and budget.isf_provider_id in (None, service.provider_id):
            people.append((citizen, budget))
    if not people:
        return None
    return Cast(owner, staff.provider, service, people, utcnow(), Stamps(), [], [])


def _budget_of(citizen: User) -> PersonalBudget | None:
    query = (
        select(PersonalBudget)
        .where(PersonalBudget.citizen_id == citizen.id, PersonalBudget.status == BudgetStatus.ACTIVE)
        .order_by(PersonalBudget.id)
    )
    return db.session.execute(query).scalars().first()


def _few_days_made() -> bool:
    """Whether any of the once-only bookings exists (then nothing of them is made again)."""
    once = Booking.request_key.like(f"{ONCE_PREFIX}%") & ~Booking.request_key.like(f"{DAY_KEY}%")
    return db.session.execute(select(Booking.id).where(once)).first() is not None


def _made_for(day: dt.date) -> bool:
    return db.session.execute(select(Booking.id).where(Booking.request_key.like(f"{DAY_KEY}{day:%Y%m%d}-%"))).first() is not None


def _visits_to_record(cast: Cast) -> int:
    """Three visits earlier today (before 1pm: yesterday), accepted and not recorded yet."""
    today, time = uk_today(cast.now), cast.now.astimezone(UK).time()
    yesterday = today - dt.timedelta(days=1)
    # Made today already, or yesterday's (by a load this morning, or yesterday afternoon)
    # and it is not yet well into the afternoon: two loads either side of 1pm make one set.
    if _made_for(today) or (time < LATER and _made_for(yesterday)):
        return 0
    day = yesterday if time < TODAY_FROM else today
    # Margaret's statements of past periods are closed (nothing still set aside): her
    # visits to record are this period's, so on its first morning they are all Joan's.
    this_period = day >= current_policy().period_containing(today)[0]
    made = 0
    for n, start in enumerate(SLOTS):
        starts = at(day, start.hour, start.minute)
        who = (cast.person(n + 1), cast.person(n)) if this_period else (cast.person(1),)
        free = [p for p in who if _free(p[0], starts, starts + HOUR)]
        if free and _book(cast, free[0], f"{DAY_KEY}{day:%Y%m%d}-{n}", starts, MESSAGES[n]) is not None:
            made += 1
    return made


def _free(citizen: User, starts: dt.datetime, ends: dt.datetime) -> bool:
    """Whether the person has no visit going ahead (or delivered) at that time."""
    going_ahead = [s for s in VisitStatus if s.is_upcoming] + [VisitStatus.DELIVERED]
    found = db.session.execute(
        select(BookingVisit.id)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .where(
            Booking.citizen_id == citizen.id,
            BookingVisit.status.in_(going_ahead),
            BookingVisit.starts_at < ends,
            BookingVisit.ends_at > starts,
        )
    ).first()
    return found is None


def _book(cast: Cast, person: tuple[User, PersonalBudget], key: str, starts: dt.datetime, message: str) -> BookingVisit | None:
    """A one-hour visit at ``starts``, asked for two days before (but not before the budget
    period of the visit began, so its statement holds all of it) and accepted soon after;
    its visit, or None if it cannot be booked (the service closed that day, say)."""
    citizen, budget = person
    local = starts.astimezone(UK)
    period_start, _ = current_policy().period_containing(local.date())
    asked = max(at(local.date() - dt.timedelta(days=2), 15), at(period_start, 7))
    accepted = asked + min(dt.timedelta(hours=2), (starts - asked) / 2)
    request = bookings.BookingRequest(
        service_id=cast.service.id,
        request_key=key,
        schedule=BookingSchedule.ONE_OFF,
        first_date=local.date(),
        start_time=local.time(),
        units=1,
        budget_public_id=budget.public_id,
        message=message,
    )
    try:
        booking = bookings.create(request, citizen=citizen, booker=citizen, policy=current_policy(), now=asked)
        cast.stamps.mark(asked)
        cast.made.append(booking.id)
        if booking.status is BookingStatus.REQUESTED:
            bookings.accept(booking, by=cast.owner, now=accepted)
            cast.stamps.mark(accepted)
    except DomainError:
        db.session.rollback()
        return None
    booking = bookings.get_booking(booking.public_id)
    return booking.visits[0] if booking.status is BookingStatus.ACCEPTED and booking.visits else None


def _a_few_days(cast: Cast, report: LoadReport) -> None:
    """A visit nobody recorded, an ECM file with one visit outside the tolerance, and a
    disputed visit (see the module)."""
    today = uk_today(cast.now)
    three_days_ago, two_days_ago, yesterday = (today - dt.timedelta(days=n) for n in (3, 2, 1))
    if _book(cast, cast.person(1), f"{ONCE_PREFIX}not-recorded", at(three_days_ago, 10), "Help with lunch, please.") is not None:
        report.add("visits not recorded after 48 hours")
    rows = []
    for n, (who, hour, carer) in enumerate(((0, 13, "CC-0142"), (1, 11, "CC-0117"), (1, 15, "CC-0142"))):
        visit = _book(cast, cast.person(who), f"{ONCE_PREFIX}ecm-{n}", at(two_days_ago, hour), MESSAGES[n])
        if visit is not None:
            rows.append((visit, carer, n == 2))
    uploaded = at(two_days_ago, 21, 30)  # the evening's export: paid the day they happened
    if rows and _upload(cast, rows, uploaded):
        for late, what in ((False, "visits recorded from a call monitoring file"), (True, "visits waiting for the council's decision")):
            if any(row[2] is late for row in rows):
                report.add(what, sum(1 for row in rows if row[2] is late))
    disputed = _book(cast, cast.person(0), f"{ONCE_PREFIX}disputed", at(two_days_ago, 16), "Tea and her evening tablets, please.")
    if disputed is not None and _record_and_dispute(cast, disputed, at(two_days_ago, 17, 20), at(yesterday, 10, 20)):
        report.add("visits disputed")


def _upload(cast: Cast, rows: list[tuple[BookingVisit, str, bool]], uploaded: dt.datetime) -> bool:
    """The provider uploads its call monitoring export: each row's actual times a few
    minutes off the plan, or (``late``) started well outside the council's tolerance."""
    tolerance = council.delivery_rules().tolerance_minutes
    lines = ["booking_reference,carer_reference,actual_start,actual_end"]
    for visit, carer, late in rows:
        start = visit.starts_at + dt.timedelta(minutes=tolerance + 25 if late else min(3, tolerance))
        end = start + HOUR - dt.timedelta(minutes=0 if late else min(2, tolerance))
        lines.append(f"{visit.booking.reference},{carer},{_uk(start)},{_uk(end)}")
    day = rows[0][0].starts_at.astimezone(UK).date()
    try:
        delivery.import_ecm(
            ("\n".join(lines) + "\n").encode(), f"call-monitoring-{day:%Y-%m-%d}.csv", provider=cast.provider, by=cast.owner, now=uploaded
        )
    except DomainError:
        db.session.rollback()
        return False
    cast.stamps.mark(uploaded)
    return True


def _uk(moment: dt.datetime) -> str:
    return moment.astimezone(UK).strftime("%Y-%m-%d %H:%M")


def _record_and_dispute(cast: Cast, visit: BookingVisit, recorded: dt.datetime, disputed: dt.datetime) -> bool:
    """The provider records the visit as delivered, near enough as planned; the next
    morning Margaret says it did not happen as recorded."""
    margin = dt.timedelta(minutes=min(1, council.delivery_rules().tolerance_minutes))
    actuals = delivery.Actuals(visit.id, start=visit.starts_at + margin, end=visit.ends_at - margin, carer_ref="CC-0117")
    try:
        record = delivery.record(actuals, provider=cast.provider, by=cast.owner, now=recorded)
        cast.stamps.mark(recorded)
        before = _last_notice()
        delivery.dispute(record.id, reason=DISPUTE, by=visit.booking.citizen, now=disputed)
        cast.stamps.mark(disputed)
        cast.news.append((before, _last_notice()))
    except DomainError:
        db.session.rollback()
        return False
    return True


def _last_notice() -> int:
    return db.session.execute(select(func.coalesce(func.max(Notification.id), 0))).scalar_one()


def _news_unread(cast: Cast) -> None:
    """The provider has not read the news of the dispute yet."""
    with write_transaction():
        for after, upto in cast.news:
            db.session.execute(update(Notification).where(Notification.id > after, Notification.id <= upto).values(read_at=None))
