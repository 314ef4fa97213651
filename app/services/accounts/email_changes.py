"""Changing an email address by a link sent to the new one. Asking (with the current
password) sends the new address a single-use link that works for EMAIL_CHANGE_HOURS, and
tells the old address that a change was asked for (with no link that completes it). Until
the link is opened the old address stays the account's, for signing in and for email; a
new request or a cancel kills the link. Opening it claims the token with one conditional
update, then makes the change; if another account took the address meanwhile, it fails
cleanly and the link is spent. Each step is audited.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.formatting import pluralise
from app.models import AccountToken, TokenPurpose, User
from app.services import audit, mail, user_sessions
from app.services.accounts import link_tokens
from app.services.accounts.identity import EMAIL_IN_USE, flush_unique_email, user_by_email
from app.services.accounts.password_changes import LINK_NOT_VALID, InvalidToken
from app.services.errors import DomainError, ValidationError
from app.services.tokens import token_hash

EMAIL_NOW_TAKEN = "Another account started using this email address after you asked for the change, so your email address has not changed"


class EmailTaken(DomainError):
    """The new address belongs to another account by the time the link was opened."""


def request_email_change(user: User, new_email: str, *, confirm_link: Callable[[str], str], hours: int) -> None:
    """Inside the caller's unit of work (the address already checked): a link to ``new_email``,
    a notice to the current one. An earlier request's link stops working."""
    token = link_tokens.issue(user, TokenPurpose.EMAIL_CHANGE, hours=hours, new_email=new_email)
    audit.record(user, "account.email_change_requested", "user", user.id, before={"email": user.email}, after={"email": new_email})
    mail.queue(
        new_email,
        "Confirm your new email address",
        f"Hello {user.name},\n\nYou asked to use this email address for your account. To confirm it, open this link "
        f"within {pluralise(hours, 'hour')}:\n\n{confirm_link(token)}\n\nThe link works once. Until you open it, your "
        "account keeps its current email address. If you did not ask for this, you can ignore this email.",
    )
    mail.queue(
        user.email,
        "A change of email address was asked for",
        f"Hello {user.name},\n\nSomeone signed in to your account asked to change its email address to {new_email}. "
        "Nothing changes unless the link we sent to that address is opened. This email address keeps working until then.\n\n"
        "If you did not ask for this, sign in, cancel the change from your account page and change your password, "
        "then contact the council.",
    )


def pending_email_change(user: User) -> AccountToken | None:
    """The live request to change ``user``'s email address, if any."""
    return db.session.execute(
        select(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TokenPurpose.EMAIL_CHANGE,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
        .order_by(AccountToken.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def cancel_email_change(user: User) -> bool:
    """Kill the pending link. Commits; False if there was none."""
    pending = pending_email_change(user)
    if pending is None or not link_tokens.end_live(user, TokenPurpose.EMAIL_CHANGE):
        db.session.rollback()
        return False
    audit.record(user, "account.email_change_cancelled", "user", user.id, after={"email": pending.new_email})
    db.session.commit()
    return True


def check_email_change_token(token: str) -> AccountToken:
    """The live email-change token for a link, or InvalidToken."""
    if not token or len(token) > 100:
        raise InvalidToken(LINK_NOT_VALID)
    row = db.session.execute(
        select(AccountToken).where(AccountToken.token_hash == token_hash(token), AccountToken.purpose == TokenPurpose.EMAIL_CHANGE)
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user.active:
        raise InvalidToken(LINK_NOT_VALID)
    return row


def confirm_email_change(token: str, *, current_token: str | None = None) -> tuple[User, int]:
    """The new address replaces the old: the link is spent (once only, even by two requests at
    once), links sent to the old address stop working, every sign-in but ``current_token``
    ends, the old address is told. Commits. Returns the user and how many sign-ins ended.
    InvalidToken for a dead link; EmailTaken (link spent) if another account has the address."""
    row = check_email_change_token(token)
    user, new_email = row.user, row.new_email
    claimed = db.session.execute(
        update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise InvalidToken(LINK_NOT_VALID)
    if user_by_email(new_email) is not None:
        _refused(user, new_email)
    old_email = user.email
    user.email = new_email
    try:
        flush_unique_email(new_email, EMAIL_IN_USE)  # rolls back if another account took it this instant
    except ValidationError:
        db.session.execute(update(AccountToken).where(AccountToken.id == row.id).values(used_at=utcnow()))
        _refused(user, new_email)
    ended = _change_email(user, old_email, new_email, current_token)
    db.session.commit()
    return user, ended


def _refused(user: User, new_email: str) -> None:
    audit.record(user, "account.email_change_refused", "user", user.id, after={"email": new_email}, note="address taken by another account")
    db.session.commit()
    raise EmailTaken(EMAIL_NOW_TAKEN)


def _change_email(user: User, old_email: str, email: str, current_token: str | None) -> int:
    """Inside the caller's unit of work, once the new address is in: links sent to the old
    one stop working, other sign-ins end, the change is audited and the old address told."""
    db.session.execute(update(AccountToken).where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None)).values(used_at=utcnow()))
    ended = user_sessions.end_all(user, user_sessions.EndReason.EMAIL_CHANGED, except_token=current_token)
    audit.record(
        user,
        "account.email_changed",
        "user",
        user.id,
        before={"email": old_email},
        after={"email": email},
        note=f"confirmed from the new address; {pluralise(ended, 'other sign-in')} ended",
    )
    mail.queue(
        old_email,
        "The email address for your account has changed",
        f"Hello {user.name},\n\nThe email address for your account was changed to {email}, confirmed from that address. "
        "You have been signed out on your other devices.\n\nIf you did not do this, contact the council straight away.",
    )
    return ended
