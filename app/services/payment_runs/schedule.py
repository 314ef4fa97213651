"""When runs are: periods of 1, 2 or 4 weeks (a council setting) aligned to the budget
periods, paid in arrears; and when the money reaches providers' banks (the Bacs cycle: the
file goes in on day 1, is processed on day 2, and the money arrives on day 3, working days)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from app.services import council
from app.services.bank_holidays import england_and_wales
from app.services.errors import ValidationError
from app.services.policy import current_policy


def period_days() -> int:
    return 7 * council.payment_schedule_weeks()


def period_ending(last_day: dt.date) -> tuple[dt.date, dt.date]:
    """The run period whose last day is ``last_day``: (first day, day after). Raises
    ValidationError naming the nearest period ends if it is not one."""
    anchor = current_policy().period_anchor
    days = period_days()
    end = last_day + dt.timedelta(days=1)
    offset = (end - anchor).days % days
    if offset:
        before = end - dt.timedelta(days=offset) - dt.timedelta(days=1)
        after = before + dt.timedelta(days=days)
        raise ValidationError(
            {
                "period_end": (
                    f"{last_day.isoformat()} is not the last day of a payment period. Periods of {days} days run from "
                    f"{anchor.isoformat()}: the nearest end on {before.isoformat()} and {after.isoformat()}"
                )
            }
        )
    return end - dt.timedelta(days=days), end


def latest_complete_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The newest period that has ended by ``today`` (the run paid in arrears)."""
    anchor = current_policy().period_anchor
    days = period_days()
    end = today - dt.timedelta(days=(today - anchor).days % days)
    return end - dt.timedelta(days=days), end


@cache
def _holidays(year: int) -> frozenset[dt.date]:
    return frozenset(day for day, _ in england_and_wales(year))


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def bacs_dates(approved_on: dt.date) -> tuple[dt.date, dt.date]:
    """(processing day, day the money arrives) for a file sent on ``approved_on``."""
    processing = next_working_day(approved_on)
    return processing, next_working_day(processing)
