from __future__ import annotations

from app.forms import FlaskForm, radio_field, text_field, textarea_field

COUNCIL_ROLE_CHOICES = [
    ("commissioner", "Commissioner: verifies providers, runs the framework, reads the audit trail"),
    ("admin", "Admin: everything a commissioner does, plus accounts and email"),
]


class CouncilUserForm(FlaskForm):
    name = text_field("Full name", required="Enter their full name", max_length=120)
    email = text_field("Email address", required="Enter their email address")
    role = radio_field("Role", choices=COUNCIL_ROLE_CHOICES, required="Select a role")


class RoleForm(FlaskForm):
    role = radio_field("Role", choices=COUNCIL_ROLE_CHOICES, required="Select a role")


class DeactivateForm(FlaskForm):
    reason = textarea_field(
        "Why are you deactivating this account?", required="Enter why you are deactivating this account", max_length=1000
    )
