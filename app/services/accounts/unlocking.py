"""Unlocking sign-in for its owner. Failed guesses at one account from many addresses pause
sign-in to it everywhere; so that nobody can lock a person out of their own account, the
owner is emailed a link that lets them sign in from their own browser while the pause lasts
(guesses from their address still count against them, as anyone's do)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import OutboundEmail, User
from app.services import audit, mail
from app.services.accounts.identity import get_user, user_by_email
from app.services.errors import NotFound

LINK_HOURS = 1
SUBJECT = "Sign in to your account"
_SALT = "sign-in-unlock"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unlock_token(user: User) -> str:
    # The password's hash is part of it: a new password ends every link sent before.
    return _serializer().dumps([user.id, (user.password_hash or "")[-16:]])


def user_for_unlock_token(token: str) -> User | None:
    """The account a link unlocks, if it is valid and less than LINK_HOURS old."""
    try:
        user_id, fingerprint = _serializer().loads(token, max_age=LINK_HOURS * 3600)
        user = get_user(int(user_id))
    except (BadSignature, ValueError, TypeError, NotFound):
        return None
    if not user.active or (user.password_hash or "")[-16:] != fingerprint:
        return None
    return user


def send_unlock_link(email: str, *, link: Callable[[str], str]) -> bool:
    """Email the owner of ``email`` (if there is one) a link to sign in despite the pause, at
    most once an hour. Commits. True if an email was queued."""
    user = user_by_email((email or "").strip().lower()) if email else None
    if user is None or not user.active:
        return False
    since = utcnow() - dt.timedelta(hours=LINK_HOURS)
    already = db.session.execute(
        select(OutboundEmail.id).where(
            OutboundEmail.to_address == user.email, OutboundEmail.subject == SUBJECT, OutboundEmail.created_at > since
        )
    ).first()
    if already is not None:
        return False
    mail.queue(
        user.email,
        SUBJECT,
        f"Hello {user.name},\n\nMany wrong passwords have been tried for your account from different places, so we have "
        f"paused signing in to it for a while. Your password has not been changed and nobody has signed in.\n\n"
        f"To sign in from this device anyway, open this link within {LINK_HOURS} hour and then sign in as usual:\n\n"
        f"{link(unlock_token(user))}\n\nIf you have not tried to sign in, you do not need to do anything. If you are "
        "worried, change your password once you have signed in.",
    )
    audit.record(None, "sign_in.unlock_link_sent", "user", user.id, note="sign-in to the account paused by failures from many addresses")
    db.session.commit()
    return True
