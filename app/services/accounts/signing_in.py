"""Signing in and out: checking a password, recording bursts of failures for the audit
trail, and ending sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.formatting import pluralise
from app.models import (
    SignInFailure,
    User,
)
from app.services import audit, user_sessions
from app.services.accounts.identity import user_by_email
from app.services.errors import DomainError
from app.services.passwords import hash_password, needs_rehash, spend_equal_time, verify_password

# Failed sign-ins within this window that make a "burst" worth an audit record.
FAILURE_WINDOW = dt.timedelta(minutes=15)


ACCOUNT_BURST = 5


ADDRESS_BURST = 20


FAILURE_RETENTION = dt.timedelta(days=1)


WRONG_PASSWORD = "Enter the correct email address and password"


class SignInFailed(DomainError):
    """Wrong email or password (we never say which)."""


class AccountDeactivated(DomainError):
    """The password was right, but the council has deactivated the account."""


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
    audit.record(user, "account.signed_out_everywhere", "user", user.id, note=f"{pluralise(count, 'other sign-in')} ended")
    db.session.commit()
    return count
