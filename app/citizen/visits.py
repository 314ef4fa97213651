"""The person (or whoever arranges their care) checks a delivered visit: confirm it, or say
it did not happen as recorded, within the council's window (``delivery.may_answer``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.citizen import bp
from app.formatting import format_datetime
from app.forms import FlaskForm, apply_errors, submit, textarea_field
from app.models import DisputeState, ExceptionState, VisitOutcome, VisitStatus
from app.services import accounts, bookings, council, delivery
from app.services.errors import Conflict, NotFound, ValidationError


class DisputeForm(FlaskForm):
    reason = textarea_field(
        "What did not happen as recorded?",
        required="Say what did not happen as recorded",
        max_length=delivery.MAX_REASON,
        description="For example, the carer arrived at 10:30am, not 10am, and left after 20 minutes.",
    )
    submit = submit("Send to the council")


@dataclass(frozen=True)
class VisitCheck:
    """A delivered visit's record as the person sees it on their booking."""

    visit: object
    record: object
    may_answer: bool
    answer_until: object  # when the window closes


def visit_checks(booking) -> list[VisitCheck]:
    """Each visit of ``booking`` the provider recorded as delivered, oldest first."""
    days = council.delivery_rules().confirm_days
    checks = []
    for visit in booking.visits:
        record = visit.record
        if record is None or record.outcome is not VisitOutcome.DELIVERED:
            continue
        answerable = delivery.may_answer(record, confirm_days=days)
        checks.append(VisitCheck(visit, record, answerable, delivery.confirm_until(record, days)))
    return checks


def _my_visit(public_id: str, visit_id: int):
    """The booking and its visit, if the visitor arranges care for its person (else 404)."""
    booking = bookings.get_booking(public_id)
    if not accounts.can_act_for(current_user, booking.citizen):
        raise NotFound("No such booking")
    visit = next((v for v in booking.visits if v.id == visit_id), None)
    if visit is None:
        raise NotFound("No such visit")
    return booking, visit


def _back(booking):
    return redirect(url_for("citizen.booking", public_id=booking.public_id, _anchor="visit-checks"))


def _not_answerable(visit):
    """Why the visit cannot be confirmed or disputed now, or None if it can."""
    record = visit.record
    if record is None or record.outcome is not VisitOutcome.DELIVERED:
        return f"The visit on {format_datetime(visit.starts_at)} has not been recorded as delivered, so there is nothing to check yet."
    when = format_datetime(visit.starts_at)
    if delivery.may_answer(record):
        return None
    if record.dispute_state is not DisputeState.NONE:
        return f"You have already answered for the visit on {when}: {record.dispute_state.label.lower()}."
    if record.exception_state is ExceptionState.OPEN:
        return f"The council is checking the times recorded for the visit on {when}. You can answer once it has decided."
    if visit.status is not VisitStatus.DELIVERED:
        return f"The visit on {when} was not paid for, so there is nothing to confirm."
    days = council.delivery_rules().confirm_days
    return f"The visit on {when} can no longer be confirmed or disputed: it was recorded more than {days} days ago."


@bp.post("/bookings/<public_id>/visits/<id:visit_id>/confirm")
def confirm_visit(public_id: str, visit_id: int):
    booking, visit = _my_visit(public_id, visit_id)
    problem = _not_answerable(visit)
    if problem:
        flash(problem)
        return _back(booking)
    try:
        delivery.confirm(visit.record.id, by=current_user)
    except Conflict as exc:
        flash(str(exc))
    else:
        flash(f"You confirmed the visit on {format_datetime(visit.starts_at)} happened as recorded.", "success")
    return _back(booking)


@bp.route("/bookings/<public_id>/visits/<id:visit_id>/dispute", methods=["GET", "POST"])
def dispute_visit(public_id: str, visit_id: int):
    booking, visit = _my_visit(public_id, visit_id)
    problem = _not_answerable(visit)
    if problem:
        flash(problem)
        return _back(booking)
    form = DisputeForm()
    if form.validate_on_submit():
        try:
            delivery.dispute(visit.record.id, reason=form.reason.data, by=current_user)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return _back(booking)
        else:
            flash(
                f"You said the visit on {format_datetime(visit.starts_at)} did not happen as recorded. "
                "It is held out of payment until the council settles it: we will tell you what it decides.",
                "success",
            )
            return _back(booking)
    days = council.delivery_rules().confirm_days
    return render_template(
        "citizen/visit_dispute.html",
        booking=booking,
        visit=visit,
        record=visit.record,
        form=form,
        answer_until=delivery.confirm_until(visit.record, days),
    )
