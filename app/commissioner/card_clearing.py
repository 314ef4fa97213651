"""Card money in clearing (/commissioner/card-clearing): every amount that has sat in the
card clearing account for over a day, with its cause; an automatic refund the card
processor refused can be asked for again, or settled another way with a reason.
Commissioners only: money decisions are theirs, not admins'."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import HiddenField

from app.commissioner import bp
from app.forms import FlaskForm, apply_errors, radio_field, submit, textarea_field
from app.models import Role
from app.security import role_required
from app.services import card_payments
from app.services.errors import Conflict, NotFound, ValidationError


class RetryForm(FlaskForm):
    request_key = HiddenField()
    submit = submit("Ask the card processor again")


class SettleForm(FlaskForm):
    kind = radio_field(
        "How was the money settled?",
        [(kind.value, label) for kind, label in card_payments.SETTLEMENT_LABELS.items()],
        required="Select how the money was settled",
    )
    reason = textarea_field(
        "Reason",
        required="Enter the reason, like the BACS reference or why the visit was owed",
        max_length=500,
        description="For example, ‘Refunded by BACS, reference RF-2291, 3 June’. The card holder sees it on their booking.",
    )
    request_key = HiddenField()
    submit = submit("Settle this money")


def _item(public_id: str):
    item = next((i for i in card_payments.in_card_clearing().items if i.refund.public_id == public_id and i.refused), None)
    if item is None:
        raise NotFound("No such refund waiting in card clearing")
    return item


def _render(item, retry: RetryForm, settle: SettleForm, status: int = 200):
    for form in (retry, settle):
        form.request_key.data = form.request_key.data or uuid.uuid4().hex
    return render_template("commissioner/card_clearing_item.html", item=item, retry=retry, settle=settle), status


@bp.get("/card-clearing")
@role_required(Role.COMMISSIONER)
def card_clearing():
    return render_template("commissioner/card_clearing.html", summary=card_payments.in_card_clearing())


@bp.get("/card-clearing/<public_id>")
@role_required(Role.COMMISSIONER)
def card_clearing_item(public_id: str):
    return _render(_item(public_id), RetryForm(formdata=None), SettleForm(formdata=None))


@bp.post("/card-clearing/<public_id>/retry")
@role_required(Role.COMMISSIONER)
def card_clearing_retry(public_id: str):
    form = RetryForm()
    if not form.validate_on_submit():
        return _render(_item(public_id), form, SettleForm(formdata=None), 400)
    try:
        refund = card_payments.retry_refund(public_id, by=current_user, request_key=form.request_key.data or "")
    except ValidationError as exc:
        flash(next(iter(exc.errors.values())))
        return redirect(url_for("commissioner.card_clearing_item", public_id=public_id))
    except card_payments.CardPaymentsNotConfigured:
        flash("Card payments are not set up on this marketplace, so the refund cannot be asked for again: settle it another way.")
        return redirect(url_for("commissioner.card_clearing_item", public_id=public_id))
    except (card_payments.ProcessorUnavailable, card_payments.PaymentInProgress):
        flash("The card processor could not be reached. The refund is asked for again automatically by `flask payments retry`.")
        return redirect(url_for("commissioner.card_clearing"))
    except (Conflict, NotFound) as exc:
        flash(str(exc) if isinstance(exc, Conflict) else "That money is no longer waiting in card clearing.")
        return redirect(url_for("commissioner.card_clearing"))
    if refund.status.value == "failed":
        flash(f"The card processor refused the refund again: {refund.failure_message}")
        return redirect(url_for("commissioner.card_clearing_item", public_id=public_id))
    flash("The refund was asked for again. The money leaves card clearing when the bank confirms it.", "success")
    return redirect(url_for("commissioner.card_clearing"))


@bp.post("/card-clearing/<public_id>/settle")
@role_required(Role.COMMISSIONER)
def card_clearing_settle(public_id: str):
    form = SettleForm()
    if form.validate_on_submit():
        try:
            card_payments.settle_refund(
                public_id, kind=form.kind.data, reason=form.reason.data, by=current_user, request_key=form.request_key.data or ""
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except (Conflict, NotFound) as exc:
            flash(str(exc) if isinstance(exc, Conflict) else "That money is no longer waiting in card clearing.")
            return redirect(url_for("commissioner.card_clearing"))
        else:
            flash(f"Settled: {card_payments.SETTLEMENT_LABELS[_kind(form.kind.data)]}.", "success")
            return redirect(url_for("commissioner.card_clearing"))
    return _render(_item(public_id), RetryForm(formdata=None), form, 400)


def _kind(value: str):
    return next(kind for kind in card_payments.SETTLEMENT_LABELS if kind.value == value)
