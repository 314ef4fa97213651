"""Accounts: registration, signing in, passwords, and who may act for whom.

The questions other parts of the product ask about people live here:

* ``can_act_for(user, citizen)``: may this user arrange things for this citizen (the
  citizen themselves, or a representative they invited)?
* ``citizens_represented_by(user)`` / ``people_user_acts_for(user)``
* ``provider_for_staff(user)`` / ``staff_membership(user)``: a provider's team member's
  organisation and role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.extensions import db
from app.models import (
    AccountToken,
    CitizenFunding,
    Provider,
    ProviderStaff,
    Representation,
    Role,
    SignInFailure,
    TokenPurpose,
    User,
)
from app.services import audit, mail, user_sessions
from app.services.errors import Conflict, DomainError, NotFound, ValidationError
from app.services.passwords import hash_password, needs_rehash, password_problem, spend_equal_time, verify_password
from app.services.tokens import new_token, token_hash

# Failed sign-ins within this window that make a "burst" worth an audit record.
FAILURE_WINDOW = dt.timedelta(minutes=15)
ACCOUNT_BURST = 5
ADDRESS_BURST = 20
FAILURE_RETENTION = dt.timedelta(days=1)

EMAIL_INVALID = "Enter an email address in the correct format, like name@example.com"
EMAIL_MISSING = "Enter your email address"
EMAIL_TAKEN = "An account already exists with this email address. Sign in, or reset your password if you have forgotten it"
EMAIL_IN_USE = "Another account already uses this email address"  # to someone signed in, changing theirs
NAME_MISSING = "Enter your full name"
NAME_TOO_LONG = "Your name must be 120 characters or fewer"
WRONG_PASSWORD = "Enter the correct email address and password"
EMAIL_CHANGE_NEEDS_PASSWORD = "Enter your current password to change your email address"
CURRENT_PASSWORD_WRONG = "Your current password is not right"
LINK_NOT_VALID = "This link has expired or has already been used"


class SignInFailed(DomainError):
    """Wrong email or password (we never say which)."""


class AccountDeactivated(DomainError):
    """The password was right, but the council has deactivated the account."""


class InvalidToken(DomainError):
    """An emailed link that is unknown, used or expired."""


# -- Email addresses and names ---------------------------------------------------------


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


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user")
    return user


def _check_password(password: str, email: str, field: str = "password") -> None:
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


def update_details(
    user: User,
    *,
    name: str,
    email: str,
    citizen_funding: CitizenFunding | None = None,
    current_password: str | None = None,
    current_token: str | None = None,
) -> int:
    """Change a person's name, email address and (citizens) how they pay. A new email
    address needs the current password; the change is audited (before and after), the old
    address is told, links emailed to it stop working, and every other sign-in ends.
    Returns how many other sign-ins were ended."""
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
    old_email = user.email
    user.name = name
    if user.role is Role.CITIZEN:
        user.citizen_funding = citizen_funding
    if not changing_email:
        db.session.commit()
        return 0
    user.email = email
    flush_unique_email(email, EMAIL_IN_USE)
    # Links sent to the old address (a password reset) stop working.
    db.session.execute(update(AccountToken).where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None)).values(used_at=utcnow()))
    ended = user_sessions.end_all(user, user_sessions.EndReason.EMAIL_CHANGED, except_token=current_token)
    audit.record(
        user,
        "account.email_changed",
        "user",
        user.id,
        before={"email": old_email},
        after={"email": email},
        note=f"{ended} other sign-in(s) ended",
    )
    # Tell the old address, in case someone else made the change.
    mail.queue(
        old_email,
        "The email address for your account has changed",
        f"Hello {user.name},\n\nThe email address for your account was changed to {email}. "
        "You have been signed out on your other devices.\n\n"
        "If you did not do this, contact the council straight away.",
    )
    db.session.commit()
    return ended


# -- Signing in --------------------------------------------------------------------------


def authenticate(email: str, password: str, ip_address: str = "") -> User:
    """The account for this email and password, or SignInFailed (recorded, with bursts
    going to the audit trail). Upgrades an old password hash on success."""
    email = (email or "").strip().lower()
    user = user_by_email(email) if email else None
    if user is None:
        spend_equal_time(password)
        _record_failure(email, ip_address, None)
        raise SignInFailed(WRONG_PASSWORD)
    if not verify_password(user.password_hash, password):
        _record_failure(email, ip_address, user)
        raise SignInFailed(WRONG_PASSWORD)
    if not user.active:
        raise AccountDeactivated("This account has been deactivated. Contact the council if you think this is a mistake.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def _record_failure(email: str, ip_address: str, user: User | None) -> None:
    now = utcnow()
    db.session.add(SignInFailure(email=email[:254], ip_address=(ip_address or "")[:45], occurred_at=now))
    db.session.flush()
    since = now - FAILURE_WINDOW
    by_account = db.session.execute(
        select(func.count(SignInFailure.id)).where(SignInFailure.email == email, SignInFailure.occurred_at >= since)
    ).scalar_one()
    if by_account == ACCOUNT_BURST:
        audit.record(
            None,
            "sign_in.failure_burst",
            "user" if user else "email",
            user.id if user else email[:60],
            note=f"{ACCOUNT_BURST} failed sign-ins for {email} within {int(FAILURE_WINDOW.total_seconds() // 60)} minutes"
            + ("" if user else " (no account has this email)"),
            ip_address=ip_address or None,
        )
    if ip_address:
        by_address = db.session.execute(
            select(func.count(SignInFailure.id)).where(SignInFailure.ip_address == ip_address, SignInFailure.occurred_at >= since)
        ).scalar_one()
        if by_address == ADDRESS_BURST:
            audit.record(
                None,
                "sign_in.failure_burst_address",
                "address",
                ip_address,
                note=f"{ADDRESS_BURST} failed sign-ins from {ip_address} within {int(FAILURE_WINDOW.total_seconds() // 60)} minutes",
                ip_address=ip_address,
            )
    db.session.execute(SignInFailure.__table__.delete().where(SignInFailure.occurred_at < now - FAILURE_RETENTION))
    db.session.commit()


def complete_sign_in(user: User, ip_address: str = "", user_agent: str = "") -> str:
    """Everything checked: open a session. Returns the session token for the cookie."""
    token = user_sessions.start(user, ip_address, user_agent)
    user.last_signed_in_at = utcnow()
    db.session.commit()
    user.session_token = token
    return token


def sign_out(user: User | None, token: str | None) -> None:
    user_sessions.end(token, user_sessions.EndReason.SIGNED_OUT)
    db.session.commit()


def sign_out_other_sessions(user: User, current_token: str | None) -> int:
    count = user_sessions.end_all(user, user_sessions.EndReason.SIGNED_OUT_EVERYWHERE, except_token=current_token)
    audit.record(user, "account.signed_out_everywhere", "user", user.id, note=f"{count} other sign-in(s) ended")
    db.session.commit()
    return count


# -- Passwords -------------------------------------------------------------------------


def change_password(user: User, *, current_password: str, new_password: str, current_token: str | None) -> int:
    """Change the password, ending every other sign-in. Returns how many were ended."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationError({"current_password": "Your current password is not right"})
    _check_password(new_password, user.email, "new_password")
    if verify_password(user.password_hash, new_password):
        raise ValidationError({"new_password": "Your new password must be different from your current one"})
    _set_password(user, new_password)
    ended = user_sessions.end_all(user, user_sessions.EndReason.PASSWORD_CHANGED, except_token=current_token)
    audit.record(user, "account.password_changed", "user", user.id, note=f"{ended} other sign-in(s) ended")
    mail.queue(
        user.email,
        "Your password has been changed",
        f"Hello {user.name},\n\nThe password for your account was changed. "
        "You have been signed out on your other devices.\n\nIf you did not do this, reset your password straight away "
        "and contact the council.",
    )
    db.session.commit()
    return ended


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    # Any reset link still out there stops working.
    db.session.execute(update(AccountToken).where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None)).values(used_at=utcnow()))


def issue_password_token(user: User, hours: int) -> str:
    """A new single-use link token for setting a password; older ones stop working."""
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None), AccountToken.purpose == TokenPurpose.PASSWORD_RESET)
        .values(used_at=utcnow())
    )
    token = new_token()
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=TokenPurpose.PASSWORD_RESET,
            token_hash=token_hash(token),
            expires_at=utcnow() + dt.timedelta(hours=hours),
        )
    )
    return token


def request_password_reset(email: str, reset_link: Callable[[str], str], *, hours: int = 1) -> None:
    """Email a reset link if an active account has this email. Says nothing either way,
    so nobody can learn who has an account."""
    user = user_by_email(email or "")
    if user is None or not user.active:
        return
    token = issue_password_token(user, hours)
    mail.queue(
        user.email,
        "Reset your password",
        f"Hello {user.name},\n\nSomeone asked to reset the password for your account. "
        f"To choose a new password, open this link within {hours} hour{'s' if hours != 1 else ''}:\n\n"
        f"{reset_link(token)}\n\nThe link works once. If you did not ask for this, you can ignore this email: "
        "your password has not changed.",
    )
    db.session.commit()


def check_password_token(token: str) -> AccountToken:
    """The live token for a link, or InvalidToken."""
    if not token or len(token) > 100:
        raise InvalidToken(LINK_NOT_VALID)
    row = db.session.execute(select(AccountToken).where(AccountToken.token_hash == token_hash(token))).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user.active:
        raise InvalidToken(LINK_NOT_VALID)
    return row


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from an emailed link (single use), ending every sign-in."""
    row = check_password_token(token)
    user = row.user
    _check_password(new_password, user.email, "password")
    claimed = db.session.execute(
        update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise InvalidToken(LINK_NOT_VALID)
    _set_password(user, new_password)
    user_sessions.end_all(user, user_sessions.EndReason.PASSWORD_RESET)
    audit.record(user, "account.password_reset", "user", user.id)
    mail.queue(
        user.email,
        "Your password has been changed",
        f"Hello {user.name},\n\nThe password for your account was changed using a reset link. "
        "Everyone signed in to your account has been signed out.\n\nIf you did not do this, contact the council straight away.",
    )
    db.session.commit()
    return user


# -- Council accounts (admins) ----------------------------------------------------------


def create_council_user(
    actor: User | None, *, name: str, email: str, role: Role, set_password_link: Callable[[str], str], hours: int = 72
) -> User:
    """An admin adds a commissioner or admin; they get an email to choose a password."""
    if role not in (Role.COMMISSIONER, Role.ADMIN):
        raise ValidationError({"role": "Choose commissioner or admin"})
    user = new_user(email=email, name=name, password=None, role=role)
    token = issue_password_token(user, hours)
    audit.record(actor, "account.created_by_admin", "user", user.id, after={"email": user.email, "role": role})
    mail.queue(
        user.email,
        f"You have been given a {role.value} account",
        f"Hello {user.name},\n\n{actor.name if actor else 'The council'} has given you a {role.value} account. "
        "To choose your password, open this "
        f"link within {hours} hours:\n\n{set_password_link(token)}\n\nYou will then be asked to set up two-step verification.",
    )
    db.session.commit()
    return user


COUNCIL_ROLES = (Role.COMMISSIONER, Role.ADMIN)


def change_role(actor: User, user: User, role: Role) -> User:
    """Move a council account between commissioner and admin (other roles hold data
    that belongs to that role, so they cannot be changed)."""
    if user.id == actor.id:
        raise Conflict("You cannot change your own role. Ask another admin.")
    if user.role not in COUNCIL_ROLES or role not in COUNCIL_ROLES:
        raise Conflict("Only council accounts can move between commissioner and admin.")
    if user.role is role:
        return user
    before = {"role": user.role}
    user.role = role
    user_sessions.end_all(user, user_sessions.EndReason.ROLE_CHANGED)
    audit.record(actor, "account.role_changed", "user", user.id, before=before, after={"role": role})
    db.session.commit()
    return user


def set_active(actor: User, user: User, active: bool, reason: str) -> User:
    if user.id == actor.id:
        raise Conflict("You cannot deactivate your own account.")
    reason = (reason or "").strip()
    if not active and not reason:
        raise ValidationError({"reason": "Enter why you are deactivating this account"})
    if user.active == active:
        return user
    user.active = active
    if not active:
        user_sessions.end_all(user, user_sessions.EndReason.DEACTIVATED)
    audit.record(
        actor,
        "account.reactivated" if active else "account.deactivated",
        "user",
        user.id,
        before={"active": not active},
        after={"active": active},
        note=reason or None,
    )
    db.session.commit()
    return user


def search_users(text: str | None = None, role: Role | None = None, page: int = 1):
    from app.services.pagination import paginate

    query = select(User)
    if text:
        like = f"%{text.strip().lower()}%"
        query = query.where(func.lower(User.email).like(like) | func.lower(User.name).like(like))
    if role is not None:
        query = query.where(User.role == role)
    return paginate(query.order_by(User.name, User.id), page, 50)


# -- Who may act for whom ----------------------------------------------------------------


def _is_user(user) -> bool:
    return isinstance(user, User) and user.id is not None


def can_act_for(user, citizen) -> bool:
    """May ``user`` arrange care for ``citizen``? True for the citizen themselves and for
    a representative the citizen invited (while that lasts). Anyone else: False."""
    if not (_is_user(user) and _is_user(citizen)) or not user.active or not citizen.active:
        return False
    if citizen.role is not Role.CITIZEN:
        return False
    if user.id == citizen.id:
        return True
    if user.role is not Role.REPRESENTATIVE:
        return False
    found = db.session.execute(
        select(Representation.id).where(
            Representation.citizen_id == citizen.id,
            Representation.representative_id == user.id,
            Representation.ended_at.is_(None),
        )
    ).first()
    return found is not None


def citizens_represented_by(user) -> list[User]:
    """The citizens this representative acts for now, by name."""
    if not _is_user(user) or user.role is not Role.REPRESENTATIVE:
        return []
    return list(
        db.session.execute(
            select(User)
            .join(Representation, Representation.citizen_id == User.id)
            .where(Representation.representative_id == user.id, Representation.ended_at.is_(None), User.active.is_(True))
            .order_by(User.name, User.id)
        ).scalars()
    )


def people_user_acts_for(user) -> list[User]:
    """Everyone ``user`` may arrange care for: themselves if a citizen, else the citizens
    they represent."""
    if not _is_user(user):
        return []
    if user.role is Role.CITIZEN:
        return [user] if user.active else []
    return citizens_represented_by(user)


def representatives_of(citizen: User) -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .join(Representation, Representation.representative_id == User.id)
            .where(Representation.citizen_id == citizen.id, Representation.ended_at.is_(None), User.active.is_(True))
            .order_by(User.name)
        ).scalars()
    )


def staff_membership(user) -> ProviderStaff | None:
    """The provider team place of a provider-staff user, or None."""
    if not _is_user(user) or user.role is not Role.PROVIDER:
        return None
    return db.session.execute(select(ProviderStaff).where(ProviderStaff.user_id == user.id)).scalar_one_or_none()


def provider_for_staff(user) -> Provider | None:
    """The organisation a provider-staff user works for, or None."""
    membership = staff_membership(user)
    return membership.provider if membership else None
