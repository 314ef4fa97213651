from __future__ import annotations

from app.forms import (
    FlaskForm,
    GovDateField,
    GovIntegerField,
    checkboxes_field,
    radio_field,
    select_field,
    text_field,
    textarea_field,
)
from app.models import WEEKDAYS, FundingRoute, OrgRole, PeopleGroup, PriceUnit

UNIT_CHOICES = [(u.value, f"Per {u.value}") for u in PriceUnit]
ROLE_CHOICES = [(r.value, r.label) for r in OrgRole]


class ProfileForm(FlaskForm):
    name = text_field("Organisation name", required="Enter your organisation's name", max_length=160)
    legal_name = text_field("Registered name (optional)", max_length=200)
    description = textarea_field("About your organisation", max_length=5000)
    email = text_field("Email address for enquiries (optional)")
    phone = text_field("Telephone number (optional)")
    website = text_field("Website (optional)", description="For example, https://www.example.org")
    address_line1 = text_field("Address line 1 (optional)", max_length=200)
    address_line2 = text_field("Address line 2 (optional)", max_length=200)
    town = text_field("Town or city (optional)", max_length=80)
    base_postcode = text_field("Postcode", required="Enter your organisation's postcode")
    areas = checkboxes_field("Areas you work in", description="Select every postcode district where you provide services.")
    service_radius_miles = GovIntegerField(
        "Or everywhere within this many miles of your postcode (optional)",
        invalid_message="Enter the distance as a whole number of miles, like 10",
    )
    cqc_provider_id = text_field("CQC provider ID (optional)", description="Like 1-101634368. Leave empty if CQC does not regulate you.")
    cqc_location_id = text_field("CQC location ID (optional)", description="Like 1-1000012345.")


class InviteForm(FlaskForm):
    email = text_field("Email address", required="Enter their email address")
    org_role = radio_field("Role", choices=ROLE_CHOICES, required="Select a role")


class RoleForm(FlaskForm):
    org_role = radio_field("Role", choices=ROLE_CHOICES, required="Select a role")


class ListingForm(FlaskForm):
    title = text_field(
        "Name of the service", required="Enter a name for the service", max_length=160, description="For example, Home care visits"
    )
    category_id = select_field("Kind of care or support", required="Select the kind of care or support", coerce=int)
    description = textarea_field(
        "Description", required="Describe the service", max_length=5000, description="What you do, who it is for and what is included."
    )
    price = text_field("Price in pounds", required="Enter a price", description="For example, 24.50")
    price_unit = radio_field(
        "What is the price for?", choices=UNIT_CHOICES, required="Select what the price is for, like an hour or a visit"
    )
    min_units = GovIntegerField(
        "Minimum booking",
        invalid_message="Enter the minimum as a whole number, like 1",
        required="Enter the minimum booking",
        description="The fewest units someone can book at a time, like 1 hour.",
    )
    funding_routes = checkboxes_field(
        "Ways people can pay", choices=[(r.value, r.label) for r in FundingRoute], description="Select all that apply."
    )
    # The listings service checks the choices, with its own message.
    people_supported = checkboxes_field(
        "Who does this service support? (optional)",
        choices=[(g.value, g.label) for g in PeopleGroup],
        description="Select the people your staff are trained and ready to support. People can search for these.",
        validate_choice=False,
    )
    availability_note = text_field(
        "Notes on availability (optional)", max_length=300, description="For example, Arrive from 5pm, leave by 11am."
    )


def hours_form_class():
    """Two optional sessions for each day of the week."""
    fields = {}
    for day, name in enumerate(WEEKDAYS):
        for slot in (0, 1):
            label = name if slot == 0 else f"{name}, second time"
            fields[f"day{day}_{slot}_opens"] = text_field(f"{label}: opens")
            fields[f"day{day}_{slot}_closes"] = text_field(f"{label}: closes")
    return type("HoursForm", (FlaskForm,), fields)


HoursForm = hours_form_class()


class ClosureForm(FlaskForm):
    service_id = select_field("Which service is closed?", coerce=str)
    starts_on = GovDateField(
        "First day closed", invalid_message="Enter the first day as a real date, like 25 12 2026", description="For example, 25 12 2026"
    )
    ends_on = GovDateField(
        "Last day closed (optional)",
        invalid_message="Enter the last day as a real date, like 26 12 2026",
        description="Leave empty if it is one day.",
    )
    reason = text_field("Reason (optional)", max_length=120, description="For example, Staff training day")


class BankHolidayForm(FlaskForm):
    year = GovIntegerField("Year", invalid_message="Enter a year, like 2027", required="Enter a year")


class ReplyForm(FlaskForm):
    body = textarea_field("Your reply", required="Enter your message", max_length=5000)
