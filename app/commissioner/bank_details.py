"""Providers' new bank details waiting for the council (/commissioner/bank-details): the queue,
masked, and each change's confirmation page, the one place the full new account number is
shown, where a commissioner confirms or rejects it after checking it with the provider."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.commissioner import bp
from app.forms import FlaskForm, apply_errors, textarea_field
from app.models import BankAccountStatus
from app.services.errors import Conflict, ValidationError
from app.services.payment_runs import bank_accounts

DECISIONS = {"confirm": bank_accounts.confirm, "reject": bank_accounts.reject}


class DecisionForm(FlaskForm):
    note = textarea_field(
        "How did you check the new details with the provider?",
        max_length=bank_accounts.MAX_NOTE_LENGTH,
        description="For example, ‘Phoned the number on our file and spoke to the registered manager’. "
        "If you reject the change, say why: the provider’s owners will see it.",
    )


@bp.get("/bank-details")
def bank_details():
    changes = bank_accounts.pending_confirmations()
    current = bank_accounts.confirmed_accounts([change.provider_id for change in changes])
    return render_template("commissioner/bank_details.html", changes=changes, current=current)


@bp.route("/bank-details/<id:change_id>", methods=["GET", "POST"])
def bank_details_change(change_id: int):
    change = bank_accounts.get_for_council(current_user, change_id)
    form = DecisionForm()
    if request.method == "POST":
        form.validate()
        decide = DECISIONS.get(request.form.get("decision", ""))
        try:
            if decide is None:
                raise ValidationError({"note": "Enter a note, then select ‘Confirm new bank details’ or ‘Reject the change’"})
            decide(change, by=current_user, note=form.note.data or "")
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:  # decided already, perhaps by someone else a moment ago
            flash(str(exc))
            return redirect(url_for("commissioner.bank_details_change", change_id=change.id))
        else:
            done = "confirmed" if change.status is BankAccountStatus.CONFIRMED else "rejected"
            flash(f"The new bank details for {change.provider.name} are {done}. Its owners have been told.", "success")
            return redirect(url_for("commissioner.bank_details"))
    return render_template(
        "commissioner/bank_details_change.html",
        change=change,
        current=bank_accounts.confirmed_account(change.provider),
        form=form if change.status is BankAccountStatus.PENDING else None,
    )
