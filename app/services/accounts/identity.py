"""Who someone is: their email address and name, finding their account, and making a new
one (changing them: details and email_changes)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.extensions import db
from app.models import (
    CitizenFunding,
    Role,
    User,
)
from app.services import audit
from app.services.errors import NotFound, ValidationError
from app.services.passwords import hash_password, password_problem

EMAIL_INVALID = "Enter an email address in the correct format, like name@example.com"


EMAIL_MISSING = "Enter your email address"


EMAIL_TAKEN = "An account already exists with this email address. Sign in, or reset your password if you have forgotten it"


EMAIL_IN_USE = "Another account already uses this email address"  # to someone signed in, changing theirs


NAME_MISSING = "Enter your full name"


NAME_TOO_LONG = "Your name must be 120 characters or fewer"


EMAIL_CHANGE_NEEDS_PASSWORD = "Enter your current password to change your email address"


CURRENT_PASSWORD_WRONG = "Your current password is not right"


def normalise_email(text: str | None, field: str = "email") -> str:
    """A valid email address in lower case, or ValidationError with GOV.UK wording."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: EMAIL_MISSING})
    # ".test" addresses (RFC 2606) are for the demo accounts and tests, never production.
    config = current_app.config
    allow_test_domains = bool(config.get("DEMO_MODE") or config.get("TESTING"))
    try:
        result = validate_email(text, check_deliverability=False, test_environment=allow_test_domains)
    except EmailNotValidError:
        raise ValidationError({field: EMAIL_INVALID}) from None
    return result.normalized.lower()


def clean_name(text: str | None, field: str = "name") -> str:
    name = " ".join((text or "").split())
    if not name:
        raise ValidationError({field: NAME_MISSING})
    if len(name) > 120:
        raise ValidationError({field: NAME_TOO_LONG})
    return name


def user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def users_by_id(ids) -> dict[int, User]:
    ids = list(ids)
    if not ids:
        return {}
    return {u.id: u for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()}


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user")
    return user


def check_new_password(password: str, email: str, field: str = "password") -> None:
    problem = password_problem(password, email=email)
    if problem:
        raise ValidationError({field: problem})


def new_user(*, email: str, name: str, password: str | None, role: Role, citizen_funding: CitizenFunding | None = None) -> User:
    """Create an account (in the current unit of work) after checking every rule."""
    email = normalise_email(email)
    name = clean_name(name)
    errors = {}
    if user_by_email(email) is not None:
        errors["email"] = EMAIL_TAKEN
    if password is not None:
        problem = password_problem(password, email=email)
        if problem:
            errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password) if password is not None else None,
        password_changed_at=utcnow() if password is not None else None,
        citizen_funding=citizen_funding if role is Role.CITIZEN else None,
    )
    db.session.add(user)
    flush_unique_email(email)
    return user


def flush_unique_email(email: str, message: str = EMAIL_TAKEN) -> None:
    """Flush the unit of work. If the database refuses it because another request took
    the email address in the meantime (a double-submitted form), the unit of work is
    rolled back and the person gets ``message`` on the email field instead of an error page."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if user_by_email(email) is not None:
            raise ValidationError({"email": message}) from None
        raise


def register_citizen(*, name: str, email: str, password: str, citizen_funding: CitizenFunding | None, ip_address: str = "") -> User:
    """A person arranging their own care creates an account."""
    user = new_user(email=email, name=name, password=password, role=Role.CITIZEN, citizen_funding=citizen_funding)
    audit.record(user, "account.registered", "user", user.id, after={"role": user.role, "email": user.email}, ip_address=ip_address)
    db.session.commit()
    return user
