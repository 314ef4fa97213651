"""Reviewing a service from its booking: the person, or someone who arranges their care, once
a visit was delivered (``reviews.why_not``), once per booking."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.citizen import bp
from app.database import utcnow
from app.formatting import format_date
from app.forms import FlaskForm, apply_errors, radio_field, submit, textarea_field
from app.models import REVIEW_QUESTIONS, ReviewAnswer
from app.services import accounts, bookings, reviews
from app.services.errors import Conflict, NotFound, ValidationError

RATINGS = [
    ("5", "5 out of 5: excellent"),
    ("4", "4 out of 5: good"),
    ("3", "3 out of 5: fair"),
    ("2", "2 out of 5: poor"),
    ("1", "1 out of 5: very poor"),
]
ANSWERS = [(answer.value, answer.label) for answer in ReviewAnswer]


class ReviewForm(FlaskForm):
    rating = radio_field("Overall, how good was the service?", RATINGS, required="Select a rating from 1 to 5")
    on_time = radio_field(REVIEW_QUESTIONS[0][1], ANSWERS, required="Say whether they arrived and left on time")
    dignity = radio_field(REVIEW_QUESTIONS[1][1], ANSWERS, required="Say whether you were treated with dignity and respect")
    outcomes = radio_field(REVIEW_QUESTIONS[2][1], ANSWERS, required="Say whether they helped you towards your outcomes")
    text = textarea_field(
        "Anything else you want others to know (optional)",
        max_length=reviews.MAX_TEXT,
        description="Do not include names, addresses, health details or anything else that identifies someone.",
    )
    submit = submit("Send review")


def _my_booking(public_id: str):
    booking = bookings.get_booking(public_id)
    if not accounts.can_act_for(current_user, booking.citizen):
        raise NotFound("No such booking")
    return booking


@bp.route("/bookings/<public_id>/review", methods=["GET", "POST"])
def review_booking(public_id: str):
    booking = _my_booking(public_id)
    back = url_for("citizen.booking", public_id=booking.public_id, _anchor="review")
    problem = reviews.why_not(booking, current_user, now=utcnow())
    if problem:
        flash(problem)
        return redirect(back)
    form = ReviewForm()
    if form.validate_on_submit():
        answers = {column: form[column].data for column, _, _ in REVIEW_QUESTIONS}
        try:
            review = reviews.write(booking, by=current_user, rating=int(form.rating.data), answers=answers, text=form.text.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(back)
        else:
            flash(
                f"Thank you: your review of {booking.service.title} is sent. {booking.provider.name} can read it now and reply; "
                f"it is published on {format_date(review.publishes_at)}, or sooner if they reply.",
                "success",
            )
            return redirect(back)
    return render_template("citizen/review.html", booking=booking, form=form)
