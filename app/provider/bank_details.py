"""Where the council pays the organisation (/provider/bank-details): everyone on the team
sees the details masked; an owner may submit new ones, with their password, for the
council to confirm."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.extensions import limiter
from app.forms import FlaskForm, apply_errors, password_field, text_field
from app.provider import bp
from app.services.errors import ValidationError
from app.services.payment_runs import bank_accounts


class BankDetailsForm(FlaskForm):
    account_name = text_field("Name on the account", required=bank_accounts.NO_NAME, max_length=bank_accounts.MAX_NAME_LENGTH)
    sort_code = text_field("Sort code", required=bank_accounts.NO_SORT_CODE, description="Must be 6 digits long")
    account_number = text_field(
        "Account number", required=bank_accounts.NO_ACCOUNT_NUMBER, description="Must be between 6 and 8 digits long"
    )
    password = password_field(
        "Your password", required=bank_accounts.NO_PASSWORD, description="We ask again because a change of bank details is a fraud risk."
    )


def _failed(response) -> bool:
    return bool(g.get("attempt_failed"))


def _account_key() -> str:
    return f"account:{current_user.id}" if current_user.is_authenticated else f"address:{get_remote_address()}"


# The same limit, in the same bucket, as every other page that checks the password of
# someone already signed in: a stolen session must not be able to guess it here either.
_secret_checks = limiter.shared_limit(
    "10 per 15 minutes", scope="account-secret-checks", key_func=_account_key, methods=["POST"], deduct_when=_failed
)


@bp.route("/bank-details", methods=["GET", "POST"])
@_secret_checks
def bank_details():
    provider = g.staff.provider
    may_change = bank_accounts.may_change(current_user, provider)
    form = BankDetailsForm()
    # The service checks every rule, so all problems show at once (not just the form's).
    if request.method == "POST":
        bank_accounts.require_owner(current_user, provider)
        form.validate()
        try:
            bank_accounts.submit_change(
                provider,
                by=current_user,
                password=form.password.data or "",
                sort_code=form.sort_code.data or "",
                account_number=form.account_number.data or "",
                account_name=form.account_name.data or "",
            )
        except ValidationError as exc:
            if exc.errors.get("password") == bank_accounts.WRONG_PASSWORD:
                g.attempt_failed = True
            apply_errors(form, exc)
        else:
            flash(
                "Your new bank details have been sent to the council. It will contact your organisation to check them "
                "before any payment goes to the new account. Every owner has been told.",
                "success",
            )
            return redirect(url_for("provider.bank_details"))
    form.password.data = ""  # never sent back to the browser
    return render_template(
        "provider/bank_details.html",
        provider=provider,
        form=form if may_change else None,
        confirmed=bank_accounts.confirmed_account(provider),
        pending=bank_accounts.pending_account(provider),
        history=bank_accounts.history(provider),
    )
