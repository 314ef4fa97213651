"""Forms for booking a service, cancelling visits and moving an ISF."""

from __future__ import annotations

import datetime as dt

from wtforms import HiddenField
from wtforms.validators import ValidationError

from app.forms import (
    FlaskForm,
    GovDateField,
    GovIntegerField,
    checkbox_field,
    checkboxes_field,
    radio_field,
    select_field,
    submit,
    text_field,
    textarea_field,
)
from app.models import WEEKDAYS


class BookingForm(FlaskForm):
    request_key = HiddenField()
    citizen = radio_field("Who is the booking for?", choices=[], required="Select who the booking is for", validate_choice=False)
    schedule = radio_field(
        "How often?",
        choices=[("one_off", "Once"), ("weekly", "Every week")],
        required="Select how often you want the service",
        validate_choice=False,
    )
    first_date = GovDateField(
        "Date",
        invalid_message="Date must be a real date, for example 27 3 2027",
        required="Enter the date",
        description="For a weekly booking, the date of the first week. For example, 27 3 2027",
    )
    start_time = select_field(
        "Start time", required="Select a start time", validate_choice=False, description="The times the service usually runs"
    )
    units = GovIntegerField("How many", invalid_message="Enter a whole number", required="Enter how many you want to book")
    weekdays = checkboxes_field("Which days each week?", choices=[(str(i), day) for i, day in enumerate(WEEKDAYS)])
    weeks = GovIntegerField("For how many weeks?", invalid_message="Enter a number of weeks from 1 to 52", description="Up to 52 weeks")
    payment = radio_field("How will you pay?", choices=[], required="Select how you will pay", validate_choice=False)
    outcome = radio_field("Which outcome in your support plan is this for? (optional)", choices=[], validate_choice=False)
    visit_address = textarea_field(
        "Where will the visits be? (optional)",
        max_length=300,
        description="The address the carer comes to. Leave it empty if you go to the provider, for example to a day centre",
    )
    contact_phone = text_field(
        "A phone number the provider can call (optional)",
        max_length=32,
        description="Yours, or the number of whoever the provider should speak to about visits",
    )
    message = textarea_field(
        "Message to the provider (optional)",
        max_length=1000,
        description="For example, door codes, how you like to be greeted, or anything they should know",
    )
    submit = submit("Continue")

    @staticmethod
    def _one_of(field, message):
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError(message)

    def validate_citizen(self, field):
        self._one_of(field, "Select who the booking is for")

    def validate_schedule(self, field):
        self._one_of(field, "Select how often you want the service")

    def validate_start_time(self, field):
        self._one_of(field, "Select a start time from the list: they are the times the service runs")

    def validate_payment(self, field):
        self._one_of(field, "Select how you will pay")

    def validate_outcome(self, field):
        if field.data:
            self._one_of(field, "Select one of the outcomes in the support plan, or none")

    def validate_units(self, field):
        if field.data is None:
            raise ValidationError(self._units_message)
        low, high = self._units_range
        if not (low <= field.data <= high):
            raise ValidationError(self._units_message)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.schedule.data == "weekly":
            # These fields are optional for a one-off booking, so they are checked here.
            if not self.weekdays.data:
                self.weekdays.errors = [*list(self.weekdays.errors), "Select the days of the week you want"]
                valid = False
            if not self.weeks.errors and (self.weeks.data is None or not (1 <= self.weeks.data <= 52)):
                self.weeks.errors = [*list(self.weeks.errors), "Enter a number of weeks from 1 to 52"]
                valid = False
        return valid

    def configure_units(self, unit_label: str, low: int, high: int) -> None:
        self.units.label.text = f"How many {unit_label}s?" if high > 1 else f"How many {unit_label}s"
        self._units_range = (low, high)
        self._units_message = f"Enter a number of {unit_label}s from {low} to {high}"
        self.units.invalid_message = self._units_message


class ConfirmBookingForm(FlaskForm):
    request_key = HiddenField()
    expected_total = HiddenField()
    both_at_once = checkbox_field("Yes, book this as well: both visits are wanted at the same time")
    submit = submit("Confirm and send booking")


class CancelForm(FlaskForm):
    visits = checkboxes_field("Which visits do you want to cancel?")
    # Set once the person has seen which of their choices will be charged.
    charge_seen = HiddenField()
    submit = submit("Cancel these visits")


class MoveIsfForm(FlaskForm):
    request_key = HiddenField()  # one move per form: sending it twice moves once
    held_with = HiddenField()  # the provider the fund was with when the form was shown
    provider = select_field("Move my Individual Service Fund to", required="Select the provider to move to", validate_choice=False)
    submit = submit("Move my Individual Service Fund")


def quarter_hours(windows: list[tuple[dt.time, dt.time]]) -> list[tuple[str, str]]:
    """Start times on the quarter hour inside the service's usual opening windows."""
    from app.formatting import format_time

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


# Paying by card --------------------------------------------------------------------

NEW_CARD = "new"  # the "Add a new card" choice


class _CardChoiceForm(FlaskForm):
    """Choose one of the payer's saved cards, or to add a new one."""

    card = radio_field("Which card will you pay with?", choices=[], required="Select a card, or add a new card", validate_choice=False)

    def validate_card(self, field):
        BookingForm._one_of(field, "Select a card, or add a new card")


class ChooseCardForm(_CardChoiceForm):
    submit = submit("Continue")


class PayNowForm(_CardChoiceForm):
    request_key = HiddenField()
    submit = submit("Pay now")


class AddCardForm(FlaskForm):
    """Saving a card: the card itself is entered in Stripe.js; this form carries which
    set-up it was and what kind of card the person says it is."""

    setup = HiddenField()
    next = HiddenField()
    route = radio_field("What kind of card is it?", choices=[], required="Select what kind of card it is", validate_choice=False)
    submit = submit("Save card")

    def validate_route(self, field):
        BookingForm._one_of(field, "Select what kind of card it is")
