"""Changing your details: your name and (citizens) how you pay at once; a new email
address only once a link sent to it is opened (see email_changes)."""

from __future__ import annotations

from collections.abc import Callable

from app.extensions import db
from app.models import CitizenFunding, Role, User
from app.services.accounts.email_changes import request_email_change
from app.services.accounts.identity import (
    CURRENT_PASSWORD_WRONG,
    EMAIL_CHANGE_NEEDS_PASSWORD,
    EMAIL_IN_USE,
    clean_name,
    normalise_email,
    user_by_email,
)
from app.services.errors import ValidationError
from app.services.passwords import verify_password


def update_details(
    user: User,
    *,
    name: str,
    email: str,
    citizen_funding: CitizenFunding | None = None,
    current_password: str | None = None,
    confirm_link: Callable[[str], str] | None = None,
    hours: int = 24,
) -> str | None:
    """Save a person's name and (citizens) how they pay. A different email address needs
    the current password and is not changed here: a link is sent to it (``confirm_link``
    builds the link from a token; it works for ``hours``) and the old address is told.
    Commits. Returns the address waiting to be confirmed, or None."""
    errors: dict[str, str] = {}
    try:
        email = normalise_email(email)
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        name = clean_name(name)
    except ValidationError as exc:
        errors.update(exc.errors)
    changing_email = "email" not in errors and email != user.email
    if changing_email:
        if not current_password:
            errors["current_password"] = EMAIL_CHANGE_NEEDS_PASSWORD
        elif not verify_password(user.password_hash, current_password):
            errors["current_password"] = CURRENT_PASSWORD_WRONG
        if user_by_email(email) is not None:
            errors["email"] = EMAIL_IN_USE
    if errors:
        raise ValidationError(errors)
    user.name = name
    if user.role is Role.CITIZEN:
        user.citizen_funding = citizen_funding
    if changing_email:
        if confirm_link is None:
            raise ValueError("confirm_link is needed to change an email address")
        request_email_change(user, email, confirm_link=confirm_link, hours=hours)
    db.session.commit()
    return email if changing_email else None
