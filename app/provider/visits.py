"""The provider's visits: today's and the last week's, day by day (made for a phone), each
recorded with its actual times or as missed, and electronic call monitoring (ECM) files
uploaded to record many at once. Any member of the team may record visits."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput

from app.database import utcnow
from app.formatting import format_datetime, format_pence, pluralise
from app.forms import FlaskForm, GovDateField, apply_errors, radio_field, submit, text_field, textarea_field
from app.models import BookingStatus, BookingVisit, ExceptionState, VisitOutcome
from app.provider import bp
from app.security import checks_its_own_input
from app.services import delivery, listings
from app.services.errors import Conflict, ValidationError
from app.uk_time import local_date, uk_today

DAYS_LISTED = 8  # today and the seven days before it
FIELDS = {"start": "start_time", "end": "end_time", "visit": "outcome"}  # the service's names -> the form's
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[/. -](\d{1,2})[/. -](\d{4})")


class RecordVisitForm(FlaskForm):
    outcome = radio_field(
        "Did the visit happen?",
        choices=[("delivered", "Yes, it happened"), ("missed", "No, it did not happen")],
        required="Select whether the visit happened",
    )
    started_on = GovDateField(
        "Date it started",
        invalid_message="Enter the date it started as a real date, like 1 12 2026",
        description="Change it only if the visit started on another day.",
    )
    start_time = text_field("Start time", description="For example, 09:30 or 9:30am", max_length=10)
    end_time = text_field("End time", description="An end time before the start time means the next day.", max_length=10)
    carer_ref = text_field(
        "Carer reference (optional)", max_length=delivery.MAX_CARER_REF, description="Who made the visit: a name or staff number."
    )
    missed_reason = textarea_field("Why did it not happen?", max_length=delivery.MAX_REASON)
    submit = submit("Save")


class UploadForm(FlaskForm):
    file = FileField(
        "Upload a file",
        validators=[FileRequired(message="Select a CSV file to upload")],
        widget=GovFileInput(),
        description=f"A CSV file in UTF-8, at most 2 MB and {delivery.MAX_ROWS:,} visits.",
    )
    submit = submit("Upload and record visits")


@dataclass(frozen=True)
class VisitLine:
    """One visit as the day list shows it."""

    visit: BookingVisit
    status: str
    colour: str  # a GOV.UK tag colour
    to_record: bool  # started, not recorded: the provider should record it

    @property
    def first_name(self) -> str:
        return (self.visit.booking.citizen.name or "").split(" ")[0]


def _line(visit: BookingVisit, now: dt.datetime) -> VisitLine:
    record = visit.record
    if record is not None:
        if record.outcome is VisitOutcome.MISSED:
            return VisitLine(visit, "Missed", "grey", False)
        if record.exception_state is ExceptionState.NONE:
            return VisitLine(visit, "Delivered", "blue", False)
        return VisitLine(visit, record.exception_state.label, "yellow", False)
    if visit.status.is_upcoming and visit.booking.status is BookingStatus.ACCEPTED:
        if visit.starts_at <= now:
            return VisitLine(visit, "Not recorded", "red", True)
        return VisitLine(visit, "Booked", "light-blue", False)
    return VisitLine(visit, visit.status.label, "grey", False)


def _read_day(text: str) -> dt.date | None:
    match = _DAY.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day = match.group(1, 2, 3) if match.group(1) else match.group(6, 5, 4)
    try:
        found = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return found if 2000 <= found.year <= 2100 else None


def _why_not(visit: BookingVisit, now: dt.datetime) -> str:
    """Why this visit cannot be recorded now ("" when it can)."""
    booking = visit.booking
    if visit.record is not None:
        return ""
    if booking.status is not BookingStatus.ACCEPTED:
        return f"This booking is {booking.status.label.lower()}: only visits of accepted bookings are recorded."
    if not visit.status.is_upcoming:
        return f"This visit is {visit.status.label.lower()}: there is nothing to record."
    if visit.starts_at > now:
        return f"You can record this visit once it has started, at {format_datetime(visit.starts_at)}."
    return ""


@bp.get("/visits")
@checks_its_own_input  # a bad ?day= (a NUL too) gets the page's own message
def visits():
    now = utcnow()
    today = uk_today(now)
    text = request.args.get("day", "").strip()
    day = _read_day(text) if text else None
    problem = "Enter a real date, like 2026-12-01 or 1/12/2026" if text and day is None else ""
    first, last = (day, day) if day else (today - dt.timedelta(days=DAYS_LISTED - 1), today)
    days: dict[dt.date, list[VisitLine]] = {last - dt.timedelta(days=n): [] for n in range((last - first).days + 1)}
    for visit in delivery.provider_visits(g.staff.provider_id, first, last):
        days.setdefault(local_date(visit.starts_at), []).append(_line(visit, now))
    overdue = [_line(visit, now) for visit in delivery.unrecorded_visits(provider_id=g.staff.provider_id, now=now)]
    page = render_template(
        "provider/visits.html",
        provider=g.staff.provider,
        days=days,
        day=day,
        previous_day=day - dt.timedelta(days=1) if day else None,
        next_day=day + dt.timedelta(days=1) if day else None,
        today=today,
        overdue=overdue,
        day_text=text,
        problem=problem,
    )
    return page, 400 if problem else 200


def _actuals(form: RecordVisitForm, visit: BookingVisit) -> delivery.Actuals:
    """What the form says happened (ValidationError naming the form's fields if it cannot be read)."""
    carer = (form.carer_ref.data or "").strip()
    if form.outcome.data == "missed":
        return delivery.Actuals(visit.id, carer_ref=carer, missed_reason=form.missed_reason.data or "")
    errors: dict[str, str] = {}
    times: dict[str, dt.time] = {}
    for name, word in (("start_time", "started"), ("end_time", "ended")):
        typed = (getattr(form, name).data or "").strip()
        try:
            times[name] = listings.parse_time(typed, name) if typed else None
        except ValidationError as exc:
            errors.update(exc.errors)
        if not typed:
            errors[name] = f"Enter the time the visit {word}, like 09:30"
    if errors:
        raise ValidationError(errors)
    started_on = form.started_on.data or local_date(visit.starts_at)
    ended_on = started_on + dt.timedelta(days=1) if times["end_time"] <= times["start_time"] else started_on
    moments = {}
    for name, on in (("start_time", started_on), ("end_time", ended_on)):
        try:
            moments[name] = delivery.uk_moment(on, times[name])
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)
    return delivery.Actuals(visit.id, moments["start_time"], moments["end_time"], carer_ref=carer)


def _recorded_message(written, visit: BookingVisit) -> str:
    on = format_datetime(visit.starts_at)
    if written.outcome is VisitOutcome.MISSED:
        return f"The visit on {on} is recorded as missed. The money set aside for it has been given back."
    if written.exception_state is ExceptionState.OPEN:
        return f"The visit on {on} is recorded. {written.exception_reason}: the council will decide what is paid."
    return f"The visit on {on} is recorded as delivered: {format_pence(visit.charged_pence)} paid."


@bp.route("/visits/<id:visit_id>", methods=["GET", "POST"])
def record_visit(visit_id: int):
    visit = delivery.provider_visit(g.staff.provider_id, visit_id)
    now = utcnow()
    why_not = _why_not(visit, now)
    form = RecordVisitForm()
    if request.method == "GET":
        form.started_on.data = local_date(visit.starts_at)
    if visit.record is None and not why_not and form.validate_on_submit():
        try:
            written = delivery.record(_actuals(form, visit), provider=g.staff.provider, by=current_user, now=now)
        except ValidationError as exc:
            apply_errors(form, exc, FIELDS)
        except Conflict as exc:
            apply_errors(form, ValidationError({"outcome": str(exc)}))
        else:
            visit = delivery.provider_visit(g.staff.provider_id, visit_id)
            flash(_recorded_message(written, visit), "success")
            day = local_date(visit.starts_at)
            if (uk_today(now) - day).days < DAYS_LISTED:
                return redirect(url_for("provider.visits") + f"#visit-{visit.id}")
            return redirect(url_for("provider.visits", day=day.isoformat()) + f"#visit-{visit.id}")
    return render_template(
        "provider/visit.html",
        visit=visit,
        booking=visit.booking,
        record=visit.record,
        line=_line(visit, now),
        why_not=why_not,
        form=form,
    )


def _upload_result(upload, now: dt.datetime) -> str:
    if upload.uploaded_at < now:
        return (
            f"You uploaded this file on {format_datetime(upload.uploaded_at)}. Nothing has changed: "
            f"it recorded {pluralise(upload.recorded_count, 'visit')} then."
        )
    text = f"{pluralise(upload.recorded_count, 'visit')} recorded"
    already = upload.row_count - upload.recorded_count
    if already:
        text += f", {already:,} already recorded"
    waiting = delivery.waiting_for_council(upload)
    if waiting:
        text += f". {pluralise(waiting, 'visit')} outside the council's tolerance: the council will decide what is paid"
    return text + "."


@bp.route("/visits/upload", methods=["GET", "POST"])
def upload_visits():
    form = UploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        now = utcnow()
        chosen = form.file.data
        try:
            upload = delivery.import_ecm(
                chosen.read(delivery.MAX_BYTES + 1), chosen.filename or "", provider=g.staff.provider, by=current_user, now=now
            )
        except delivery.EcmFileRefused as exc:
            problems = exc.problems
            apply_errors(form, exc)
        else:
            flash(_upload_result(upload, now), "success")
            return redirect(url_for("provider.upload_visits"))
    return render_template(
        "provider/visits_upload.html", form=form, problems=problems, provider=g.staff.provider, max_rows=delivery.MAX_ROWS
    )
