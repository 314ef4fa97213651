"""The council's questions about a personal budget during its yearly audit: the person (or
whoever arranges their care) sees them on the budget's page and answers them there."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.citizen import bp
from app.forms import FinanceCheckForm, FlaskForm, apply_errors, submit, textarea_field
from app.services import accounts, audits, budgets
from app.services.errors import Conflict, NotFound, ValidationError


class AnswerForm(FlaskForm):
    answer = textarea_field("Your answer", required="Enter your answer", max_length=audits.MAX_TEXT)
    submit = submit("Send your answer")


@bp.post("/budgets/<public_id>/audit-questions/<id:question_id>/answer")
def answer_audit_question(public_id: str, question_id: int):
    budget = budgets.get_budget(public_id)
    if not accounts.can_act_for(current_user, budget.citizen):
        raise NotFound("No such budget")
    asked = next((q for q in audits.open_questions(budget) if q.id == question_id), None)
    back = url_for("citizen.budget", public_id=budget.public_id, _anchor="audit")
    if asked is None:
        flash("That question has been answered already, or the check is finished.")
        return redirect(back)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            audits.answer(asked.id, text=form.answer.data, by=current_user)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(back)
        else:
            flash("Thank you: your answer is sent to the council.", "success")
            return redirect(back)
    return render_template("citizen/audit_answer.html", budget=budget, asked=asked, form=form)


@bp.route("/budgets/<public_id>/finance-check", methods=["GET", "POST"])
def ask_for_finance_check(public_id: str):
    budget = budgets.get_budget(public_id)
    if not accounts.can_act_for(current_user, budget.citizen):
        raise NotFound("No such budget")
    back = url_for("citizen.budget", public_id=budget.public_id)
    form = FinanceCheckForm()
    if form.validate_on_submit():
        try:
            audits.ask_for_check(budget, reason=form.reason.data, by=current_user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("The council will check the budget and tell you what it finds.", "success")
            return redirect(back)
    return render_template("finance_check.html", form=form, back=back, person=budget.citizen, audit=audits.open_audit_of(budget))
