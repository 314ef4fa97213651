"""Changing a password, and resetting a forgotten one by an emailed single-use link."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.formatting import pluralise
from app.models import (
    AccountToken,
    TokenPurpose,
    User,
)
from app.services import audit, mail, user_sessions
from app.services.accounts import link_tokens
from app.services.accounts.identity import check_new_password, user_by_email
from app.services.errors import DomainError, ValidationError
from app.services.passwords import hash_password, verify_password
from app.services.tokens import token_hash

LINK_NOT_VALID = "This link has expired or has already been used"


class InvalidToken(DomainError):
    """An emailed link that is unknown, used or expired."""


def change_password(user: User, *, current_password: str, new_password: str, current_token: str | None) -> int:
    """Change the password, ending every other sign-in. Returns how many were ended."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationError({"current_password": "Your current password is not right"})
    check_new_password(new_password, user.email, "new_password")
    if verify_password(user.password_hash, new_password):
        raise ValidationError({"new_password": "Your new password must be different from your current one"})
    _set_password(user, new_password)
    ended = user_sessions.end_all(user, user_sessions.EndReason.PASSWORD_CHANGED, except_token=current_token)
    audit.record(user, "account.password_changed", "user", user.id, note=f"{pluralise(ended, 'other sign-in')} ended")
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
    # Any link still out there stops working.
    link_tokens.end_live(user)


def issue_password_token(user: User, hours: int) -> str:
    """A new single-use link token for setting a password; older ones stop working."""
    return link_tokens.issue(user, TokenPurpose.PASSWORD_RESET, hours=hours)


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
    check_new_password(new_password, user.email, "password")
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
