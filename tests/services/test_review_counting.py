"""A service's published reviews as the two numbers search and the framework ranking read:
counted once when published (7 days on, or at once on the provider's reply), taken off once
if the council takes the review down, whatever runs at the same time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Review, Service
from app.services import bookings, reviews
from tests.helpers import run_at_once
from tests.services.money_helpers import future_day, request_for
from tests.services.test_delivery_disputes import book_care, record_visit

GOOD = {"on_time": "yes", "dignity": "yes", "outcomes": "yes"}
WEEK = dt.timedelta(days=7)


def cares_of_one_service(count, make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy):
    """``count`` people, each with a delivered visit of the same service."""
    first = book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)
    cares = [first]
    for n in range(count - 1):
        citizen = make_citizen(name=f"Person {n}")
        budget = make_budget(citizen=citizen, amount=50_000)
        booking = bookings.create(
            request_for(first.service, budget, day=future_day(policy, 3 + n), at=f"{13 + n}:00"),
            citizen=citizen,
            booker=citizen,
            policy=policy,
        )
        bookings.accept(booking, by=first.staff)
        cares.append(type(first)(first.provider, first.staff, first.service, citizen, budget, booking, booking.visits[0]))
    for care in cares:
        record_visit(care)
    return cares


def write(care, rating, when):
    return reviews.write(bookings.get_booking(care.booking.public_id), by=care.citizen, rating=rating, answers=GOOD, now=when)


def totals(service_id) -> tuple[int, int]:
    db.session.expire_all()
    service = db.session.get(Service, service_id)
    return service.review_count, service.review_sum


@pytest.fixture
def cares(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy):
    return cares_of_one_service(4, make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)


def test_reviews_count_when_published_and_come_off_when_taken_down(app, cares, make_commissioner):
    written = max(c.visit.starts_at for c in cares) + dt.timedelta(days=1)
    service_id = cares[0].service.id
    five, four, one, three = (write(c, r, written) for c, r in zip(cares, (5, 4, 1, 3), strict=True))
    assert reviews.publish_due(now=written) == 0 and totals(service_id) == (0, 0)  # none is 7 days old
    # The provider's reply publishes one at once.
    reviews.reply(three.id, provider=cares[0].provider, by=cares[0].staff, text="Thank you.", now=written + dt.timedelta(hours=1))
    assert totals(service_id) == (1, 3)
    # A week on, cron counts the other three, once however often it runs.
    assert reviews.publish_due(now=written + WEEK) == 3
    assert reviews.publish_due(now=written + WEEK) == 0
    assert totals(service_id) == (4, 13)
    assert db.session.get(Review, five.id).counted_at == written + WEEK
    # The council takes one down: it leaves the totals.
    filed = reviews.report(one.id, provider=cares[0].provider, by=cares[0].staff, reason="abuse", note="Names our carer.")
    reviews.decide(filed.id, remove=True, reason="personal_data", note="It names a carer.", by=make_commissioner())
    assert totals(service_id) == (3, 12)
    assert reviews.totals_differ() == []
    assert reviews.summary(service_id=service_id, now=written + WEEK).count == 3


def test_a_review_taken_down_before_its_week_is_up_is_never_counted(app, cares, make_commissioner):
    written = max(c.visit.starts_at for c in cares) + dt.timedelta(days=1)
    review = write(cares[0], 1, written)
    filed = reviews.report(review.id, provider=cares[0].provider, by=cares[0].staff, reason="unrelated", note="About another firm.")
    reviews.decide(filed.id, remove=True, reason="unrelated", note="It is about another provider.", by=make_commissioner())
    assert reviews.publish_due(now=written + WEEK) == 0
    assert totals(cares[0].service.id) == (0, 0) and db.session.get(Review, review.id).counted_at is None
    assert reviews.totals_differ() == []


def test_totals_that_drift_from_the_reviews_are_reported(app, cares):
    written = max(c.visit.starts_at for c in cares) + dt.timedelta(days=1)
    write(cares[0], 4, written)
    reviews.publish_due(now=written + WEEK)
    service = db.session.get(Service, cares[0].service.id)
    service.review_sum = 5
    db.session.commit()
    assert reviews.totals_differ() == [(service.id, (1, 5), (1, 4))]
    result = app.test_cli_runner().invoke(args=["reviews", "publish"])
    assert result.exit_code == 1
    assert "totals say 1 reviews adding up to 5; its reviews are 1 adding up to 4" in result.output


def test_the_cron_command_publishes_what_is_due(app, cares):
    long_ago = max(c.visit.starts_at for c in cares) - dt.timedelta(days=30)
    for care, rating in zip(cares[:2], (5, 2), strict=True):
        review = write(care, rating, max(c.visit.starts_at for c in cares) + dt.timedelta(days=1))
        review.publishes_at = long_ago  # written weeks ago
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reviews", "publish"])
    assert result.exit_code == 0, result.output
    assert "Reviews published into search and ranking: 2." in result.output
    assert totals(cares[0].service.id) == (2, 7)
    assert "published into search and ranking: 0." in app.test_cli_runner().invoke(args=["reviews", "publish"]).output


def test_runs_and_a_take_down_at_the_same_time_count_each_review_once(app, cares, make_commissioner):
    """Four cron runs at once (an overlapping schedule) and a moderator taking a review down
    in the middle of them: each review is counted at most once and taken off only if it was."""
    written = max(c.visit.starts_at for c in cares) + dt.timedelta(days=1)
    written_reviews = [write(c, r, written) for c, r in zip(cares, (5, 4, 2, 3), strict=True)]
    filed = reviews.report(written_reviews[2].id, provider=cares[0].provider, by=cares[0].staff, reason="abuse", note="Rude words.")
    commissioner = make_commissioner()
    filed_id, commissioner_id = filed.id, commissioner.id

    def work(i):
        if i == 4:
            from app.models import User

            return reviews.decide(filed_id, remove=True, reason="abuse", note="Abusive.", by=db.session.get(User, commissioner_id))
        return reviews.publish_due(now=written + WEEK)

    ok, errors = run_at_once(app, 5, work)
    assert errors == [] and len(ok) == 5
    assert totals(cares[0].service.id) == (3, 12)  # 5 + 4 + 3; the 2 taken down, counted or not
    assert reviews.totals_differ() == []
    counted = db.session.execute(select(Review.id).where(Review.counted_at.is_not(None))).scalars().all()
    assert {written_reviews[0].id, written_reviews[1].id, written_reviews[3].id} <= set(counted)
