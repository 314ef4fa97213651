"""Commissioner tools for personal budgets: set one up, list them, read any statement."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.commissioner import bp
from app.formatting import format_pence, parse_pounds
from app.forms import FinanceCheckForm, FlaskForm, GovDateField, apply_errors, radio_field, select_field, submit, text_field, textarea_field
from app.models import BudgetType, Role
from app.presenters.budgets import parse_known_on, statement_csv, statement_view
from app.services import accounts, audits, budgets
from app.services.errors import Conflict, ValidationError
from app.services.policy import current_policy


class BudgetForm(FlaskForm):
    citizen_email = text_field(
        "Citizen’s email address",
        required="Enter the email address of the citizen’s account",
        max_length=254,
        description="The person must have registered on the marketplace",
    )
    budget_type = radio_field("Type of budget", choices=[(t.value, t.label) for t in BudgetType], required="Select the type of budget")
    isf_provider = select_field("Provider holding the Individual Service Fund", description="Only for an Individual Service Fund")
    amount = text_field(
        "Amount every 4 weeks", required="Enter the amount every 4 weeks", max_length=20, description="In pounds, for example 420 or 420.50"
    )
    starts_on = GovDateField(
        "Start date",
        invalid_message="Start date must be a real date, for example 16 11 2026",
        required="Enter the start date",
        description="For example, 16 11 2026",
    )
    outcomes = textarea_field(
        "Support plan outcomes",
        required="Enter at least one outcome from the support plan",
        max_length=3000,
        description="One outcome on each line, in the person’s words. For example: Get out to the shops each week",
    )
    submit = submit("Set up budget")


@bp.get("/budgets")
def budgets_list():
    text = (request.args.get("q") or "").strip().lower()
    rows = []
    for budget in budgets.all_budgets():
        if text and text not in budget.citizen.name.lower() and text not in budget.citizen.email:
            continue
        rows.append((budget, budgets.summary(budget)))
    return render_template("commissioner/budgets.html", rows=rows, q=request.args.get("q", ""))


@bp.route("/budgets/new", methods=["GET", "POST"])
def new_budget():
    form = BudgetForm()
    providers = budgets.isf_providers()
    form.isf_provider.choices = [("", "Not an Individual Service Fund")] + [(str(p.id), p.name) for p in providers]
    if form.validate_on_submit():
        errors: dict[str, str] = {}
        citizen = accounts.user_by_email((form.citizen_email.data or "").strip().lower())
        if citizen is None or citizen.role is not Role.CITIZEN:
            errors["citizen_email"] = "There is no citizen account with that email address"
        try:
            amount = parse_pounds(form.amount.data)
        except ValueError as exc:
            errors["amount"] = str(exc)
            amount = None
        budget_type = BudgetType(form.budget_type.data)
        provider = next((p for p in providers if str(p.id) == form.isf_provider.data), None)
        if budget_type is BudgetType.ISF and provider is None:
            errors["isf_provider"] = "Select the provider that will hold the Individual Service Fund"
        if errors:
            apply_errors(form, ValidationError(errors))
        else:
            try:
                budget = budgets.create_budget(
                    citizen=citizen,
                    budget_type=budget_type,
                    amount_per_period_pence=amount,
                    starts_on=form.starts_on.data,
                    outcomes=(form.outcomes.data or "").splitlines(),
                    created_by=current_user,
                    policy=current_policy(),
                    isf_provider=provider,
                )
            except ValidationError as exc:
                apply_errors(form, exc, field_map={"citizen": "citizen_email"})
            else:
                flash(f"Budget set up for {citizen.name}. The first period has been paid in.", "success")
                return redirect(url_for("commissioner.budget", public_id=budget.public_id))
    return render_template("commissioner/new_budget.html", form=form)


def _view(budget):
    known_on, known_error = parse_known_on(request.args)
    return statement_view(budget, current_policy(), request.args.get("period"), known_on, known_error)


@bp.get("/budgets/<public_id>")
def budget(public_id: str):
    budget = budgets.get_budget(public_id)
    return render_template("commissioner/budget.html", budget=budget, view=_view(budget))


@bp.get("/budgets/<public_id>/statement.csv")
def budget_statement_csv(public_id: str):
    return statement_csv(_view(budgets.get_budget(public_id)))


class ReverseForm(FlaskForm):
    reason = textarea_field(
        "Why are you reversing this payment?",
        required="Enter why the payment is being reversed: it goes in the audit trail",
        max_length=budgets.MAX_REASON,
        description="For example, paid for a period after the budget ended. It goes in the audit trail.",
    )
    submit = submit("Reverse this payment")


@bp.route("/budgets/<public_id>/payments/<id:transaction_id>/reverse", methods=["GET", "POST"])
def reverse_money_in(public_id: str, transaction_id: int):
    """Reverse a payment into a budget made in error: a new, linked ledger transaction."""
    budget = budgets.get_budget(public_id)
    paid = budgets.payment_in(budget, transaction_id)
    form = ReverseForm()
    if paid.reversal is None and form.validate_on_submit():
        try:
            budgets.reverse_money_in(budget, paid.transaction.id, by=current_user, reason=form.reason.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            apply_errors(form, ValidationError({"reason": str(exc)}))
        else:
            flash(
                f"Payment of {format_pence(paid.amount_pence)} reversed. The reversal is on the statement and in the audit trail.",
                "success",
            )
            return redirect(url_for("commissioner.budget", public_id=budget.public_id) + "#statement")
    return render_template(
        "commissioner/reverse_money_in.html",
        budget=budget,
        transaction=paid.transaction,
        amount=paid.amount_pence,
        done=paid.reversal,
        form=form,
    )


@bp.route("/budgets/<public_id>/finance-check", methods=["GET", "POST"])
def ask_for_finance_check(public_id: str):
    budget = budgets.get_budget(public_id)
    back = url_for("commissioner.budget", public_id=budget.public_id)
    form = FinanceCheckForm()
    if form.validate_on_submit():
        try:
            found = audits.ask_for_check(budget, reason=form.reason.data, by=current_user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("The finance check is open in this year’s audits.", "success")
            return redirect(url_for("commissioner.audit_case", audit_id=found.id))
    return render_template("finance_check.html", form=form, back=back, person=budget.citizen, audit=audits.open_audit_of(budget))
