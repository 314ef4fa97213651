"""The provider's booking inbox: accept or decline requests, record delivered visits."""

from __future__ import annotations

import uuid

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.database import utcnow
from app.forms import ConfirmForm, FinanceCheckForm, FlaskForm, GovIntegerField, RefundForm, apply_errors, submit, textarea_field
from app.models import BookingStatus
from app.presenters.calendars import ics_response
from app.presenters.card_payments import booking_money
from app.provider import bp
from app.services import audits, bookings, calendars, team
from app.services.errors import Conflict, DomainError, NotFound, ValidationError

INBOX_TABS = {
    "new": ("New requests", [BookingStatus.REQUESTED]),
    "accepted": ("Accepted", [BookingStatus.ACCEPTED]),
    "closed": ("Finished", [BookingStatus.COMPLETED, BookingStatus.DECLINED, BookingStatus.EXPIRED, BookingStatus.CANCELLED]),
}


class DeclineForm(FlaskForm):
    reason = textarea_field(
        "Why are you declining?",
        required="Enter a reason for declining, so the person can look elsewhere",
        max_length=1000,
        description="The person booking will see this",
    )
    submit = submit("Decline booking")


class DeliveryForm(FlaskForm):
    delivered_units = GovIntegerField("Units delivered", invalid_message="Enter the number delivered as a whole number")
    submit = submit("Record as delivered")


def _our_booking(public_id: str):
    booking = bookings.get_booking(public_id)
    if booking.provider_id != g.staff.provider_id:
        raise NotFound("No such booking")
    return booking


@bp.get("/bookings")
def bookings_inbox():
    tab = request.args.get("show", "new")
    if tab not in INBOX_TABS:
        tab = "new"
    provider = g.staff.provider
    counts = {key: len(bookings.bookings_for_provider(provider, statuses)) for key, (_, statuses) in INBOX_TABS.items()}
    items = bookings.bookings_for_provider(provider, INBOX_TABS[tab][1])
    return render_template("provider/bookings.html", tab=tab, tabs=INBOX_TABS, counts=counts, items=items, provider=provider)


@bp.get("/bookings/<public_id>")
def booking(public_id: str):
    booking = _our_booking(public_id)
    return render_template(
        "provider/booking.html",
        booking=booking,
        confirm=ConfirmForm(),
        decline=DeclineForm(),
        delivery=DeliveryForm(),
        now=utcnow(),
        money=booking_money(booking),
        may_refund=team.may(g.staff, "refund_payments"),
        # Where to go and whom to call: only once the provider has taken the booking on.
        contacts=bookings.people_to_contact(booking) if bookings.provider_sees_contact(booking) else None,
    )


@bp.get("/bookings/<public_id>/calendar.ics")
def booking_calendar(public_id: str):
    """The booking's visits as a calendar file, as the booking page describes them."""
    booking = _our_booking(public_id)
    return ics_response(calendars.booking_file(booking, current_user), calendars.file_name(booking))


@bp.post("/bookings/<public_id>/accept")
def accept_booking(public_id: str):
    booking = _our_booking(public_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            bookings.accept(booking, by=current_user)
        except DomainError as exc:
            flash(str(exc))
        else:
            flash(f"Booking {booking.reference} accepted. {booking.citizen.name} has been told.", "success")
    return redirect(url_for("provider.booking", public_id=booking.public_id))


@bp.route("/bookings/<public_id>/decline", methods=["GET", "POST"])
def decline_booking(public_id: str):
    booking = _our_booking(public_id)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            bookings.decline(booking, by=current_user, reason=form.reason.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            flash(str(exc))
            return redirect(url_for("provider.booking", public_id=booking.public_id))
        else:
            flash(
                f"Booking {booking.reference} declined. The money set aside has been released and {booking.citizen.name} has been told.",
                "success",
            )
            return redirect(url_for("provider.bookings_inbox"))
    return render_template("provider/decline.html", booking=booking, form=form)


@bp.post("/bookings/<public_id>/visits/<id:visit_id>/delivered")
def record_delivery(public_id: str, visit_id: int):
    booking = _our_booking(public_id)
    visit = next((v for v in booking.visits if v.id == visit_id), None)
    if visit is None:
        raise NotFound("No such visit")
    form = DeliveryForm()
    if form.validate_on_submit():
        units = form.delivered_units.data if form.delivered_units.data is not None else visit.units
        try:
            bookings.record_delivery(visit, by=current_user, delivered_units=units)
        except (ValidationError, Conflict) as exc:
            message = "; ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
            flash(message)
        else:
            flash("Visit recorded as delivered. It will be included in your next payment.", "success")
    else:
        flash("; ".join(form.delivered_units.errors) or "Enter the number delivered as a whole number")
    return redirect(url_for("provider.booking", public_id=booking.public_id) + f"#visit-{visit_id}")


@bp.route("/bookings/<public_id>/visits/<id:visit_id>/refund", methods=["GET", "POST"])
def refund_visit(public_id: str, visit_id: int):
    booking = _our_booking(public_id)
    visit = next((v for v in booking.visits if v.id == visit_id), None)
    money = booking_money(booking)
    if visit is None or money is None:
        raise NotFound("No such visit")
    team.require(g.staff, "refund_payments")
    form = RefundForm()
    if request.method == "GET":
        form.request_key.data = uuid.uuid4().hex
    if form.validate_on_submit():
        done, message = form.refund(visit, by=current_user, for_provider=g.staff.provider)
        if done:
            flash(message, "success")
            return redirect(url_for("provider.booking", public_id=booking.public_id))
    return render_template("provider/refund.html", booking=booking, visit=visit, money=money.for_visit(visit), form=form)


@bp.route("/bookings/<public_id>/finance-check", methods=["GET", "POST"])
def ask_for_finance_check(public_id: str):
    """A provider the budget pays asks the council to check it (a card booking has no budget)."""
    booking = _our_booking(public_id)
    if booking.budget is None:
        raise NotFound("This booking is not paid from a personal budget")
    back = url_for("provider.booking", public_id=booking.public_id)
    form = FinanceCheckForm()
    if form.validate_on_submit():
        try:
            audits.ask_for_check(booking.budget, reason=form.reason.data, by=current_user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("The council will check the person’s budget.", "success")
            return redirect(back)
    return render_template("finance_check.html", form=form, back=back, person=booking.citizen, audit=None)
