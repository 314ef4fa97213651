"""Server-side sessions: each sign-in is a row, and the browser's cookie holds a random
token for it. Ending the row ends that sign-in everywhere the cookie may have been
copied: sign out, sign out everywhere, a password change, deactivation, or a timeout."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.models import User, UserSession
from app.services.tokens import new_token, token_hash

TOUCH_EVERY = dt.timedelta(minutes=5)  # how often last_seen_at is written


class EndReason:
    SIGNED_OUT = "signed out"
    SIGNED_OUT_EVERYWHERE = "signed out everywhere"
    PASSWORD_CHANGED = "password changed"
    PASSWORD_RESET = "password reset"
    TIMED_OUT = "timed out"
    EXPIRED = "expired"
    DEACTIVATED = "account deactivated"
    ROLE_CHANGED = "role changed"
    REMOVED_FROM_TEAM = "removed from team"
    EMAIL_CHANGED = "email address changed"


def start(user: User, ip_address: str = "", user_agent: str = "") -> str:
    """Open a session for ``user`` (in the current unit of work) and return its token."""
    token = new_token()
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            ip_address=(ip_address or "")[:45],
            user_agent=(user_agent or "")[:200],
        )
    )
    user.session_token = token
    return token


def load(token: str | None, *, idle: dt.timedelta, max_age: dt.timedelta, now: dt.datetime | None = None) -> User | None:
    """The signed-in user for a cookie's token, or None if that sign-in has ended."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = db.session.execute(select(UserSession).where(UserSession.token_hash == token_hash(token))).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > idle:
        _end_row(row, EndReason.TIMED_OUT, now)
        return None
    if now - row.created_at > max_age:
        _end_row(row, EndReason.EXPIRED, now)
        return None
    user = row.user
    if not user.active:
        _end_row(row, EndReason.DEACTIVATED, now)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    user.session_token = token
    return user


def _end_row(row: UserSession, reason: str, now: dt.datetime) -> None:
    row.ended_at = now
    row.end_reason = reason
    db.session.commit()


def end(token: str | None, reason: str = EndReason.SIGNED_OUT) -> None:
    """End one session (sign out on this device)."""
    if not token:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_hash(token), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def end_all(user: User, reason: str, *, except_token: str | None = None) -> int:
    """End every session of ``user``, but keep ``except_token``'s. Returns how many ended.
    Part of the caller's unit of work."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if except_token:
        query = query.where(UserSession.token_hash != token_hash(except_token))
    return db.session.execute(query.values(ended_at=utcnow(), end_reason=reason)).rowcount


def active_for(user: User) -> list[UserSession]:
    return list(
        db.session.execute(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .order_by(UserSession.last_seen_at.desc())
        ).scalars()
    )


def is_current(row: UserSession, token: str | None) -> bool:
    return bool(token) and row.token_hash == token_hash(token)
