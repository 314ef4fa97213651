"""Forms for booking a service, cancelling visits and moving an ISF."""

from __future__ import annotations

import datetime as dt

from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovTextInput
from wtforms import DateField, HiddenField, IntegerField
from wtforms.validators import InputRequired, NumberRange, Optional

from app.forms import FlaskForm, checkboxes_field, radio_field, select_field, submit, textarea_field
from app.models import WEEKDAYS


class GovDateField(DateField):
    """A GOV.UK date input (day, month, year) with GOV.UK error messages."""

    def __init__(self, label, required_message, **kwargs):
        super().__init__(label, format="%d %m %Y", validators=[InputRequired(message=required_message)], widget=GovDateInput(), **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and not any(v.strip() for v in valuelist):
            self.data = None
            return
        if valuelist and any(not v.strip() for v in valuelist):
            self.data = None
            raise ValueError(f"{self.label.text} must include a day, month and year")
        try:
            super().process_formdata([" ".join(v.strip() for v in valuelist)])
        except ValueError:
            raise ValueError(f"{self.label.text} must be a real date, for example 27 3 2027") from None


def whole_number(label: str, required: str, low: int, high: int, suffix: str = "", **kwargs) -> IntegerField:
    return IntegerField(
        label,
        validators=[InputRequired(message=required), NumberRange(min=low, max=high, message=f"{label} must be from {low} to {high}")],
        widget=GovTextInput(),
        **kwargs,
    )


class BookingForm(FlaskForm):
    request_key = HiddenField()
    citizen = radio_field("Who is the booking for?", required="Select who the booking is for")
    schedule = radio_field(
        "How often?",
        choices=[("one_off", "Once"), ("weekly", "Every week")],
        required="Select how often you want the service",
    )
    first_date = GovDateField("Date", "Enter the date", description="For a weekly booking, the date of the first week. For example, 27 3 2027")
    start_time = select_field("Start time", required="Select a start time")
    units = IntegerField("How many", widget=GovTextInput())
    weekdays = checkboxes_field("Which days each week?", choices=[(str(i), day) for i, day in enumerate(WEEKDAYS)])
    weeks = IntegerField("For how many weeks?", validators=[Optional()], widget=GovTextInput(), description="Up to 52 weeks")
    payment = radio_field("How will you pay?", required="Select how you will pay")
    outcome = radio_field("Which outcome in your support plan is this for? (optional)")
    message = textarea_field("Message to the provider (optional)", max_length=1000,
                             description="For example, door codes, how you like to be greeted, or anything they should know")
    submit = submit("Continue")

    def validate_units(self, field):
        if field.data is None:
            raise ValueError(self._units_message)
        low, high = self._units_range
        if not (low <= field.data <= high):
            raise ValueError(self._units_message)

    def validate_weekdays(self, field):
        if self.schedule.data == "weekly" and not field.data:
            raise ValueError("Select the days of the week you want")

    def validate_weeks(self, field):
        if self.schedule.data == "weekly" and (field.data is None or not (1 <= field.data <= 52)):
            raise ValueError("Enter a number of weeks from 1 to 52")

    def configure_units(self, unit_label: str, low: int, high: int) -> None:
        self.units.label.text = f"How many {unit_label}s?" if high > 1 else f"How many {unit_label}s"
        self._units_range = (low, high)
        self._units_message = f"Enter a number of {unit_label}s from {low} to {high}"


class ConfirmBookingForm(FlaskForm):
    request_key = HiddenField()
    expected_total = HiddenField()
    submit = submit("Confirm and send booking")


class CancelForm(FlaskForm):
    visits = checkboxes_field("Which visits do you want to cancel?")
    # Set once the person has seen which of their choices will be charged.
    charge_seen = HiddenField()
    submit = submit("Cancel these visits")


class MoveIsfForm(FlaskForm):
    provider = select_field("Move my Individual Service Fund to", required="Select the provider to move to")
    submit = submit("Move my Individual Service Fund")


def quarter_hours(windows: list[tuple[dt.time, dt.time]]) -> list[tuple[str, str]]:
    """Start times on the quarter hour inside the service's usual opening windows."""
    from app.presenters.formatting import format_time

    times: set[dt.time] = set()
    for opens, closes in windows:
        minute = opens.hour * 60 + opens.minute
        minute += (-minute) % 15
        end = closes.hour * 60 + closes.minute
        if end <= minute:  # overnight: until midnight, then from midnight to closing
            end_total = 24 * 60
            for m in range(minute, end_total, 15):
                times.add(dt.time(m // 60, m % 60))
            for m in range(0, closes.hour * 60 + closes.minute, 15):
                times.add(dt.time(m // 60, m % 60))
            continue
        for m in range(minute, end, 15):
            times.add(dt.time(m // 60, m % 60))
    return [(t.strftime("%H:%M"), format_time(t)) for t in sorted(times)]
