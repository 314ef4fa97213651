"""Writing a review (the person or their representative) and the provider's one public reply.

A review is published 7 days after it is written, or as soon as the provider replies,
whichever is first; the provider sees it at once and is told. Nothing here holds a review
back for being negative."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_date
from app.models import REVIEW_QUESTIONS, Booking, Provider, Review, ReviewAnswer, User
from app.services import accounts, audit, notifications, provider_contact
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.reviews import counting
from app.services.reviews.eligibility import why_not

PUBLISH_AFTER = dt.timedelta(days=7)
MAX_TEXT = 2000


def _answers(answers: Mapping[str, str | None]) -> tuple[dict[str, ReviewAnswer], dict[str, str]]:
    chosen, errors = {}, {}
    for column, question, _ in REVIEW_QUESTIONS:
        value = answers.get(column)
        try:
            chosen[column] = ReviewAnswer(value)
        except ValueError:
            errors[column] = f"Answer: {question[0].lower()}{question[1:]}"
    return chosen, errors


def _checked(rating, answers: Mapping[str, str | None], text: str | None) -> tuple[int, dict[str, ReviewAnswer], str]:
    errors = {}
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = "Select a rating from 1 to 5 stars"
    chosen, answer_errors = _answers(answers)
    errors |= answer_errors
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        errors["text"] = f"Your review must be {MAX_TEXT:,} characters or fewer"
    if errors:
        raise ValidationError(errors)
    return rating, chosen, text


def write(
    booking: Booking, *, by: User, rating, answers: Mapping[str, str | None], text: str | None = "", now: dt.datetime | None = None
) -> Review:
    """``by`` reviews the service of ``booking`` (see eligibility). Raises NotFound for
    someone who does not arrange the person's care, Conflict when the booking cannot be
    reviewed (nothing delivered, too long ago, reviewed already) and ValidationError."""
    now = now or utcnow()
    if not accounts.can_act_for(by, booking.citizen):
        raise NotFound("No such booking")
    problem = why_not(booking, by, now=now)
    if problem:
        raise Conflict(problem)
    rating, chosen, text = _checked(rating, answers, text)
    review = Review(
        booking_id=booking.id,
        service_id=booking.service_id,
        provider_id=booking.provider_id,
        citizen_id=booking.citizen_id,
        author_id=by.id,
        rating=rating,
        text=text,
        created_at=now,
        publishes_at=now + PUBLISH_AFTER,
        **chosen,
    )
    try:
        with write_transaction():
            db.session.add(review)
            db.session.flush()
            _tell_provider(booking, review)
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This booking has been reviewed already: there is one review for each booking") from None
    return review


def _tell_provider(booking: Booking, review: Review) -> None:
    provider = booking.provider
    provider_contact.tell(
        provider,
        provider_contact.leads(provider),
        subject=f"A review of {booking.service.title}: {review.rating} out of 5",
        body=(
            f"Someone who used {booking.service.title} (booking {booking.reference}) reviewed it: {review.rating} out of 5. "
            f"It is published on {format_date(review.publishes_at)}, or as soon as you reply. You can reply once, publicly."
        ),
        link="/provider/reviews",
    )


def get_for_provider(review_id: int, provider: Provider) -> Review:
    """One of ``provider``'s reviews (anyone else's: NotFound)."""
    review = db.session.get(Review, review_id)
    if review is None or review.provider_id != provider.id:
        raise NotFound("No such review")
    return review


def reply(review_id: int, *, provider: Provider, by: User, text: str | None, now: dt.datetime | None = None) -> Review:
    """The provider's one public reply; the review is published with it (if it was not yet)."""
    now = now or utcnow()
    review = get_for_provider(review_id, provider)
    if review.removed_at is not None:
        raise Conflict("This review has been taken down: there is nothing to reply to")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"reply": "Enter your reply"})
    if len(text) > MAX_TEXT:
        raise ValidationError({"reply": f"Your reply must be {MAX_TEXT:,} characters or fewer"})
    with write_transaction():
        changed = db.session.execute(
            update(Review)
            .where(Review.id == review.id, Review.replied_at.is_(None))
            .values(reply_text=text, replied_at=now, replied_by_id=by.id, publishes_at=min(review.publishes_at, now))
        ).rowcount
        if changed != 1:
            raise Conflict("This review has a reply already: a provider replies once")
        counting.count_published([review.id], now=now)
        audit.record(by, "review.replied", "review", review.id, after={"provider": provider.id}, at=now)
        notifications.notify(
            review.author,
            f"{provider.name} replied to your review",
            f"{provider.name} replied to your review of {review.service.title}: “{text}”",
            link=f"/services/{review.service_id}#reviews",
        )
    db.session.expire(review)
    return review
