from __future__ import annotations

from app.forms import FlaskForm, GovDateField, GovIntegerField, radio_field, select_field, text_field, textarea_field


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


class LotForm(FlaskForm):
    category_id = select_field("Kind of care or support", coerce=int)
    name = text_field("Lot name", max_length=160, description="Leave empty to use the kind of care's name.")
    quality_weight = GovIntegerField(
        "Quality weight (%)", invalid_message="Enter the quality weight as a whole number, like 60", required="Enter the quality weight"
    )
    price_weight = GovIntegerField(
        "Price weight (%)", invalid_message="Enter the price weight as a whole number, like 40", required="Enter the price weight"
    )


class EditLotForm(FlaskForm):
    name = text_field("Lot name", required="Enter the lot's name", max_length=160)
    quality_weight = GovIntegerField(
        "Quality weight (%)", invalid_message="Enter the quality weight as a whole number, like 60", required="Enter the quality weight"
    )
    price_weight = GovIntegerField(
        "Price weight (%)", invalid_message="Enter the price weight as a whole number, like 40", required="Enter the price weight"
    )


class ApproveForm(FlaskForm):
    provider_id = select_field("Provider", coerce=int)
    # Required by the service (so a missing provider and reason are both reported at once).
    reason = textarea_field("Reason", max_length=2000, description="For example, the tender reference. The provider will see this.")


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
    cancellation_notice_hours = GovIntegerField(
        "Free cancellation notice",
        invalid_message="Enter the notice in whole hours, from 0 to 168 (a week)",
        required="Enter the notice in hours",
        description="People can cancel a booked visit free of charge until this many hours before it. Inside it, the visit is charged.",
    )


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = select_field("Action")
    actor = text_field("Who (name or email)")
    target_type = select_field("About")
    target_id = text_field("Record number")
    date_from = GovDateField("From", invalid_message="Enter a real date, like 1 11 2026")
    date_to = GovDateField("To", invalid_message="Enter a real date, like 30 11 2026")
