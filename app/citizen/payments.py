"""Paying by card: choosing or adding a card at the checkout, confirming a payment with the
bank (3-D Secure), paying what a failed card charge left owing, and the card statement."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.citizen import bp, drafts
from app.citizen.forms import NEW_CARD, AddCardForm, ChooseCardForm, PayNowForm
from app.formatting import format_pence
from app.forms import ConfirmForm, apply_errors
from app.models import CardPaymentKind, CardPaymentStatus, FundingRoute, PaymentMethod, VisitStatus
from app.presenters import card_payments as presenter
from app.security import is_safe_redirect_target
from app.services import accounts, bookings, card_payments
from app.services.errors import Conflict, DomainError, NotFound, ValidationError


def _card_choices(cards) -> list[tuple[str, str]]:
    return [(c.public_id, presenter.card_label(c)) for c in cards] + [(NEW_CARD, "Add a new card")]


def _with_card(target: str, card_public_id: str) -> str:
    return f"{target}{'&' if '?' in target else '?'}card={card_public_id}"


# Choosing a card at the checkout ----------------------------------------------------------------


@bp.route("/services/<id:service_id>/book/card", methods=["GET", "POST"])
def choose_card(service_id: int):
    service = bookings.listed_service(service_id)
    draft = drafts.load_draft(service.id, request.args.get("key"))
    drafts.draft_citizen(draft, drafts.people())
    route = drafts.card_route(draft)
    if route is None:
        raise NotFound("This booking is not paid by card")
    here = url_for("citizen.choose_card", service_id=service.id, key=draft["request_key"])
    check = url_for("citizen.check_booking", service_id=service.id, key=draft["request_key"])
    book = url_for("citizen.book", service_id=service.id, key=draft["request_key"])
    saved = card_payments.saved_cards(current_user)
    if request.method == "GET" and request.args.get("card"):
        # Back from adding a card: pay with it (as the kind of card the person said it is).
        chosen = next((c for c in saved if c.public_id == request.args["card"]), None)
        if chosen is not None and service.accepts(chosen.route):
            drafts.save_draft(service.id, dict(draft, payment=f"card:{chosen.route.value}", card=chosen.public_id))
            return redirect(check)
    cards = [c for c in saved if c.route is route]
    if not cards:
        return redirect(url_for("citizen.add_card", route=route.value, next=here, back=book))
    form = ChooseCardForm()
    form.card.label.text = f"Which {'prepaid card' if route is FundingRoute.PREPAID_CARD else 'card'} will you pay with?"
    form.card.choices = _card_choices(cards)
    if request.method == "GET" and draft.get("card"):
        form.card.data = draft["card"]
    if form.validate_on_submit():
        if form.card.data == NEW_CARD:
            return redirect(url_for("citizen.add_card", route=route.value, next=here))
        drafts.save_draft(service.id, dict(draft, card=form.card.data))
        return redirect(check)
    return render_template(
        "citizen/choose_card.html", service=service, form=form, route=route, paying_with=presenter.PAYING_WITH[route], back=book
    )


# Adding a card (Stripe.js) --------------------------------------------------------------------


@bp.route("/cards/new", methods=["GET", "POST"])
def add_card():
    form = AddCardForm()
    form.route.choices = [(route.value, presenter.ROUTE_LABELS[route]) for route in drafts.CARD_ROUTES]
    if request.method == "GET":
        if request.args.get("route") in {r.value for r in drafts.CARD_ROUTES}:
            form.route.data = request.args["route"]
        form.next.data = request.args.get("next")
    done = form.next.data if is_safe_redirect_target(form.next.data) else url_for("citizen.payments")
    form.next.data = done
    # Where "Back" goes: the page before, if it said (the checkout's card step would send
    # someone with no saved card straight back here).
    back = request.args.get("back") if is_safe_redirect_target(request.args.get("back")) else done
    if not card_payments.is_configured():
        return render_template("citizen/add_card.html", form=None, back=back, not_configured=str(card_payments.CardPaymentsNotConfigured()))
    card_error = None
    if form.validate_on_submit():
        try:
            card = card_payments.finish_card_setup(form.setup.data or "", payer=current_user, route=FundingRoute(form.route.data))
        except card_payments.CardDeclined as exc:
            card_error = exc.message
        except NotFound:
            card_error = "Enter your card details"
        except (card_payments.ProcessorUnavailable, card_payments.ProcessorRefused) as exc:
            card_error = str(exc)
        else:
            flash(f"{card.description} saved.", "success")
            return redirect(_with_card(done, card.public_id))
    # A new set-up each time the page is shown: a declined one cannot be used again.
    try:
        setup = card_payments.start_card_setup(current_user)
    except (card_payments.ProcessorUnavailable, card_payments.ProcessorRefused) as exc:
        return render_template("citizen/add_card.html", form=None, back=back, not_configured=str(exc))
    form.setup.data = setup.public_id
    return render_template(
        "citizen/add_card.html",
        form=form,
        back=back,
        setup=setup,
        card_error=card_error,
        stripe_js_url=card_payments.stripe_js_url(),
        publishable_key=card_payments.publishable_key(),
    )


# Confirming a payment with the bank (3-D Secure) -------------------------------------------------


@bp.route("/payments/<public_id>/confirm", methods=["GET", "POST"])
def confirm_payment(public_id: str):
    payment = card_payments.payment_for_card_holder(public_id, current_user)
    booking = payment.booking
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        try:
            payment = card_payments.refresh_payment(payment)
        except (card_payments.ProcessorUnavailable, card_payments.ProcessorRefused, card_payments.CardPaymentsNotConfigured) as exc:
            problem = str(exc)
        else:
            if payment.status is CardPaymentStatus.REQUIRES_ACTION:
                problem = "Your bank has not confirmed the payment yet. Select ‘Confirm with your bank’ and follow your bank’s steps."
    if payment.status is not CardPaymentStatus.REQUIRES_ACTION:
        return _after_confirmation(payment)
    return render_template(
        "citizen/confirm_payment.html",
        payment=payment,
        booking=booking,
        form=form,
        problem=problem,
        stripe_js_url=card_payments.stripe_js_url() if card_payments.is_configured() else None,
        publishable_key=card_payments.publishable_key() if card_payments.is_configured() else None,
    )


def _after_confirmation(payment):
    booking = payment.booking
    amount = format_pence(payment.amount_pence)
    if payment.status is CardPaymentStatus.CAPTURED:
        flash(f"{format_pence(payment.captured_pence)} paid with your {payment.card.description}. Thank you.", "success")
    elif payment.status is CardPaymentStatus.AUTHORISED:
        waiting = card_payments.awaiting_bank(booking, current_user)
        if waiting:
            return redirect(url_for("citizen.confirm_payment", public_id=waiting[0].public_id))
        flash(f"Your bank confirmed the payment: {amount} is reserved on your card and taken when the visit is delivered.", "success")
    elif payment.status is CardPaymentStatus.FAILED and payment.kind is CardPaymentKind.PAY_NOW:
        flash(
            f"Your bank did not confirm the payment, so nothing was taken. {payment.failure_message or ''} "
            "You can try again or use another card."
        )
        visit = payment.visit
        if visit.status is VisitStatus.UNPAID:
            return redirect(url_for("citizen.pay_visit", public_id=booking.public_id, visit_id=visit.id))
    elif payment.status is CardPaymentStatus.FAILED:
        flash(
            "Your bank did not confirm the payment, so nothing is reserved on your card for this visit. "
            "Your booking stands: the visit will be charged "
            "to your card when it is delivered, and we will tell you if your bank needs you again."
        )
    return redirect(
        url_for("citizen.booking", public_id=booking.public_id)
        if accounts.can_act_for(current_user, booking.citizen)
        else url_for("citizen.payments")
    )


# Paying what is owed ------------------------------------------------------------------------------


def _owed_visits():
    """Visits whose card charge failed that the user pays or arranges care for."""
    found = {v.id: v for v in card_payments.unpaid_visits(current_user)}
    for person in drafts.people():
        if person.id != current_user.id:
            found.update({v.id: v for v in card_payments.unpaid_visits(person)})
    rows = []
    for visit in sorted(found.values(), key=lambda v: v.starts_at):
        booking = visit.booking
        money = presenter.booking_money(booking)
        rows.append(
            {
                "visit": visit,
                "booking": booking,
                "money": money.for_visit(visit),
                "may_pay": card_payments.may_pay(current_user, booking),
                "may_view": accounts.can_act_for(current_user, booking.citizen),
                "payer": money.card.owner,
            }
        )
    return rows


@bp.get("/payments/owed")
def owed():
    return render_template("citizen/owed.html", rows=_owed_visits())


def _payable_visit(public_id: str, visit_id: int):
    booking = bookings.get_booking(public_id)
    visit = next((v for v in booking.visits if v.id == visit_id), None)
    if visit is None or booking.payment_method is not PaymentMethod.CARD or not card_payments.may_pay(current_user, booking):
        raise NotFound("No such visit")
    return booking, visit


@bp.route("/bookings/<public_id>/visits/<id:visit_id>/pay", methods=["GET", "POST"])
def pay_visit(public_id: str, visit_id: int):
    booking, visit = _payable_visit(public_id, visit_id)
    back = (
        url_for("citizen.booking", public_id=booking.public_id)
        if accounts.can_act_for(current_user, booking.citizen)
        else url_for("citizen.owed")
    )
    if visit.status is not VisitStatus.UNPAID:
        flash("This visit has nothing left to pay.")
        return redirect(back)
    money = presenter.booking_money(booking).for_visit(visit)
    if money.awaiting_bank is not None and money.awaiting_bank.card.owner_id == current_user.id:
        return redirect(url_for("citizen.confirm_payment", public_id=money.awaiting_bank.public_id))
    here = url_for("citizen.pay_visit", public_id=booking.public_id, visit_id=visit.id)
    if not card_payments.is_configured():
        return render_template(
            "citizen/pay_visit.html",
            booking=booking,
            visit=visit,
            money=money,
            form=None,
            back=back,
            not_configured=str(card_payments.CardPaymentsNotConfigured()),
        )
    cards = card_payments.saved_cards(current_user)
    if not cards:
        return redirect(url_for("citizen.add_card", next=here))
    form = PayNowForm()
    form.card.choices = _card_choices(cards)
    form.submit.label.text = f"Pay {format_pence(money.owed_pence)} now"
    if request.method == "GET":
        form.request_key.data = uuid.uuid4().hex
        chosen = request.args.get("card")
        form.card.data = chosen if any(c.public_id == chosen for c in cards) else None
    if form.validate_on_submit():
        if form.card.data == NEW_CARD:
            return redirect(url_for("citizen.add_card", next=here))
        card = card_payments.get_card(form.card.data, owner=current_user)
        try:
            result = card_payments.pay_unpaid_visit(visit, payer=current_user, card=card, request_key=form.request_key.data or "")
        except card_payments.CardDeclined as exc:
            apply_errors(form, exc)
            form.request_key.data = uuid.uuid4().hex  # that try is spent: another is a new payment
        except card_payments.PaymentInProgress as exc:
            apply_errors(form, ValidationError({"card": str(exc)}))
        except Conflict as exc:  # paid meanwhile
            flash(str(exc))
            return redirect(back)
        except DomainError as exc:  # not configured, or the card processor cannot be reached
            apply_errors(form, ValidationError({"card": str(exc)}))
        else:
            if result.requires_action:
                return redirect(url_for("citizen.confirm_payment", public_id=result.payment.public_id))
            if result.paid:
                flash(f"{format_pence(result.payment.captured_pence)} paid with your {card.description}. Thank you.", "success")
            else:
                flash("Your payment is being processed. This page will show it once the card processor confirms it.")
            return redirect(back)
    return render_template("citizen/pay_visit.html", booking=booking, visit=visit, money=money, form=form, back=back)


@bp.route("/cards/<public_id>/remove", methods=["GET", "POST"])
def remove_card(public_id: str):
    card = card_payments.get_card(public_id, owner=current_user)
    still_needed = card_payments.booking_needing(card)
    form = ConfirmForm()
    if request.method == "POST" and still_needed is None and form.validate_on_submit():
        try:
            card_payments.remove_card(public_id, owner=current_user)
        except Conflict as exc:
            flash(str(exc))
            return redirect(url_for("citizen.remove_card", public_id=public_id))
        flash(f"{card.description} removed. It will not be offered or charged again.", "success")
        return redirect(url_for("citizen.payments") + "#cards")
    return render_template("citizen/remove_card.html", card=card, still_needed=still_needed, form=form)


# The card statement -----------------------------------------------------------------------------


@bp.get("/payments")
def payments():
    return render_template(
        "citizen/payments.html",
        lines=card_payments.card_statement(current_user),
        pending_refunds=card_payments.pending_refunds_for(current_user),
        cards=card_payments.saved_cards(current_user),
        owed=_owed_visits(),
        configured=card_payments.is_configured(),
    )


@bp.get("/payments/statement.csv")
def payments_csv():
    return presenter.statement_csv(current_user, card_payments.card_statement(current_user))
