"""Proportionate audit (/commissioner/audits): each year's balance checks of every budget,
and the year's sample (a reproducible random share plus every budget with a risk flag or a
finance check asked for, each with why it was chosen), drawn here or by `flask audits
sample --year YYYY`; then each audit worked on its own page: questions to the person,
findings, time, and the outcome (which may recover unspent money). Commissioners act;
admins look."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import HiddenField

from app.commissioner import bp
from app.database import utcnow
from app.formatting import parse_pounds
from app.forms import FlaskForm, GovIntegerField, apply_errors, radio_field, submit, text_field, textarea_field
from app.models import AuditOutcome, Role
from app.services import audits, budgets
from app.services.errors import Conflict, NotFound, ValidationError
from app.uk_time import uk_today


class DrawForm(FlaskForm):
    year = HiddenField()
    submit = submit("Check every budget and draw the sample")


def _year() -> int:
    this_year = uk_today(utcnow()).year
    text = request.args.get("year", "")
    return int(text) if text.isdigit() and 2000 <= int(text) <= this_year else this_year


@bp.get("/audits")
def audit_sample():
    year = _year()
    sample = audits.sample_for(year)
    checks = audits.checks_of(year)
    form = DrawForm(year=str(year))
    return render_template(
        "commissioner/audits.html",
        year=year,
        years=list(range(uk_today(utcnow()).year, uk_today(utcnow()).year - 5, -1)),
        sample=sample,
        year_audits=audits.audits_of(year),
        checks=checks,
        not_adding_up=[check for check in checks if not check.balances],
        share=audits.share_percent(),
        report=audits.year_report(year),
        outcomes=AuditOutcome,
        form=form,
    )


@bp.post("/audits/sample")
def draw_audit_sample():
    form = DrawForm()
    year = int(form.year.data) if form.validate_on_submit() and (form.year.data or "").isdigit() else None
    if year is None:
        flash("Choose the year to draw the sample for")
        return redirect(url_for("commissioner.audit_sample"))
    try:
        sample = audits.draw(year, by=current_user)
    except ValidationError as exc:
        flash("; ".join(exc.errors.values()))
        return redirect(url_for("commissioner.audit_sample"))
    flash(f"The {year} sample is drawn: {len(sample.audits)} budgets to audit.", "success")
    return redirect(url_for("commissioner.audit_sample", year=year))


# -- Working one audit ---------------------------------------------------------------------------


class QuestionForm(FlaskForm):
    question = textarea_field(
        "Ask the person a question",
        required="Enter the question for the person",
        max_length=audits.MAX_TEXT,
        description="They see it on their budget’s page and are told by email. For example: what was the £250 on 3 March for?",
    )
    submit = submit("Send the question")


class RecordForm(FlaskForm):
    findings = textarea_field("Findings so far", max_length=audits.MAX_FINDINGS)
    minutes = GovIntegerField(
        "Minutes spent since you last recorded", invalid_message="Enter the minutes spent as a whole number from 0 to 1,440"
    )
    submit = submit("Save findings and time")


class CloseForm(FlaskForm):
    outcome = radio_field("Outcome", [(o.value, o.label) for o in AuditOutcome], required="Choose the outcome of the audit")
    recover = text_field(
        "How much unspent money to recover", max_length=20, description="Only with “Unspent money recovered”: for example, 250.00."
    )
    findings = textarea_field(
        "What the audit found",
        required="Record what the audit found",
        max_length=audits.MAX_FINDINGS,
        description="Kept in the audit trail.",
    )
    submit = submit("Close the audit")


class GiveBackForm(FlaskForm):
    reason = textarea_field(
        "Why the money goes back to the budget",
        required="Enter why the money goes back to the budget: it goes in the audit trail",
        max_length=audits.MAX_FINDINGS,
    )
    submit = submit("Give the recovered money back")


def _page(found, *, question=None, record=None, close=None, give_back=None, status: int = 200):
    return render_template(
        "commissioner/audit_case.html",
        found=found,
        budget=found.budget,
        figures=budgets.summary(found.budget),
        question_form=question or QuestionForm(),
        record_form=record or RecordForm(findings=found.findings),
        close_form=close or CloseForm(findings=found.findings),
        give_back_form=give_back or GiveBackForm(),
        given_back=audits.recovery_given_back(found),
        may_act=current_user.role is Role.COMMISSIONER,
    ), status


def _commissioner_only() -> None:
    if current_user.role is not Role.COMMISSIONER:
        raise NotFound("No such page")  # audits move money: commissioners act, admins look


@bp.get("/audits/<id:audit_id>")
def audit_case(audit_id: int):
    return _page(audits.get_audit(audit_id))


def _act(audit_id: int, form: FlaskForm, slot: str, do, done: str, after=None):
    """One of an audit's actions from its form: ``do(audit, form)``, then back to the
    audit's page (or ``after(audit)``) saying ``done``; or the page again with the form's
    errors, or with why it could not be done."""
    _commissioner_only()
    found = audits.get_audit(audit_id)
    if not form.validate_on_submit():
        return _page(found, **{slot: form})
    here = url_for("commissioner.audit_case", audit_id=found.id)
    try:
        do(found, form)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _page(found, **{slot: form})
    except Conflict as exc:
        flash(str(exc))
        return redirect(here)
    flash(done, "success")
    return redirect(after(found) if after else here)


@bp.post("/audits/<id:audit_id>/ask")
def ask_in_audit(audit_id: int):
    def ask(found, form):
        audits.ask(found.id, question=form.question.data, by=current_user)

    return _act(audit_id, QuestionForm(), "question", ask, "The question is sent: the person sees it on their budget’s page.")


@bp.post("/audits/<id:audit_id>/record")
def record_in_audit(audit_id: int):
    def record(found, form):
        audits.record(found.id, findings=form.findings.data, minutes=form.minutes.data or 0, by=current_user)

    return _act(audit_id, RecordForm(), "record", record, "Findings and time saved.")


@bp.post("/audits/<id:audit_id>/close")
def close_audit(audit_id: int):
    def close(found, form):
        try:
            recover = parse_pounds(form.recover.data) if form.outcome.data == AuditOutcome.RECOVERED.value else None
        except ValueError as exc:
            raise ValidationError({"recover": str(exc)}) from None
        audits.close(found.id, outcome=form.outcome.data, findings=form.findings.data, recover_pence=recover, by=current_user)

    def to_the_sample(found):
        return url_for("commissioner.audit_sample", year=found.year)

    return _act(audit_id, CloseForm(), "close", close, "The audit is closed and the person told.", after=to_the_sample)


@bp.post("/audits/<id:audit_id>/give-back")
def give_back_recovery(audit_id: int):
    def give_back(found, form):
        audits.undo_recovery(found.id, reason=form.reason.data, by=current_user)

    return _act(audit_id, GiveBackForm(), "give_back", give_back, "The recovered money is back in the budget.")
