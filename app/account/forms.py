from __future__ import annotations

from app.auth.forms import PASSWORD_HINT
from app.forms import FlaskForm, password_field, radio_field, text_field
from app.models import CitizenFunding


class DetailsForm(FlaskForm):
    name = text_field("Full name", required="Enter your full name", max_length=120)
    email = text_field("Email address", required="Enter your email address")
    current_password = password_field(
        "Current password", required=None, description="You only need this if you are changing your email address."
    )
    citizen_funding = radio_field(
        "How will you pay for your care and support?",
        choices=[(f.value, f.label) for f in CitizenFunding] + [("not_sure", "I'm not sure yet")],
    )


class ChangePasswordForm(FlaskForm):
    current_password = password_field("Current password", required="Enter your current password")
    new_password = password_field("New password", required="Enter a new password", description=PASSWORD_HINT)


class TwoStepSetupForm(FlaskForm):
    code = text_field("Code from your authenticator app", required="Enter the 6-digit code from your authenticator app")


class TwoStepCodeForm(FlaskForm):
    code = text_field("Code from your authenticator app", required="Enter the 6-digit code from your authenticator app")


class TwoStepOffForm(FlaskForm):
    password = password_field("Your password")
    code = text_field("Code from your authenticator app", required="Enter the 6-digit code from your authenticator app")


class InviteRepresentativeForm(FlaskForm):
    email = text_field("Their email address", required="Enter their email address")
    relationship = text_field(
        "How do you know them?",
        required="Enter how you know this person, for example daughter or friend",
        max_length=80,
        description="For example, daughter, son, friend, neighbour or advocate.",
    )
