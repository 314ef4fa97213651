"""Reminding providers of visits nobody recorded 48 hours after they were due: each
provider's owners and managers are told once per visit, in one message per run listing
the visits (the scheduled job runs hourly). A reminder is remembered in the same unit of
work as the message, so a second run, or two at once, never tells anyone twice."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from app.database import utcnow
from app.extensions import db
from app.formatting import format_datetime
from app.models import BookingVisit, OrgRole, Provider, SentReminder
from app.services import notifications, team
from app.services.delivery.unrecorded import UNRECORDED_REMINDER, unrecorded_visits

TOLD = (OrgRole.OWNER, OrgRole.MANAGER)


def remind_unrecorded(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Tell providers about visits they have not been told of yet; returns how many visits."""
    now = now or utcnow()
    visits = unrecorded_visits(now=now, limit=limit, not_reminded=True)
    by_provider: dict[int, list[BookingVisit]] = defaultdict(list)
    for visit in visits:
        by_provider[visit.booking.provider_id].append(visit)
    for its_visits in by_provider.values():
        _tell(its_visits[0].booking.provider, its_visits)
        db.session.add_all(SentReminder(kind=UNRECORDED_REMINDER, about=str(visit.id), sent_at=now) for visit in its_visits)
    db.session.commit()
    return len(visits)


def _tell(provider: Provider, visits: list[BookingVisit]) -> None:
    lines = "\n".join(f"- {format_datetime(v.starts_at)}, booking {v.booking.reference}" for v in visits)
    count = f"{len(visits)} visit{'s' if len(visits) != 1 else ''}"
    body = (
        f"{count} of {provider.name} {'are' if len(visits) != 1 else 'is'} still not recorded 48 hours after "
        f"{'they were' if len(visits) != 1 else 'it was'} due:\n\n{lines}\n\n"
        "Record each visit (what was delivered, or that it was missed) so the provider is paid and the person's budget is right."
    )
    for member in team.members(provider):
        if member.org_role in TOLD and member.user.active:
            notifications.notify(member.user, f"Visits not recorded: {count}", body, link="/provider/visits")
