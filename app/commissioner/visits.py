"""Visits for the council to check (/commissioner/visits): those recorded outside the
council's tolerance (pay as recorded, as planned, or not at all), those the person disputed
(uphold and take the money back, or pay as recorded), and those never recorded 48 hours
after they were due. Commissioners decide; admins can look."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.validators import ValidationError as FieldError

from app.commissioner import bp
from app.formatting import format_datetime, format_pence, parse_pounds
from app.forms import FlaskForm, apply_errors, radio_field, submit, text_field, textarea_field
from app.models import DisputeState, ExceptionState, Role, VisitOutcome
from app.services import accounts, delivery
from app.services.errors import Conflict, DomainError, NotFound, ValidationError

UPHOLD, REJECT = "uphold", "reject"


class ExceptionForm(FlaskForm):
    decision = radio_field(
        "What should the council pay for this visit?", choices=[], required="Choose whether to pay as recorded, pay as planned, or not pay"
    )
    reason = textarea_field(
        "Reason for the decision",
        required="Give a reason for the decision",
        max_length=delivery.MAX_REASON,
        description="It is kept in the audit trail.",
    )
    submit = submit("Save the decision")


class DisputeForm(FlaskForm):
    outcome = radio_field(
        "Is the dispute upheld?",
        choices=[(UPHOLD, "Uphold: take back the money"), (REJECT, "Not upheld: pay as recorded")],
        required="Choose whether the dispute is upheld",
    )
    take_back = text_field("How much to take back", max_length=20)
    reason = textarea_field(
        "Reason for the decision",
        required="Give a reason for the decision",
        max_length=delivery.MAX_REASON,
        description="The person and the provider see it on the booking; it is kept in the audit trail.",
    )
    submit = submit("Settle the dispute")

    def validate_take_back(self, field):
        if self.outcome.data == UPHOLD and (field.data or "").strip():
            try:
                parse_pounds(field.data)
            except ValueError as exc:
                raise FieldError(str(exc)) from None


@dataclass(frozen=True)
class Check:
    """One visit to check, with what it costs each way."""

    record: object
    visit: object
    booking: object
    as_recorded_pence: int = 0
    disputed_by: object = None


def _check(record, disputed_by=None) -> Check:
    visit = record.visit
    booking = visit.booking
    recorded = delivery.recorded_pence(record, booking, visit) if record.outcome is VisitOutcome.DELIVERED else 0
    return Check(record, visit, booking, recorded, disputed_by)


@bp.get("/visits")
def visits():
    disputes = delivery.open_disputes()
    people = accounts.users_by_id({r.disputed_by_id for r in disputes if r.disputed_by_id})
    return render_template(
        "commissioner/visits.html",
        exceptions=[_check(r) for r in delivery.open_exceptions()],
        disputes=[_check(r, people.get(r.disputed_by_id)) for r in disputes],
        unrecorded=delivery.unrecorded_visits(),
        hours=int(delivery.UNRECORDED_AFTER.total_seconds() // 3600),
    )


@bp.route("/visits/<id:record_id>", methods=["GET", "POST"])
def visit_check(record_id: int):
    record = delivery.get_record(record_id)
    may_decide = current_user.role is Role.COMMISSIONER  # decisions move money: commissioners, not admins
    if request.method == "POST" and not may_decide:
        raise NotFound("No such page")
    check = _check(record)
    form = None
    if record.exception_state is ExceptionState.OPEN:
        form = ExceptionForm()
        form.decision.choices = [
            (ExceptionState.PAID_AS_RECORDED.value, f"Pay as recorded: {format_pence(check.as_recorded_pence)}"),
            (ExceptionState.PAID_AS_PLANNED.value, f"Pay as planned: {format_pence(check.visit.amount_pence)}"),
            (ExceptionState.NOT_PAID.value, "Don’t pay: the money goes back"),
        ]
    elif record.dispute_state is DisputeState.OPEN:
        form = DisputeForm()
    if request.method == "POST":
        if form is None:
            flash("This visit has nothing waiting for a decision.")
            return redirect(url_for("commissioner.visit_check", record_id=record.id))
        if form.validate_on_submit():
            done = _decide(form, check) if isinstance(form, ExceptionForm) else _settle(form, check)
            if done is not None:
                return done
    people = accounts.users_by_id({i for i in (record.disputed_by_id, record.decided_by_id, record.dispute_settled_by_id) if i})
    return render_template("commissioner/visit.html", check=check, record=record, form=form, may_decide=may_decide, people=people)


def _decide(form: ExceptionForm, check: Check):
    """Pay the exception as decided: a redirect once done, or None with the problem on the form."""
    decision = ExceptionState(form.decision.data)
    try:
        delivery.decide(check.record.id, decision=decision, reason=form.reason.data, by=current_user)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    except Conflict as exc:
        flash(str(exc))
        return redirect(url_for("commissioner.visit_check", record_id=check.record.id))
    paid = {
        ExceptionState.PAID_AS_RECORDED: f": {format_pence(check.as_recorded_pence)}",
        ExceptionState.PAID_AS_PLANNED: f": {format_pence(check.visit.amount_pence)}",
    }.get(decision, "")
    flash(f"Visit on {format_datetime(check.visit.starts_at)} ({check.booking.reference}) {decision.label.lower()}{paid}.", "success")
    return redirect(url_for("commissioner.visits"))


def _settle(form: DisputeForm, check: Check):
    """Settle the dispute: a redirect once done, or None with the problem on the form."""
    uphold = form.outcome.data == UPHOLD
    amount = parse_pounds(form.take_back.data) if uphold and (form.take_back.data or "").strip() else None
    try:
        settled = delivery.settle(check.record.id, uphold=uphold, reason=form.reason.data, by=current_user, take_back_pence=amount)
    except ValidationError as exc:
        apply_errors(form, exc, {"__all__": "outcome"})
        return None
    except Conflict as exc:
        flash(str(exc))
        return redirect(url_for("commissioner.visit_check", record_id=check.record.id))
    except DomainError as exc:  # the card processor could not be reached, or is not set up
        apply_errors(form, ValidationError({"outcome": str(exc)}))
        return None
    when = f"Dispute about the visit on {format_datetime(check.visit.starts_at)} ({check.booking.reference})"
    if uphold:
        flash(f"{when} upheld: {format_pence(settled.taken_back_pence)} taken back from {check.booking.provider.name}.", "success")
    else:
        flash(f"{when} not upheld: the visit is paid as recorded.", "success")
    return redirect(url_for("commissioner.visits"))
