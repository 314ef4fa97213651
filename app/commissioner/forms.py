from __future__ import annotations

import re

from wtforms.validators import StopValidation

from app.forms import FlaskForm, GovDateField, GovIntegerField, radio_field, select_field, text_field, textarea_field
from app.models import PayBasis, Rounding


class VerifyForm(FlaskForm):
    regulated = radio_field(
        "Does CQC regulate this provider?",
        choices=[
            ("yes", "Yes, I have checked its registration on the CQC website"),
            ("no", "No, it provides services CQC does not regulate"),
        ],
        required="Select whether CQC regulates this provider",
    )
    cqc_provider_id = text_field("CQC provider ID", description="Like 1-101634368")
    cqc_location_id = text_field("CQC location ID", description="Like 1-1000012345")


class ReasonForm(FlaskForm):
    reason = textarea_field(
        "Reason", required="Enter the reason, so the provider knows what to do", max_length=2000, description="The provider will see this."
    )


class FrameworkForm(FlaskForm):
    name = text_field("Name", required="Enter the framework's name", max_length=160)
    description = textarea_field("Description (optional)", max_length=5000)
    starts_on = GovDateField("Start date", invalid_message="Enter the start date as a real date, like 1 4 2025")
    ends_on = GovDateField("End date (optional)", invalid_message="Enter the end date as a real date, like 31 3 2029")


class _LotWeightsForm(FlaskForm):
    """How a lot ranks its members: quality against price, and how much of quality comes from reviews."""

    quality_weight = GovIntegerField(
        "Quality weight (%)", invalid_message="Enter the quality weight as a whole number, like 60", required="Enter the quality weight"
    )
    price_weight = GovIntegerField(
        "Price weight (%)", invalid_message="Enter the price weight as a whole number, like 40", required="Enter the price weight"
    )
    review_weight = GovIntegerField(
        "Share of quality from reviews (%)",
        invalid_message="Enter the share of quality from reviews as a whole number, like 20",
        required="Enter the share of quality from reviews (0 to use CQC ratings alone)",
        description="Reviews by people who used the service. 0 means quality comes from CQC ratings alone.",
    )
    review_minimum = GovIntegerField(
        "Minimum number of reviews",
        invalid_message="Enter the minimum number of reviews as a whole number, like 10",
        required="Enter the minimum number of reviews",
        description="A service's own reviews are weighed with this many reviews' worth of the lot's average, "
        "so a few 5-star reviews do not outrank many 4.8s.",
    )


class LotForm(_LotWeightsForm):
    category_id = select_field("Kind of care or support", coerce=int)
    name = text_field("Lot name", max_length=160, description="Leave empty to use the kind of care's name.")


class EditLotForm(_LotWeightsForm):
    name = text_field("Lot name", required="Enter the lot's name", max_length=160)


class ApproveForm(FlaskForm):
    provider_id = select_field("Provider", coerce=int)
    # Required by the service (so a missing provider and reason are both reported at once).
    reason = textarea_field("Reason", max_length=2000, description="For example, the tender reference. The provider will see this.")


_WHOLE_NUMBER = re.compile(r"[0-9]{1,3}")


def _whole_or_text(value):
    """A radio choice like "15" as 15; anything else as sent, for the service to refuse."""
    return int(value) if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value) else value


class _RequiredWhenSent:
    """Refuse an empty answer, but let a field the POST left out pass with nothing (None)."""

    field_flags = {"optional": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if not field.raw_data:
            field.errors[:] = []
            raise StopValidation()
        if isinstance(field.raw_data[0], str) and not field.raw_data[0].strip():
            field.errors[:] = []
            raise StopValidation(self.message)


class _SentIntegerField(GovIntegerField):
    def __init__(self, label: str, invalid_message: str, required: str, description: str = "", **kwargs):
        super().__init__(label, invalid_message, description=description, **kwargs)
        self.validators = [_RequiredWhenSent(required)]


def _sent_integer(label: str, invalid_message: str, required: str, description: str = "") -> _SentIntegerField:
    return _SentIntegerField(label, invalid_message=invalid_message, required=required, description=description)


class SettingsForm(FlaskForm):
    name = text_field("Council name", required="Enter the council's name", max_length=160)
    districts = textarea_field(
        "Area: postcode districts",
        required="Enter at least one postcode district, like PE1",
        description="The districts the council covers, separated by commas, like PE1, PE2, PE3.",
    )
    contact_email = text_field("Contact email address")
    contact_phone = text_field("Contact telephone number")
    address = textarea_field("Address", max_length=1000)
    website = text_field("Website")
    security_contact = text_field(
        "Security contact",
        description="Where people report a security problem with this service: an email address or a web address starting https://. "
        "Leave it empty to use the contact email address. It is published in /.well-known/security.txt.",
    )
    cancellation_notice_hours = GovIntegerField(
        "Free cancellation notice",
        invalid_message="Enter the notice in whole hours, from 0 to 168 (a week)",
        required="Enter the notice in hours",
        description="People can cancel a booked visit free of charge until this many hours before it. Inside it, the visit is charged.",
    )
    # Left out of a POST (older forms and scripts): it stays as it is.
    request_expiry_hours = _sent_integer(
        "Time for a provider to answer a booking request",
        invalid_message="Enter the time to answer a request in whole hours, from 12 to 336 (two weeks)",
        required="Enter the time to answer a request in hours, from 12 to 336",
        description=(
            "A request the provider has neither accepted nor declined this many hours after it was made expires: "
            "the money set aside is released and the person is shown other services that could help."
        ),
    )

    # Paying for delivered visits. A setting the POST leaves out stays as it is (so older
    # forms and scripts that only send the first settings keep working); one sent empty is
    # refused. The service checks every value and gives the messages.
    pay_basis = radio_field(
        "What should visits be paid on?",
        choices=[(basis.value, basis.label) for basis in PayBasis],
        description="Electronic call monitoring records when each visit actually started and ended.",
        validate_choice=False,
    )
    billing_increment_minutes = radio_field(
        "Billing increment",
        choices=[(1, "1 minute"), (5, "5 minutes"), (15, "15 minutes")],
        description="Visit time is counted in blocks of this many minutes before it is paid.",
        coerce=_whole_or_text,
        validate_choice=False,
    )
    rounding = radio_field(
        "Rounding a visit's time to the billing increment",
        choices=[(rounding.value, rounding.label) for rounding in Rounding],
        description=(
            "One council found that rounding every visit up to the next quarter hour overpaid a provider by about 17.5%. "
            "Rounding to the nearest increment pays for the time given, on average."
        ),
        validate_choice=False,
    )
    tolerance_minutes = _sent_integer(
        "Tolerance",
        invalid_message="Enter the tolerance as a whole number of minutes from 0 to 120",
        required="Enter the tolerance in minutes, from 0 to 120",
        description=(
            "A visit that starts, and lasts, within this many minutes of the plan is paid as planned. "
            "Outside it, the visit goes to your exceptions queue to check before it is paid."
        ),
    )
    confirm_days = _sent_integer(
        "Days to confirm a visit",
        invalid_message="Enter the days to confirm a visit as a whole number from 1 to 28",
        required="Enter the days to confirm a visit, from 1 to 28",
        description="After a visit, the person (or whoever acts for them) has this many days to confirm it happened or dispute it.",
    )
    payment_run_weeks = radio_field(
        "How often should providers be paid?",
        choices=[(1, "Every week"), (2, "Every 2 weeks"), (4, "Every 4 weeks")],
        description="Payment runs line up with the 4-week budget periods.",
        coerce=_whole_or_text,
        validate_choice=False,
    )

    audit_share_percent = _sent_integer(
        "Share of personal budgets to audit each year",
        invalid_message="Enter the share of budgets to audit as a whole number from 1 to 100",
        required="Enter the share of budgets to audit, from 1 to 100",
        description="Drawn at random each year, besides every budget with a risk flag. Lincolnshire audits 10%.",
    )

    # The council's bank account for payment files ('' for none yet).
    bank_sort_code = text_field("Sort code", description="6 digits, like 30-94-57.")
    bank_account_number = text_field(
        "Account number", description="8 digits, like 00733445. A 6 or 7-digit account number is filled out with zeros at the front."
    )
    bacs_user_number = text_field(
        "Bacs service user number (SUN)",
        description="The 6-digit number Bacs gave the council for sending payment files. Your bank or finance team will know it.",
    )

    PAYMENT_SETTINGS = (
        "pay_basis",
        "billing_increment_minutes",
        "rounding",
        "tolerance_minutes",
        "confirm_days",
        "payment_run_weeks",
        "bank_sort_code",
        "bank_account_number",
        "bacs_user_number",
        "audit_share_percent",
    )
    HINTS = {
        "pay_basis": {
            "planned": "The visit's planned length, whatever the actual times show.",
            "actual": "The time the carer actually spent, rounded to the billing increment (never more than was booked).",
            "lesser": "Whichever is shorter: a visit cut short is paid for the time given, and an overrun is paid as planned.",
        },
        "rounding": {
            "up": "With 15-minute blocks, a 31-minute visit counts as 45 minutes.",
            "nearest": "With 15-minute blocks, a 31-minute visit counts as 30 minutes and a 38-minute visit as 45.",
            "down": "With 15-minute blocks, a 44-minute visit counts as 30 minutes.",
        },
    }

    def show_payment_settings(self, council) -> None:
        """Fill the delivery and payment settings in from the council's current ones."""
        self.pay_basis.data = council.pay_basis.value
        self.billing_increment_minutes.data = council.billing_increment_minutes
        self.rounding.data = council.rounding.value
        self.tolerance_minutes.data = council.tolerance_minutes
        self.confirm_days.data = council.confirm_days
        self.payment_run_weeks.data = council.payment_run_weeks
        self.bank_sort_code.data = council.bank_sort_code_display
        self.bank_account_number.data = council.bank_account_number
        self.bacs_user_number.data = council.bacs_user_number
        self.audit_share_percent.data = council.audit_share_percent

    def payment_settings(self) -> dict:
        """The delivery and payment settings as ``council.update`` takes them: None for
        one the POST left out (it stays as it is)."""
        return {name: (self[name].data if self[name].raw_data else None) for name in self.PAYMENT_SETTINGS}

    def hinted_items(self, name: str) -> list[dict]:
        """Hints for each choice of a radio field, in the GOV.UK items the widget merges."""
        hints = self.HINTS[name]
        return [{"hint": {"text": hints[str(value)]}} for value, _label in self[name].choices]


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = select_field("Action")
    actor = text_field("Who (name or email)")
    target_type = select_field("About")
    target_id = text_field("Record number")
    date_from = GovDateField("From", invalid_message="Enter a real date, like 1 11 2026")
    date_to = GovDateField("To", invalid_message="Enter a real date, like 30 11 2026")
