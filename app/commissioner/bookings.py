"""Bookings for the council: find any booking, see its visits and card payments, refund a
visit paid by card; and what card holders spend through the marketplace."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.commissioner import bp
from app.forms import RefundForm
from app.models import Role
from app.presenters import card_payments as presenter
from app.security import role_required
from app.services import bookings
from app.services.errors import NotFound
from app.services.pagination import clamp_page


@bp.get("/bookings")
def bookings_list():
    text = (request.args.get("q") or "").strip()[:100]
    page = bookings.search_bookings(text, page=clamp_page(request.args.get("page", type=int)))
    return render_template("commissioner/bookings.html", page=page, q=text)


@bp.get("/bookings/<public_id>")
def booking(public_id: str):
    booking = bookings.get_booking(public_id)
    return render_template("commissioner/booking.html", booking=booking, money=presenter.booking_money(booking))


@bp.route("/bookings/<public_id>/visits/<id:visit_id>/refund", methods=["GET", "POST"])
@role_required(Role.COMMISSIONER)  # refunds move money: commissioners, not admins
def refund_visit(public_id: str, visit_id: int):
    booking = bookings.get_booking(public_id)
    visit = next((v for v in booking.visits if v.id == visit_id), None)
    money = presenter.booking_money(booking)
    if visit is None or money is None:
        raise NotFound("No such visit")
    form = RefundForm()
    if request.method == "GET":
        form.request_key.data = uuid.uuid4().hex
    if form.validate_on_submit():
        done, message = form.refund(visit, by=current_user)
        if done:
            flash(message, "success")
            return redirect(url_for("commissioner.booking", public_id=booking.public_id))
    return render_template("commissioner/refund.html", booking=booking, visit=visit, money=money.for_visit(visit), form=form)


@bp.get("/card-spend")
def card_spend():
    return render_template("commissioner/card_spend.html", report=presenter.spend_report(), labels=presenter.REPORT_ROUTE_LABELS)


@bp.get("/card-spend.csv")
def card_spend_csv():
    return presenter.spend_csv(presenter.spend_report())
