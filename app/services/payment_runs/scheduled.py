"""The scheduler's part: prepare the run for the newest payment period that has ended.

A period that already has a run, live or cancelled, is left alone: a run people
cancelled is theirs to prepare again (``flask payment-runs prepare`` or the page), never
the scheduler's the next morning.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import PaymentRun
from app.services.payment_runs.preparing import prepare
from app.services.payment_runs.schedule import latest_complete_period
from app.uk_time import uk_today


def prepare_latest(*, now: dt.datetime | None = None) -> tuple[PaymentRun | None, dt.date]:
    """(the run prepared now, or None if the period had one already; the period's last day)."""
    now = now or utcnow()
    _, ends_on = latest_complete_period(uk_today(now))
    last_day = ends_on - dt.timedelta(days=1)
    if db.session.execute(select(PaymentRun.id).where(PaymentRun.ends_on == ends_on).limit(1)).first() is not None:
        return None, last_day
    return prepare(last_day, by=None, now=now), last_day
