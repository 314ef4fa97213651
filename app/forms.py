"""Shared form pieces: GOV.UK-rendered fields and turning domain errors into form errors.

Fields use govuk-frontend-wtf widgets, so every form gets GOV.UK markup, inline error
messages and (through ``wtforms_errors``) the error summary; base.html adds the "Error: "
title prefix whenever a ``form`` with errors is on the page.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, PasswordField, RadioField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, StopValidation

from app.services.errors import ValidationError

__all__ = [
    "Blankable",
    "BooleanField",
    "FlaskForm",
    "Length",
    "Required",
    "apply_errors",
    "checkbox_field",
    "checkboxes_field",
    "password_field",
    "radio_field",
    "select_field",
    "submit",
    "text_field",
    "textarea_field",
]


class Required(InputRequired):
    """An answer is needed, and one of only spaces is not an answer (WTForms' InputRequired
    lets it through, and a number or a choice read from it would then be nothing)."""

    def __call__(self, form, field):
        if field.raw_data and not (isinstance(field.raw_data[0], str) and not field.raw_data[0].strip()):
            return
        field.errors[:] = []
        raise StopValidation(self.message or "This field is required")


class Blankable(Optional):
    """An empty answer needs no more checks. An answer of only spaces needs none either,
    but a problem found before the checks (spaces are not one of a list's choices) still
    stands: WTForms' Optional would wipe it, and the view would read the spaces as if they
    were a valid choice."""

    def __call__(self, form, field):
        if not field.raw_data or field.raw_data[0] == "":
            field.errors[:] = []  # nothing chosen or typed: nothing to be wrong
            raise StopValidation()
        if isinstance(field.raw_data[0], str) and not field.raw_data[0].strip():
            raise StopValidation()


def text_field(label: str, required: str | None = None, max_length: int | None = None, description: str = "", **kwargs) -> StringField:
    validators = [Required(message=required)] if required else [Blankable()]
    if max_length:
        validators.append(Length(max=max_length, message=f"{label} must be {max_length} characters or fewer"))
    return StringField(label, validators=validators, widget=GovTextInput(), description=description, **kwargs)


def password_field(label: str, required: str | None = "Enter your password", description: str = "") -> PasswordField:
    validators = [Required(message=required)] if required else [Blankable()]
    return PasswordField(label, validators=validators, widget=GovPasswordInput(), description=description)


def _one_character_line_breaks(value):
    """Browsers send a textarea's line breaks as CRLF: count (and keep) each as one
    character, so a length limit means what the person sees."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def textarea_field(label: str, required: str | None = None, max_length: int | None = None, description: str = "") -> TextAreaField:
    validators = [Required(message=required)] if required else [Blankable()]
    if max_length:
        validators.append(Length(max=max_length, message=f"{label} must be {max_length:,} characters or fewer"))
    return TextAreaField(label, validators=validators, widget=GovTextArea(), description=description, filters=[_one_character_line_breaks])


def radio_field(label: str, choices, required: str | None = None, description: str = "", **kwargs) -> RadioField:
    validators = [Required(message=required)] if required else [Blankable()]
    return RadioField(label, choices=choices, validators=validators, widget=GovRadioInput(), description=description, **kwargs)


def select_field(label: str, choices=(), required: str | None = None, description: str = "", **kwargs) -> SelectField:
    validators = [Required(message=required)] if required else [Blankable()]
    return SelectField(label, choices=choices, validators=validators, widget=GovSelect(), description=description, **kwargs)


def checkboxes_field(label: str, choices=(), description: str = "", **kwargs) -> SelectMultipleField:
    return SelectMultipleField(
        label, choices=choices, validators=[Blankable()], widget=GovCheckboxesInput(), description=description, **kwargs
    )


def checkbox_field(label: str, description: str = "") -> BooleanField:
    return BooleanField(label, widget=GovCheckboxInput(), description=description)


def submit(label: str) -> SubmitField:
    return SubmitField(label, widget=GovSubmitInput())


def apply_errors(form: FlaskForm, error: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError next to the fields it names (unknown names go on
    the first field, so the message is never lost)."""
    names = [name for name in form._fields if name not in ("csrf_token", "submit")]
    for key, message in error.errors.items():
        name = (field_map or {}).get(key, key)
        field = form._fields.get(name) or (form._fields[names[0]] if names else None)
        if field is None:
            continue
        if message not in (field.errors or []):
            field.errors = [*list(field.errors or []), message]
        if hasattr(form, "_errors"):
            form._errors = None  # recompute form.errors


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change something."""


import datetime as _dt  # noqa: E402

from govuk_frontend_wtf.wtforms_widgets import GovDateInput  # noqa: E402
from wtforms import DateField, IntegerField  # noqa: E402


class GovDateField(DateField):
    """A GOV.UK date input (day, month, year) with our own error messages.

    Years outside ``min_year``..``max_year`` (1900 to 2100 unless a form says otherwise) are
    refused with "Year must be a real year, like 2027", so no typed number can reach the
    date arithmetic behind the form (Python's dates end in 9999; an enormous number would
    not even fit in one)."""

    min_year = 1900
    max_year = 2100

    def __init__(
        self,
        label: str,
        invalid_message: str,
        description: str = "",
        required: str | None = None,
        min_year: int | None = None,
        max_year: int | None = None,
        **kwargs,
    ):
        # A required date checks itself (pre_validate): WTForms' Optional would wipe the
        # "real date" message when only the day box is empty.
        validators = [] if required else [Blankable()]
        super().__init__(label, validators=validators, widget=GovDateInput(), description=description, **kwargs)
        self.invalid_message = invalid_message
        self.required_message = required
        self.min_year = min_year if min_year is not None else self.min_year
        self.max_year = max_year if max_year is not None else self.max_year

    @property
    def year_message(self) -> str:
        from app.uk_time import uk_today

        example = min(max(uk_today().year + 1, self.min_year), self.max_year)
        return f"Year must be a real year, like {example}"

    def pre_validate(self, form):
        if self.required_message and self.data is None and not self.process_errors:
            raise StopValidation(self.required_message)

    def process_formdata(self, valuelist):
        if len(valuelist or []) != 3:
            self.raw_data = None  # the GOV.UK widget expects day, month and year or nothing
        if not valuelist or not any((v or "").strip() for v in valuelist):
            self.data = None
            return
        self.data = None
        try:
            day, month, year = (int((v or "").strip()) for v in valuelist)
        except (ValueError, TypeError):
            raise ValueError(self.invalid_message) from None
        if not self.min_year <= year <= self.max_year:
            raise ValueError(self.year_message)
        try:
            self.data = _dt.date(year, month, day)
        except (ValueError, OverflowError):
            raise ValueError(self.invalid_message) from None


class GovIntegerField(IntegerField):
    """A whole number in a GOV.UK text input, with our own message."""

    def __init__(self, label: str, invalid_message: str, required: str | None = None, description: str = "", **kwargs):
        validators = [Required(message=required)] if required else [Blankable()]
        super().__init__(label, validators=validators, widget=GovTextInput(), description=description, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(self.invalid_message) from None


# Refunding a card payment: provider and commissioner booking pages ----------------

from wtforms import HiddenField  # noqa: E402


class RefundForm(FlaskForm):
    amount = text_field("How much to refund?", required="Enter the amount to refund, like 12.50", max_length=20)
    reason = textarea_field(
        "Why are you refunding it?",
        required="Enter the reason for the refund: the person will see it",
        max_length=500,
        description="The person who paid will see this on their booking and card statement.",
    )
    request_key = HiddenField()
    submit = submit("Refund to the card")

    def refund(self, visit, *, by, for_provider=None) -> tuple[bool, str | None]:
        """Ask for the refund. (True, message) once it is recorded; (False, None) with the
        problem shown on the form."""
        import uuid

        from app.formatting import format_pence, parse_pounds
        from app.services import card_payments
        from app.services.errors import Conflict, DomainError

        try:
            pence = parse_pounds(self.amount.data)
        except ValueError as exc:
            apply_errors(self, ValidationError({"amount": str(exc)}))
            return False, None
        if not self.request_key.data:
            self.request_key.data = uuid.uuid4().hex
        try:
            refund = card_payments.refund_visit(
                visit,
                amount_pence=pence,
                reason=self.reason.data or "",
                by=by,
                request_key=self.request_key.data,
                for_provider=for_provider,
            )
        except card_payments.ProcessorUnavailable:
            return True, (
                f"The refund of {format_pence(pence)} is recorded, but the card processor could not be reached. "
                "It will be made when it answers: this page shows it in progress until then."
            )
        except card_payments.PaymentInProgress:
            # The same refund is being made right now: keep this request's key, so pressing
            # the button again shows that refund's outcome instead of making a second one.
            apply_errors(
                self,
                ValidationError(
                    {
                        "amount": "This refund is already being made. Wait a moment, then select "
                        "‘Refund to the card’ again to see whether it went through"
                    }
                ),
            )
            return False, None
        except ValidationError as exc:
            apply_errors(self, exc)
        except (Conflict, card_payments.CardPaymentsNotConfigured, card_payments.ProcessorRefused) as exc:
            apply_errors(self, ValidationError({"amount": str(exc)}))
        except DomainError:
            raise
        else:
            return True, _refund_message(refund, visit)
        self.request_key.data = uuid.uuid4().hex  # a refused request is spent: trying again is a new one
        return False, None


def _refund_message(refund, visit) -> str:
    """What the person making a refund is told once it is recorded."""
    from app.formatting import format_pence
    from app.models import RefundStatus

    if refund.status is RefundStatus.PENDING:
        return (
            f"Refund of {format_pence(refund.amount_pence)} to {refund.payment.card.description} asked for. "
            "The card processor is making it: the booking shows it in progress until the bank confirms it, "
            f"and {visit.booking.citizen.name} will be told when it is made."
        )
    return f"{format_pence(refund.amount_pence)} refunded to {refund.payment.card.description}. {visit.booking.citizen.name} has been told."


class FinanceCheckForm(FlaskForm):
    """Asking the council to check a personal budget's finances (citizen, provider and
    commissioner pages alike)."""

    reason = textarea_field(
        "Why should the council check this budget?",
        required="Say why the budget should be checked",
        max_length=1000,
        description="For example: money seems to be missing from the statement, or visits are charged that did not happen.",
    )
    submit = submit("Ask for a finance check")
