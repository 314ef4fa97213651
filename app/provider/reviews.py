"""The provider's reviews (/provider/reviews): every review of its services as soon as it is
written, when each is published, and the one public reply an owner or manager may give."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user

from app.database import utcnow
from app.forms import FlaskForm, apply_errors, radio_field, submit, textarea_field
from app.models import OrgRole, RemovalReason
from app.provider import bp
from app.services import reviews, team
from app.services.errors import Conflict, ValidationError

NOT_A_MANAGER = "Only an owner or manager of your organisation can reply to a review."


class ReportForm(FlaskForm):
    reason = radio_field(
        "Which part of the review policy does it break?",
        [(reason.value, reason.label) for reason in RemovalReason],
        required="Select which part of the review policy it breaks",
    )
    note = textarea_field("What in the review breaks it?", required="Say what in the review breaks the policy", max_length=reviews.MAX_NOTE)
    submit = submit("Send to the council")


class ReplyForm(FlaskForm):
    reply = textarea_field(
        "Your reply",
        required="Enter your reply",
        max_length=reviews.MAX_TEXT,
        description="Everyone who reads the review sees your reply under it. You can reply once, and cannot change it after.",
    )
    submit = submit("Publish reply")


def _may_reply() -> bool:
    return g.staff.org_role.rank >= OrgRole.MANAGER.rank


@bp.get("/reviews")
def reviews_list():
    provider = g.staff.provider
    return render_template(
        "provider/reviews.html",
        provider=provider,
        reviews=reviews.for_provider(provider.id),
        summary=reviews.summary(provider_id=provider.id, now=utcnow()),
        may_reply=_may_reply(),
        reported=reviews.reported_ids(provider.id),
        now=utcnow(),
    )


@bp.route("/reviews/<id:review_id>/reply", methods=["GET", "POST"])
def reply_to_review(review_id: int):
    provider = g.staff.provider
    review = reviews.get_for_provider(review_id, provider)  # anyone else's: NotFound (404)
    if not _may_reply():
        raise team.NotAllowed(NOT_A_MANAGER)
    if review.replied_at is not None:
        flash("This review has a reply already: a provider replies once.")
        return redirect(url_for("provider.reviews_list", _anchor=f"review-{review.id}"))
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            reviews.reply(review.id, provider=provider, by=current_user, text=form.reply.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(url_for("provider.reviews_list"))
        else:
            flash("Your reply is published with the review.", "success")
            return redirect(url_for("provider.reviews_list", _anchor=f"review-{review.id}"))
    return render_template("provider/review_reply.html", provider=provider, review=review, form=form, now=utcnow())


@bp.route("/reviews/<id:review_id>/report", methods=["GET", "POST"])
def report_review(review_id: int):
    """Ask the council to check a review against the policy (it decides: a provider never
    takes a review down)."""
    provider = g.staff.provider
    review = reviews.get_for_provider(review_id, provider)  # anyone else's: NotFound (404)
    if not _may_reply():
        raise team.NotAllowed("Only an owner or manager of your organisation can report a review.")
    back = url_for("provider.reviews_list", _anchor=f"review-{review.id}")
    form = ReportForm()
    if form.validate_on_submit():
        try:
            reviews.report(review.id, provider=provider, by=current_user, reason=form.reason.data, note=form.note.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(back)
        else:
            flash("The council will check the review against the policy and tell you what it decides.", "success")
            return redirect(back)
    return render_template("provider/review_report.html", provider=provider, review=review, form=form, now=utcnow())
