"""Time in the market: the hour and the day, a UK local time as UTC, and the year's 4-week
budget periods with when each is paid in (``Calendar``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.services.policy import PERIOD_DAYS, current_policy
from app.uk_time import UK, local_midnight

HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


def local(day: dt.date, hour: float) -> dt.datetime:
    return (dt.datetime.combine(day, dt.time(0, 0), tzinfo=UK) + dt.timedelta(hours=hour)).astimezone(dt.UTC)


@dataclass
class Calendar:
    """The year's 4-week budget periods, the current one last, and when each is paid in."""

    span_start: dt.datetime
    now: dt.datetime
    period_starts: list[dt.date]
    funded_until: dt.datetime  # the end of the current (last funded) period

    @classmethod
    def make(cls, now: dt.datetime, months: int) -> Calendar:
        today = now.astimezone(UK).date()
        index = today.year * 12 + today.month - 1 - (months - 1)
        first_month = dt.date(index // 12, index % 12 + 1, 1)
        policy = current_policy()
        first, _ = policy.period_containing(first_month)
        current, end = policy.period_containing(today)
        starts = [first + dt.timedelta(days=PERIOD_DAYS * i) for i in range((current - first).days // PERIOD_DAYS + 1)]
        return cls(local_midnight(first_month).astimezone(dt.UTC), now, starts, local_midnight(end).astimezone(dt.UTC))

    def period_of(self, moment: dt.datetime) -> int:
        """The index of the period containing ``moment`` (len(period_starts) if not yet funded)."""
        return min((moment.astimezone(UK).date() - self.period_starts[0]).days // PERIOD_DAYS, len(self.period_starts))

    def funded_at(self, index: int) -> dt.datetime:
        return local_midnight(self.period_starts[index]).astimezone(dt.UTC)
