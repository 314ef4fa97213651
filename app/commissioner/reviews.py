"""Reviews reported by providers (/commissioner/reviews): the council checks each against the
published review policy and takes it down (for one of the policy's reasons, with a note) or
keeps it. Both are audited; nothing is taken down for being negative."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.commissioner import bp
from app.forms import FlaskForm, apply_errors, radio_field, submit, textarea_field
from app.models import RemovalReason
from app.services import reviews
from app.services.errors import Conflict, ValidationError

KEEP = "keep"


class DecideForm(FlaskForm):
    decision = radio_field(
        "Does the review break the review policy?",
        [(reason.value, f"Yes, take it down: {reason.label[0].lower()}{reason.label[1:]}") for reason in RemovalReason]
        + [(KEEP, "No, keep it published")],
        required="Choose whether to take the review down or keep it",
        description="Never take a review down for being negative or for criticising the provider.",
    )
    note = textarea_field(
        "Reason for the decision",
        required="Give a reason for the decision",
        max_length=reviews.MAX_NOTE,
        description="The provider sees it; if the review is taken down, so does the person who wrote it. It is kept in the audit trail.",
    )
    submit = submit("Save the decision")


@bp.get("/reviews")
def reported_reviews():
    return render_template("commissioner/reviews.html", reports=reviews.open_reports(), decided=reviews.recent_decisions())


@bp.route("/reviews/reports/<id:report_id>", methods=["GET", "POST"])
def review_report(report_id: int):
    filed = reviews.get_report(report_id)
    form = DecideForm() if filed.decided_at is None else None
    if form is not None and form.validate_on_submit():
        remove = form.decision.data != KEEP
        try:
            reviews.decide(filed.id, remove=remove, reason=form.decision.data if remove else None, note=form.note.data, by=current_user)
        except ValidationError as exc:
            apply_errors(form, exc, {"reason": "decision"})
        except Conflict as exc:
            flash(str(exc))
            return redirect(url_for("commissioner.review_report", report_id=filed.id))
        else:
            flash("The review was taken down and the provider and its writer told." if remove else "The review stays published.", "success")
            return redirect(url_for("commissioner.reported_reviews"))
    return render_template("commissioner/review_report.html", report=filed, review=filed.review, form=form)
