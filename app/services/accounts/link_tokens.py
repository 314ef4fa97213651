"""The single-use tokens that emailed links carry (setting a password, confirming a new
email address): made here, one live token per person and purpose. Only a token's SHA-256
is kept; the token itself goes in the link and nowhere else."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from app.database import utcnow
from app.extensions import db
from app.models import AccountToken, TokenPurpose, User
from app.services.tokens import new_token, token_hash


def end_live(user: User, purpose: TokenPurpose | None = None) -> int:
    """Stop ``user``'s unused links of ``purpose`` (of every purpose: None) working; how many."""
    statement = update(AccountToken).where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
    if purpose is not None:
        statement = statement.where(AccountToken.purpose == purpose)
    return db.session.execute(statement.values(used_at=utcnow())).rowcount


def issue(user: User, purpose: TokenPurpose, *, hours: int, new_email: str | None = None) -> str:
    """A new token for a link to ``user``, working for ``hours``; their earlier unused links
    of the same purpose stop working. Inside the caller's unit of work."""
    end_live(user, purpose)
    token = new_token()
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            expires_at=utcnow() + dt.timedelta(hours=hours),
            new_email=new_email,
        )
    )
    return token
