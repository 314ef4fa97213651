from __future__ import annotations

from app.forms import FlaskForm, radio_field, text_field, textarea_field


class NewEnquiryForm(FlaskForm):
    citizen = radio_field("Who is this enquiry for?", choices=[], required="Select who this enquiry is for")
    subject = text_field(
        "Subject", required="Enter a subject", max_length=160, description="For example, Can you visit on Saturday mornings?"
    )
    body = textarea_field(
        "Your question", required="Enter your question", max_length=5000, description="Do not include bank or card details."
    )


class ReplyForm(FlaskForm):
    body = textarea_field("Your reply", required="Enter your message", max_length=5000)
