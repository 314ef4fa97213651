from __future__ import annotations

from app.forms import FlaskForm, password_field, radio_field, text_field, textarea_field
from app.models import CitizenFunding

PASSWORD_HINT = "At least 8 characters. A long password of three random words is strong and easy to remember."


class SignInForm(FlaskForm):
    email = text_field("Email address", required="Enter your email address")
    password = password_field("Password")


class TwoStepForm(FlaskForm):
    code = text_field(
        "Security code",
        required="Enter the 6-digit code from your authenticator app",
        description="Enter the 6-digit code your authenticator app shows now, or one of your recovery codes.",
    )


class RegisterForm(FlaskForm):
    name = text_field("Full name", required="Enter your full name", max_length=120)
    email = text_field(
        "Email address", required="Enter your email address", description="We will use this to contact you about your care and support."
    )
    citizen_funding = radio_field(
        "How will you pay for your care and support?",
        choices=[(f.value, f.label) for f in CitizenFunding] + [("not_sure", "I'm not sure yet")],
        required="Select how you will pay for your care and support",
    )
    password = password_field("Create a password", required="Enter a password", description=PASSWORD_HINT)


class ForgotPasswordForm(FlaskForm):
    email = text_field("Email address", required="Enter your email address")


class ResetPasswordForm(FlaskForm):
    password = password_field("New password", required="Enter a new password", description=PASSWORD_HINT)


class ProviderSignUpForm(FlaskForm):
    your_name = text_field("Your full name", required="Enter your full name", max_length=120)
    your_email = text_field("Your work email address", required="Enter your work email address")
    password = password_field("Create a password", required="Enter a password", description=PASSWORD_HINT)
    name = text_field("Organisation name", required="Enter your organisation's name", description="The name people know you by.")
    legal_name = text_field("Registered name (optional)", description="Your registered company or charity name, if it is different.")
    base_postcode = text_field(
        "Organisation postcode",
        required="Enter your organisation's postcode",
        description="The postcode of your office or base, like PE1 1XX.",
    )
    phone = text_field("Telephone number (optional)")
    email = text_field("Email address for enquiries (optional)", description="Shown to people on your listings.")
    description = textarea_field(
        "About your organisation (optional)", max_length=5000, description="What you do, who you support and where."
    )
    cqc_provider_id = text_field(
        "CQC provider ID (optional)", description="If the Care Quality Commission regulates you, like 1-101634368."
    )
    cqc_location_id = text_field(
        "CQC location ID (optional)", description="The location ID CQC gave the service you are listing, like 1-1000012345."
    )


class AcceptInvitationForm(FlaskForm):
    name = text_field("Full name", required="Enter your full name", max_length=120)
    password = password_field("Create a password", required="Enter a password", description=PASSWORD_HINT)
