from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.citizen import audits as citizen_audits
from app.citizen import bp, drafts, visits
from app.citizen.forms import BookingForm, CancelForm, ConfirmBookingForm, MoveIsfForm, quarter_hours
from app.database import utcnow
from app.forms import apply_errors
from app.models import WEEKDAYS, BookingSchedule, PaymentMethod
from app.presenters.budgets import statement_csv, statement_view
from app.presenters.calendars import ics_response
from app.presenters.card_payments import ROUTE_LABELS, booking_money, card_label, card_timing
from app.services import accounts, audits, bookings, budgets, calendars, card_payments, reviews
from app.services.errors import Conflict, DomainError, NotFound, ValidationError
from app.services.ledger import Actor
from app.services.policy import current_policy

# Booking -------------------------------------------------------------------------------


def _person_label(person) -> str:
    return f"{person.name} (me)" if person.id == current_user.id else person.name


def _payment_choices(people, service) -> list[tuple[str, str]]:
    """Each usable budget ("budget:<public id>"), then each way of paying by card the
    service takes ("card:prepaid_card", "card:self_funder")."""
    choices = []
    for person in people:
        for budget in budgets.usable_budgets(person, service):
            figures = budgets.summary(budget)
            from app.formatting import format_pence

            owner = "" if person.id == current_user.id else f"{person.name}’s "
            choices.append(
                (f"budget:{budget.public_id}", f"{owner}{budget.budget_type.label} ({format_pence(figures.available_pence)} available now)")
            )
    choices.extend((f"card:{route.value}", ROUTE_LABELS[route]) for route in drafts.CARD_ROUTES if service.accepts(route))
    return choices


def _outcome_choices(people, service) -> list[tuple[str, str]]:
    choices = [("", "None of these")]
    for person in people:
        for budget in budgets.usable_budgets(person, service):
            choices.extend((str(o.id), o.text) for o in budget.outcomes)
    return choices


def _build_form(service, people, formdata=None, data=None) -> BookingForm:
    form = BookingForm(formdata=None, data=data)
    low = max(1, service.min_units)
    form.configure_units(service.price_unit.value, low, bookings.MAX_UNITS[service.price_unit])
    if formdata is not None:
        form.process(formdata)  # after configuring, so messages name the unit and range
    form.citizen.choices = [(str(p.id), _person_label(p)) for p in people]
    form.start_time.choices = [("", "Choose a time"), *quarter_hours([(h.opens_at, h.closes_at) for h in service.hours])]
    form.payment.choices = _payment_choices(people, service)
    form.outcome.choices = _outcome_choices(people, service)
    if not form.request_key.data:
        form.request_key.data = uuid.uuid4().hex
    if len(people) == 1 and not form.citizen.data:
        form.citizen.data = str(people[0].id)
    return form


def _request_from(data: dict, service) -> bookings.BookingRequest:
    method, _, budget_id = (data.get("payment") or "").partition(":")
    by_card = method != "budget"
    return bookings.BookingRequest(
        service_id=service.id,
        request_key=data["request_key"],
        schedule=BookingSchedule(data["schedule"]),
        first_date=dt.date.fromisoformat(data["first_date"]),
        start_time=dt.time.fromisoformat(data["start_time"]),
        units=int(data["units"]),
        weekdays=tuple(int(d) for d in data.get("weekdays") or ()),
        weeks=int(data.get("weeks") or 1),
        payment_method=PaymentMethod.CARD if by_card else PaymentMethod.BUDGET,
        budget_public_id=None if by_card else (budget_id or None),
        card_public_id=(data.get("card") or None) if by_card else None,
        outcome_id=int(data["outcome"]) if data.get("outcome") else None,
        message=data.get("message") or "",
        expected_total_pence=data.get("expected_total"),
        visit_address=data.get("visit_address") or "",
        contact_phone=data.get("contact_phone") or "",
    )


@bp.route("/services/<id:service_id>/book", methods=["GET", "POST"])
def book(service_id: int):
    service = bookings.listed_service(service_id)
    people = drafts.people()
    if not people:
        return render_template("citizen/nobody_to_book_for.html", service=service)
    data = None
    if request.method == "GET" and request.args.get("key"):
        draft = (session.get(drafts.DRAFTS) or {}).get(request.args["key"])
        if draft and draft.get("service_id") == service.id:
            data = dict(draft, first_date=dt.date.fromisoformat(draft["first_date"]), weekdays=draft.get("weekdays") or [])
    form = _build_form(service, people, formdata=request.form if request.method == "POST" else None, data=data)
    if request.method == "POST" and form.validate():
        citizen = next((p for p in people if str(p.id) == form.citizen.data), None)
        if citizen is None:
            raise NotFound("Not someone you arrange care for")
        draft = drafts.draft_from(form)
        earlier = (session.get(drafts.DRAFTS) or {}).get(draft["request_key"]) or {}
        if earlier.get("card") and earlier.get("payment") == draft["payment"]:
            draft["card"] = earlier["card"]  # coming back to change the booking keeps the card chosen
        try:
            bookings.plan(_request_from(draft, service), citizen=citizen, policy=current_policy(), booker=current_user)
        except ValidationError as exc:
            apply_errors(form, exc, field_map={"total": "submit", "card": "payment"})
        else:
            drafts.save_draft(service.id, draft)
            if drafts.card_route(draft) is not None and not draft.get("card"):
                return redirect(url_for("citizen.choose_card", service_id=service.id, key=draft["request_key"]))
            return redirect(url_for("citizen.check_booking", service_id=service.id, key=draft["request_key"]))
    return render_template(
        "citizen/book.html",
        service=service,
        form=form,
        several=len(people) > 1,
        weekdays=WEEKDAYS,
        cards_configured=card_payments.is_configured(),
    )


@bp.route("/services/<id:service_id>/book/check", methods=["GET", "POST"])
def check_booking(service_id: int):
    service = bookings.listed_service(service_id)
    already = bookings.made_by(request.args.get("key"), current_user)
    if already is not None:
        # The confirmation sent again (a double press, a lost answer): the booking is made.
        drafts.forget_draft({"request_key": already.request_key})
        return redirect(url_for("citizen.booking", public_id=already.public_id))
    people = drafts.people()
    draft = drafts.load_draft(service.id, request.args.get("key"))
    citizen = drafts.draft_citizen(draft, people)
    card = None
    if drafts.card_route(draft) is not None:
        card = next((c for c in card_payments.saved_cards(current_user) if c.public_id == draft.get("card")), None)
        if card is None:
            return redirect(url_for("citizen.choose_card", service_id=service.id, key=draft["request_key"]))
    form = ConfirmBookingForm()
    problem = None

    def plan():
        return bookings.plan(_request_from(draft, service), citizen=citizen, policy=current_policy(), booker=current_user)

    try:
        quote = plan()
    except ValidationError as exc:
        quote, problem = None, exc
    clashing = bookings.clashes(citizen, quote.visits) if quote is not None else []
    if request.method == "POST" and quote is not None and form.validate_on_submit():
        if clashing and not form.both_at_once.data:
            form.both_at_once.errors = [f"Select that {citizen.name} needs both visits at the same time, or change the time"]
            return _check_page(service, quote, None, form, draft, citizen, card, clashing)
        booking, failed, draft = _book(service, draft, citizen, form)
        if booking is not None:
            waiting = card_payments.awaiting_bank(booking, current_user)
            if waiting:
                return redirect(url_for("citizen.confirm_payment", public_id=waiting[0].public_id))
            return redirect(url_for("citizen.booking", public_id=booking.public_id))
        problem = failed.error
        if failed.replan:
            try:
                quote = plan()
            except ValidationError:
                quote = None
    return _check_page(service, quote, problem, form, draft, citizen, card, clashing)


def _check_page(service, quote, problem, form: ConfirmBookingForm, draft: dict, citizen, card, clashing):
    timings = []
    if quote is not None:
        form.request_key.data = draft["request_key"]
        form.expected_total.data = str(quote.total_pence)
        if card is not None:
            now = utcnow()
            timings = [card_timing(v.starts_at, now) for v in quote.visits]
    return render_template(
        "citizen/check_booking.html",
        service=service,
        quote=quote,
        problem=problem,
        form=form,
        draft=draft,
        citizen=citizen,
        card=card,
        card_label=card_label(card) if card else None,
        timings=timings,
        clashing=clashing,
        route_label=ROUTE_LABELS[drafts.card_route(draft)] if card else None,
        authorise_days=card_payments.AUTHORISE_WITHIN.days,
        notice_hours=current_policy().cancellation_notice_hours,
    )


@dataclass
class _Problem:
    """Why the booking was not made, and whether the quote should be worked out again."""

    error: ValidationError
    replan: bool


def _book(service, draft: dict, citizen, form: ConfirmBookingForm):
    """Confirm the booking: (the booking, None, draft) or (None, the problem to show, the
    draft to carry on with: a new request key after a declined card, whose request is spent)."""
    try:
        expected = int(form.expected_total.data or 0)
    except ValueError:
        expected = -1
    try:
        booking = bookings.create(
            _request_from(dict(draft, expected_total=expected), service), citizen=citizen, booker=current_user, policy=current_policy()
        )
    except card_payments.CardDeclined as exc:
        # Nothing was booked. That request is spent: confirming again is a new request.
        return None, _Problem(exc, replan=False), drafts.renew_draft(service.id, draft)
    except ValidationError as exc:  # prices, funding or times changed: show the booking as it is now
        return None, _Problem(exc, replan=True), draft
    except (Conflict, card_payments.CardPaymentsNotConfigured, card_payments.ProcessorUnavailable) as exc:
        return None, _Problem(ValidationError({"booking": str(exc)}), replan=False), draft
    drafts.forget_draft(draft)
    flash(f"Booking {booking.reference} sent to {service.provider.name}. We will tell you when they accept it.", "success")
    return booking, None, draft


# Overview -----------------------------------------------------------------------------------


@bp.get("/my-care")
def overview():
    """Where a citizen or representative lands: each person's budget and coming visits."""
    from app.database import utcnow

    now = utcnow()
    people = []
    for person in drafts.people():
        person_budgets = [(b, budgets.summary(b)) for b in budgets.budgets_for_citizen(person)]
        person_bookings = bookings.bookings_for_citizen(person)
        upcoming = sorted(
            ((v, b) for b in person_bookings if b.status.is_open for v in b.visits if v.status.is_upcoming and v.starts_at >= now),
            key=lambda pair: pair[0].starts_at,
        )[:5]
        waiting = [b for b in person_bookings if b.status.value == "requested"]
        people.append({"person": person, "budgets": person_budgets, "upcoming": upcoming, "waiting": waiting})
    owed = {v.id: v for person in [current_user, *drafts.people()] for v in card_payments.unpaid_visits(person)}
    return render_template(
        "citizen/overview.html",
        people=people,
        several=len(people) > 1,
        owed_visits=len(owed),
        owed_pence=sum(card_payments.amount_owed(v) for v in owed.values()),
    )


# Bookings -----------------------------------------------------------------------------------


def _my_booking(public_id: str):
    booking = bookings.get_booking(public_id)
    if not accounts.can_act_for(current_user, booking.citizen):
        raise NotFound("No such booking")
    return booking


@bp.get("/bookings")
def my_bookings():
    people = drafts.people()
    rows = [(person, bookings.bookings_for_citizen(person)) for person in people]
    owed = {v.id for person in [current_user, *people] for v in card_payments.unpaid_visits(person)}
    to_review = reviews.reviewable([booking for _, theirs in rows for booking in theirs], now=utcnow())
    return render_template("citizen/bookings.html", rows=rows, several=len(people) > 1, owed=len(owed), to_review=to_review[:TO_REVIEW])


TO_REVIEW = 5  # bookings offered for review on the bookings page, the latest delivered first


@bp.get("/bookings/<public_id>")
def booking(public_id: str):
    booking = _my_booking(public_id)
    money = booking_money(booking)
    return render_template(
        "citizen/booking.html",
        booking=booking,
        money=money,
        may_pay=money is not None and card_payments.may_pay(current_user, booking),
        awaiting=card_payments.awaiting_bank(booking, current_user) if money else [],
        visit_checks=visits.visit_checks(booking),
        review=reviews.review_of(booking),
        may_review=reviews.why_not(booking, current_user, now=utcnow()) is None,
        alternatives=bookings.alternatives_for(booking),
        now=utcnow(),
    )


@bp.get("/bookings/<public_id>/calendar.ics")
def booking_calendar(public_id: str):
    """The booking's visits as a calendar file, to add to a phone or computer's calendar."""
    booking = _my_booking(public_id)
    return ics_response(calendars.booking_file(booking, current_user), calendars.file_name(booking))


@bp.route("/bookings/<public_id>/cancel", methods=["GET", "POST"])
def cancel_booking(public_id: str):
    booking = _my_booking(public_id)
    policy = current_policy()
    if not booking.status.is_open:
        flash(f"This booking is {booking.status.label.lower()}: there is nothing to cancel.")
        return redirect(url_for("citizen.booking", public_id=booking.public_id))
    upcoming = [v for v in booking.visits if v.status.is_upcoming]
    form = CancelForm()
    form.visits.choices = [(str(v.id), _visit_label(v)) for v in upcoming]
    if request.method == "GET":
        form.visits.data = [str(v.id) for v in upcoming] if request.args.get("all") or len(upcoming) == 1 else []
    chosen_ids = [int(v) for v in (form.visits.data or []) if v.isdigit()]
    preview = bookings.cancellation_plan(booking, policy=policy, visit_ids=chosen_ids or None)
    if request.method == "POST" and form.validate_on_submit():
        charged_key = ",".join(str(v.id) for v in preview.charged)
        if not chosen_ids:
            form.visits.errors = ["Select at least one visit to cancel"]
        elif preview.charged and form.charge_seen.data != charged_key:
            # Show what will be charged before charging it; the next press confirms.
            form.charge_seen.data = charged_key
        else:
            try:
                # Only the charges the person was shown: if the provider accepted meanwhile,
                # cancelling would cost more, and the service refuses (ChargeChanged).
                result = bookings.cancel(
                    booking, by=current_user, policy=policy, visit_ids=chosen_ids, charges_seen=[v.id for v in preview.charged]
                )
            except bookings.ChargeChanged as exc:
                booking = _my_booking(public_id)
                upcoming = [v for v in booking.visits if v.status.is_upcoming]
                preview = bookings.cancellation_plan(booking, policy=policy, visit_ids=chosen_ids)
                form.charge_seen.data = ",".join(str(v.id) for v in preview.charged)
                apply_errors(form, ValidationError({"visits": str(exc)}))
            except DomainError as exc:
                apply_errors(form, exc if isinstance(exc, ValidationError) else ValidationError({"visits": str(exc)}))
            else:
                count = len(result.free) + len(result.charged)
                message = f"{count} visit{'s' if count != 1 else ''} cancelled."
                if result.charged:
                    from app.formatting import format_pence

                    message += (
                        f" {format_pence(result.charged_pence)} "
                        f"was charged for visits inside the {policy.cancellation_notice_hours}-hour notice."
                    )
                flash(message, "success")
                return redirect(url_for("citizen.booking", public_id=booking.public_id))
    return render_template("citizen/cancel.html", booking=booking, form=form, preview=preview, policy=policy, upcoming=upcoming)


def _visit_label(visit) -> str:
    from app.formatting import format_datetime, format_pence

    return f"{format_datetime(visit.starts_at)}, {format_pence(visit.amount_pence)}"


# Budgets ------------------------------------------------------------------------------------


def _my_budget(public_id: str):
    budget = budgets.get_budget(public_id)
    if not accounts.can_act_for(current_user, budget.citizen):
        raise NotFound("No such budget")
    return budget


@bp.get("/budgets")
def my_budgets():
    people = drafts.people()
    rows = [(person, [(b, budgets.summary(b)) for b in budgets.budgets_for_citizen(person)]) for person in people]
    if sum(len(items) for _, items in rows) == 1:
        only = next(b for _, items in rows for b, _ in items)
        return redirect(url_for("citizen.budget", public_id=only.public_id))
    return render_template("citizen/budgets.html", rows=rows, several=len(people) > 1)


@bp.get("/budgets/<public_id>")
def budget(public_id: str):
    budget = _my_budget(public_id)
    view = statement_view(budget, current_policy(), request.args.get("period"))
    return render_template(
        "citizen/budget.html",
        view=view,
        budget=budget,
        statement_endpoint="citizen.budget_statement_csv",
        budget_endpoint="citizen.budget",
        questions=audits.open_questions(budget),
        answer_form=citizen_audits.AnswerForm(),
    )


@bp.get("/budgets/<public_id>/statement.csv")
def budget_statement_csv(public_id: str):
    budget = _my_budget(public_id)
    view = statement_view(budget, current_policy(), request.args.get("period"))
    return statement_csv(view)


@bp.route("/budgets/<public_id>/move", methods=["GET", "POST"])
def move_isf(public_id: str):
    budget = _my_budget(public_id)
    if not budget.is_isf:
        raise NotFound("Not an Individual Service Fund")
    verified = budgets.isf_providers()
    form = MoveIsfForm()
    form.provider.choices = [("", "Choose a provider")] + [(str(p.id), p.name) for p in verified if p.id != budget.isf_provider_id]
    if request.method == "GET" or not form.request_key.data:
        form.request_key.data = uuid.uuid4().hex
    if request.method == "GET" or not (form.held_with.data or "").isdigit():
        form.held_with.data = str(budget.isf_provider_id)
    if form.validate_on_submit():
        # Any listed provider: the same move sent again names the provider it is now with,
        # and the service answers it from its request key.
        provider = next((p for p in verified if str(p.id) == form.provider.data), None)
        if provider is None:
            form.provider.errors = ["Select the provider to move to"]
        else:
            try:
                budgets.move_isf(
                    budget,
                    provider,
                    actor=Actor.person(current_user),
                    request_key=form.request_key.data,
                    from_provider_id=int(form.held_with.data),
                )
            except (ValidationError, Conflict) as exc:
                apply_errors(form, exc if isinstance(exc, ValidationError) else ValidationError({"provider": str(exc)}))
                # A refused move is spent: trying again is a new one, from where the fund is now.
                form.request_key.data = uuid.uuid4().hex
                form.held_with.data = str(budgets.get_budget(public_id).isf_provider_id)
            else:
                flash(f"Your Individual Service Fund is now held with {provider.name}. Its balance moved with it.", "success")
                return redirect(url_for("citizen.budget", public_id=budget.public_id))
    return render_template("citizen/move_isf.html", budget=budget, form=form)
