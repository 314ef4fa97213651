"""Reviews in the demo: people reviewing services they used over the year, through the real
review services "as of" the day each was written.

About a third of the history's bookings with a delivered visit are reviewed (all of
provider@demo.test's), by the person themselves,
one to ten days after their last delivered visit (never later than now). Most reviews are
good, some are poor (one or two out of five: they are published like any other, never held
back). Providers reply to about half of the poor reviews and a few of the good ones, a day or
three later, by their owner; provider@demo.test's owner to all its reviews but the newest,
so its reviews page has one to answer. Two poor reviews are reported by their providers: the
council kept one, the other waits for commissioner@demo.test. Loaded once: if any review exists, nothing happens.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import Booking, BookingVisit, Review, ReviewAnswer, User, VisitStatus
from app.services import reviews
from app.services.demo.accounts import demo_provider
from app.services.demo.history_bookings import HISTORY_KEY_PREFIX
from app.services.demo.history_clock import Stamps
from app.services.demo.history_supply import owner_of
from app.services.demo.report import LoadReport
from app.services.errors import DomainError

SEED = 1314
REVIEWED_SHARE = 0.35
RATINGS, WEIGHTS = (5, 4, 3, 2, 1), (40, 30, 12, 10, 8)
WORDS = {
    5: (
        "The carers are kind and patient, and always let me know if they are running late.",
        "Mum looks forward to her visits. They treat her like a person, not a job.",
        "Reliable and cheerful. They helped me get back to doing my own shopping.",
        "",
    ),
    4: (
        "Good care from a small team. Once or twice a new carer came who did not know the routine.",
        "They helped me get out to the day centre again. Sometimes ten minutes late.",
        "",
    ),
    3: (
        "The care itself is fine but the times change a lot, which is hard for my dad.",
        "Friendly staff, but visits often felt rushed.",
    ),
    2: (
        "Carers changed nearly every week and several arrived well after the time booked.",
        "They did not always read the care plan, so I had to explain things again.",
    ),
    1: (
        "Two visits were missed in one week and nobody rang to say so.",
        "Visits were cut short most days. I complained and nothing changed.",
    ),
}
REPORT_NOTE = "The visits in question were arranged by another agency, not by us."
KEPT_NOTE = "The booking was with this provider and the review is about its visits: a genuine account, kept."
REPLIES = {
    "poor": (
        "We are sorry. We have changed the rota so the same two carers visit, and our manager will call you this week.",
        "Thank you for telling us. We have spoken to the team about arriving on time and reading the care plan first.",
    ),
    "good": ("Thank you: we have passed your kind words on to the carers.",),
}


def _answers(rng: random.Random, rating: int) -> dict[str, str]:
    weights = {5: (90, 10, 0), 4: (70, 25, 5), 3: (30, 50, 20), 2: (10, 40, 50), 1: (0, 30, 70)}[rating]
    choices = [answer.value for answer in (ReviewAnswer.YES, ReviewAnswer.PARTLY, ReviewAnswer.NO)]
    return {column: rng.choices(choices, weights)[0] for column in ("on_time", "dignity", "outcomes")}


def _reviewable() -> list[tuple[int, int, dt.datetime]]:
    """(booking id, provider id, start of its last delivered visit) of every booking of the
    history with one, oldest first."""
    last = func.max(BookingVisit.starts_at)
    delivered = (
        select(BookingVisit.booking_id, Booking.provider_id, last)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .where(BookingVisit.status == VisitStatus.DELIVERED, Booking.request_key.like(f"{HISTORY_KEY_PREFIX}%"))
        .group_by(BookingVisit.booking_id, Booking.provider_id)
    )
    return sorted(((b, p, when) for b, p, when in db.session.execute(delivered).all()), key=lambda row: (row[2], row[0]))


def load_reviews(report: LoadReport) -> None:
    """Reviews: a year of people's reviews of the services they used, some poor, some replied to"""
    if db.session.execute(select(Review.id)).first() is not None:
        return
    rng, now, stamps = random.Random(SEED), utcnow(), Stamps()
    mine = demo_provider()
    written = []
    for booking_id, provider_id, last in _reviewable():
        if rng.random() > (1 if mine and provider_id == mine.id else REVIEWED_SHARE):
            continue
        when = min(last + dt.timedelta(days=rng.randint(1, 10), hours=rng.randint(1, 9)), now - dt.timedelta(minutes=30))
        rating = rng.choices(RATINGS, WEIGHTS)[0]
        booking = db.session.get(Booking, booking_id)
        try:
            review = reviews.write(
                booking, by=booking.citizen, rating=rating, answers=_answers(rng, rating), text=rng.choice(WORDS[rating]), now=when
            )
        except DomainError:
            db.session.rollback()
            continue
        stamps.mark(when)
        written.append((review.id, review.provider_id, rating, when))
        report.add("reviews written")
    _replies(rng, written, mine, now, stamps, report)
    _reports(written, mine, now, stamps, report)
    stamps.apply()
    reviews.publish_due(now=now)  # as the hourly `flask reviews publish` would have


def _replies(rng: random.Random, written: list[tuple[int, int, int, dt.datetime]], mine, now: dt.datetime, stamps: Stamps, report) -> None:
    """Replies: provider@demo.test's owner replied to all its reviews but the newest (left
    for the demo to answer); other providers to about half the poor ones and a few others."""
    ours = [review_id for review_id, provider_id, *_ in written if mine and provider_id == mine.id]
    for review_id, _, rating, when in written:
        poor = rating <= 2
        if review_id in ours:
            if review_id == ours[-1]:
                continue
        elif rng.random() > (0.5 if poor else 0.15):
            continue
        replied = when + dt.timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 6))
        review = db.session.get(Review, review_id)
        owner = owner_of(review.provider)
        if replied >= now or owner is None:
            continue
        try:
            reviews.reply(review_id, provider=review.provider, by=owner, text=rng.choice(REPLIES["poor" if poor else "good"]), now=replied)
        except DomainError:
            db.session.rollback()
            continue
        stamps.mark(replied)
        report.add("reviews replied to")


def _reports(written: list[tuple[int, int, int, dt.datetime]], mine, now: dt.datetime, stamps: Stamps, report) -> None:
    """Two poor reviews of other providers reported by their owners a day after they were
    written: the older kept by commissioner@demo.test (it breaks no rule), the newer waiting."""
    commissioner = db.session.execute(select(User).where(User.email == "commissioner@demo.test")).scalar_one_or_none()
    poor = [
        (review_id, when)
        for review_id, provider_id, rating, when in written
        if rating <= 2 and not (mine and provider_id == mine.id) and when + dt.timedelta(days=2) < now
    ]
    for n, (review_id, when) in enumerate(poor[-2:]):
        review = db.session.get(Review, review_id)
        owner, reported = owner_of(review.provider), when + dt.timedelta(days=1)
        if owner is None or commissioner is None:
            continue
        try:
            filed = reviews.report(review_id, provider=review.provider, by=owner, reason="unrelated", note=REPORT_NOTE, now=reported)
            stamps.mark(reported)
            if n == 0 and len(poor) > 1:
                reviews.decide(filed.id, remove=False, note=KEPT_NOTE, by=commissioner, now=reported + dt.timedelta(days=1))
                stamps.mark(reported + dt.timedelta(days=1))
                report.add("reported reviews kept")
            else:
                report.add("reported reviews waiting for the council")
        except DomainError:
            db.session.rollback()


# Each review is written by the review services in its own unit of work.
load_reviews.manages_transactions = True
