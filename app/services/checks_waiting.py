"""Reminding commissioners of checks waiting for them: providers waiting to be verified
and providers' bank detail changes waiting to be confirmed. Once a UK day at most (the
scheduled job runs on weekday mornings), and only when something waits: the reminder is
remembered in the same unit of work as the messages, so a second run that day sends none."""

from __future__ import annotations

import datetime as dt

from app.database import utcnow
from app.extensions import db
from app.formatting import format_date
from app.models import ProviderStatus, Role, SentReminder
from app.services import accounts, notifications, verification
from app.services.payment_runs import bank_accounts
from app.uk_time import uk_today

CHECKS_REMINDER = "checks-waiting"


def remind_checks_waiting(*, now: dt.datetime | None = None) -> int:
    """Tell every active commissioner what waits; returns how many were told (0: nothing
    waits, or they were told today)."""
    now = now or utcnow()
    day = uk_today(now).isoformat()
    if db.session.get(SentReminder, (CHECKS_REMINDER, day)) is not None:
        return 0
    lines = _waiting()
    if not lines:
        return 0
    commissioners = accounts.active_council_users(Role.COMMISSIONER)
    body = "Waiting for a commissioner:\n\n" + "\n".join(f"- {line}" for line in lines)
    for person in commissioners:
        notifications.notify(person, "Checks waiting for the council", body, link="/commissioner/providers")
    db.session.add(SentReminder(kind=CHECKS_REMINDER, about=day, sent_at=now))
    db.session.commit()
    return len(commissioners)


def _waiting() -> list[str]:
    lines = []
    pending = verification.providers(ProviderStatus.PENDING, page=1)
    if pending.total:
        oldest = pending.items[0].created_at
        lines.append(f"{pending.total} provider{'s' if pending.total != 1 else ''} to verify, waiting since {format_date(oldest)}")
    changes = bank_accounts.pending_confirmations()
    if changes:
        lines.append(
            f"{len(changes)} bank detail change{'s' if len(changes) != 1 else ''} to confirm, "
            f"waiting since {format_date(changes[0].submitted_at)} (at /commissioner/bank-details)"
        )
    return lines
