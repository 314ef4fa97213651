"""Holds: money set aside for a visit, then captured (in part) and the rest released, once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.models import (
    HoldStatus,
    LedgerAccount,
    LedgerHold,
    LedgerTransaction,
    TransactionKind,
)
from app.services.ledger.posting import Actor, HoldAlreadySettled, LedgerError, Leg, post

# Holds ---------------------------------------------------------------------------------


def place_hold(
    *,
    visit_id: int,
    source: LedgerAccount,
    hold: LedgerAccount,
    amount_pence: int,
    key: str,
    actor: Actor,
    effective_at: dt.datetime | None = None,
    memo: str = "",
) -> LedgerHold:
    """Set money aside for one visit. Raises InsufficientFunds if the source cannot cover it.
    (A new booking's visits: ``new_booking.hold_for_new_booking``.)"""
    if amount_pence <= 0:
        raise LedgerError("a hold must be for more than zero")
    transaction = post(
        TransactionKind.HOLD,
        [(source, -amount_pence), (hold, amount_pence)],
        key=key,
        cause=("booking_visit", visit_id),
        actor=actor,
        effective_at=effective_at,
        memo=memo,
    )
    existing = db.session.execute(select(LedgerHold).where(LedgerHold.placed_transaction_id == transaction.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    created = LedgerHold(
        visit_id=visit_id,
        budget_account_id=source.id,
        hold_account_id=hold.id,
        amount_pence=amount_pence,
        status=HoldStatus.HELD,
        placed_transaction_id=transaction.id,
    )
    db.session.add(created)
    db.session.flush()
    return created


def settle_hold(
    held: LedgerHold,
    *,
    capture_pence: int,
    payee: LedgerAccount | None,
    actor: Actor,
    effective_at: dt.datetime | None = None,
    memo: str = "",
    cause: tuple[str, int | None] | None = None,
) -> LedgerTransaction:
    """Capture ``capture_pence`` of a hold for ``payee`` and release the rest, exactly once.

    ``capture_pence`` 0 releases it all. A second settlement of the same hold raises
    HoldAlreadySettled and moves nothing.
    """
    if capture_pence < 0 or capture_pence > held.amount_pence:
        raise LedgerError("cannot capture more than was held, or less than nothing")
    if capture_pence and payee is None:
        raise LedgerError("a capture needs a payee")
    release_pence = held.amount_pence - capture_pence
    hold_acc = db.session.get(LedgerAccount, held.hold_account_id)
    source = db.session.get(LedgerAccount, held.budget_account_id)
    legs: list[Leg] = [(hold_acc, -held.amount_pence)]
    if capture_pence:
        legs.append((payee, capture_pence))
    if release_pence:
        legs.append((source, release_pence))
    now = utcnow()
    with db.session.begin_nested():
        # Claim the hold first: the row lock (PostgreSQL) or the write lock (SQLite) makes
        # a concurrent second settlement wait, then find it no longer held.
        claimed = db.session.execute(
            update(LedgerHold.__table__)
            .where(LedgerHold.__table__.c.id == held.id, LedgerHold.__table__.c.status == HoldStatus.HELD.value)
            .values(
                status=(HoldStatus.CAPTURED if capture_pence else HoldStatus.RELEASED).value,
                captured_pence=capture_pence,
                released_pence=release_pence,
                settled_at=now,
            )
        ).rowcount
        if claimed != 1:
            raise HoldAlreadySettled(f"hold {held.id} was already settled")
        transaction = post(
            TransactionKind.CAPTURE if capture_pence else TransactionKind.RELEASE,
            legs,
            key=f"settle-hold:{held.id}",
            cause=cause or ("booking_visit", held.visit_id),
            actor=actor,
            effective_at=effective_at,
            memo=memo,
        )
        db.session.execute(
            update(LedgerHold.__table__).where(LedgerHold.__table__.c.id == held.id).values(settled_transaction_id=transaction.id)
        )
    db.session.expire(held)
    return transaction


def live_hold_for_visit(visit_id: int) -> LedgerHold | None:
    return db.session.execute(
        select(LedgerHold).where(LedgerHold.visit_id == visit_id, LedgerHold.status == HoldStatus.HELD)
    ).scalar_one_or_none()
