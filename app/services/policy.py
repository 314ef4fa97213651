"""The council's money rules that services need: budget periods and the cancellation notice.

One place to read them, so they can move from configuration to the council's own settings
without touching the services that use them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app

from app.models import PERIOD_DAYS
from app.services import council
from app.services.errors import ValidationError


@dataclass(frozen=True)
class Policy:
    period_anchor: dt.date
    cancellation_notice_hours: int

    def period_containing(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """The 4-week period holding ``day``: (first day, first day of the next period)."""
        offset = (day - self.period_anchor).days // PERIOD_DAYS
        start = self.period_anchor + dt.timedelta(days=offset * PERIOD_DAYS)
        return start, start + dt.timedelta(days=PERIOD_DAYS)

    def require_period_start(self, day: dt.date) -> tuple[dt.date, dt.date]:
        start, end = self.period_containing(day)
        if start != day:
            raise ValidationError(
                {
                    "period_start": (
                        f"{day.isoformat()} is not the start of a 4-week period. Periods start on "
                        f"{self.period_anchor.isoformat()} and every 28 days after: the nearest are "
                        f"{start.isoformat()} and {end.isoformat()}"
                    )
                }
            )
        return start, end


def current_policy() -> Policy:
    """The rules in force: the period anchor from configuration, the cancellation notice
    from the council's settings (CANCELLATION_NOTICE_HOURS until a commissioner sets it)."""
    return Policy(
        period_anchor=dt.date.fromisoformat(current_app.config["BUDGET_PERIOD_ANCHOR"]),
        cancellation_notice_hours=council.current().cancellation_notice_hours,
    )
