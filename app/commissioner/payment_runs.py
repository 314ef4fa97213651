"""Payment runs (/commissioner/payment-runs): paying providers for delivered visits, with no
invoices. One commissioner prepares the run for a period that has ended; a different
commissioner or admin checks it and approves it, which pays every line once; then the
council's Bacs file (or CSV) is downloaded for its bank."""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.commissioner import bp
from app.formatting import format_date, format_pence, pluralise
from app.forms import ConfirmForm, FlaskForm, apply_errors, radio_field, textarea_field
from app.models import RunStatus
from app.services import delivery, payment_runs
from app.services.errors import Conflict, ValidationError
from app.services.payment_runs import bank_accounts
from app.services.payment_runs.bacs import BacsError
from app.uk_time import uk_today

RECENT_PERIODS = 6  # how many complete periods the "prepare" form offers
LINES_PER_PAGE = 50  # a run can pay 2,000 providers
MAX_REASON = 500
MILTON_KEYNES_DAYS = 34  # Milton Keynes Council: days from a provider's invoice to payment


class PrepareForm(FlaskForm):
    # The service says what is wrong with a date that is not a period's end, so any date may
    # be posted (not only the ones listed).
    period_end = radio_field("Prepare the run for which period?", choices=[], required="Select the period to pay", validate_choice=False)


class CancelForm(FlaskForm):
    reason = textarea_field(
        "Why are you cancelling this run?",
        required="Enter why you are cancelling the run",
        max_length=MAX_REASON,
        description="The audit trail keeps it. The visits in the run will be in the next run prepared.",
    )


def _period_text(starts_on: dt.date, ends_on: dt.date) -> str:
    return f"{format_date(starts_on)} to {format_date(ends_on - dt.timedelta(days=1))}"


def _recent_periods(runs) -> list[tuple[str, str]]:
    """The latest complete periods, newest first, as (last day, label) choices."""
    starts_on, ends_on = payment_runs.latest_complete_period(uk_today())
    length = ends_on - starts_on
    live = {run.ends_on: run for run in runs if run.status is not RunStatus.CANCELLED}
    choices = []
    for n in range(RECENT_PERIODS):
        start, end = starts_on - n * length, ends_on - n * length
        label = _period_text(start, end)
        if end in live:
            label += f" (run {live[end].id}: {live[end].status.label.lower()})"
        choices.append(((end - dt.timedelta(days=1)).isoformat(), label))
    return choices


def _list_page(form: PrepareForm, status: int = 200):
    runs = payment_runs.all_runs()
    form.period_end.choices = _recent_periods(runs)
    if form.period_end.data is None:
        form.period_end.data = form.period_end.choices[0][0]
    return render_template(
        "commissioner/payment_runs.html",
        runs=runs,
        days_to_pay=payment_runs.mean_days_to_pay([run.id for run in runs]),
        period_text=_period_text,
        form=form,
        open_exceptions=len(delivery.open_exceptions()),
        open_disputes=len(delivery.open_disputes()),
        bank_changes=len(bank_accounts.pending_confirmations()),
        milton_keynes_days=MILTON_KEYNES_DAYS,
    ), status


@bp.get("/payment-runs", endpoint="payment_runs")
def payment_runs_list():
    return _list_page(PrepareForm(formdata=None))


@bp.post("/payment-runs/prepare")
def prepare_payment_run():
    form = PrepareForm()
    if not form.validate():
        return _list_page(form)
    try:
        last_day = dt.date.fromisoformat(form.period_end.data)
    except (TypeError, ValueError):
        form.period_end.errors = ["Select one of the periods listed"]
        return _list_page(form)
    already = payment_runs.live_run_for(last_day + dt.timedelta(days=1))
    try:
        run = payment_runs.prepare(last_day, by=current_user)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _list_page(form)
    except Conflict as exc:  # another run was being prepared at the same moment
        flash(str(exc))
        return redirect(url_for("commissioner.payment_runs"))
    if already is not None:
        flash(f"The run for {_period_text(run.starts_on, run.ends_on)} was prepared already: this is it.")
    else:
        flash(
            f"Run prepared: {format_pence(run.net_pence)} for {pluralise(run.visit_count, 'visit')}. "
            "A different commissioner or admin must check and approve it.",
            "success",
        )
    return redirect(url_for("commissioner.payment_run", run_id=run.id))


def _page_number() -> int:
    return request.args.get("page", 1, type=int)


def _run_page(run, *, cancel_form: CancelForm | None = None, error: str | None = None, status: int = 200):
    lines = payment_runs.lines_page(run, _page_number(), LINES_PER_PAGE)
    if lines.beyond_last and lines.page > 1:
        return redirect(url_for("commissioner.payment_run", run_id=run.id))
    days = payment_runs.mean_days_to_pay([run.id]).get(run.id)
    return render_template(
        "commissioner/payment_run.html",
        run=run,
        lines=lines,
        period=_period_text(run.starts_on, run.ends_on),
        days_to_pay=days,
        milton_keynes_days=MILTON_KEYNES_DAYS,
        may_approve=payment_runs.may_approve(run, current_user),
        approve_form=ConfirmForm(formdata=None),
        cancel_form=cancel_form or CancelForm(formdata=None),
        form=cancel_form,  # its errors give the page title its "Error: "
        error=error,
    ), status


@bp.get("/payment-runs/<id:run_id>")
def payment_run(run_id: int):
    return _run_page(payment_runs.get_run(run_id))


@bp.post("/payment-runs/<id:run_id>/approve")
def approve_payment_run(run_id: int):
    run = payment_runs.get_run(run_id)
    try:
        run = payment_runs.approve(run.id, by=current_user)
    except payment_runs.SamePerson as exc:
        return _run_page(run, error=str(exc), status=403)
    except ValidationError as exc:
        return _run_page(run, error="; ".join(exc.errors.values()))
    except Conflict as exc:  # cancelled, perhaps by someone else a moment ago
        flash(str(exc))
    else:
        flash(
            f"Run approved: {format_pence(run.net_pence)} reaches providers’ banks on {format_date(run.pay_date)}. "
            "Download the payment file for the council’s bank.",
            "success",
        )
    return redirect(url_for("commissioner.payment_run", run_id=run.id))


@bp.post("/payment-runs/<id:run_id>/cancel")
def cancel_payment_run(run_id: int):
    run = payment_runs.get_run(run_id)
    form = CancelForm()
    # A run that cannot be cancelled any more says so, whatever the form holds.
    if not form.validate() and run.status is RunStatus.PREPARED:
        return _run_page(run, cancel_form=form)
    try:
        payment_runs.cancel(run.id, by=current_user, reason=form.reason.data or "")
    except Conflict as exc:
        flash(str(exc))
        return redirect(url_for("commissioner.payment_run", run_id=run.id))
    flash(f"Run {run.id} is cancelled. Its visits will be paid by the next run prepared.", "success")
    return redirect(url_for("commissioner.payment_runs"))


def _download(run_id: int, make, mimetype: str, name: str):
    run = payment_runs.get_run(run_id)
    try:
        body = make(run)
    except (Conflict, BacsError) as exc:
        flash(f"The payment file cannot be made: {exc}")
        return redirect(url_for("commissioner.payment_run", run_id=run.id))
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.get("/payment-runs/<id:run_id>/bacs")
def payment_run_bacs(run_id: int):
    return _download(run_id, payment_runs.bacs_file, "text/plain", f"payment-run-{run_id}.bacs.txt")


@bp.get("/payment-runs/<id:run_id>/csv")
def payment_run_csv(run_id: int):
    return _download(run_id, payment_runs.csv_file, "text/csv", f"payment-run-{run_id}.csv")
