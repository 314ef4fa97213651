"""Verified reviews, as a reviewer, a provider and an auditor would check them: only someone
whose visit was delivered may review, once per booking; a review is published after 7 days or
on the provider's one reply; the figures shown are the published reviews' own."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, OrgRole, Review
from app.services import bookings, reviews
from app.services.errors import Conflict, NotFound, ValidationError
from tests.services.money_helpers import future_day, request_for
from tests.services.test_delivery_disputes import book_care, record_visit

GOOD = {"on_time": "yes", "dignity": "yes", "outcomes": "partly"}
DAY = dt.timedelta(days=1)


@pytest.fixture
def care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy):
    return book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)


def _after(care, delta=DAY) -> dt.datetime:
    return care.visit.starts_at + delta


def _notices(user) -> list[str]:
    return [n.subject for n in db.session.execute(select(Notification).where(Notification.user_id == user.id)).scalars()]


def test_a_review_needs_a_delivered_visit_and_is_written_once_per_booking(care, make_citizen):
    booking = bookings.get_booking(care.booking.public_id)
    with pytest.raises(Conflict, match="once a visit has been delivered"):
        reviews.write(booking, by=care.citizen, rating=5, answers=GOOD, now=_after(care))
    record_visit(care)
    with pytest.raises(NotFound):
        reviews.write(booking, by=make_citizen(), rating=1, answers=GOOD, now=_after(care))
    review = reviews.write(booking, by=care.citizen, rating=4, answers=GOOD, text="  Kind and on time.  ", now=_after(care))
    assert (review.rating, review.text, review.on_time.value, review.outcomes.value) == (4, "Kind and on time.", "yes", "partly")
    assert review.publishes_at == _after(care) + dt.timedelta(days=7)
    with pytest.raises(Conflict, match="one review for each booking"):
        reviews.write(booking, by=care.citizen, rating=1, answers=GOOD, now=_after(care))
    assert db.session.execute(select(db.func.count()).select_from(Review)).scalar_one() == 1
    # The provider's owners and managers are told at once.
    assert _notices(care.staff)[-1] == "A review of Home care visits: 4 out of 5"


def test_a_representative_may_review_within_12_months_of_the_last_visit(care, make_representative):
    record_visit(care)
    booking = bookings.get_booking(care.booking.public_id)
    daughter = make_representative(care.citizen)
    with pytest.raises(Conflict, match="last 12 months"):
        reviews.write(booking, by=daughter, rating=3, answers=GOOD, now=_after(care, dt.timedelta(days=366)))
    assert reviews.why_not(booking, daughter, now=_after(care, dt.timedelta(days=364))) is None
    review = reviews.write(booking, by=daughter, rating=3, answers=GOOD, now=_after(care, dt.timedelta(days=364)))
    assert review.author_id == daughter.id and review.citizen_id == care.citizen.id


@pytest.mark.parametrize(
    "rating, answers, text, field",
    [
        (0, GOOD, "", "rating"),
        (6, GOOD, "", "rating"),
        (True, GOOD, "", "rating"),
        ("5", GOOD, "", "rating"),
        (5, {**GOOD, "dignity": "maybe"}, "", "dignity"),
        (5, {"on_time": "yes", "dignity": "yes"}, "", "outcomes"),
        (5, GOOD, "x" * 2001, "text"),
    ],
)
def test_a_review_is_checked_before_anything_is_kept(care, rating, answers, text, field):
    record_visit(care)
    booking = bookings.get_booking(care.booking.public_id)
    with pytest.raises(ValidationError) as refused:
        reviews.write(booking, by=care.citizen, rating=rating, answers=answers, text=text, now=_after(care))
    assert field in refused.value.errors
    assert reviews.review_of(booking) is None


def test_a_review_is_published_after_7_days_or_at_once_on_the_providers_one_reply(care, make_provider_staff, make_provider):
    record_visit(care)
    booking = bookings.get_booking(care.booking.public_id)
    written = _after(care)
    review = reviews.write(booking, by=care.citizen, rating=2, answers=GOOD, text="Late every morning.", now=written)
    for moment, shown in ((written, 0), (written + dt.timedelta(days=6, hours=23), 0), (written + dt.timedelta(days=7), 1)):
        assert reviews.summary(service_id=care.service.id, now=moment).count == shown
        assert len(reviews.published(provider_id=care.provider.id, now=moment)) == shown
    # The provider sees it at once, published or not.
    assert reviews.for_provider(care.provider.id) == [review]

    other = make_provider(name="Someone Else Care")
    with pytest.raises(NotFound):
        reviews.reply(review.id, provider=other, by=make_provider_staff(other), text="Not ours")
    with pytest.raises(ValidationError):
        reviews.reply(review.id, provider=care.provider, by=care.staff, text="   ")
    manager = make_provider_staff(care.provider, OrgRole.MANAGER)
    replied = written + dt.timedelta(days=2)
    reviews.reply(review.id, provider=care.provider, by=manager, text="We have changed the rota: sorry.", now=replied)
    review = db.session.get(Review, review.id)
    assert (review.reply_text, review.replied_at, review.publishes_at) == ("We have changed the rota: sorry.", replied, replied)
    assert reviews.summary(service_id=care.service.id, now=replied).count == 1
    with pytest.raises(Conflict, match="replies once"):
        reviews.reply(review.id, provider=care.provider, by=care.staff, text="Again", now=replied)
    assert _notices(care.citizen)[-1] == "Nene Valley Home Care replied to your review"


def test_the_figures_are_the_published_reviews_own(
    app, make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy
):
    """Three people review the same service 5, 4 and 4 (average 4.33: shown 4.3); a fourth
    review, not yet published, counts nowhere."""
    first = book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)
    cares = [first]
    for n in range(3):
        citizen = make_citizen(name=f"Person {n}")
        budget = make_budget(citizen=citizen, amount=50_000)
        booking = bookings.create(
            request_for(first.service, budget, day=future_day(policy, 3 + n), at=f"{11 + n}:00"),
            citizen=citizen,
            booker=citizen,
            policy=policy,
        )
        bookings.accept(booking, by=first.staff)
        cares.append(type(first)(first.provider, first.staff, first.service, citizen, budget, booking, booking.visits[0]))
    last = max(care.visit.starts_at for care in cares) + DAY
    for care, rating, when in zip(cares, (5, 4, 4, 1), (last, last, last, last + dt.timedelta(days=5)), strict=True):
        record_visit(care)
        reviews.write(bookings.get_booking(care.booking.public_id), by=care.citizen, rating=rating, answers=GOOD, now=when)
    figures = reviews.summary(service_id=first.service.id, now=last + dt.timedelta(days=8))
    assert (figures.count, figures.average) == (3, 4.3)
    assert figures.spread == {5: 1, 4: 2, 3: 0, 2: 0, 1: 0} and (figures.share(4), figures.share(1)) == (67, 0)
    assert reviews.summary(provider_id=first.provider.id, now=last + dt.timedelta(days=13)).count == 4
    assert reviews.summary(service_id=first.service.id, now=last).average is None


# -- Moderation --------------------------------------------------------------------------------


def _published_review(care, *, rating=1, text="The carer, Jo Bloggs of 4 Acacia Avenue, was rude."):
    record_visit(care)
    return reviews.write(
        bookings.get_booking(care.booking.public_id), by=care.citizen, rating=rating, answers=GOOD, text=text, now=_after(care)
    )


def test_a_provider_reports_a_review_and_a_commissioner_takes_it_down_for_a_policy_reason(care, make_commissioner, make_provider):
    from app.models import AuditEvent, RemovalReason, ReportOutcome

    review = _published_review(care)
    with pytest.raises(NotFound):
        reviews.report(review.id, provider=make_provider(), by=care.staff, reason="personal_data", note="Not ours")
    with pytest.raises(ValidationError):
        reviews.report(review.id, provider=care.provider, by=care.staff, reason="too negative", note="We disagree")
    with pytest.raises(ValidationError):
        reviews.report(review.id, provider=care.provider, by=care.staff, reason="personal_data", note=" ")
    filed = reviews.report(
        review.id, provider=care.provider, by=care.staff, reason="personal_data", note="It names a carer and her address"
    )
    with pytest.raises(Conflict, match="reported already"):
        reviews.report(review.id, provider=care.provider, by=care.staff, reason="abuse", note="And it is rude")
    assert reviews.open_reports() == [filed] and reviews.reported_ids(care.provider.id) == {review.id}
    # Reporting takes nothing down: only the council does.
    later = _after(care, dt.timedelta(days=8))
    assert reviews.summary(service_id=care.service.id, now=later).count == 1

    commissioner = make_commissioner()
    with pytest.raises(ValidationError):
        reviews.decide(filed.id, remove=True, reason="too negative", note="No", by=commissioner)
    decided = reviews.decide(
        filed.id, remove=True, reason="personal_data", note="It gives a carer's name and home address", by=commissioner
    )
    assert decided.outcome is ReportOutcome.REMOVED and reviews.open_reports() == []
    review = db.session.get(Review, review.id)
    assert review.removed_reason is RemovalReason.PERSONAL_DATA and not review.published(later)
    assert (
        reviews.summary(service_id=care.service.id, now=later).count == 0 and reviews.published(service_id=care.service.id, now=later) == []
    )
    assert review in reviews.for_provider(care.provider.id)  # the provider still sees it, marked as taken down
    with pytest.raises(Conflict, match="decided already"):
        reviews.decide(filed.id, remove=False, note="Second thoughts", by=commissioner)
    with pytest.raises(Conflict, match="taken down"):
        reviews.reply(review.id, provider=care.provider, by=care.staff, text="Thank you")
    actions = [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions[-2:] == ["review.reported", "review.removed"]
    assert _notices(care.citizen)[-1] == "Your review of Home care visits was taken down"


def test_a_negative_review_reported_is_kept_when_it_breaks_no_rule(care, make_commissioner):
    from app.models import ReportOutcome

    review = _published_review(care, rating=1, text="Visits were cut short most days.")
    filed = reviews.report(review.id, provider=care.provider, by=care.staff, reason="unrelated", note="We deliver full visits")
    with pytest.raises(ValidationError):
        reviews.decide(filed.id, remove=False, note="", by=make_commissioner())
    decided = reviews.decide(filed.id, remove=False, note="A genuine account of the care received", by=make_commissioner())
    assert decided.outcome is ReportOutcome.KEPT
    assert reviews.published(service_id=care.service.id, now=_after(care, dt.timedelta(days=8))) == [db.session.get(Review, review.id)]
    assert _notices(care.staff)[-1].startswith("The council decided on the review you reported: review kept")
