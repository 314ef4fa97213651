"""When a job runs: a crontab (minute, hour, day of the week) read in UK time, whatever
the server's own time zone, with the same words people read on the admin page.

The worker asks ``matches`` once a minute (through huey's own crontab); the admin page asks
``next_after``. Daily times avoid 01:00 to 02:00, the hour the clocks skip or repeat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from huey import crontab

from app.uk_time import UK

# The furthest ahead next_after looks: more than a week, so any weekly schedule is found.
LOOK_AHEAD = dt.timedelta(days=8)


@dataclass(frozen=True)
class Schedule:
    words: str  # "Every minute", "Every day at 05:00"
    minute: str = "*"
    hour: str = "*"
    day_of_week: str = "*"  # 0 is Sunday

    @cached_property
    def _test(self):
        return crontab(minute=self.minute, hour=self.hour, day_of_week=self.day_of_week, strict=True)

    def matches(self, moment: dt.datetime) -> bool:
        """Whether the job is due in the minute holding ``moment`` (aware, any zone)."""
        return self._test(moment.astimezone(UK).replace(tzinfo=None))

    def matches_naive_utc(self, timestamp: dt.datetime) -> bool:
        """The same for huey, which hands its scheduler naive UTC times."""
        return self.matches(timestamp.replace(tzinfo=dt.UTC))

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first whole minute after ``moment`` that the job is due in (aware UTC)."""
        start = moment.astimezone(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        for minutes in range(int(LOOK_AHEAD.total_seconds() // 60)):
            candidate = start + dt.timedelta(minutes=minutes)
            if self.matches(candidate):
                return candidate
        return None


def every_minute() -> Schedule:
    return Schedule("Every minute")


def every_n_minutes(n: int) -> Schedule:
    return Schedule(f"Every {n} minutes", minute=f"*/{n}")


def hourly(at_minute: int) -> Schedule:
    return Schedule(f"Every hour at {at_minute} minute{'s' if at_minute != 1 else ''} past", minute=str(at_minute))


def daily(hour: int, minute: int = 0) -> Schedule:
    return Schedule(f"Every day at {hour:02d}:{minute:02d}", minute=str(minute), hour=str(hour))


def weekdays(hour: int, minute: int = 0) -> Schedule:
    return Schedule(f"Monday to Friday at {hour:02d}:{minute:02d}", minute=str(minute), hour=str(hour), day_of_week="1-5")
