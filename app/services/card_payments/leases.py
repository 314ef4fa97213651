"""Leases on attempts: one process at a time works on an attempt, and no request to Stripe
outlives the lease it was made under (``renew_if_short`` runs before each request)."""

from __future__ import annotations

import datetime as dt
import secrets
import threading

from sqlalchemy import or_, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import AttemptState, PaymentAttempt
from app.services.card_payments import settings


class LeaseLost(Exception):
    """Another process took over the attempt we were working on: stop before asking Stripe."""


class _Lease(threading.local):
    """The attempt this thread is working on, and until when its lease runs."""

    def __init__(self):
        self.attempt_id: int | None = None
        self.token: str | None = None
        self.until: dt.datetime | None = None


current = _Lease()  # this thread's lease (none while it works on no attempt)


def claim(attempt_id: int) -> tuple[str, dt.datetime] | None:
    """Take the lease on an attempt: (our token, until when) or None if someone holds it."""
    token = secrets.token_hex(8)
    now = utcnow()
    table = PaymentAttempt.__table__
    with write_transaction():
        claimed = db.session.execute(
            update(table)
            .where(
                table.c.id == attempt_id,
                table.c.state == AttemptState.STARTED.value,
                or_(table.c.lease_until.is_(None), table.c.lease_until < now),
            )
            .values(lease_token=token, lease_until=now + settings.LEASE, tries=table.c.tries + 1)
        ).rowcount
    return (token, now + settings.LEASE) if claimed == 1 else None


def begin(attempt_id: int, token: str, until: dt.datetime) -> None:
    """This thread now works on the attempt under the lease it claimed."""
    current.attempt_id, current.token, current.until = attempt_id, token, until


def end() -> None:
    """This thread no longer works on an attempt (its requests renew no lease)."""
    current.attempt_id = current.token = current.until = None


def drop(attempt_id: int, token: str) -> None:
    """Give the lease back (if it is still ours), so the attempt can be taken up at once."""
    db.session.rollback()
    table = PaymentAttempt.__table__
    with write_transaction():
        db.session.execute(
            update(table).where(table.c.id == attempt_id, table.c.lease_token == token).values(lease_token=None, lease_until=None)
        )


def renew_if_short() -> None:
    """Before a request that belongs to an attempt: if less than one request's worst case is
    left on our lease, extend it (only if it is still ours), so no request outlives it."""
    if current.attempt_id is None:
        return
    now = utcnow()
    if current.until - now >= settings.CALL_BUDGET:
        return
    table = PaymentAttempt.__table__
    until = now + settings.LEASE
    with write_transaction():
        renewed = db.session.execute(
            update(table)
            .where(table.c.id == current.attempt_id, table.c.lease_token == current.token, table.c.state == AttemptState.STARTED.value)
            .values(lease_until=until)
        ).rowcount
    if renewed != 1:
        raise LeaseLost(f"attempt {current.attempt_id} was taken over by another process")
    current.until = until
